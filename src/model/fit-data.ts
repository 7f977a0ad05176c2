/**
 * The one preparation of a model's data, used by fit, evaluate, predict, the tuners and
 * cross-validation: what they accept as x and y (typed arrays with shapes, nested arrays,
 * eager Tensors, one per input/output or by name), turned into host columns and checked with
 * errors that name the problem (row counts, feature sizes, NaN/Inf, labels that do not match
 * the loss: one-hot width, class ids out of range or not integers), then uploaded once as
 * GPU datasets, with fit's validationSplit (the last rows, as Keras) or validationData.
 */
import type { Engine } from '../gpu/engine.js';
import { GpuData, type ColumnInput } from '../graph/dataset.js';
import { takeRows } from '../data/prep.js';
import { Tensor } from '../tensor/tensor.js';

type Typed =
  Float32Array | Float64Array | Uint8Array | Uint32Array | Int32Array | Uint16Array | Int16Array | Int8Array;

/** A batch of rows: a typed array or numbers with a shape, nested arrays, or a bare typed array. */
export type TensorLike =
  | { data: Typed | readonly number[]; shape: readonly number[] }
  | readonly (readonly number[])[]
  | readonly number[]
  | Typed;

/** The shape of regular nested arrays, with an error naming the first ragged place. */
function nestedShape(x: unknown, what: string): number[] {
  const shape: number[] = [];
  for (let level: unknown = x; Array.isArray(level); level = level[0]) shape.push(level.length);
  const check = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number') throw new DataError(`${what}: element ${path} is not a number`);
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

/** Like DataArg, but eager GPU Tensors are accepted too (read back once). */
export type DataInput =
  TensorLike | Tensor | readonly (TensorLike | Tensor)[] | Readonly<Record<string, TensorLike | Tensor>>;

/** Eager Tensors in x/y read back to host arrays (u8 stays u8); everything else unchanged. */
export async function resolveTensors(arg: DataInput): Promise<DataArg> {
  const one = async (t: TensorLike | Tensor): Promise<TensorLike> =>
    t instanceof Tensor ? { data: (await t.read()) as Typed, shape: [...t.shape] } : t;
  if (arg instanceof Tensor) return one(arg);
  if (Array.isArray(arg) && arg.some((a) => a instanceof Tensor)) {
    return Promise.all((arg as readonly (TensorLike | Tensor)[]).map(one));
  }
  if (!Array.isArray(arg) && !isTyped(arg) && typeof arg === 'object' && !('data' in arg)) {
    const rec = arg as Readonly<Record<string, TensorLike | Tensor>>;
    if (Object.values(rec).some((v) => v instanceof Tensor)) {
      const entries = await Promise.all(
        Object.entries(rec).map(async ([k, v]) => [k, await one(v)] as const),
      );
      return Object.fromEntries(entries);
    }
  }
  return arg as DataArg;
}

export class DataError extends Error {
  override name = 'DataError';
}

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

/** One TensorLike as a host column whose rows have `width` values. */
export function toColumn(x: TensorLike, width: number, what: string): HostColumn {
  let flat: Typed | readonly number[];
  let shape: number[] | undefined;
  if (isTyped(x)) flat = x;
  else if (Array.isArray(x) && (x.length === 0 || Array.isArray(x[0]))) {
    // Nested arrays of any depth (rows of 28×28 images...): the shape from the nesting.
    const nested = nestedShape(x, what);
    flat = Float32Array.from((x as unknown[]).flat(Infinity) as number[]);
    shape = nested;
  } else if (Array.isArray(x)) {
    flat = x as readonly number[];
  } else {
    const t = x as { data: Typed | readonly number[]; shape: readonly number[] };
    flat = t.data;
    shape = [...t.shape];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== flat.length) {
      throw new DataError(
        `${what}: shape [${shape.join(', ')}] holds ${n} values, the data has ${flat.length}`,
      );
    }
  }
  if (flat.length % width !== 0) {
    throw new DataError(
      `${what}: ${flat.length} values are not whole rows of ${width} (the model's ${what.startsWith('y') ? 'output' : 'input'} size)`,
    );
  }
  const rows = flat.length / width;
  if (shape) {
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    if (shape[0] !== rows || per !== width) {
      throw new DataError(
        `${what}: shape [${shape.join(', ')}] does not match rows of ${width} values (expected [rows, ${width}] or the layer's input shape)`,
      );
    }
  }
  const values: HostColumn['values'] =
    flat instanceof Uint8Array || flat instanceof Float32Array || flat instanceof Uint32Array
      ? flat
      : Float32Array.from(flat);
  if (values instanceof Float32Array) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) {
        throw new DataError(
          `${what}: value ${v} at row ${Math.floor(i / width)}, column ${i % width} (NaN and ±Inf are not accepted)`,
        );
      }
    }
  }
  return { values, rows, shape: shape ? shape.slice(1) : [width] };
}

/** x/y as one TensorLike per model input/output, in order. */
export function perTensor(arg: DataArg, names: readonly string[], what: string): TensorLike[] {
  if (names.length === 1) {
    if (Array.isArray(arg) && arg.length === 1 && !Array.isArray(arg[0]) && typeof arg[0] === 'object') {
      return [arg[0] as TensorLike];
    }
    if (!Array.isArray(arg) && !isTyped(arg) && typeof arg === 'object' && !('data' in arg)) {
      const byName = arg as Readonly<Record<string, TensorLike>>;
      const v = byName[names[0] as string];
      if (!v)
        throw new DataError(`${what}: no entry for "${names[0]}"; got ${Object.keys(byName).join(', ')}`);
      return [v];
    }
    return [arg as TensorLike];
  }
  if (Array.isArray(arg)) {
    if (arg.length !== names.length) {
      throw new DataError(
        `${what}: the model has ${names.length} (${names.join(', ')}); got ${arg.length} arrays`,
      );
    }
    return arg as TensorLike[];
  }
  if (isTyped(arg) || 'data' in (arg as object)) {
    throw new DataError(`${what}: the model has ${names.length} (${names.join(', ')}); pass one array each`);
  }
  const byName = arg as Readonly<Record<string, TensorLike>>;
  return names.map((n) => {
    const v = byName[n];
    if (!v) throw new DataError(`${what}: no entry for "${n}"; got ${Object.keys(byName).join(', ')}`);
    return v;
  });
}

/** Class ids for a sparse loss: integers in [0, classes). */
export function checkClassIds(col: HostColumn, classes: number, what: string): ColumnInput {
  const v = col.values;
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as number;
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new DataError(
        `${what}: label ${c} at row ${i} is not a class id in [0, ${classes}) (the output layer has ${classes} units)`,
      );
    }
  }
  return { data: v instanceof Float32Array ? Uint32Array.from(v) : v, width: 1 };
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
  inputs: readonly { name: string; features: number }[];
  outputs: readonly { name: string; features: number; targets?: 'sparse' | 'dense'; loss?: string }[];
}

/** Host columns for the model's inputs and outputs, and their row count. */
export interface HostColumns {
  inputs: ColumnInput[];
  targets: ColumnInput[];
  rows: number;
}

function valueCount(t: TensorLike): number {
  if (ArrayBuffer.isView(t)) return (t as unknown as ArrayLike<number>).length;
  if (Array.isArray(t)) return (t as unknown[]).flat(Infinity).length;
  return (t as { data: ArrayLike<number> }).data.length;
}

/** x (and y, when given) as columns shaped by the model's inputs and outputs, checked. */
export function hostColumns(
  layout: DataLayout,
  x: DataArg,
  y: DataArg | undefined,
  what: string,
): HostColumns {
  const inNames = layout.inputs.map((i) => i.name);
  const xs = perTensor(x, inNames, `${what}: x`).map((t, i) => {
    const features = (layout.inputs[i] as DataLayout['inputs'][number]).features;
    const col = toColumn(t, features, `${what}: x${inNames.length > 1 ? ` "${inNames[i]}"` : ''}`);
    return { col, width: features };
  });
  const rows = xs[0]?.col.rows ?? 0;
  xs.forEach(({ col }, i) => {
    if (col.rows !== rows)
      throw new DataError(`${what}: input "${inNames[i]}" has ${col.rows} rows, "${inNames[0]}" has ${rows}`);
  });
  const inputs: ColumnInput[] = xs.map(({ col, width }) => ({ data: col.values, width }));
  if (y === undefined) return { inputs, targets: [], rows };
  const outNames = layout.outputs.map((o) => o.name);
  const targets = perTensor(y, outNames, `${what}: y`).map((t, i): ColumnInput => {
    const out = layout.outputs[i] as DataLayout['outputs'][number];
    const units = out.features;
    const label = `${what}: y${outNames.length > 1 ? ` "${outNames[i]}"` : ''}`;
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
    const col = toColumn(t, sparse ? 1 : units, label);
    if (col.rows !== rows) throw new DataError(`${label} has ${col.rows} rows, x has ${rows}`);
    if (sparse) return checkClassIds(col, units, label);
    if (out.loss === 'categorical_crossentropy' && units > 1 && col.values.length === rows) {
      throw new DataError(
        `${label}: looks like class ids; use sparseCategoricalCrossentropy or toCategorical()`,
      );
    }
    return {
      data: col.values instanceof Float32Array ? col.values : Float32Array.from(col.values),
      width: units,
    };
  });
  return { inputs, targets, rows };
}

/** Rows [start, end) of the columns on the GPU. */
export function uploadSlice(
  engine: Engine,
  c: HostColumns,
  start: number,
  end: number,
  label: string,
): GpuData {
  return new GpuData(engine, {
    inputs: c.inputs.map((col) => sliceColumn(col, start, end)),
    targets: c.targets.map((col) => sliceColumn(col, start, end)),
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
 * x/y (host arrays, or a GpuData with y undefined) and fit's validationSplit / validationData
 * as GPU datasets made once. validationSplit takes the last rows, as Keras does.
 */
export function trainingData(
  engine: Engine,
  layout: DataLayout,
  x: DataArg | GpuData,
  y: DataArg | undefined,
  args: { validationSplit?: number; validationData?: readonly [DataArg | GpuData, DataArg?] },
  what: string,
): TrainingData {
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
      train = x;
    } else {
      if (y === undefined) throw new DataError(`${what}: y is missing (only a GpuData carries its targets)`);
      const cols = hostColumns(layout, x, y, what);
      const cut = split > 0 ? Math.floor(cols.rows * (1 - split)) : cols.rows;
      if (split > 0 && (cut === 0 || cut === cols.rows)) {
        throw new DataError(
          `validationSplit ${split} of ${cols.rows} rows leaves ${cut} for training and ${cols.rows - cut} for validation`,
        );
      }
      train = uploadSlice(engine, cols, 0, cut, label('train'));
      owned.push(train);
      if (split > 0) {
        val = uploadSlice(engine, cols, cut, cols.rows, label('validation'));
        owned.push(val);
      }
    }
    if (args.validationData) {
      const [vx, vy] = args.validationData;
      if (vx instanceof GpuData) val = vx;
      else {
        if (vy === undefined) throw new DataError('validationData: y is missing');
        const cols = hostColumns(layout, vx, vy, 'validationData');
        val = uploadSlice(engine, cols, 0, cols.rows, label('validation'));
        owned.push(val);
      }
    }
    return { train, val, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** x (unless a GpuData) and y with eager Tensors read back to host arrays. */
export async function hostArgs(
  x: DataInput | GpuData,
  y: DataInput | undefined,
): Promise<[DataArg | GpuData, DataArg | undefined]> {
  return [
    x instanceof GpuData ? x : await resolveTensors(x),
    y === undefined ? undefined : await resolveTensors(y),
  ];
}

/** An integer option ≥ min, or a RangeError naming it. */
export function checkInt(what: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${what} ${v} must be an integer ≥ ${min}`);
  return v;
}
