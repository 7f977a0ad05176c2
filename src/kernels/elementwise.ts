/**
 * Elementwise kernels: dispatch geometry, bindings and their float64 references.
 * The WGSL lives in shaders/elementwise.ts.
 */
import { binaryShader, unaryShader, type BinaryOp, type UnaryOp } from '../../shaders/elementwise.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { broadcastStrides, formatShape, sizeOf, type Shape } from './shape.js';
import { checkCount, checkF32, checkF32Each } from './validate.js';

export type { BinaryOp, UnaryOp };

/** Highest rank the broadcasting kernel handles (same-shape operands have no limit). */
export const MAX_BROADCAST_RANK = 4;

/** y[i] = op(x[i]) for i < n; x and y are f32 buffers. */
export function encodeUnary(engine: Engine, op: UnaryOp, x: Bindable, y: Bindable, n: number): void {
  const label = `unary_${op}`;
  checkCount(label, 'n', n);
  checkF32Each(label, { x, y }, n, `[${n}]`);
  const pipeline = engine.pipeline(unaryShader(op), label);
  const params = engine.tempUniform(new Uint32Array([n, 0, 0, 0]), `${label} params`);
  // One operation per element; x read and y written once.
  const work = { flops: n, bytes: 8 * n };
  engine.dispatch(pipeline, [x, y, params], engine.dispatchGrid(n, WORKGROUP_1D), label, work);
}

/**
 * out = op(a, b) with numpy broadcasting; `outShape` is broadcastShapes(aShape, bShape).
 * Operands of equal shape take the kernel without index arithmetic.
 */
export function encodeBinary(
  engine: Engine,
  op: BinaryOp,
  a: { buffer: Bindable; shape: Shape },
  b: { buffer: Bindable; shape: Shape },
  out: Bindable,
  outShape: Shape,
): void {
  const what = `binary_${op}`;
  const n = sizeOf(outShape);
  checkCount(what, `the size of ${formatShape(outShape)}`, n);
  checkF32(what, 'a', a.buffer, sizeOf(a.shape), formatShape(a.shape));
  checkF32(what, 'b', b.buffer, sizeOf(b.shape), formatShape(b.shape));
  checkF32(what, 'out', out, n, formatShape(outShape));
  const same = sameShape(a.shape, outShape) && sameShape(b.shape, outShape);
  if (!same && outShape.length > MAX_BROADCAST_RANK) {
    throw new RangeError(
      `${op}: broadcasting ${formatShape(a.shape)} with ${formatShape(b.shape)} needs rank ` +
        `${outShape.length}; at most ${MAX_BROADCAST_RANK} is supported`,
    );
  }
  const words = new Uint32Array(16);
  words[0] = n;
  if (!same) {
    const pad = MAX_BROADCAST_RANK - outShape.length;
    const sa = broadcastStrides(a.shape, outShape);
    const sb = broadcastStrides(b.shape, outShape);
    for (let d = 0; d < MAX_BROADCAST_RANK; d++) {
      const k = d - pad;
      words[4 + d] = k < 0 ? 1 : (outShape[k] ?? 1);
      words[8 + d] = k < 0 ? 0 : (sa[k] ?? 0);
      words[12 + d] = k < 0 ? 0 : (sb[k] ?? 0);
    }
  }
  const label = `binary_${op}${same ? '' : '_broadcast'}`;
  const pipeline = engine.pipeline(binaryShader(op, !same), label);
  const params = engine.tempUniform(words, `${label} params`);
  // One operation per output; each operand's own elements read once (a broadcast one is
  // smaller than the output), the output written once.
  const work = { flops: n, bytes: 4 * (sizeOf(a.shape) + sizeOf(b.shape) + n) };
  engine.dispatch(
    pipeline,
    [a.buffer, b.buffer, out, params],
    engine.dispatchGrid(n, WORKGROUP_1D),
    label,
    work,
  );
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// ------------------------------------------------------------ float64 references

export const UNARY_REFERENCE: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  square: (x) => x * x,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  relu: (x) => (x < 0 ? 0 : x),
};

export const BINARY_REFERENCE: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: Math.max,
  minimum: Math.min,
};

// The references evaluate in float64 and round once to f32, the kernels' output type, so
// that overflow to ±Inf and underflow to 0 are expected rather than counted as errors.

export function unaryReference(op: UnaryOp, x: ArrayLike<number>): Float64Array {
  const f = UNARY_REFERENCE[op];
  return Float64Array.from({ length: x.length }, (_, i) => Math.fround(f(x[i] ?? NaN)));
}

/** op(a, b) with numpy broadcasting, by explicit multi-index walk (independent of the kernel's strides). */
export function binaryReference(
  op: BinaryOp,
  a: ArrayLike<number>,
  aShape: Shape,
  b: ArrayLike<number>,
  bShape: Shape,
  outShape: Shape,
): Float64Array {
  const f = BINARY_REFERENCE[op];
  const n = sizeOf(outShape);
  const out = new Float64Array(n);
  const index = new Array<number>(outShape.length).fill(0);
  const offsetIn = (shape: Shape): number => {
    let flat = 0;
    for (let k = 0; k < shape.length; k++) {
      const coord = index[outShape.length - shape.length + k] ?? 0;
      flat = flat * (shape[k] ?? 1) + ((shape[k] ?? 1) === 1 ? 0 : coord);
    }
    return flat;
  };
  for (let i = 0; i < n; i++) {
    out[i] = Math.fround(f(a[offsetIn(aShape)] ?? NaN, b[offsetIn(bShape)] ?? NaN));
    for (let d = outShape.length - 1; d >= 0; d--) {
      index[d] = (index[d] ?? 0) + 1;
      if ((index[d] ?? 0) < (outShape[d] ?? 1)) break;
      index[d] = 0;
    }
  }
  return out;
}
