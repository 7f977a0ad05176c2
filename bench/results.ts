/** Writes one benchmark's section of bench/RESULTS.md, between its marker comments. */
import { readFileSync, writeFileSync } from 'node:fs';

const RESULTS = new URL('./RESULTS.md', import.meta.url);

export function writeResultsSection(key: string, body: string): void {
  const start = `<!-- ${key} -->`;
  const end = `<!-- /${key} -->`;
  const text = readFileSync(RESULTS, 'utf8');
  const block = `${start}\n\n${body.trim()}\n\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, next);
}
