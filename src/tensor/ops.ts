/**
 * Eager ops on f32 tensors: each call encodes its kernel at once (submitted in batches)
 * and returns a new tensor; nothing waits for the GPU until a read().
 */
import { encodeBinary, encodeUnary, type BinaryOp, type UnaryOp } from '../kernels/elementwise.js';
import { encodeArgmax, encodeSum } from '../kernels/reduce.js';
import { ACTIVATIONS, encodeActivation, encodeSoftmax, type Activation } from '../kernels/activations.js';
import { encodeMatmul } from '../kernels/matmul.js';
import { broadcastShapes, formatShape, sizeOf } from '../kernels/shape.js';
import { GPULimitError } from '../gpu/errors.js';
import { emptyTensor, type Tensor } from './tensor.js';

/**
 * The inputs of an eager op: f32, on one engine, each within one storage binding (a larger
 * tensor serves as fit/evaluate/predict data, which bind it in slices).
 */
function requireF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') {
      throw new TypeError(`${op}(): needs f32 tensors; ${t.describe()} is ${t.dtype}`);
    }
    const limit = t.engine.limits.maxStorageBufferBindingSize;
    if (t.byteLength > limit) {
      throw new GPULimitError(
        `${op}(): ${t.describe()} holds ${t.byteLength} bytes, over this adapter's ` +
          `maxStorageBufferBindingSize of ${limit} bytes: eager ops bind a tensor whole. A tensor ` +
          'this large serves as data for fit, evaluate and predict (bound in slices), or can be read.',
        'maxStorageBufferBindingSize',
        limit,
        t.byteLength,
      );
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

// ------------------------------------------------------------ matmul, activations, softmax

export interface MatmulOptions {
  /** Use aᵀ (a stored [k, m]). */
  transposeA?: boolean;
  /** Use bᵀ (b stored [n, k]). */
  transposeB?: boolean;
}

/** The matrix product of two 2-D f32 tensors, op(a)·op(b), with no transpose copies. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  requireF32('matmul', a, b);
  if (a.rank !== 2 || b.rank !== 2) {
    throw new RangeError(`matmul(): needs 2-D tensors, got ${a.describe()} and ${b.describe()}`);
  }
  const transA = options.transposeA ?? false;
  const transB = options.transposeB ?? false;
  const [a0, a1] = a.shape as [number, number];
  const [b0, b1] = b.shape as [number, number];
  const [m, k] = transA ? [a1, a0] : [a0, a1];
  const [kb, n] = transB ? [b1, b0] : [b0, b1];
  if (k !== kb) {
    throw new RangeError(
      `matmul(): inner dimensions differ: ${a.describe()}${transA ? 'ᵀ' : ''} · ${b.describe()}${transB ? 'ᵀ' : ''} ` +
        `(${k} vs ${kb})`,
    );
  }
  const c = emptyTensor(a.engine, [m, n], 'f32', `matmul(${a.label}, ${b.label})`);
  if (m > 0 && n > 0 && k > 0) {
    encodeMatmul(a.engine, { m, n, k, transA, transB }, { a: a.buffer, b: b.buffer, c: c.buffer });
  }
  return c;
}

/** Applies a Keras activation by name ('sigmoid', 'elu', 'leaky_relu', 'gelu', ...). */
export function activation(x: Tensor, name: Activation, options: { alpha?: number } = {}): Tensor {
  requireF32(name, x);
  if (!(ACTIVATIONS as readonly string[]).includes(name)) {
    throw new RangeError(
      `activation(): unknown activation '${name}'; expected one of ${ACTIVATIONS.join(', ')}`,
    );
  }
  const y = emptyTensor(x.engine, x.shape, 'f32', `${name}(${x.label})`);
  if (x.size > 0) encodeActivation(x.engine, { name, alpha: options.alpha }, x.buffer, y.buffer, x.size);
  return y;
}

export const sigmoid = (x: Tensor): Tensor => activation(x, 'sigmoid');
export const tanh = (x: Tensor): Tensor => activation(x, 'tanh');
export const elu = (x: Tensor, alpha = 1): Tensor => activation(x, 'elu', { alpha });
export const selu = (x: Tensor): Tensor => activation(x, 'selu');
export const softplus = (x: Tensor): Tensor => activation(x, 'softplus');
export const softsign = (x: Tensor): Tensor => activation(x, 'softsign');
export const hardSigmoid = (x: Tensor): Tensor => activation(x, 'hard_sigmoid');
export const leakyRelu = (x: Tensor, alpha = 0.2): Tensor => activation(x, 'leaky_relu', { alpha });
export const gelu = (x: Tensor, approximate = false): Tensor =>
  activation(x, approximate ? 'gelu_tanh' : 'gelu');

/** [rows, cols] view of a tensor whose last axis is the reduced one. */
function lastAxisView(op: string, x: Tensor): { rows: number; cols: number } {
  if (x.rank === 0) throw new RangeError(`${op}(): needs at least one axis, got ${x.describe()}`);
  const cols = x.shape[x.rank - 1] ?? 1;
  return { rows: cols === 0 ? 0 : x.size / cols, cols };
}

/** Softmax over the last axis (max-subtracted: stable for large logits). */
export function softmax(x: Tensor): Tensor {
  requireF32('softmax', x);
  const { rows, cols } = lastAxisView('softmax', x);
  const y = emptyTensor(x.engine, x.shape, 'f32', `softmax(${x.label})`);
  if (rows > 0 && cols > 0) encodeSoftmax(x.engine, x.buffer, y.buffer, rows, cols);
  return y;
}

/** Index of the largest value along the last axis (u32; first index on ties, first NaN if any). */
export function argmax(x: Tensor): Tensor {
  requireF32('argmax', x);
  const { rows, cols } = lastAxisView('argmax', x);
  if (cols === 0) throw new RangeError(`argmax(): the last axis of ${x.describe()} is empty`);
  const y = emptyTensor(x.engine, x.shape.slice(0, -1), 'u32', `argmax(${x.label})`);
  if (rows > 0) encodeArgmax(x.engine, x.buffer, y.buffer, rows, cols);
  return y;
}
