/**
 * Eager ops on f32 tensors: each call encodes its kernel at once (submitted in batches)
 * and returns a new tensor; nothing waits for the GPU until a read().
 */
import { encodeBinary, encodeUnary, type BinaryOp, type UnaryOp } from '../kernels/elementwise.js';
import { encodeSum } from '../kernels/reduce.js';
import { broadcastShapes, formatShape, sizeOf } from '../kernels/shape.js';
import { emptyTensor, type Tensor } from './tensor.js';

function requireF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') {
      throw new TypeError(`${op}(): needs f32 tensors; ${t.describe()} is ${t.dtype}`);
    }
  }
  const [first, ...rest] = ts;
  for (const t of rest) {
    if (first && t.engine !== first.engine) {
      throw new Error(`${op}(): ${first.describe()} and ${t.describe()} live on different engines`);
    }
  }
}

function unary(op: UnaryOp): (x: Tensor) => Tensor {
  return (x) => {
    requireF32(op, x);
    const y = emptyTensor(x.engine, x.shape, 'f32', `${op}(${x.label})`);
    encodeUnary(x.engine, op, x.buffer, y.buffer, x.size);
    return y;
  };
}

function binary(op: BinaryOp): (a: Tensor, b: Tensor) => Tensor {
  return (a, b) => {
    requireF32(op, a, b);
    const shape = broadcastShapes(a.shape, b.shape, `${op}()`);
    const c = emptyTensor(a.engine, shape, 'f32', `${op}(${a.label}, ${b.label})`);
    encodeBinary(a.engine, op, a, b, c.buffer, shape);
    return c;
  };
}

export const neg = unary('neg');
export const abs = unary('abs');
export const square = unary('square');
export const sqrt = unary('sqrt');
export const exp = unary('exp');
export const log = unary('log');
export const relu = unary('relu');

export const add = binary('add');
export const sub = binary('sub');
export const mul = binary('mul');
export const div = binary('div');
export const maximum = binary('maximum');
export const minimum = binary('minimum');

export interface ReduceOptions {
  /** Keep the reduced axis with size 1. */
  keepDims?: boolean;
}

function reduction(name: string, mean: boolean) {
  return (x: Tensor, axis?: number | null, options: ReduceOptions = {}): Tensor => {
    requireF32(name, x);
    let outer: number;
    let n: number;
    let inner: number;
    let shape: number[];
    if (axis === undefined || axis === null) {
      [outer, n, inner] = [1, x.size, 1];
      shape = options.keepDims ? x.shape.map(() => 1) : [];
    } else {
      if (!Number.isInteger(axis) || axis < -x.rank || axis >= x.rank) {
        throw new RangeError(`${name}(): axis ${axis} is out of range for ${x.describe()} (rank ${x.rank})`);
      }
      const a = axis < 0 ? axis + x.rank : axis;
      outer = sizeOf(x.shape.slice(0, a));
      n = x.shape[a] ?? 1;
      inner = sizeOf(x.shape.slice(a + 1));
      shape = options.keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
    }
    const y = emptyTensor(x.engine, shape, 'f32', `${name}(${x.label}) ${formatShape(shape)}`);
    encodeSum(x.engine, x.buffer, y.buffer, { outer, n, inner }, mean ? 1 / n : 1);
    return y;
  };
}

/** Sum of all elements, or along one axis (negative counts from the end). */
export const sum = reduction('sum', false);
/** Mean of all elements, or along one axis. */
export const mean = reduction('mean', true);
