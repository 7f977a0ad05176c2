/**
 * Activation functions as WGSL, shared by the elementwise activation kernels and the
 * matmul epilogue, and the row-wise softmax kernels. activationWgsl(spec) defines:
 *
 *   fn activate(x: f32) -> f32         y = f(x)
 *   fn activate_grad_x(x: f32) -> f32  f'(x), from the input
 *   fn activate_grad_y(y: f32) -> f32  f'(x), from the output: only where activationFromY(spec),
 *                                      so backward can use the stored output and skip the input
 *
 * A NaN input gives a NaN output and gradient on every adapter (WGSL leaves builtins' NaN
 * handling to the implementation). Formulas are the Keras ones, written in forms that
 * cannot overflow (sigmoid, tanh, softplus, gelu_tanh) and that do not cancel where the
 * naive form would (expm1 in elu/selu/tanh, log1p in softplus, the derivatives of sigmoid
 * and tanh as e/(1 + e)²).
 *
 * Kernels (generators at the end of the file):
 *   activationShader         y = f(x), one thread per element
 *   activationGradShader     dx (+)= dy ⊙ f'(·) from the input x or the output y
 *   softmaxShader            row-wise softmax, T threads per row
 *   softmaxGradShader        dx = y ⊙ (dy − Σ_j dy_j·y_j), T threads per row
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';

export const ACTIVATIONS = [
  'linear',
  'relu',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'softplus',
  'softsign',
  'exponential',
  'leaky_relu',
  'gelu',
  'gelu_tanh',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface ActivationSpec {
  name: Activation;
  /** elu's α (default 1) or leaky_relu's negative slope (default 0.2, as tf.keras / TF.js). */
  alpha?: number;
}

export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

/** The largest finite f32. */
const F32_MAX = 3.4028234663852886e38;

export function defaultAlpha(name: Activation): number {
  return name === 'leaky_relu' ? 0.2 : 1;
}

/**
 * True when f'(x) can be computed from y = f(x) alone: all but gelu and gelu_tanh, and for
 * elu and leaky_relu only with α ≥ 0 (a negative α maps negative x to positive y, so the
 * sign of y no longer tells the branch).
 */
export function activationFromY(spec: ActivationSpec): boolean {
  if (spec.name === 'gelu' || spec.name === 'gelu_tanh') return false;
  if (spec.name === 'leaky_relu' || spec.name === 'elu') return (spec.alpha ?? defaultAlpha(spec.name)) >= 0;
  return true;
}

/**
 * A WGSL f32 literal for a JS number; `what` names the value in the error for one that is
 * not finite as an f32 (NaN, ±Inf, or a double beyond ±3.4028235e38, which rounds to ±Inf).
 */
export function f32Literal(v: number, what = 'activation parameter'): string {
  if (!Number.isFinite(Math.fround(v))) {
    throw new RangeError(
      `${what} must be a finite f32 (|v| <= ${F32_MAX}), got ${v}${Number.isFinite(v) ? ', which rounds to ±Infinity in f32' : ''}`,
    );
  }
  const s = String(Math.fround(v));
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

interface Body {
  f: string;
  gradX: string;
  gradY?: string;
  /** Module-scope helper functions the expressions call (deduplicated on emission). */
  helpers?: readonly string[];
}

// x in (-inf, inf) -> σ(x): e = exp(-|x|) is in (0, 1], so nothing overflows.
const SIGMOID = /* wgsl */ `
fn sigmoid_stable(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}`;

// σ'(x) = σ(x)·(1 − σ(x)) = e/(1 + e)² with e = exp(-|x|): no 1 − σ cancellation for x ≫ 0.
const SIGMOID_GRAD = /* wgsl */ `
fn sigmoid_grad_stable(x: f32) -> f32 {
  let e = exp(-abs(x));
  return e / ((1.0 + e) * (1.0 + e));
}`;

// exp(x) − 1 without the cancellation of exp(x) − 1 near 0: Taylor to x⁸/8! for |x| < 0.5
// (truncation < 2^-26 relative), exp(x) − 1 beyond (loses at most 1.4 bits there).
const EXPM1 = /* wgsl */ `
fn expm1_stable(x: f32) -> f32 {
  let p = x * (1.0 + x * (0.5 + x * (0.16666667 + x * (0.041666668 + x * (0.008333334
    + x * (0.0013888889 + x * (0.0001984127 + x * 0.0000248016)))))));
  return select(exp(x) - 1.0, p, abs(x) < 0.5);
}`;

/**
 * WGSL `fn log1p_small(u: f32) -> f32`: log(1 + u) for u in [−0.5, 1] with full relative
 * precision, without WGSL's log, whose error for arguments near 1 is 2^-21 absolute:
 * 2·atanh(s) with s = u/(2 + u) in [−1/3, 1/3], series to s¹⁵ (truncation < 2^-29
 * relative). Self-contained; the losses use it too.
 */
export const log1pWgsl = /* wgsl */ `
fn log1p_small(u: f32) -> f32 {
  let s = u / (2.0 + u);
  let s2 = s * s;
  return 2.0 * s * (1.0 + s2 * (0.33333334 + s2 * (0.2 + s2 * (0.14285715 + s2 * (0.11111111
    + s2 * (0.09090909 + s2 * (0.07692308 + s2 * 0.06666667)))))));
}`;

// tanh(|x|) = −m/(2 + m) with m = expm1(−2|x|) in (−1, 0]: no overflow for large |x| and no
// 1 − exp cancellation near 0.
const TANH = /* wgsl */ `
fn tanh_stable(x: f32) -> f32 {
  let m = expm1_stable(-2.0 * abs(x));
  return sign(x) * (-m / (2.0 + m));
}`;

// tanh'(x) = 1 − tanh²(x) = 4e/(1 + e)² with e = exp(−2|x|): no cancellation for large |x|.
const TANH_GRAD = /* wgsl */ `
fn tanh_grad_stable(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return 4.0 * e / ((1.0 + e) * (1.0 + e));
}`;

// gelu_tanh'(x) = σ(2u) + x·σ'(2u)·2u' with 2u = 2√(2/π)·(x + 0.044715·x³) and
// 2u' = 2√(2/π)·(1 + 3·0.044715·x²). The second term uses x clamped to ±20: beyond, σ'(2u)
// is exactly 0 in f32 (|2u| > 600), and a raw x would overflow (x² past 1.8e19, or x times
// the constants once the compiler reassociates the product) into 0·∞ = NaN. At x = ±∞
// float64 gives ∞·0 = NaN; that is set on the bit pattern, as a compiler may assume no ∞.
const GELU_TANH_GRAD = /* wgsl */ `
fn gelu_tanh_grad(x: f32) -> f32 {
  let u2 = 1.5957691216 * (x + 0.044715 * x * x * x);
  let xc = clamp(x, -20.0, 20.0);
  let g = sigmoid_stable(u2) + xc * sigmoid_grad_stable(u2) * 1.5957691216 * (1.0 + 0.134145 * xc * xc);
  let bits = bitcast<u32>(x);
  return select(g, bitcast<f32>(bits | 0x7fc00000u), (bits & 0x7fffffffu) == 0x7f800000u);
}`;

// Abramowitz & Stegun 7.1.26: |error| < 1.5e-7 over the whole line.
const ERF = /* wgsl */ `
fn erf_approx(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-z * z));
}`;

function body(spec: ActivationSpec): Body {
  const a = f32Literal(spec.alpha ?? defaultAlpha(spec.name), `activation ${spec.name}: alpha`);
  const S = f32Literal(SELU_SCALE);
  const SA = f32Literal(SELU_SCALE * SELU_ALPHA);
  const fromY = activationFromY(spec);
  switch (spec.name) {
    case 'linear':
      return { f: 'x', gradX: '1.0', gradY: '1.0' };
    case 'relu':
      return {
        f: 'select(x, 0.0, x < 0.0)',
        gradX: 'select(0.0, 1.0, x > 0.0)',
        gradY: 'select(0.0, 1.0, y > 0.0)',
      };
    case 'elu':
      // y > 0 exactly where x > 0 only for α ≥ 0 (see activationFromY).
      return {
        f: `select(${a} * expm1_stable(x), x, x > 0.0)`,
        gradX: `select(${a} * exp(x), 1.0, x > 0.0)`,
        gradY: fromY ? `select(y + ${a}, 1.0, y > 0.0)` : undefined,
        helpers: [EXPM1],
      };
    case 'selu':
      return {
        f: `select(${SA} * expm1_stable(x), ${S} * x, x > 0.0)`,
        gradX: `select(${SA} * exp(x), ${S}, x > 0.0)`,
        gradY: `select(y + ${SA}, ${S}, y > 0.0)`,
        helpers: [EXPM1],
      };
    case 'sigmoid':
      return {
        f: 'sigmoid_stable(x)',
        gradX: 'sigmoid_grad_stable(x)',
        gradY: 'y * (1.0 - y)',
        helpers: [SIGMOID, SIGMOID_GRAD],
      };
    case 'hard_sigmoid':
      // 0.2·x + 0.5 written as 0.2·(x + 2.5): x + 2.5 is exact near the lower kink, where
      // 0.2·x + 0.5 would cancel (f32's 0.2 is not exact) and lose up to 20% of a tiny y.
      return {
        f: 'clamp((x + 2.5) * 0.2, 0.0, 1.0)',
        gradX: 'select(0.0, 0.2, x > -2.5 && x < 2.5)',
        gradY: 'select(0.0, 0.2, y > 0.0 && y < 1.0)',
      };
    case 'tanh':
      return {
        f: 'tanh_stable(x)',
        gradX: 'tanh_grad_stable(x)',
        gradY: '1.0 - y * y',
        helpers: [EXPM1, TANH, TANH_GRAD],
      };
    case 'softplus':
      // log(1 + exp(x)) = max(x, 0) + log1p(exp(−|x|)); f'(x) = σ(x) = 1 − exp(−y).
      return {
        f: 'max(x, 0.0) + log1p_small(exp(-abs(x)))',
        gradX: 'sigmoid_stable(x)',
        gradY: '-expm1_stable(-y)',
        helpers: [SIGMOID, log1pWgsl, EXPM1],
      };
    case 'softsign':
      return {
        f: 'x / (1.0 + abs(x))',
        gradX: '1.0 / ((1.0 + abs(x)) * (1.0 + abs(x)))',
        gradY: '(1.0 - abs(y)) * (1.0 - abs(y))',
      };
    case 'exponential':
      return { f: 'exp(x)', gradX: 'exp(x)', gradY: 'y' };
    case 'leaky_relu':
      return {
        f: `select(${a} * x, x, x > 0.0)`,
        gradX: `select(${a}, 1.0, x > 0.0)`,
        gradY: fromY ? `select(${a}, 1.0, y > 0.0)` : undefined,
      };
    case 'gelu':
      // 0.5·x·(1 + erf(x/√2)); f'(x) = Φ(x) + x·φ(x)
      return {
        f: '0.5 * x * (1.0 + erf_approx(x * 0.70710678))',
        gradX: '0.5 * (1.0 + erf_approx(x * 0.70710678)) + x * 0.39894228 * exp(-0.5 * x * x)',
        helpers: [ERF],
      };
    case 'gelu_tanh': {
      // 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³), computed as x·σ(2u) (the
      // same function: 0.5·(1 + tanh(u)) = σ(2u)) so that 1 + tanh(u) cannot cancel for x ≪ 0.
      // f'(x): see GELU_TANH_GRAD.
      const u2 = '1.5957691216 * (x + 0.044715 * x * x * x)';
      return {
        f: `x * sigmoid_stable(${u2})`,
        gradX: 'gelu_tanh_grad(x)',
        helpers: [SIGMOID, SIGMOID_GRAD, GELU_TANH_GRAD],
      };
    }
  }
}

/** WGSL for `activate`, `activate_grad_x` and (where activationFromY) `activate_grad_y`. Needs nothing else. */
export function activationWgsl(spec: ActivationSpec): string {
  if (!(ACTIVATIONS as readonly string[]).includes(spec.name)) {
    throw new RangeError(`unknown activation '${spec.name}'; expected one of ${ACTIVATIONS.join(', ')}`);
  }
  const b = body(spec);
  const gradY = b.gradY
    ? `
fn activate_grad_y(y: f32) -> f32 {
  return select(${b.gradY}, y, is_nan(y));
}`
    : '';
  const helpers = [...new Set(b.helpers ?? [])].join('\n');
  return `${isNan}
${helpers}
fn activate(x: f32) -> f32 {
  return select(${b.f}, x, is_nan(x));
}
fn activate_grad_x(x: f32) -> f32 {
  return select(${b.gradX}, x, is_nan(x));
}${gradY}`;
}

// ------------------------------------------------------------------ elementwise kernels

/**
 * y = f(x) over params.n elements. Bindings: 0 x (read), 1 y (write), 2 params { n }.
 * In place (x and y the same buffer): 0 y (read_write), 1 params.
 * Launch: one thread per element, Engine.dispatchGrid(n, WORKGROUP_1D).
 */
export function activationShader(spec: ActivationSpec, inPlace: boolean): string {
  return wgsl`
struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

#if ${inPlace}
@group(0) @binding(0) var<storage, read_write> ys: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
#else
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
#endif

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${activationWgsl(spec)}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  ys[i] = activate(${inPlace ? 'ys' : 'xs'}[i]);
}`;
}

export interface ActivationGradVariant {
  /** Which stored tensor the derivative is computed from. */
  from: 'x' | 'y';
  /** dx += dy ⊙ f' instead of dx = dy ⊙ f'. */
  accumulate: boolean;
  /** dy and dx are one buffer (dx overwrites dy; not with accumulate). */
  inPlace: boolean;
}

/**
 * dx = dy ⊙ f'(·) over params.n elements, f' from the input x or the output y.
 * Bindings: 0 input (x or y, read), 1 dy (read), 2 dx (write, or read_write with
 * accumulate), 3 params { n }. In place: 0 input, 1 dx (holds dy on entry), 2 params.
 * Launch: one thread per element, Engine.dispatchGrid(n, WORKGROUP_1D).
 */
export function activationGradShader(spec: ActivationSpec, v: ActivationGradVariant): string {
  if (v.from === 'y' && !activationFromY(spec)) {
    throw new RangeError(
      `activation '${spec.name}' (alpha ${spec.alpha ?? defaultAlpha(spec.name)}) has no gradient from its output`,
    );
  }
  return wgsl`
struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<storage, read> inputs: array<f32>;
#if ${v.inPlace}
@group(0) @binding(1) var<storage, read_write> dxs: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
#else
@group(0) @binding(1) var<storage, read> dys: array<f32>;
@group(0) @binding(2) var<storage, read_write> dxs: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
#endif

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${activationWgsl(spec)}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let g = activate_grad_${v.from}(inputs[i]);
  let d = ${v.inPlace ? 'dxs' : 'dys'}[i];
  // A NaN in either factor gives NaN, even times a zero derivative.
  let prod = select(select(d * g, g, is_nan(g)), d, is_nan(d));
#if ${v.accumulate}
  dxs[i] = dxs[i] + prod;
#else
  dxs[i] = prod;
#endif
}`;
}

// ---------------------------------------------------------------------- softmax kernels

/** How a softmax launch maps threads to rows. */
export interface RowLayout {
  /** Threads per row T: a power of two, at most WORKGROUP_1D. */
  threadsPerRow: number;
  /** Rows per workgroup R; the workgroup has T·R <= WORKGROUP_1D threads. */
  rowsPerWorkgroup: number;
}

/** Row reductions shared by the softmax kernels: T threads per row, R rows per workgroup. */
function rowReduceWgsl(layout: RowLayout): string {
  return /* wgsl */ `
const T: u32 = ${layout.threadsPerRow}u;        // threads per row (a power of two)
const ROWS_PER_WG: u32 = ${layout.rowsPerWorkgroup}u;
const WG: u32 = T * ROWS_PER_WG;
var<workgroup> red: array<f32, WG>;     // one partial per thread; a row owns T consecutive slots
${isNan}

fn nan_max(a: f32, b: f32) -> f32 {
  return select(select(max(a, b), b, is_nan(b)), a, is_nan(a));
}

// Tree over the T slots of each row; every thread of the workgroup must call these (barriers).
// lane = thread index within its row. Returns the row's total to every thread of the row.
fn row_max(lid: u32, lane: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { red[lid] = nan_max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[lid - lane];
  workgroupBarrier();  // everyone has read before red is reused
  return r;
}

fn row_sum(lid: u32, lane: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[lid - lane];
  workgroupBarrier();
  return r;
}`;
}

/**
 * Row-wise softmax of x [rows, cols] row-major into y: m = max_j x_j, e_j = exp(x_j − m),
 * y_j = e_j / Σ e. y first holds e_j, then is scaled in place by the thread that wrote it.
 * With `log`, y_j = x_j − m − log Σ e instead (log_softmax: finite where e_j underflows).
 * A row whose max is NaN or ±Inf (a NaN anywhere, a +Inf, or all −Inf) is all NaN.
 * Bindings: 0 x (read), 1 y (write), 2 params { rows, cols }.
 * Launch: ceil(rows / R) workgroups, folded 2-D (Engine.dispatchGrid(rows, R)).
 */
export function softmaxShader(layout: RowLayout, log = false): string {
  return /* wgsl */ `
struct Params { rows: u32, cols: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
${rowReduceWgsl(layout)}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lid / T;
  let lane = lid % T;
  let cols = params.cols;
  let valid = row < params.rows;  // rows past the end still take part in the barriers
  let base = row * cols;

  var m = 0.0;
  if (valid) {
    m = xs[base];  // a lane with no column of its own repeats column 0
    for (var j = lane; j < cols; j += T) { m = nan_max(m, xs[base + j]); }
  }
  m = row_max(lid, lane, m);
  let bits = bitcast<u32>(m);
  let bad = (bits & 0x7fffffffu) >= 0x7f800000u;  // NaN or ±Inf

  var s = 0.0;
  if (valid && !bad) {
    for (var j = lane; j < cols; j += T) {
      let d = xs[base + j] - m;  // <= 0
      let e = select(exp(d), 0.0, d < -104.0);  // below -104, exp underflows f32 (also -Inf)
      ys[base + j] = e;
      s += e;
    }
  }
  s = row_sum(lid, lane, s);  // >= 1: the max's own term is exp(0)

  if (valid) {
    let poison = bitcast<f32>(bits | 0x7fc00000u);  // a quiet NaN (from m: not a constant)
    for (var j = lane; j < cols; j += T) {
      ys[base + j] = select(${log ? 'xs[base + j] - m - log(s)' : 'ys[base + j] / s'}, poison, bad);
    }
  }
}`;
}

/**
 * Softmax backward from its output: dx_j = y_j·(dy_j − Σ_k dy_k·y_k) per row of [rows, cols].
 * Bindings: 0 y, 1 dy (read), 2 dx (write), 3 params { rows, cols }. Launch as softmaxShader.
 */
export function softmaxGradShader(layout: RowLayout): string {
  return /* wgsl */ `
struct Params { rows: u32, cols: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read> ys: array<f32>;
@group(0) @binding(1) var<storage, read> dys: array<f32>;
@group(0) @binding(2) var<storage, read_write> dxs: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
${rowReduceWgsl(layout)}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * ROWS_PER_WG + lid / T;
  let lane = lid % T;
  let cols = params.cols;
  let valid = row < params.rows;
  let base = row * cols;

  var dot = 0.0;
  if (valid) {
    for (var j = lane; j < cols; j += T) { dot += dys[base + j] * ys[base + j]; }
  }
  dot = row_sum(lid, lane, dot);

  if (valid) {
    for (var j = lane; j < cols; j += T) {
      let y = ys[base + j];
      // A NaN anywhere in the row makes dot NaN; pass it on explicitly.
      dxs[base + j] = select(y * (dys[base + j] - dot), dot, is_nan(dot));
    }
  }
}`;
}
