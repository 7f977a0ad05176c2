/**
 * The one preparation of a model's data, used by fit, evaluate, predict, the tuners and
 * cross-validation: what they accept as x and y (typed arrays with shapes, nested arrays,
 * eager Tensors, TF.js tensors, one per input/output or by name), turned into host columns
 * and checked with errors that name the problem and the fix (a missing x or y, row counts,
 * feature sizes, a shape of another rank than the input's, NaN/Inf, strings, labels that do
 * not match the loss: class ids for a loss taking rows or the reverse, ids out of range or not
 * integers, probabilities outside [0, 1]), then uploaded once as GPU datasets, with fit's
 * validationSplit (the last rows, as Keras) or validationData. A GpuData given to fit is
 * checked the same way, from the stats its targets got at upload (checkGpuData).
 */
import { BufferSlice, type Engine } from '../gpu/engine.js';
import {
  checksTargetRange,
  GpuData,
  targetProblem,
  targetStats,
  type AnyColumnInput,
  type ColumnInput,
  type TargetHead,
  type TargetStats,
} from '../graph/dataset.js';
import { decodeColumnStats, encodeColumnStats, type ColumnStats } from '../kernels/colstats.js';
import type { LabelSource } from '../kernels/gather.js';
import { LabelError } from '../graph/executor.js';
import { takeRows } from '../data/prep.js';
import type { LossName } from '../kernels/losses.js';
import { Tensor } from '../tensor/tensor.js';
import { firstNonFinite } from './finite.js';
import { DataError } from './data-error.js';
import { rowWeights, type SampleWeightInput, type WeightArgs } from './sample-weights.js';

type Typed =
  Float32Array | Float64Array | Uint8Array | Uint32Array | Int32Array | Uint16Array | Int16Array | Int8Array;

/**
 * A TF.js tensor (tf.Tensor of @tensorflow/tfjs-core), recognised by its shape, dtype and
 * data()/dataSync() methods: nothing here imports TF.js. Its values are read once, by
 * data() where the caller is async (fit, evaluate, predict, ...; a GPU backend reads
 * without blocking), otherwise by dataSync() (a tuner's search, crossValScore).
 */
export interface TfjsTensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly isDisposed?: boolean;
  data(): Promise<unknown>;
  dataSync(): unknown;
}

/**
 * A batch of rows: a typed array or numbers with a shape, nested arrays, a bare typed array,
 * or a TF.js tensor.
 */
export type TensorLike =
  | { data: Typed | readonly number[]; shape: readonly number[] }
  | readonly (readonly number[])[]
  | readonly number[]
  | Typed
  | TfjsTensorLike;

/** True for a duck-typed TF.js tensor (and not for { data, shape } or this library's Tensor). */
export function isTfjsTensor(x: unknown): x is TfjsTensorLike {
  if (typeof x !== 'object' || x === null || x instanceof Tensor) return false;
  const t = x as Partial<Record<'shape' | 'dtype' | 'data' | 'dataSync', unknown>>;
  return (
    Array.isArray(t.shape) &&
    typeof t.dtype === 'string' &&
    (typeof t.data === 'function' || typeof t.dataSync === 'function')
  );
}

/** A TF.js tensor's dtype check before reading, and a disposed tensor refused by name. */
function checkTfjs(t: TfjsTensorLike, what: string): void {
  if (t.isDisposed === true) {
    throw new DataError(
      `${what}: this TF.js tensor (shape [${t.shape.join(', ')}], ${t.dtype}) is disposed ` +
        '(tf.dispose or tf.tidy freed it); keep it alive until the call resolves, or pass a copy',
    );
  }
  if (t.dtype === 'complex64') {
    throw new DataError(`${what}: a complex64 TF.js tensor; a model trains on real numbers (tf.real(t))`);
  }
}

/**
 * A TF.js tensor's values with its shape, as { data, shape }: float32, int32 and bool
 * (Uint8Array, kept u8) as TF.js returns them; a string tensor's strings are passed on for
 * the checks that name them (labels to encode).
 */
function tfjsColumn(t: TfjsTensorLike, values: unknown, what: string): TensorLike {
  if (!isTyped(values) && !Array.isArray(values)) {
    throw new DataError(`${what}: the TF.js tensor's data() gave ${describe(values)}, not a typed array`);
  }
  return { data: values as Typed, shape: [...t.shape] };
}

/** A TF.js tensor read synchronously (dataSync); anything else unchanged. */
function fromTfjsSync(t: TensorLike, what: string): Exclude<TensorLike, TfjsTensorLike> {
  if (!isTfjsTensor(t)) return t;
  checkTfjs(t, what);
  if (typeof t.dataSync !== 'function') {
    throw new DataError(`${what}: this TF.js tensor has no dataSync(); read it first (await t.data())`);
  }
  return tfjsColumn(t, t.dataSync(), what) as Exclude<TensorLike, TfjsTensorLike>;
}

/** The shape of regular nested arrays, with an error naming the first ragged place. */
function nestedShape(x: unknown, what: string): number[] {
  const shape: number[] = [];
  for (let level: unknown = x; Array.isArray(level); level = level[0]) shape.push(level.length);
  const check = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number') {
        throw new DataError(
          `${what}: element ${path} is ${typeof v === 'string' ? `the string "${v}"` : String(v)}, not a number`,
        );
      }
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new DataError(
        `${what}: element ${path || '[]'} has ${Array.isArray(v) ? v.length : 'no'} entries where ${shape[depth]} were expected (ragged nesting)`,
      );
    }
    v.forEach((u, i) => check(u, depth + 1, `${path}[${i}]`));
  };
  check(x, 0, '');
  return shape;
}

/** x or y for a model with several inputs/outputs: one TensorLike each, or by name. */
export type DataArg = TensorLike | readonly TensorLike[] | Readonly<Record<string, TensorLike>>;

/**
 * Like DataArg, but eager GPU Tensors are accepted too: fit, evaluate, predict, trainOnBatch
 * and computeGradients use them in place on the GPU (no readback); elsewhere (a tuner's
 * search, crossValScore) they are read back once.
 */
export type DataInput =
  TensorLike | Tensor | readonly (TensorLike | Tensor)[] | Readonly<Record<string, TensorLike | Tensor>>;

/** One column as given: host data, or an eager Tensor on the GPU. */
type Given = TensorLike | Tensor;

/**
 * TF.js tensors in x/y read by their data(); eager Tensors read back to host arrays (u8
 * stays u8) unless `keep` (then they stay on the GPU, for hostColumns to use in place);
 * everything else unchanged. `what` names the argument in errors ('x', 'y').
 */
export async function resolveTensors(arg: DataInput, what: string, keep: true): Promise<DataInput>;
export async function resolveTensors(arg: DataInput, what?: string, keep?: false): Promise<DataArg>;
export async function resolveTensors(arg: DataInput, what = 'x', keep = false): Promise<DataInput> {
  const one = async (t: Given): Promise<Given> => {
    if (t instanceof Tensor) return keep ? t : { data: (await t.read()) as Typed, shape: [...t.shape] };
    if (!isTfjsTensor(t)) return t;
    checkTfjs(t, what);
    return tfjsColumn(t, typeof t.data === 'function' ? await t.data() : t.dataSync(), what);
  };
  const read = (t: unknown): boolean => t instanceof Tensor || isTfjsTensor(t);
  if (read(arg)) return one(arg as Given);
  if (Array.isArray(arg) && arg.some(read)) {
    return Promise.all((arg as readonly Given[]).map(one));
  }
  if (!Array.isArray(arg) && !isTyped(arg) && typeof arg === 'object' && !('data' in arg)) {
    const rec = arg as Readonly<Record<string, Given>>;
    if (Object.values(rec).some(read)) {
      const entries = await Promise.all(
        Object.entries(rec).map(async ([k, v]) => [k, await one(v)] as const),
      );
      return Object.fromEntries(entries);
    }
  }
  return arg;
}

export { DataError };

/** Rows × width values of one column, kept u8 when given as u8 (4× less GPU memory). */
export interface HostColumn {
  values: Uint8Array | Float32Array | Uint32Array;
  rows: number;
  /** Per-row shape (e.g. [28, 28]). */
  shape: number[];
}

function isTyped(x: unknown): x is Typed {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/** What a column's rows must be, for checks and messages. */
export interface ColumnExpect {
  /** The model's per-row shape (an input's [28, 28]): a given shape must have it, not just its size. */
  shape?: readonly number[];
  /** Who reads the rows, for messages: 'the input "pixels"'. */
  reader?: string;
  /** Why rows have `width` values, for messages: 'the output layer "dense" has 10 units'. */
  note?: string;
}

/** A value for messages: its type, or the string itself. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `the string "${v}"`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object'
    ? `an object with keys ${Object.keys(v).join(', ') || '(none)'}`
    : `${typeof v} ${String(v)}`;
}

/** The first entry of a flat array that is not a number, as a DataError. */
function checkNumbers(values: readonly unknown[], what: string): void {
  const i = values.findIndex((v) => typeof v !== 'number');
  if (i >= 0) throw new DataError(`${what}: element ${i} is ${describe(values[i])}, not a number`);
}

/** Per-row shapes that agree: equal, or a scalar row for an input of one feature. */
function sameRowShape(given: readonly number[], model: readonly number[]): boolean {
  if (given.length === 0) return model.length === 1 && model[0] === 1;
  return given.length === model.length && given.every((d, i) => d === model[i]);
}

/**
 * One TensorLike as a host column whose rows have `width` values. A shape, when the data
 * carries one (nested arrays, { data, shape }, a Tensor), must match `expect.shape` itself,
 * not only its size, as Keras checks ranks: [n, 2, 2] is no [n, 4]. A bare typed array or a
 * flat number[] is taken as rows of `width`.
 */
export function toColumn(
  given: TensorLike,
  width: number,
  what: string,
  expect: ColumnExpect = {},
): HostColumn {
  const x = fromTfjsSync(given, what);
  const note = expect.note ? ` (${expect.note})` : '';
  let flat: Typed | readonly number[];
  let shape: number[] | undefined;
  if (isTyped(x)) flat = x;
  else if (Array.isArray(x) && (x.length === 0 || Array.isArray(x[0]))) {
    // Nested arrays of any depth (rows of 28×28 images...): the shape from the nesting.
    const nested = nestedShape(x, what);
    flat = Float32Array.from((x as unknown[]).flat(Infinity) as number[]);
    shape = nested;
  } else if (Array.isArray(x)) {
    checkNumbers(x, what);
    flat = x as readonly number[];
  } else if (typeof x === 'object' && 'data' in x && 'shape' in x && Array.isArray(x.shape)) {
    const t = x;
    if (!isTyped(t.data) && !Array.isArray(t.data))
      throw new DataError(`${what}: data is ${describe(t.data)}; expected a typed array or numbers`);
    if (Array.isArray(t.data)) checkNumbers(t.data as readonly unknown[], what);
    flat = t.data;
    shape = [...t.shape];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== flat.length) {
      throw new DataError(
        `${what}: shape [${shape.join(', ')}] holds ${n} values, the data has ${flat.length}`,
      );
    }
  } else {
    throw new DataError(
      `${what}: got ${describe(x)}; expected a typed array, nested arrays of numbers, { data, shape }, a Tensor or a TF.js tensor`,
    );
  }
  if (flat.length % width !== 0) {
    throw new DataError(`${what}: ${flat.length} values are not whole rows of ${width}${note}`);
  }
  const rows = flat.length / width;
  if (shape) checkRowShape(shape, rows, width, what, expect);
  const values: HostColumn['values'] =
    flat instanceof Uint8Array || flat instanceof Float32Array || flat instanceof Uint32Array
      ? flat
      : Float32Array.from(flat);
  const bad = values instanceof Float32Array ? firstNonFinite(values) : -1;
  if (bad >= 0) throw nonFiniteError(values[bad] as number, bad, width, what);
  return { values, rows, shape: shape ? shape.slice(1) : [width] };
}

/** x holding NaN or ±Inf at flat index `at`. */
function nonFiniteError(value: number, at: number, width: number, what: string): DataError {
  return new DataError(
    `${what}: value ${String(value)} at row ${Math.floor(at / width)}, column ${at % width} (NaN and ±Inf are not accepted)`,
  );
}

/**
 * A column's shape [rows, ...row] against rows of `width` values and, when known, the
 * model's per-row shape (Keras checks ranks: [n, 2, 2] is no [n, 4]).
 */
function checkRowShape(
  shape: readonly number[],
  rows: number,
  width: number,
  what: string,
  expect: ColumnExpect,
): void {
  const note = expect.note ? ` (${expect.note})` : '';
  const row = shape.slice(1);
  const per = row.reduce((a, b) => a * b, 1);
  if (shape[0] !== rows || per !== width) {
    throw new DataError(
      `${what}: shape [${shape.join(', ')}] does not match rows of ${width} values${note}` +
        `: expected [${[rows, ...(expect.shape ?? [width])].join(', ')}]`,
    );
  }
  const want = expect.shape;
  if (want && !sameRowShape(row, want)) {
    // Same size, another shape: Keras refuses it rather than reshape silently.
    const fix =
      want.length === 1 && row.length > 1
        ? `reshape x to [${rows}, ${width}], or start the model with a Flatten layer ` +
          `(layers.flatten({ inputShape: [${row.join(', ')}] }))`
        : `reshape x to [${[rows, ...want].join(', ')}]`;
    throw new DataError(
      `${what}: shape [${shape.join(', ')}] (rows of shape [${row.join(', ')}]), but ` +
        `${expect.reader ?? 'the model'} takes rows of shape [${want.join(', ')}]: ${fix}`,
    );
  }
}

/** x/y as one TensorLike (or eager Tensor) per model input/output, in order. */
export function perTensor(arg: DataInput, names: readonly string[], what: string): Given[] {
  if (arg instanceof Tensor) {
    if (names.length === 1) return [arg];
    throw new DataError(`${what}: the model has ${names.length} (${names.join(', ')}); pass one array each`);
  }
  if (names.length === 1) {
    if (Array.isArray(arg) && arg.length === 1 && !Array.isArray(arg[0]) && typeof arg[0] === 'object') {
      return [arg[0] as Given];
    }
    if (!Array.isArray(arg) && !isTyped(arg) && typeof arg === 'object' && !('data' in arg)) {
      const byName = arg as Readonly<Record<string, Given>>;
      const v = byName[names[0] as string];
      if (!v)
        throw new DataError(`${what}: no entry for "${names[0]}"; got ${Object.keys(byName).join(', ')}`);
      return [v];
    }
    return [arg as Given];
  }
  if (Array.isArray(arg)) {
    if (arg.length !== names.length) {
      throw new DataError(
        `${what}: the model has ${names.length} (${names.join(', ')}); got ${arg.length} arrays`,
      );
    }
    return arg as Given[];
  }
  if (isTyped(arg) || 'data' in (arg as object)) {
    throw new DataError(`${what}: the model has ${names.length} (${names.join(', ')}); pass one array each`);
  }
  const byName = arg as Readonly<Record<string, Given>>;
  return names.map((n) => {
    const v = byName[n];
    if (!v) throw new DataError(`${what}: no entry for "${n}"; got ${Object.keys(byName).join(', ')}`);
    return v;
  });
}

/**
 * A target column as the loss head reads it, checked: class ids (integers in [0, units)) for
 * a sparse head, rows of values for a dense one (in [0, 1] for a probability loss).
 */
export function checkTargets(col: HostColumn, head: TargetHead, what: string): ColumnInput {
  if (checksTargetRange(head)) {
    const problem = targetProblem(targetStats(col.values, head.target === 'sparse' ? 1 : head.units), head);
    if (problem) throw new DataError(`${what}: ${problem}`);
  }
  const v = col.values;
  if (head.target === 'sparse')
    return { data: v instanceof Float32Array ? Uint32Array.from(v) : v, width: 1 };
  return { data: v instanceof Float32Array ? v : Float32Array.from(v), width: head.units };
}

/** Rows [start, end) of a column. */
export function sliceColumn(c: ColumnInput, start: number, end: number): ColumnInput {
  return { ...c, data: c.data.subarray(start * c.width, end * c.width) };
}

// ---------------------------------------------------------------- columns of a model

/**
 * What a model's data must fit: its inputs' and outputs' names and widths, and per output how
 * its targets are read when the compiled loss says so ('sparse': class ids; 'dense': rows of
 * values; undefined: decided by the count of values, as before compile in a search).
 */
export interface DataLayout {
  /** `shape`: the per-row shape (e.g. [28, 28]); data given with a shape must have it. */
  inputs: readonly { name: string; features: number; shape?: readonly number[] }[];
  outputs: readonly {
    name: string;
    features: number;
    targets?: 'sparse' | 'dense';
    loss?: LossName;
  }[];
}

/** A head's loss by its Keras name (the graph calls sparse CE categorical on class ids). */
function kerasLoss(h: TargetHead): string {
  if (h.target === 'sparse') return 'sparse_categorical_crossentropy';
  return h.loss === 'binary_crossentropy_logits' ? 'binary_crossentropy' : h.loss;
}

/** The loss heads of a compiled layout (undefined before compile). */
function targetHeads(layout: DataLayout): TargetHead[] | undefined {
  const heads: TargetHead[] = [];
  for (const o of layout.outputs) {
    if (!o.targets || !o.loss) return undefined;
    heads.push({ output: o.name, units: o.features, target: o.targets, loss: o.loss });
  }
  return heads;
}

/** Host columns (or, where eager Tensors were given, GPU ones) for the model's inputs and outputs. */
export interface HostColumns<C = ColumnInput> {
  inputs: C[];
  targets: C[];
  rows: number;
}

/**
 * An eager Tensor given as one of x's or y's columns: used on the GPU where it is (never read
 * back), checked there by checkTensorColumns() before any upload or step.
 */
export interface TensorColumn {
  tensor: Tensor;
  width: number;
  rows: number;
  /** Names the column in messages: 'fit: x', 'fit: y "out"'. */
  what: string;
  /** A target column's loss head (x columns have none). */
  head?: TargetHead;
  /** A target's summaries by row range ('start:end'), from checkTensorColumns. */
  stats?: Map<string, TargetStats>;
}

/** A column of host values, or an eager Tensor used in place. */
export type Column = ColumnInput | TensorColumn;

export function isTensorColumn(c: Column): c is TensorColumn {
  return 'tensor' in c;
}

/** An eager Tensor as a column of rows of `width` values, its shape checked as host data's. */
function tensorColumn(t: Tensor, width: number, what: string, expect: ColumnExpect): TensorColumn {
  if (t.isDisposed) {
    throw new DataError(`${what}: ${t.describe()} was disposed; keep it alive until the call resolves`);
  }
  const rows = t.shape[0] ?? 1;
  const shape = t.rank === 0 ? [1] : t.shape;
  if (t.size % width !== 0) {
    throw new DataError(
      `${what}: ${t.describe()} holds ${t.size} values, not whole rows of ${width}` +
        (expect.note ? ` (${expect.note})` : ''),
    );
  }
  checkRowShape(shape, t.size / width, width, what, expect);
  return { tensor: t, width, rows, what };
}

function valueCount(t: TensorLike | Tensor): number {
  if (t instanceof Tensor) return t.size;
  if (ArrayBuffer.isView(t)) return (t as unknown as ArrayLike<number>).length;
  if (Array.isArray(t)) return (t as unknown[]).flat(Infinity).length;
  return (t as { data: ArrayLike<number> }).data.length;
}

/** The distinct strings among y's labels (undefined if there are none). */
function stringLabels(t: TensorLike | Tensor): string[] | undefined {
  if (t instanceof Tensor) return undefined;
  const flat: readonly unknown[] = Array.isArray(t)
    ? (t as unknown[]).flat(Infinity)
    : !isTyped(t) && typeof t === 'object' && Array.isArray((t as { data?: unknown }).data)
      ? (t as { data: readonly unknown[] }).data
      : [];
  const strings = flat.filter((v): v is string => typeof v === 'string');
  return strings.length > 0 ? [...new Set(strings)] : undefined;
}

/** True when every one of y's values is an integer ≥ 0 (class ids rather than rows). */
function classIdsLike(t: TensorLike): boolean {
  const flat: ArrayLike<unknown> = isTyped(t)
    ? t
    : Array.isArray(t)
      ? (t as unknown[]).flat(Infinity)
      : (t as { data: ArrayLike<unknown> }).data;
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return false;
  }
  return true;
}

/**
 * y's shape against the output's, before the values are read, with the likely cause: class
 * ids for a loss that takes rows (categorical cross-entropy), one-hot rows for one that
 * takes class ids, strings.
 */
function checkTargetShape(
  t: TensorLike | Tensor,
  out: DataLayout['outputs'][number],
  rows: number,
  label: string,
): void {
  const strings = stringLabels(t);
  if (strings) {
    const k = strings.length;
    const shown = strings
      .slice(0, 3)
      .map((c) => `"${c}"`)
      .join(', ');
    throw new DataError(
      `${label}: the labels are strings (${shown}${k > 3 ? ', ...' : ''}: ${k} distinct); a model ` +
        'trains on numbers. Encode them as class ids, e.g. const classes = [...new Set(y)]; ' +
        'const ids = y.map((c) => classes.indexOf(c)), then train with ' +
        `sparseCategoricalCrossentropy and a softmax output of ${unitCount(k)}` +
        (k === 2 ? ' (or binaryCrossentropy and one sigmoid unit)' : ''),
    );
  }
  const u = out.features;
  if (u === 1 || out.targets === undefined) return;
  const n = valueCount(t);
  // A Tensor's values are on the GPU: its shape says enough.
  if (out.targets === 'dense' && n === rows && (t instanceof Tensor || classIdsLike(t))) {
    throw classIdsError(out, label, !(t instanceof Tensor));
  }
  if (out.targets === 'sparse' && n === rows * u) {
    throw new DataError(
      `${label}: rows of ${u} values (one-hot?), but sparse_categorical_crossentropy takes one ` +
        'class id per row: use categoricalCrossentropy for one-hot rows, or pass the class ids ' +
        '(the argmax of each row)',
    );
  }
}

/** One value per row that look like class ids, for an output that takes rows of values. */
function classIdsError(out: DataLayout['outputs'][number], label: string, seen: boolean): DataError {
  const u = out.features;
  return new DataError(
    `${label}: one value per row, but the output layer "${out.name}" has ${unitCount(u)}: ` +
      (seen ? 'these look like class ids. ' : 'class ids? ') +
      (out.loss === 'categorical_crossentropy'
        ? 'Use sparseCategoricalCrossentropy for class ids, or one-hot encode them '
        : `${out.loss ?? 'this loss'} takes rows of ${u} values: one-hot encode them `) +
      `(data.toCategorical(y, ${u}))`,
  );
}

/** "1 unit", "10 units". */
function unitCount(n: number): string {
  return `${n} unit${n === 1 ? '' : 's'}`;
}

/**
 * x (and y, when given) as columns shaped by the model's inputs and outputs, checked. Host
 * data becomes host columns; an eager Tensor stays on the GPU as a TensorColumn, whose shape
 * is checked here and whose values checkTensorColumns() checks on the GPU.
 */
export function hostColumns(
  layout: DataLayout,
  x: DataArg,
  y: DataArg | undefined,
  what: string,
): HostColumns;
export function hostColumns(
  layout: DataLayout,
  x: DataInput,
  y: DataInput | undefined,
  what: string,
): HostColumns<Column>;
export function hostColumns(
  layout: DataLayout,
  x: DataInput,
  y: DataInput | undefined,
  what: string,
): HostColumns<Column> {
  const inNames = layout.inputs.map((i) => i.name);
  const xs = perTensor(x, inNames, `${what}: x`).map((t, i): { col: Column; rows: number } => {
    const input = layout.inputs[i] as DataLayout['inputs'][number];
    const features = input.features;
    const label = `${what}: x${inNames.length > 1 ? ` "${inNames[i]}"` : ''}`;
    const expect = {
      ...(input.shape ? { shape: input.shape } : {}),
      reader: `the input "${input.name}"`,
      note: `the input "${input.name}" takes rows of ${features} values`,
    };
    if (t instanceof Tensor) {
      if (t.dtype !== 'f32' && t.dtype !== 'u8') {
        throw new DataError(`${label}: ${t.describe()}: features must be f32 or u8 (cast the values first)`);
      }
      const col = tensorColumn(t, features, label, expect);
      return { col, rows: col.rows };
    }
    const col = toColumn(t, features, label, expect);
    return { col: { data: col.values, width: features }, rows: col.rows };
  });
  const rows = xs[0]?.rows ?? 0;
  xs.forEach((c, i) => {
    if (c.rows !== rows)
      throw new DataError(`${what}: input "${inNames[i]}" has ${c.rows} rows, "${inNames[0]}" has ${rows}`);
  });
  const inputs = xs.map((c) => c.col);
  if (y === undefined) {
    const heads = targetHeads(layout);
    if (what !== 'predict' && heads) {
      throw new DataError(
        `${what}: y is missing: the model is compiled with the loss ${heads.map(kerasLoss).join(', ')}, ` +
          `which compares the outputs with targets: call ${what}(x, y)`,
      );
    }
    return { inputs, targets: [], rows };
  }
  const outNames = layout.outputs.map((o) => o.name);
  const targets = perTensor(y, outNames, `${what}: y`).map((given, i): Column => {
    const out = layout.outputs[i] as DataLayout['outputs'][number];
    const units = out.features;
    const label = `${what}: y${outNames.length > 1 ? ` "${outNames[i]}"` : ''}`;
    const t = given instanceof Tensor ? given : fromTfjsSync(given, label);
    checkTargetShape(t, out, rows, label);
    let sparse = out.targets === 'sparse';
    if (out.targets === undefined) {
      // Before compile: rows of `units` values, or (for several units) one class id a row.
      const n = valueCount(t);
      sparse = units > 1 && n === rows;
      if (!sparse && n !== rows * units) {
        throw new DataError(
          `${label}: ${n} values for ${rows} rows; the output "${outNames[i]}" has ${units} units: ` +
            `give ${rows * units} values (rows of ${units})${units > 1 ? ` or ${rows} class ids` : ''}`,
        );
      }
    }
    const width = sparse ? 1 : units;
    const expect = {
      note: sparse
        ? 'the loss takes one class id per row'
        : `the output layer "${out.name}" has ${unitCount(units)}`,
    };
    const head: TargetHead = {
      output: out.name,
      units,
      target: sparse ? 'sparse' : 'dense',
      // Before compile no loss is known: only the class-id range is checked.
      loss: out.loss ?? 'mse',
    };
    const col =
      t instanceof Tensor ? tensorColumn(t, width, label, expect) : toColumn(t, width, label, expect);
    if (col.rows !== rows) throw new DataError(`${label} has ${col.rows} rows, x has ${rows}`);
    return t instanceof Tensor
      ? { ...(col as TensorColumn), head }
      : checkTargets(col as HostColumn, head, label);
  });
  return { inputs, targets, rows };
}

/** A Tensor's dtype as the dataset names its element type. */
function tensorSource(t: Tensor): LabelSource {
  return t.dtype;
}

/**
 * The values of the columns that are eager Tensors, checked on the GPU as toColumn() and
 * checkTargets() check host data: no NaN/±Inf (x and y), targets the loss can read (class
 * ids in range, probabilities in [0, 1]). One summary pass per column (per row range for a
 * target: `cuts` are the row counts where a split will cut it, so that each slice's dataset
 * gets its own summary) and one readback for all; nothing when no column can fail (u8 x).
 */
export async function checkTensorColumns(
  engine: Engine,
  cols: HostColumns<Column>,
  cuts: readonly number[] = [],
): Promise<void> {
  const tensors = [...cols.inputs, ...cols.targets].filter(isTensorColumn);
  for (const c of tensors) {
    if (c.tensor.isDisposed)
      throw new DataError(
        `${c.what}: ${c.tensor.describe()} was disposed; keep it alive until the call resolves`,
      );
    if (c.tensor.engine !== engine) {
      throw new DataError(
        `${c.what}: ${c.tensor.describe()} lives on another engine than the model's (made before ` +
          'initEngine() was called again, or on a lost device): make it again with tensor() on this engine',
      );
    }
  }
  // What to summarise: f32 x whole (u8 holds no NaN); each target per row range.
  const bounds = [0, ...cuts.filter((r) => r > 0 && r < cols.rows), cols.rows];
  const jobs: { c: TensorColumn; start: number; end: number }[] = [];
  for (const c of tensors) {
    if (!c.head && c.tensor.dtype === 'u8') continue;
    if (!c.head) jobs.push({ c, start: 0, end: c.rows });
    else
      for (let i = 1; i < bounds.length; i++)
        jobs.push({ c, start: bounds[i - 1] ?? 0, end: bounds[i] ?? 0 });
  }
  if (jobs.length === 0) return;
  const SLOT = Math.max(256, engine.limits.minStorageBufferOffsetAlignment);
  const out = engine.createBuffer({
    size: SLOT * jobs.length,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    label: 'tensor column stats',
    sliced: true, // bound 32 bytes at a time
  });
  let words: Uint32Array;
  try {
    jobs.forEach(({ c, start, end }, i) => {
      const spec = { source: tensorSource(c.tensor), start: start * c.width, end: end * c.width };
      encodeColumnStats(engine, spec, c.tensor.buffer, new BufferSlice(out, i * SLOT, 32, `stats ${i}`));
    });
    words = new Uint32Array(await engine.read(out, SLOT * jobs.length, 'tensor column stats'));
  } finally {
    engine.releaseBuffer(out);
  }
  const summaries = new Map<TensorColumn, { start: number; end: number; stats: ColumnStats }[]>();
  jobs.forEach(({ c, start, end }, i) => {
    const stats = decodeColumnStats(words.subarray((i * SLOT) / 4), tensorSource(c.tensor));
    summaries.set(c, [...(summaries.get(c) ?? []), { start, end, stats }]);
  });
  // Columns in order (x before y), each as the host path checks it: non-finite first.
  for (const [c, parts] of summaries) {
    const all = joinStats(parts, c.width);
    if (all.nonFiniteAt >= 0) throw nonFiniteError(all.nonFinite, all.nonFiniteAt, c.width, c.what);
    if (!c.head) continue;
    if (checksTargetRange(c.head)) {
      const problem = targetProblem({ ...all, width: c.width }, c.head);
      if (problem) throw new DataError(`${c.what}: ${problem}`);
    }
    c.stats = new Map(parts.map((p) => [`${p.start}:${p.end}`, { ...p.stats, width: c.width }]));
  }
}

/** The summary of consecutive row ranges as one (indices from the first range's start). */
function joinStats(parts: readonly { start: number; stats: ColumnStats }[], width: number): ColumnStats {
  const all: ColumnStats = {
    min: Infinity,
    minAt: -1,
    max: -Infinity,
    maxAt: -1,
    fractionAt: -1,
    fraction: 0,
    nonFiniteAt: -1,
    nonFinite: 0,
  };
  const first = parts[0]?.start ?? 0;
  for (const { start, stats: s } of parts) {
    const at = (i: number): number => (start - first) * width + i;
    // Ties keep the earlier range's index: the first occurrence, as one pass would find.
    if (s.minAt >= 0 && (all.minAt < 0 || s.min < all.min)) [all.min, all.minAt] = [s.min, at(s.minAt)];
    if (s.maxAt >= 0 && (all.maxAt < 0 || s.max > all.max)) [all.max, all.maxAt] = [s.max, at(s.maxAt)];
    if (all.fractionAt < 0 && s.fractionAt >= 0)
      [all.fraction, all.fractionAt] = [s.fraction, at(s.fractionAt)];
    if (all.nonFiniteAt < 0 && s.nonFiniteAt >= 0)
      [all.nonFinite, all.nonFiniteAt] = [s.nonFinite, at(s.nonFiniteAt)];
  }
  return all;
}

/** A column's rows [start, end) as GpuData takes it: a host slice, or the Tensor's rows in place. */
function sliceOf(c: Column, start: number, end: number): AnyColumnInput {
  if (!isTensorColumn(c)) return sliceColumn(c, start, end);
  const stats = c.stats?.get(`${start}:${end}`);
  return {
    buffer: c.tensor.buffer,
    source: tensorSource(c.tensor),
    width: c.width,
    rows: end - start,
    firstRow: start,
    borrow: () => c.tensor.borrow(),
    ...(stats ? { stats } : {}),
  };
}

/**
 * Rows [start, end) of the columns on the GPU (Tensor columns bound in place from row 0),
 * with rows [start, end) of `weights` (one per row of c) as the dataset's sample weights.
 */
export function uploadSlice(
  engine: Engine,
  c: HostColumns<Column>,
  start: number,
  end: number,
  label: string,
  weights?: Float32Array,
): GpuData {
  return new GpuData(engine, {
    inputs: c.inputs.map((col) => sliceOf(col, start, end)),
    targets: c.targets.map((col) => sliceOf(col, start, end)),
    ...(weights ? { weights: { data: weights.subarray(start, end), width: 1 } } : {}),
    label,
  });
}

/** The given rows (any order) of the columns on the GPU. */
export function uploadRows(engine: Engine, c: HostColumns, rows: Uint32Array, label: string): GpuData {
  const take = (col: ColumnInput): ColumnInput => ({ ...col, data: takeRows(col.data, col.width, rows) });
  return new GpuData(engine, { inputs: c.inputs.map(take), targets: c.targets.map(take), label });
}

/** Training and validation data on the GPU; dispose() frees the datasets made here. */
export interface TrainingData {
  train: GpuData;
  val: GpuData | undefined;
  dispose(): void;
}

/**
 * x/y (host arrays or eager Tensors, or a GpuData with y undefined) and fit's validationSplit /
 * validationData as GPU datasets made once. validationSplit takes the last rows, as Keras
 * does: of a Tensor, the training rows are bound in place and the validation rows copied on
 * the GPU.
 */
export async function trainingData(
  engine: Engine,
  layout: DataLayout,
  x: DataInput | GpuData,
  y: DataInput | undefined,
  args: {
    validationSplit?: number;
    validationData?: readonly [DataInput | GpuData, DataInput?, SampleWeightInput?];
  } & WeightArgs,
  what: string,
): Promise<TrainingData> {
  const owned: GpuData[] = [];
  const dispose = (): void => {
    for (const d of owned.splice(0)) d.dispose();
  };
  // Dataset labels: fit's are 'train' and 'validation', a search's 'search train', ...
  const label = (part: string): string => (what === 'fit' ? part : `${what} ${part}`);
  try {
    const split = args.validationSplit ?? 0;
    if (!(split >= 0 && split < 1)) throw new RangeError(`validationSplit ${split} must be in [0, 1)`);
    if (split > 0 && args.validationData)
      throw new TypeError(`${what}: pass validationSplit or validationData, not both`);
    let train: GpuData;
    let val: GpuData | undefined;
    if (x instanceof GpuData) {
      if (split > 0)
        throw new DataError('validationSplit needs host arrays; pass validationData for a GPU dataset');
      if (args.sampleWeight !== undefined || args.classWeight !== undefined) {
        throw new DataError(
          `${what}: sampleWeight and classWeight need x and y as arrays or Tensors; a GpuData carries ` +
            'its own columns (make it with gpuDataset() from the arrays and pass them with their weights)',
        );
      }
      checkGpuData(x, layout, what);
      train = x;
    } else {
      if (y === undefined) {
        throw new DataError(
          `${what}: y is missing (only a GpuData carries its targets): pass the targets as ${what}(x, y)`,
        );
      }
      const cols = hostColumns(layout, x, y, what);
      const cut = split > 0 ? Math.floor(cols.rows * (1 - split)) : cols.rows;
      if (split > 0 && (cut === 0 || cut === cols.rows)) {
        throw new DataError(
          `validationSplit ${split} of ${cols.rows} rows leaves ${cut} for training and ${cols.rows - cut} for validation`,
        );
      }
      const weighted = rowWeights(args, cols, layout, what);
      await checkTensorColumns(engine, cols, [cut]);
      train = uploadSlice(engine, cols, 0, cut, label('train'), weighted?.weights);
      owned.push(train);
      if (split > 0) {
        // Keras splits sample_weight with x and y (its validation loss is weighted);
        // class_weight weights training only.
        const valWeights = weighted?.sampleWeight ? weighted.weights : undefined;
        val = uploadSlice(engine, cols, cut, cols.rows, label('validation'), valWeights);
        owned.push(val);
      }
    }
    if (args.validationData) {
      // Keras's validation_data=(x, y, sample_weight): the validation loss and weighted metrics weighted.
      const [vx, vy, vw] = args.validationData;
      if (vx instanceof GpuData) {
        if (vw !== undefined) {
          throw new DataError(
            'validationData: sample weights need x and y as arrays or Tensors; a GpuData carries its own columns',
          );
        }
        checkGpuData(vx, layout, 'validationData');
        val = vx;
      } else {
        if (vy === undefined) throw new DataError('validationData: y is missing');
        const cols = hostColumns(layout, vx, vy, 'validationData');
        const weights =
          vw === undefined ? undefined : rowWeights({ sampleWeight: vw }, cols, layout, 'validationData');
        await checkTensorColumns(engine, cols);
        val = uploadSlice(engine, cols, 0, cols.rows, label('validation'), weights?.weights);
        owned.push(val);
      }
    }
    return { train, val, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

/**
 * A GPU dataset against a compiled model's layout, before any step: its columns (count and
 * widths) and the labels its targets held at upload (a LabelError naming the row). A fit's
 * validation data is checked here, not only when the first epoch ends.
 */
export function checkGpuData(data: GpuData, layout: DataLayout, what: string): void {
  if (data.isDisposed) throw new Error(`${what}: this dataset was disposed`);
  const has = (n: number, thing: string): string => `${n} ${thing}${n === 1 ? '' : 's'}`;
  if (data.inputs.length !== layout.inputs.length) {
    throw new DataError(
      `${what}: the model has ${has(layout.inputs.length, 'input')}; the GPU dataset "${data.label}" has ${has(data.inputs.length, 'input column')}`,
    );
  }
  layout.inputs.forEach((input, i) => {
    const w = data.inputs[i]?.width;
    if (w !== input.features) {
      throw new DataError(
        `${what}: the input "${input.name}" takes rows of ${input.features} values; input column ${i} of the GPU dataset "${data.label}" has ${w}`,
      );
    }
  });
  const heads = targetHeads(layout);
  if (!heads) return;
  if (data.targets.length !== heads.length) {
    throw new DataError(
      `${what}: the model has ${has(heads.length, 'output')} to train; the GPU dataset "${data.label}" has ${has(data.targets.length, 'target column')}` +
        (data.targets.length === 0 ? ' (a GPU dataset made without targets serves predict only)' : ''),
    );
  }
  heads.forEach((h, i) => {
    const w = data.targets[i]?.width;
    const want = h.target === 'sparse' ? 1 : h.units;
    if (w !== want) {
      throw new DataError(
        `${what}: the output layer "${h.output}" (${h.loss}${h.target === 'sparse' ? ', class ids' : ''}) needs ` +
          `${h.target === 'sparse' ? 'one class id' : `${want} values`} per row; target column ${i} of the GPU dataset "${data.label}" has ${w}`,
      );
    }
  });
  const problem = data.targetProblem(heads);
  if (problem) throw new LabelError(`${what}: ${problem}`);
}

/** What x may be, for the message when it is missing. */
const X_FORMS =
  'a typed array, nested arrays, { data, shape }, a Tensor, a TF.js tensor or a GpuData (gpuDataset())';

/**
 * x (unless a GpuData) and y with TF.js tensors read to host arrays; eager Tensors stay on
 * the GPU (hostColumns uses them in place). A missing x (null, undefined) is refused here; a
 * null y counts as no y (the caller says whether it needs one).
 */
export async function hostArgs(
  x: DataInput | GpuData | null | undefined,
  y: DataInput | null | undefined,
): Promise<[DataInput | GpuData, DataInput | undefined]> {
  if (x === null || x === undefined) {
    throw new DataError(`x is missing (got ${String(x)}): pass the model's inputs as ${X_FORMS}`);
  }
  return [
    x instanceof GpuData ? x : await resolveTensors(x, 'x', true),
    y === undefined || y === null ? undefined : await resolveTensors(y, 'y', true),
  ];
}

/** An integer option ≥ min, or a RangeError naming it. */
export function checkInt(what: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${what} ${v} must be an integer ≥ ${min}`);
  return v;
}
