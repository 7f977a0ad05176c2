/**
 * Batch normalisation over x: [rows, features] row-major, statistics per feature (column)
 * over the rows.
 *
 * The training forward and the backward are column reductions. One workgroup owns
 * FEATURES_PER_WG neighbouring features and spreads the rows over ROW_LANES lanes:
 * thread (lane, col) visits rows lane, lane + ROW_LANES, ... of feature tile*FEATURES_PER_WG +
 * col, so a row of the tile is read as FEATURES_PER_WG consecutive floats. Per-thread partial
 * sums are combined over the lanes by a shared-memory tree. The whole column stays in one
 * workgroup, so each kernel is a single dispatch that reads x a few times.
 *
 * Accuracy when |mean| ≫ std (e.g. 1000 ± 0.01): every column is shifted by its first
 * element k = x[0, f] before summing. d = x − k is exact in f32 when x and k are within a
 * factor 2 of each other (Sterbenz), so the sums see the small deviations rather than the
 * large values. The variance is the corrected two-pass form
 *   var = (Σ e² − (Σ e)² / N) / N,   e = d − mean(d),
 * whose second term cancels most of the rounding left in mean(d). The normalised value is
 * formed as x̂ = ((x − k) − mean(d))·invStd, never as (x − mean)·invStd: the mean rounded to
 * f32 is off by up to ulp(|mean|)/2 (3e-5 at 1000), which against a std of 0.006 would move
 * x̂ by 0.5%. The forward therefore saves k and mean(d) beside the mean and invStd (the
 * `saved` buffer below), and the backward rebuilds x̂ from them exactly as the forward did.
 *
 * saved: [BN_SAVED_ROWS, features] row-major f32, written by the training forward:
 *   row BN_SAVED.mean         the batch mean, k + mean(d) rounded once to f32 (for reading;
 *                             the backward does not use it)
 *   row BN_SAVED.invStd       1/√(var + ε)
 *   row BN_SAVED.shift        k = x[0, f]
 *   row BN_SAVED.shiftedMean  mean(d) = mean(x − k), the f32 value the forward centred with
 *
 * NaN: columns are independent, so a NaN poisons only its own feature; invStd of a NaN
 * variance is that NaN, chosen on the bit pattern, because inverseSqrt(NaN) is not
 * guaranteed to be NaN on every adapter.
 */
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';

/** Features per workgroup of the column kernels (neighbouring threads, neighbouring addresses). */
export const BN_FEATURES_PER_WG = 16;
/** Row lanes per workgroup of the column kernels; FEATURES_PER_WG · ROW_LANES = 256 threads. */
export const BN_ROW_LANES = 16;

/** Rows of the saved-statistics buffer ([BN_SAVED_ROWS, features], see above). */
export const BN_SAVED = { mean: 0, invStd: 1, shift: 2, shiftedMean: 3 } as const;
export const BN_SAVED_ROWS = 4;

/** Shared by the column kernels: the tile geometry, the lane tree and the NaN helpers. */
const columnPrelude = /* wgsl */ `
const FX: u32 = ${BN_FEATURES_PER_WG}u;  // features per workgroup
const RY: u32 = ${BN_ROW_LANES}u;  // row lanes per workgroup
${isNan}

var<workgroup> acc_a: array<f32, FX * RY>;
var<workgroup> acc_b: array<f32, FX * RY>;

// Sums acc_a and acc_b over the RY lanes of each column; the totals end in lane 0
// (indices 0..FX-1). Called by every thread of the workgroup.
fn reduce_lanes(lane: u32, col: u32) {
  workgroupBarrier();
  for (var stride = RY / 2u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
      acc_a[lane * FX + col] += acc_a[(lane + stride) * FX + col];
      acc_b[lane * FX + col] += acc_b[(lane + stride) * FX + col];
    }
    workgroupBarrier();
  }
}`;

/**
 * Training forward. Bindings: 0 x [rows, features], 1 gamma [features], 2 beta [features],
 * 3 y [rows, features], 4 saved [4, features] (written), 5 running_mean [features]
 * (read-write), 6 running_var [features] (read-write), 7 params.
 * Launch: ceil(features / FX) workgroups (folded 2-D).
 */
export function batchNormTrainShader(): string {
  return /* wgsl */ `
struct Params {
  rows: u32, features: u32, epsilon: f32, momentum: f32,
  one_minus_momentum: f32, running_var_scale: f32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> ys: array<f32>;
@group(0) @binding(4) var<storage, read_write> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;
${columnPrelude}

@compute @workgroup_size(FX, RY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let col = lid.x;
  let lane = lid.y;
  let f = (wid.x + wid.y * nwg.x) * FX + col;
  let in_range = f < params.features;  // the last tile may be partly outside
  let rows = params.rows;
  let stride = params.features;
  var shift = 0.0;
  if (in_range) { shift = xs[f]; }  // x[0, f]

  // Pass 1: Σ (x − shift).
  var s = 0.0;
  if (in_range) {
    for (var r = lane; r < rows; r += RY) { s += xs[r * stride + f] - shift; }
  }
  acc_a[lane * FX + col] = s;
  acc_b[lane * FX + col] = 0.0;
  reduce_lanes(lane, col);
  let mean_d = acc_a[col] / f32(rows);  // mean of the shifted column
  workgroupBarrier();  // everyone has read the totals before pass 2 overwrites them

  // Pass 2: Σ e and Σ e², e = x − shift − mean_d.
  var se = 0.0;
  var se2 = 0.0;
  if (in_range) {
    for (var r = lane; r < rows; r += RY) {
      let e = (xs[r * stride + f] - shift) - mean_d;
      se += e;
      se2 += e * e;
    }
  }
  acc_a[lane * FX + col] = se;
  acc_b[lane * FX + col] = se2;
  reduce_lanes(lane, col);
  let sum_e = acc_a[col];
  var variance = (acc_b[col] - sum_e * sum_e / f32(rows)) / f32(rows);
  variance = select(variance, 0.0, variance < 0.0);  // keeps NaN (the comparison is false)
  let inv_std = select(inverseSqrt(variance + params.epsilon), variance, is_nan(variance));
  if (!in_range) { return; }

  if (lane == 0u) {
    let mean = shift + mean_d;
    saved[${BN_SAVED.mean} * stride + f] = mean;
    saved[${BN_SAVED.invStd} * stride + f] = inv_std;
    saved[${BN_SAVED.shift} * stride + f] = shift;
    saved[${BN_SAVED.shiftedMean} * stride + f] = mean_d;
    running_mean[f] = params.momentum * running_mean[f] + params.one_minus_momentum * mean;
    running_var[f] = params.momentum * running_var[f] +
      params.one_minus_momentum * (variance * params.running_var_scale);
  }

  // Pass 3: y = γ·x̂ + β with x̂ = e·invStd (the backward forms e the same way).
  let scale = gamma[f] * inv_std;
  let offset = beta[f];
  for (var r = lane; r < rows; r += RY) {
    let i = r * stride + f;
    ys[i] = ((xs[i] - shift) - mean_d) * scale + offset;
  }
}`;
}

/**
 * Inference forward, elementwise. Bindings: 0 x, 1 gamma, 2 beta, 3 running_mean,
 * 4 running_var, 5 y, 6 params. Launch: one thread per element (folded 2-D).
 */
export function batchNormInferenceShader(): string {
  return /* wgsl */ `
struct Params { n: u32, features: u32, epsilon: f32, _pad0: u32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read> running_var: array<f32>;
@group(0) @binding(5) var<storage, read_write> ys: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let f = i % params.features;
  let v = running_var[f];
  let inv_std = select(inverseSqrt(v + params.epsilon), v, is_nan(v));
  ys[i] = (xs[i] - running_mean[f]) * (gamma[f] * inv_std) + beta[f];
}`;
}

/**
 * Backward. Bindings: 0 x, 1 dy [rows, features], 2 gamma, 3 saved [4, features] (as written
 * by the training forward), 4 dx [rows, features], 5 dgamma, 6 dbeta [features], 7 params.
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·invStd/N · (N·dy − dβ − x̂·dγ),
 *   x̂ = e·invStd,  e = (x − shift) − shiftedMean  (the forward's e, bit for bit).
 * Launch: ceil(features / FX) workgroups (folded 2-D).
 */
export function batchNormBackwardShader(): string {
  return /* wgsl */ `
struct Params { rows: u32, features: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read> dys: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> dxs: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;
${columnPrelude}

@compute @workgroup_size(FX, RY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let col = lid.x;
  let lane = lid.y;
  let f = (wid.x + wid.y * nwg.x) * FX + col;
  let in_range = f < params.features;
  let rows = params.rows;
  let stride = params.features;
  var istd = 0.0;
  var shift = 0.0;
  var mean_d = 0.0;
  if (in_range) {
    istd = saved[${BN_SAVED.invStd} * stride + f];
    shift = saved[${BN_SAVED.shift} * stride + f];
    mean_d = saved[${BN_SAVED.shiftedMean} * stride + f];
  }

  // Pass 1: Σ dy and Σ dy·e; the latter times invStd is dγ.
  var sdy = 0.0;
  var sdye = 0.0;
  if (in_range) {
    for (var r = lane; r < rows; r += RY) {
      let i = r * stride + f;
      let dy = dys[i];
      sdy += dy;
      sdye += dy * ((xs[i] - shift) - mean_d);
    }
  }
  acc_a[lane * FX + col] = sdy;
  acc_b[lane * FX + col] = sdye;
  reduce_lanes(lane, col);
  let db = acc_a[col];
  let dg = acc_b[col] * istd;
  if (!in_range) { return; }
  if (lane == 0u) {
    dbeta[f] = db;
    dgamma[f] = dg;
  }

  // Pass 2: dx.
  let n = f32(rows);
  let k = gamma[f] * istd / n;
  for (var r = lane; r < rows; r += RY) {
    let i = r * stride + f;
    let xhat = ((xs[i] - shift) - mean_d) * istd;
    dxs[i] = k * (n * dys[i] - db - xhat * dg);
  }
}`;
}
