/**
 * Activations and row-wise softmax: dispatch geometry, bindings, validation, and the float64
 * references of each function and its derivative (the WGSL is in shaders/activations.ts).
 * The references are independent of the WGSL forms: gelu uses a series/continued fraction
 * erf good to ~1e-14, not the shader's 1.5e-7 approximation.
 */
import {
  activationFromY,
  activationGradShader,
  activationShader,
  defaultAlpha,
  SELU_ALPHA,
  SELU_SCALE,
  softmaxGradShader,
  softmaxShader,
  type Activation,
  type ActivationSpec,
} from '../../shaders/activations.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { checkCount, checkF32Each } from './validate.js';

export { ACTIVATIONS, activationFromY, activationWgsl } from '../../shaders/activations.js';
export type { Activation, ActivationSpec };

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** erf in float64: Maclaurin series for |x| < 3, Lentz continued fraction for erfc beyond. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  if (z < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - erfcTail(z));
}

/** erfc(z) for z >= 3: exp(-z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + ...)))). */
function erfcTail(z: number): number {
  if (z === Infinity) return 0;
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = z + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = z + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** 1 − erf(x) in float64, with full relative precision in the right tail (no 1 − erf cancellation). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 3) return erfcTail(x);
  if (x <= -3) return 2 - erfcTail(-x);
  return 1 - erf(x);
}

// Φ(x) = erfc(−x/√2)/2 keeps its relative precision for x ≪ 0, where 1 + erf would cancel.
const PHI = (x: number) => 0.5 * erfc(-x / Math.SQRT2);
const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
/** 1/cosh²(x) = 1 − tanh²(x), without the cancellation of the latter for large |x|. */
const sech2 = (x: number) => 1 / Math.cosh(x) ** 2;
const K = Math.sqrt(2 / Math.PI);

/** f(x) and f'(x) in float64. */
export function activationReference(spec: ActivationSpec): {
  f: (x: number) => number;
  df: (x: number) => number;
} {
  const a = spec.alpha ?? defaultAlpha(spec.name);
  const table: Record<Activation, { f: (x: number) => number; df: (x: number) => number }> = {
    linear: { f: (x) => x, df: () => 1 },
    relu: { f: (x) => (x < 0 ? 0 : x), df: (x) => (x > 0 ? 1 : 0) },
    elu: { f: (x) => (x > 0 ? x : a * Math.expm1(x)), df: (x) => (x > 0 ? 1 : a * Math.exp(x)) },
    selu: {
      f: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
      df: (x) => (x > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(x)),
    },
    // σ'(x) = σ(x)(1 − σ(x)) = sech²(x/2)/4
    sigmoid: { f: sigmoid, df: (x) => sech2(x / 2) / 4 },
    hard_sigmoid: {
      f: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),
      df: (x) => (x > -2.5 && x < 2.5 ? 0.2 : 0),
    },
    tanh: { f: Math.tanh, df: sech2 },
    softplus: { f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), df: sigmoid },
    softsign: { f: (x) => x / (1 + Math.abs(x)), df: (x) => 1 / (1 + Math.abs(x)) ** 2 },
    exponential: { f: Math.exp, df: Math.exp },
    leaky_relu: { f: (x) => (x > 0 ? x : a * x), df: (x) => (x > 0 ? 1 : a) },
    gelu: { f: (x) => x * PHI(x), df: (x) => PHI(x) + x * pdf(x) },
    // 0.5·x·(1 + tanh(u)) with 0.5·(1 + tanh(u)) evaluated as σ(2u) (no cancellation for u ≪ 0).
    gelu_tanh: {
      f: (x) => x * sigmoid(2 * K * (x + 0.044715 * x ** 3)),
      df: (x) => {
        const u = K * (x + 0.044715 * x ** 3);
        return sigmoid(2 * u) + 0.5 * x * sech2(u) * K * (1 + 3 * 0.044715 * x * x);
      },
    },
  };
  const r = table[spec.name];
  // NaN in, NaN out, like the kernels.
  return { f: (x) => (Number.isNaN(x) ? NaN : r.f(x)), df: (x) => (Number.isNaN(x) ? NaN : r.df(x)) };
}

// ------------------------------------------------------------------------------ kernels

function specLabel(spec: ActivationSpec): string {
  return spec.alpha === undefined ? spec.name : `${spec.name}(${spec.alpha})`;
}

/** y = f(x) over n f32 elements. x and y may be the same buffer (in place). */
export function encodeActivation(
  engine: Engine,
  spec: ActivationSpec,
  x: Bindable,
  y: Bindable,
  n: number,
): void {
  const label = `activation_${specLabel(spec)}`;
  checkCount(label, 'n', n);
  checkF32Each(label, { x, y }, n, `[${n}]`);
  const inPlace = x === y;
  const pipeline = engine.pipeline(activationShader(spec, inPlace), label);
  const params = engine.tempUniform(new Uint32Array([n, 0, 0, 0]), `${label} params`);
  const buffers = inPlace ? [y, params] : [x, y, params];
  // One function evaluation per element; x read and y written once (in place too).
  const work = { flops: n, bytes: 8 * n };
  engine.dispatch(pipeline, buffers, engine.dispatchGrid(n, WORKGROUP_1D), label, work);
}

/**
 * dx = dy ⊙ f'(·), from the stored input x (from: 'x') or output y (from: 'y', only where
 * activationFromY(spec)). accumulate: dx += instead of =. dy and dx may be the same buffer
 * (dx overwrites dy) unless accumulating; the input must not be dx.
 */
export function encodeActivationGrad(
  engine: Engine,
  spec: ActivationSpec,
  from: 'x' | 'y',
  input: Bindable,
  dy: Bindable,
  dx: Bindable,
  n: number,
  options: { accumulate?: boolean } = {},
): void {
  const accumulate = options.accumulate ?? false;
  const label = `activation_grad_${specLabel(spec)}_from_${from}${accumulate ? '_acc' : ''}`;
  if (!(['x', 'y'] as unknown[]).includes(from)) {
    throw new RangeError(`${label}: 'from' must be 'x' or 'y', got ${from as string}`);
  }
  if (from === 'y' && !activationFromY(spec)) {
    throw new RangeError(
      `${label}: the gradient of ${specLabel(spec)} cannot be computed from its output y ` +
        `(gelu and gelu_tanh never, elu and leaky_relu only with alpha >= 0); pass the input x with from: 'x'`,
    );
  }
  checkCount(label, 'n', n);
  checkF32Each(label, { [from]: input, dy, dx }, n, `[${n}]`);
  if (input === dx) throw new RangeError(`${label}: the ${from} buffer cannot also be dx`);
  const inPlace = dy === dx;
  if (inPlace && accumulate) throw new RangeError(`${label}: accumulate needs dx separate from dy`);
  const pipeline = engine.pipeline(activationGradShader(spec, { from, accumulate, inPlace }), label);
  const params = engine.tempUniform(new Uint32Array([n, 0, 0, 0]), `${label} params`);
  const buffers = inPlace ? [input, dx, params] : [input, dy, dx, params];
  // f' and the product (+ the add when accumulating); the input and dy read, dx written (and
  // read when accumulating).
  const acc = accumulate ? 1 : 0;
  const work = { flops: n * (2 + acc), bytes: 4 * n * (3 + acc) };
  engine.dispatch(pipeline, buffers, engine.dispatchGrid(n, WORKGROUP_1D), label, work);
}

/**
 * Threads per softmax row: the smallest power of two covering cols, at most the workgroup
 * (cols = 10 runs 16 threads a row, 16 rows a workgroup; cols >= 256 one row a workgroup).
 */
export function softmaxThreadsPerRow(cols: number): number {
  let t = 1;
  while (t < cols && t < WORKGROUP_1D) t *= 2;
  return t;
}

export interface SoftmaxOptions {
  /** log_softmax: x − max − log Σ exp(x − max), exact where the softmax underflows. */
  log?: boolean;
  /** Overrides softmaxThreadsPerRow(cols): a power of two from 1 to 256. */
  threadsPerRow?: number;
  /** Rows per workgroup; default (and at most) 256 / threadsPerRow. */
  rowsPerWorkgroup?: number;
}

function softmaxGeometry(engine: Engine, label: string, rows: number, cols: number, options: SoftmaxOptions) {
  checkCount(label, 'rows', rows);
  checkCount(label, 'cols', cols);
  if (cols === 0 && rows > 0) throw new RangeError(`${label}: a softmax over [${rows}, 0] has no columns`);
  const t = options.threadsPerRow ?? softmaxThreadsPerRow(cols);
  if (!Number.isInteger(t) || t < 1 || t > WORKGROUP_1D || (t & (t - 1)) !== 0) {
    throw new RangeError(
      `${label}: threadsPerRow must be a power of two from 1 to ${WORKGROUP_1D}, got ${t}`,
    );
  }
  const r = options.rowsPerWorkgroup ?? WORKGROUP_1D / t;
  if (!Number.isInteger(r) || r < 1 || r * t > WORKGROUP_1D) {
    throw new RangeError(
      `${label}: rowsPerWorkgroup must be an integer from 1 to ${WORKGROUP_1D / t} (256 / threadsPerRow), got ${r}`,
    );
  }
  return { layout: { threadsPerRow: t, rowsPerWorkgroup: r }, grid: engine.dispatchGrid(rows, r) };
}

/** Row-wise softmax of x [rows, cols] (max-subtracted, stable). A row with a NaN, a +Inf, or only −Inf is all NaN. */
export function encodeSoftmax(
  engine: Engine,
  x: Bindable,
  y: Bindable,
  rows: number,
  cols: number,
  options: SoftmaxOptions = {},
): void {
  const label = options.log ? 'log_softmax' : 'softmax';
  const { layout, grid } = softmaxGeometry(engine, label, rows, cols, options);
  checkF32Each(label, { x, y }, rows * cols, `[${rows}, ${cols}]`);
  if (x === y) throw new RangeError(`${label}: x and y must be different buffers`);
  const pipeline = engine.pipeline(softmaxShader(layout, options.log), `${label}_t${layout.threadsPerRow}`);
  const params = engine.tempUniform(new Uint32Array([rows, cols, 0, 0]), `${label} params`);
  // Per element: max, subtract, exp, sum, divide. x read and y written once (the kernel
  // stores exp and rescales it in place: the minimum is counted).
  const work = { flops: 5 * rows * cols, bytes: 8 * rows * cols };
  engine.dispatch(pipeline, [x, y, params], grid, label, work);
}

/** Softmax backward from its output: dx = y ⊙ (dy − Σ_j dy_j y_j) per row. */
export function encodeSoftmaxGrad(
  engine: Engine,
  y: Bindable,
  dy: Bindable,
  dx: Bindable,
  rows: number,
  cols: number,
  options: SoftmaxOptions = {},
): void {
  const label = 'softmax_grad';
  const { layout, grid } = softmaxGeometry(engine, label, rows, cols, options);
  checkF32Each(label, { y, dy, dx }, rows * cols, `[${rows}, ${cols}]`);
  if (dx === y || dx === dy) throw new RangeError(`${label}: dx must be separate from y and dy`);
  const pipeline = engine.pipeline(softmaxGradShader(layout), `${label}_t${layout.threadsPerRow}`);
  const params = engine.tempUniform(new Uint32Array([rows, cols, 0, 0]), `${label} params`);
  // Per element: the dot's multiply-add, the subtract and the multiply; y, dy read, dx written.
  const work = { flops: 4 * rows * cols, bytes: 12 * rows * cols };
  engine.dispatch(pipeline, [y, dy, dx, params], grid, label, work);
}

// ------------------------------------------------------------------ softmax references

/**
 * Float64 row-wise softmax: exp(x − max) / Σ (with `log`, x − max − log Σ). A row whose max is NaN or ±Inf (any NaN, a
 * +Inf, or only −Inf) is all NaN, as the kernel defines it.
 */
export function softmaxReference(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  log = false,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) {
      const v = x[base + j] ?? NaN;
      m = Number.isNaN(v) || Number.isNaN(m) ? NaN : Math.max(m, v);
    }
    if (!Number.isFinite(m)) {
      out.fill(NaN, base, base + cols);
      continue;
    }
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp((x[base + j] ?? NaN) - m);
      out[base + j] = e;
      s += e;
    }
    for (let j = 0; j < cols; j++) {
      out[base + j] = log ? (x[base + j] ?? NaN) - m - Math.log(s) : (out[base + j] ?? NaN) / s;
    }
  }
  return out;
}

/** Float64 softmax backward from its output: dx_j = y_j·(dy_j − Σ_k dy_k·y_k) per row. */
export function softmaxGradReference(
  y: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += (dy[r * cols + j] ?? NaN) * (y[r * cols + j] ?? NaN);
    for (let j = 0; j < cols; j++) {
      out[r * cols + j] = (y[r * cols + j] ?? NaN) * ((dy[r * cols + j] ?? NaN) - dot);
    }
  }
  return out;
}
