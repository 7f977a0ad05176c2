/**
 * Learning curves, as the course draws them with matplotlib from `history.history`: one
 * panel per quantity (loss first, then each metric in the order fit logged it), a line per
 * series, training ("loss") and validation ("val_loss"), against the epoch. Described as a
 * Vega-Lite spec here, compiled by vega-lite and drawn to SVG by Vega's headless renderer
 * (both optional packages, loaded on first use), so it runs in Node without a browser.
 */
import { readOptions, type Spelled } from '../util/options.js';
import { fileFormat, pictureFs, svgElement, writePicture } from './output.js';
import { loadPeer } from './peer.js';

/** A training history: fit()'s History ({ history, epoch }) or its record of arrays. */
export type HistoryLike =
  | { readonly history: Readonly<Record<string, ArrayLike<number>>>; readonly epoch?: readonly number[] }
  | Readonly<Record<string, ArrayLike<number>>>;

export interface PlotHistoryArgs {
  /** Where to write the chart (Node): "history.svg". PNG needs a rasterizer: an Error says so. */
  toFile?: string;
  /**
   * The panels, by name ('loss', 'accuracy'; 'val_accuracy' means the same panel): default
   * every quantity in the history, loss first.
   */
  metrics?: readonly string[];
  /** A title above the panels (default none). */
  title?: string;
}

/** What plotHistory gives: the SVG, the Vega-Lite spec it drew, and in a browser an element. */
export interface HistoryPlot {
  svg: string;
  /** The Vega-Lite spec (JSON): open it in the Vega editor to restyle the chart. */
  spec: Record<string, unknown>;
  element?: SVGSVGElement;
  file?: string;
}

/** One point of the chart's data. */
interface Row {
  epoch: number;
  value: number | null;
  series: 'train' | 'validation';
}

const KEYS: Readonly<Record<keyof PlotHistoryArgs, true>> = { toFile: true, metrics: true, title: true };

/** matplotlib's first two colours: the course's training and validation curves. */
const SERIES = { train: '#1f77b4', validation: '#ff7f0e' } as const;

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/** The record of series and the epoch numbers (History.epoch counts from 0, as Keras's). */
function readHistory(
  what: string,
  given: unknown,
): { record: Record<string, ArrayLike<number>>; epoch?: readonly number[] } {
  if (typeof given !== 'object' || given === null)
    throw new TypeError(`${what}: expects fit()'s History or its history record, got ${String(given)}`);
  const h = (given as { history?: unknown }).history;
  const inner = typeof h === 'object' && h !== null && !isArrayLike(h);
  const record = (inner ? h : given) as Record<string, unknown>;
  for (const [k, v] of Object.entries(record)) {
    if (!isArrayLike(v))
      throw new TypeError(
        `${what}: history["${k}"] must be an array of numbers (one per epoch), got ${typeof v}`,
      );
  }
  const epoch: unknown = inner ? (given as { epoch?: unknown }).epoch : undefined;
  return {
    record: record as Record<string, ArrayLike<number>>,
    ...(Array.isArray(epoch) ? { epoch: epoch as number[] } : {}),
  };
}

/** The panel names: 'loss' first, then the others in the order the history has them. */
function panelsOf(record: Readonly<Record<string, ArrayLike<number>>>): string[] {
  const names: string[] = [];
  for (const k of Object.keys(record)) {
    const base = k.startsWith('val_') ? k.slice(4) : k;
    if (!names.includes(base)) names.push(base);
  }
  return names.includes('loss') ? ['loss', ...names.filter((n) => n !== 'loss')] : names;
}

/**
 * The Vega-Lite spec of the learning curves: one panel per name of `panels`, each with a
 * line (and points) per series. Non-finite values (a diverged epoch) are left out of the line.
 */
export function historySpec(
  record: Readonly<Record<string, ArrayLike<number>>>,
  panels: readonly string[],
  epoch: readonly number[] | undefined,
  title: string | undefined,
): Record<string, unknown> {
  const rowsOf = (name: string): Row[] => {
    const rows: Row[] = [];
    for (const [key, series] of [
      [name, 'train'],
      [`val_${name}`, 'validation'],
    ] as const) {
      const values = record[key];
      if (!values) continue;
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        const e = epoch?.length === values.length ? (epoch[i] as number) + 1 : i + 1;
        rows.push({ epoch: e, value: Number.isFinite(v) ? v : null, series });
      }
    }
    return rows;
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(title !== undefined ? { title } : {}),
    columns: Math.min(panels.length, 3),
    concat: panels.map((name) => ({
      title: name,
      width: 320,
      height: 220,
      data: { values: rowsOf(name) },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: name, scale: { zero: false } },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: Object.keys(SERIES), range: Object.values(SERIES) },
        },
      },
    })),
    resolve: { scale: { color: 'shared' } },
    config: { font: 'Helvetica, Arial, sans-serif' },
  };
}

/**
 * The learning curves of a training run, as SVG (and in a browser an SVG element): loss and
 * every metric, one panel each, training against validation (`val_` keys). `toFile` writes
 * the SVG (Node). Needs the optional packages vega and vega-lite.
 *
 *   const history = await model.fit(x, y, { epochs: 10, validationSplit: 0.1 });
 *   await utils.plotHistory(history, { toFile: 'history.svg' });
 */
export async function plotHistory(
  history: HistoryLike,
  args?: Spelled<PlotHistoryArgs>,
): Promise<HistoryPlot> {
  const what = 'plotHistory';
  const o = readOptions<PlotHistoryArgs>(what, args, KEYS);
  const { record, epoch } = readHistory(what, history);
  const available = panelsOf(record);
  if (available.length === 0) throw new RangeError(`${what}: the history is empty (no loss, no metric)`);
  const metrics: unknown = o.metrics;
  if (metrics !== undefined && (!Array.isArray(metrics) || metrics.some((m) => typeof m !== 'string')))
    throw new TypeError(`${what}: metrics must be a list of names such as ['loss', 'accuracy']`);
  const panels = (o.metrics ?? available).map((m) => (m.startsWith('val_') ? m.slice(4) : m));
  for (const p of panels) {
    if (!available.includes(p))
      throw new RangeError(`${what}: the history has no "${p}"; it has ${available.join(', ')}`);
  }
  if (panels.length === 0) throw new RangeError(`${what}: metrics is empty; name at least one panel`);
  const title: unknown = o.title;
  if (title !== undefined && typeof title !== 'string')
    throw new TypeError(`${what}: title must be a string, got ${JSON.stringify(title)}`);
  // A bad file name fails before Vega is loaded.
  if (o.toFile !== undefined) fileFormat(what, o.toFile, ['svg']);
  const fs = o.toFile === undefined ? undefined : pictureFs(what);
  const spec = historySpec(record, [...new Set(panels)], epoch, o.title);
  const [vl, vega] = [await loadPeer(what, 'vega-lite'), await loadPeer(what, 'vega')];
  // The spec is Vega-Lite's JSON; the packages' own types (TopLevelSpec, Spec) are not needed.
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled as never) as never, { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const element = svgElement(what, svg);
  if (fs && o.toFile !== undefined) await writePicture(fs, what, o.toFile, svg);
  return {
    svg,
    spec,
    ...(element ? { element } : {}),
    ...(o.toFile !== undefined ? { file: o.toFile } : {}),
  };
}
