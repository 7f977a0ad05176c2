/** Formats a matmul benchmark run as the Markdown section of bench/RESULTS.md. */
import { geomeanRatio, TABLE_HEADER, formatRow, type MatmulRow } from './matmul-core.js';

export function matmulReport(title: string, context: string, rows: readonly MatmulRow[]): string {
  const square = rows.filter((r) => r.group === 'square');
  const mlp = rows.filter((r) => r.group === 'mlp');
  return [
    `### ${title}`,
    '',
    context,
    '',
    `Geometric mean of ours/TF.js: square sizes ${geomeanRatio(square).toFixed(2)}×, ` +
      `MLP products ${geomeanRatio(mlp).toFixed(2)}×.`,
    '',
    TABLE_HEADER,
    ...rows.map(formatRow),
  ].join('\n');
}
