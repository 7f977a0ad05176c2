/**
 * What fit/evaluate/predict accept as x and y, turned into host columns and checked with
 * errors that name the problem: row counts, feature sizes, NaN/Inf, labels that do not match
 * the loss (one-hot width, class ids out of range or not integers).
 */
import type { ColumnInput } from '../graph/dataset.js';
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
