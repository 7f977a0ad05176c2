/**
 * What the demo lets a teacher take away: a training history as CSV (the columns and order of
 * Keras's CSVLogger, so `pandas.read_csv` reads it as the course's does), a chart as a
 * standalone SVG drawn from its series (crisp on a slide, editable), and the browser glue to
 * download either. The text builders are pure and run in Node too.
 */
import type { ChartPoint, ChartSeries } from './chart.js';

/** How opaque a faded series (an earlier run, a scenario out of focus) is drawn. */
export const FADED_OPACITY = 0.3;

/**
 * A History as CSV, as Keras's CSVLogger writes it: `epoch` (from 0) then the logged keys in
 * sorted order, one row per epoch, numbers in full precision (they read back to the same
 * float64), a value missing from an epoch written NA as CSVLogger does.
 */
export function historyCsv(
  epochs: readonly number[],
  history: Readonly<Record<string, readonly number[]>>,
): string {
  const keys = Object.keys(history).sort();
  const cell = (v: number | undefined): string => (v === undefined ? 'NA' : String(v));
  const rows = epochs.map((e, i) => [String(e), ...keys.map((k) => cell(history[k]?.[i]))].join(','));
  return `${['epoch', ...keys].join(',')}\n${rows.map((r) => `${r}\n`).join('')}`;
}

/** A chart's numbers as a table: the x column (or the category), then one column per series. */
export interface ChartTable {
  columns: string[];
  /** One row per x value (ascending) or category; a series without a point there is undefined. */
  rows: { x: number | string; values: (number | undefined)[] }[];
}

/**
 * The data-table alternative to a chart: line series joined on their x values (gaps, NaN,
 * left out), bar series by category.
 */
export function chartTable(
  series: readonly ChartSeries[],
  xLabel: string,
  categories?: readonly string[],
): ChartTable {
  const columns = [xLabel || 'x', ...series.map((s) => s.label)];
  if (categories) {
    return {
      columns,
      rows: categories.map((c, i) => ({
        x: c,
        values: series.map((s) => {
          const v = (s.points as (number | ChartPoint)[])[i];
          const y = typeof v === 'number' ? v : v?.y;
          return y !== undefined && Number.isFinite(y) ? y : undefined;
        }),
      })),
    };
  }
  const byX = new Map<number, (number | undefined)[]>();
  series.forEach((s, j) => {
    for (const p of s.points as (number | ChartPoint)[]) {
      if (typeof p === 'number' || !Number.isFinite(p.y) || !Number.isFinite(p.x)) continue;
      let row = byX.get(p.x);
      if (!row) byX.set(p.x, (row = new Array<number | undefined>(series.length).fill(undefined)));
      row[j] = p.y;
    }
  });
  return {
    columns,
    rows: [...byX.entries()].sort((a, b) => a[0] - b[0]).map(([x, values]) => ({ x, values })),
  };
}

/** A number in a data table: 4 significant digits, scientific below 1e-3. */
export function tableNumber(v: number | undefined): string {
  if (v === undefined) return '';
  const a = Math.abs(v);
  if (a !== 0 && a < 1e-3) return v.toExponential(3);
  return a >= 1e4 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(4)).toString();
}

export interface SvgChart {
  heading: string;
  xLabel: string;
  yLabel: string;
  logY: boolean;
  /** A logarithmic x axis too (default linear). */
  logX?: boolean;
  series: readonly ChartSeries[];
  width?: number;
  height?: number;
}

/** The plot area of chartSvg's drawing: margins for the axes' labels and ticks. */
export const SVG_MARGIN = { left: 64, right: 16, top: 36, bottom: 48 } as const;

const escape = (t: string): string =>
  t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Five round tick values covering [lo, hi] (linear), or the powers of ten in it (log). */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++)
      out.push(10 ** e);
    return out.length > 0 ? out : [lo, hi];
  }
  const step0 = (hi - lo) / 4;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * A line chart as standalone SVG: the series' points as polylines (dashed where the series
 * is; broken where a point is NaN, a gap) with point markers, a marker series as diamonds,
 * linear or log x and y (non-positive values left out on a log axis), round ticks, the
 * axis titles, the heading and a legend. Bar charts' series (one y per category) are drawn as
 * lines over the category index.
 */
export function chartSvg(c: SvgChart): string {
  const width = c.width ?? 640;
  const height = c.height ?? 400;
  const m = SVG_MARGIN;
  // Each series as runs of drawable points: a NaN point (a gap in the curve) or a value a log
  // axis cannot show ends a run.
  const runs = c.series.map((s) => {
    const out: ChartPoint[][] = [[]];
    (s.points as readonly (ChartPoint | number)[]).forEach((p, i) => {
      const q = typeof p === 'number' ? { x: i, y: p } : p;
      const drawable =
        Number.isFinite(q.x) && Number.isFinite(q.y) && (!c.logY || q.y > 0) && (!c.logX || q.x > 0);
      if (drawable) out.at(-1)?.push(q);
      else if ((out.at(-1)?.length ?? 0) > 0) out.push([]);
    });
    return out.filter((r) => r.length > 0);
  });
  const lines = runs.map((r) => r.flat());
  const all = lines.flat();
  const xs = all.map((p) => (c.logX ? Math.log10(p.x) : p.x));
  const ys = all.map((p) => (c.logY ? Math.log10(p.y) : p.y));
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const px = (x: number): number => m.left + (((c.logX ? Math.log10(x) : x) - x0) / (x1 - x0)) * pw;
  const py = (y: number): number => m.top + ph - (((c.logY ? Math.log10(y) : y) - y0) / (y1 - y0)) * ph;
  const f = (v: number): string => v.toFixed(2);
  const label = (v: number, log = c.logY): string => {
    const e = Math.log10(v);
    return log && Math.abs(e - Math.round(e)) < 1e-9
      ? `1e${Math.round(e)}`
      : String(Number(v.toPrecision(3)));
  };
  const yTicks = ticks(c.logY ? 10 ** y0 : y0, c.logY ? 10 ** y1 : y1, c.logY);
  const xTicks = ticks(c.logX ? 10 ** x0 : x0, c.logX ? 10 ** x1 : x1, c.logX ?? false);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-weight="bold">${escape(c.heading)}</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (const t of yTicks) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${f(py(t))}" y2="${f(py(t))}" stroke="#e6e9ef"/>`,
      `<text x="${m.left - 6}" y="${f(py(t) + 4)}" text-anchor="end">${escape(label(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    out.push(
      `<text x="${f(px(t))}" y="${m.top + ph + 16}" text-anchor="middle">${escape(c.logX ? label(t, true) : String(t))}</text>`,
    );
  }
  out.push(
    `<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">${escape(c.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escape(c.yLabel)}</text>`,
  );
  // A marker: a hollow diamond, as the canvas draws it.
  const diamond = (x: number, y: number, r: number, color: string): string =>
    `<path d="M${f(x)} ${f(y - r)}L${f(x + r)} ${f(y)}L${f(x)} ${f(y + r)}L${f(x - r)} ${f(y)}Z" fill="#fff" stroke="${color}" stroke-width="2"/>`;
  // Faded series first, under the others (as the canvas draws them).
  const order = c.series
    .map((_, i) => i)
    .sort((a, b) => Number(c.series[b]?.faded ?? false) - Number(c.series[a]?.faded ?? false));
  order.forEach((i) => {
    const s = c.series[i] as ChartSeries;
    const color = s.color ?? '#333';
    const dash = `${s.dashed ? ' stroke-dasharray="6 4"' : ''}${s.faded ? ` stroke-opacity="${FADED_OPACITY}"` : ''}`;
    if (s.marker) {
      for (const p of lines[i] ?? []) out.push(diamond(px(p.x), py(p.y), 7, color));
    } else {
      for (const run of runs[i] ?? []) {
        const pts = run.map((p) => `${f(px(p.x))},${f(py(p.y))}`).join(' ');
        out.push(
          `<polyline data-series="${escape(s.label)}" fill="none" stroke="${color}" stroke-width="${s.thin ? 1 : 2}"${dash} points="${pts}"/>`,
        );
      }
      if (!s.thin && !s.faded) {
        for (const p of lines[i] ?? [])
          out.push(
            s.pointStyle === 'triangle'
              ? `<path d="M${f(px(p.x))} ${f(py(p.y) - 3.5)}L${f(px(p.x) + 3)} ${f(py(p.y) + 2)}L${f(px(p.x) - 3)} ${f(py(p.y) + 2)}Z" fill="${color}"/>`
              : `<circle cx="${f(px(p.x))}" cy="${f(py(p.y))}" r="2" fill="${color}"/>`,
          );
      }
    }
    const ly = m.top + 14 + 16 * i;
    out.push(
      s.marker
        ? diamond(m.left + pw - 138, ly - 4, 5, color)
        : `<line x1="${m.left + pw - 150}" x2="${m.left + pw - 126}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${m.left + pw - 120}" y="${ly}">${escape(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Makes the browser download `content` (text, or a data: URL) as `filename`. */
export function download(filename: string, content: string, type = 'text/plain'): void {
  const url = content.startsWith('data:') ? content : URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  if (!content.startsWith('data:')) setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** "Validation loss (epoch 0: before training)" → "validation-loss-epoch-0-before-training". */
export function fileStem(text: string, fallback = 'chart'): string {
  const stem = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return stem || fallback;
}
