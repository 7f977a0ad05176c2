/**
 * Pointwise kernels with scalar parameters, fill, and strided block copies: dispatch,
 * validation and float64 references. The WGSL lives in shaders/pointwise.ts.
 */
import { WORKGROUP_1D } from '../../shaders/common.js';
import {
  copyBlockShader,
  fillShader,
  SCALAR_OPS,
  scalarOpIsGrad,
  scalarOpShader,
  type ScalarOp,
} from '../../shaders/pointwise.js';
import { bufferOf, type Bindable, type Engine } from '../gpu/engine.js';
import { checkCount, checkF32, checkF32Each, checkFinite, checkSize } from './validate.js';

export { SCALAR_OPS, scalarOpIsGrad };
export type { ScalarOp };

/**
 * y = op(x; p, q) over n f32 values (pow: x^p; clamp: min(max(x, p), q)); the gradient ops
 * (pow_grad, clamp_grad) also read dy and write dx = dy · ∂op/∂x into y.
 */
export function encodeScalarOp(
  engine: Engine,
  op: ScalarOp,
  b: { x: Bindable; dy?: Bindable; y: Bindable },
  n: number,
  p: number,
  q = 0,
): void {
  const label = `scalar_${op}`;
  if (!(op in SCALAR_OPS)) {
    throw new RangeError(
      `scalarOp: unknown op '${op}'; expected one of ${Object.keys(SCALAR_OPS).join(', ')}`,
    );
  }
  checkCount(label, 'n', n);
  // pow's exponent is finite; clamp's bounds may be ±Inf (a bound left out), never NaN.
  if (op === 'pow' || op === 'pow_grad') checkFinite(label, 'p', p);
  else if (Number.isNaN(p)) throw new RangeError(`${label}: p must not be NaN`);
  if (Number.isNaN(q)) throw new RangeError(`${label}: q must not be NaN`);
  const grad = scalarOpIsGrad(op);
  if (grad !== (b.dy !== undefined)) {
    throw new TypeError(`${label}: ${grad ? 'needs' : 'takes no'} dy buffer`);
  }
  checkF32Each(label, { x: b.x, y: b.y, ...(b.dy ? { dy: b.dy } : {}) }, n, `[${n}]`);
  if (n === 0) return;
  const words = new Uint32Array(4);
  const floats = new Float32Array(words.buffer);
  words[0] = n;
  // A clamp bound of ±Inf is "no bound": a flag, and 0 in its place.
  const [lo, hi] = [Number.isFinite(p) ? p : 0, Number.isFinite(q) ? q : 0];
  floats[1] = op.startsWith('clamp') ? lo : p;
  floats[2] = op.startsWith('clamp') ? hi : q;
  words[3] = (p !== -Infinity ? 1 : 0) | (q !== Infinity ? 2 : 0);
  if (op.startsWith('clamp') && (p === Infinity || q === -Infinity)) {
    throw new RangeError(`${label}: the lower bound cannot be +Inf nor the upper one −Inf`);
  }
  const params = engine.tempUniform(words, `${label} params`);
  // One function a value (pow counts 1, the gradient's products 2); x (and dy) read, y written.
  const work = { flops: grad ? 3 * n : n, bytes: (grad ? 12 : 8) * n };
  engine.dispatch(
    engine.pipeline(scalarOpShader(op), label),
    b.dy ? [b.x, b.dy, b.y, params] : [b.x, b.y, params],
    engine.dispatchGrid(n, WORKGROUP_1D),
    label,
    work,
  );
}

/** y[i] = value for i < n. */
export function encodeFill(engine: Engine, y: Bindable, n: number, value: number): void {
  const label = 'fill';
  checkCount(label, 'n', n);
  checkF32(label, 'y', y, n, `[${n}]`);
  if (n === 0) return;
  const words = new Uint32Array(4);
  words[0] = n;
  new Float32Array(words.buffer)[1] = value;
  engine.dispatch(
    engine.pipeline(fillShader(), label),
    [y, engine.tempUniform(words, `${label} params`)],
    engine.dispatchGrid(n, WORKGROUP_1D),
    label,
    { flops: 0, bytes: 4 * n },
  );
}

/** A block of rows × cols f32 values in a row-major buffer: where it starts and its row stride. */
export interface BlockSide {
  /** Elements from the start of the buffer to the block's first value. */
  offset: number;
  /** Elements from one row of the block to the next (≥ cols). */
  stride: number;
}

export interface CopyBlockSpec {
  rows: number;
  cols: number;
  src: BlockSide;
  dst: BlockSide;
  /** dst += src instead of dst = src. */
  accumulate?: boolean;
  /**
   * The source offset also adds dyn[0] · dynScale (u32 word 0 of the `dyn` buffer), so a
   * recorded copy reads rows chosen before each replay. Default 0 (no dyn buffer needed).
   * `dynMax` bounds dyn[0] for the size check (the caller writes no more than it).
   */
  dynScale?: number;
  dynMax?: number;
}

/**
 * Copies (or adds) the block src[offset + r·stride + c] to dst[offset + r·stride + c],
 * r < rows, c < cols: a slice along any axis, one part of a concatenation, or its gradient.
 * Without spec.dynScale, `dyn` may be omitted (the kernel variant without it runs).
 */
export function encodeCopyBlock(
  engine: Engine,
  spec: CopyBlockSpec,
  b: { src: Bindable; dst: Bindable; dyn?: Bindable },
): void {
  const label = `copy_block${spec.accumulate ? '_acc' : ''}`;
  const { rows, cols, src, dst } = spec;
  checkCount(label, 'rows', rows);
  checkCount(label, 'cols', cols);
  for (const [name, side] of [
    ['src', src],
    ['dst', dst],
  ] as const) {
    checkCount(label, `${name}.offset`, side.offset);
    checkCount(label, `${name}.stride`, side.stride);
    if (rows > 1 && side.stride < cols) {
      throw new RangeError(`${label}: ${name}.stride ${side.stride} is less than cols ${cols}`);
    }
  }
  const dynScale = spec.dynScale ?? 0;
  const dynMax = spec.dynMax ?? 0;
  checkCount(label, 'dynScale', dynScale);
  checkCount(label, 'dynMax', dynMax);
  if (dynScale > 0 && !b.dyn) throw new TypeError(`${label}: dynScale is set but no dyn buffer was given`);
  if (bufferOf(b.src) === bufferOf(b.dst))
    throw new RangeError(`${label}: src and dst must be different buffers`);
  if (rows === 0 || cols === 0) return;
  const end = (side: BlockSide, extra: number) => side.offset + extra + (rows - 1) * side.stride + cols;
  checkF32(label, 'src', b.src, end(src, dynMax * dynScale), `a block of [${rows}, ${cols}]`);
  checkF32(label, 'dst', b.dst, end(dst, 0), `a block of [${rows}, ${cols}]`);
  const dyn = dynScale > 0 ? b.dyn : undefined;
  if (dyn) checkSize(label, 'dyn', dyn, 4, 'one u32');
  const words = new Uint32Array([rows, cols, src.stride, dst.stride, src.offset, dst.offset, dynScale, 0]);
  const n = rows * cols;
  const acc = spec.accumulate ? 1 : 0;
  const params = engine.tempUniform(words, `${label} params`);
  engine.dispatch(
    engine.pipeline(copyBlockShader(spec.accumulate ?? false, dyn !== undefined), label),
    dyn ? [b.src, b.dst, dyn, params] : [b.src, b.dst, params],
    engine.dispatchGrid(n, WORKGROUP_1D),
    label,
    // The values read and written (read twice when adding), and the dyn word if read; the add
    // counted when accumulating.
    { flops: acc * n, bytes: 4 * n * (2 + acc) + (dyn ? 4 : 0) },
  );
}

// ------------------------------------------------------------------ float64 references

/** PyTorch's pow(x, p) in float64 (Math.pow agrees with it for every sign case but NaN^0 = 1). */
function powReference(x: number, p: number): number {
  return p === 0 ? 1 : x ** p;
}

/** op(x; p, q), and for the gradient ops dy · ∂op/∂x, in float64. */
export function scalarOpReference(
  op: ScalarOp,
  x: ArrayLike<number>,
  p: number,
  q = 0,
  dy?: ArrayLike<number>,
): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => {
    const v = x[i] ?? NaN;
    const g = dy?.[i] ?? NaN;
    switch (op) {
      case 'pow':
        return powReference(v, p);
      case 'pow_grad':
        return p === 0 ? 0 : g * p * powReference(v, p - 1);
      case 'clamp':
        return Number.isNaN(v) ? v : Math.min(Math.max(v, p), q);
      case 'clamp_grad':
        return v >= p && v <= q ? g : 0;
    }
  });
}

/** dst after encodeCopyBlock(spec) with dyn[0] = dynValue, in float64. */
export function copyBlockReference(
  spec: CopyBlockSpec,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  dynValue = 0,
): Float64Array {
  const out = Float64Array.from(dst);
  const start = spec.src.offset + dynValue * (spec.dynScale ?? 0);
  for (let r = 0; r < spec.rows; r++) {
    for (let c = 0; c < spec.cols; c++) {
      const to = spec.dst.offset + r * spec.dst.stride + c;
      const v = src[start + r * spec.src.stride + c] ?? NaN;
      out[to] = spec.accumulate ? (out[to] ?? 0) + v : v;
    }
  }
  return out;
}
