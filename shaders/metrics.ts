/**
 * Epoch metrics beyond accuracy (Keras's mae, mse, rmse, precision, recall, f1_score, auc),
 * accumulated on the GPU so that an epoch needs no per-step readback.
 *
 *  - Row errors: one value per row, mean_j |p − t| or mean_j (p − t)², which the caller adds
 *    into an f32 slot with the deterministic sum of reduce.ts (no float atomics); for a
 *    weighted metric times the row's sample weight.
 *  - Confusion cells per row (weighted precision / recall / f1): the row's TP, FP, FN, TN
 *    counts times its sample weight, [4, rows] f32, summed per cell like the row errors.
 *  - AUC buckets per row (weighted auc): the row's AUC histogram times its weight,
 *    [2 · thresholds, rows] f32, summed per bucket likewise.
 *  - Confusion counts at one threshold: TP, FP, FN, TN over every element, as u32 atomics.
 *  - The AUC histogram: Keras's evenly spaced thresholds, counted per bucket (negatives and
 *    positives apart); the host turns the buckets into TP/FP per threshold (suffix sums).
 *
 * Counting kernels total their hits per workgroup in workgroup atomics, then add each
 * non-zero total to the global counter with one atomic: integer adds, so order is irrelevant.
 * NaN tests use `is_nan` on the bit pattern (common.ts).
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatIndex, isNan, weightsThenParams, WORKGROUP_1D } from './common.js';

export type RowErrorKind = 'abs' | 'squared';

/**
 * Bindings: 0 pred [rows, cols] f32, 1 truth (targets) [rows, cols] f32, 2 out [rows] f32,
 * then (weighted) 3 weights [rows] f32 and params last.
 * out[r] = w[r] · (1/cols) Σ_j |pred − truth| ('abs') or (pred − truth)² ('squared'), the
 * per-sample value of Keras's mean_absolute_error / mean_squared_error, times the row's
 * sample weight when weighted (w = 1 otherwise). A NaN anywhere in the row gives NaN (plain
 * arithmetic propagates it). Launch: one thread per row, folded 2-D.
 */
export function rowErrorShader(kind: RowErrorKind, weighted = false): string {
  const squared = kind === 'squared';
  return wgsl`
struct Params { rows: u32, cols: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> truth: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${weightsThenParams(weighted)}

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg);
  if (row >= params.rows) { return; }
  let cols = params.cols;
  let base = row * cols;
  var acc = 0.0;
  for (var j = 0u; j < cols; j++) {
    let e = pred[base + j] - truth[base + j];
#if ${squared}
    acc += e * e;
#else
    acc += abs(e);
#endif
  }
#if ${weighted}
  out[row] = weights[row] * (acc / f32(cols));
#else
  out[row] = acc / f32(cols);
#endif
}`;
}

/**
 * Bindings: 0 pred [rows, cols] f32, 1 labels [rows, cols] f32, 2 out [4, rows] f32, then
 * (weighted) 3 weights [rows] f32 and params last.
 * The confusion cells of each row, for weighted precision / recall / f1: out[c·rows + r] =
 * w[r] · (the number of the row's elements in cell c: 0 TP, 1 FP, 2 FN, 3 TN), positives as
 * in confusionShader. Keras broadcasts a sample weight over the row's units, so summing each
 * cell over rows gives its weighted count. Launch: one thread per row, folded 2-D.
 */
export function confusionRowsShader(weighted: boolean): string {
  return wgsl`
struct Params { rows: u32, cols: u32, threshold: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${weightsThenParams(weighted)}

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg);
  let rows = params.rows;
  if (row >= rows) { return; }
  let cols = params.cols;
  // TP, FP, FN, TN of this row (integers, exact in f32 below 2^24 columns).
  var cells = vec4f(0.0);
  for (var j = 0u; j < cols; j++) {
    let p = pred[row * cols + j];
    let l = labels[row * cols + j];
    let p_on = !is_nan(p) && p > params.threshold;
    let l_on = is_nan(l) || l != 0.0;
    let cell = select(select(3u, 2u, l_on), select(1u, 0u, l_on), p_on);
    cells[cell] += 1.0;
  }
#if ${weighted}
  cells *= weights[row];
#endif
  out[row] = cells.x;
  out[rows + row] = cells.y;
  out[2u * rows + row] = cells.z;
  out[3u * rows + row] = cells.w;
}`;
}

/**
 * Bindings: 0 pred [n] f32, 1 labels [n] f32, 2 counts (u32 atomics), 3 params.
 * Over the n = rows · cols elements: a label is positive when it is not 0 (Keras casts
 * y_true to bool; a NaN label is positive, as that cast makes it), a prediction when it is
 * above the threshold (a NaN prediction never is). counts[offset + 0..3] += TP, FP, FN, TN.
 * Launch: one thread per element, folded 2-D.
 */
export function confusionShader(): string {
  return /* wgsl */ `
struct Params { n: u32, offset: u32, threshold: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}

// TP, FP, FN, TN of this workgroup.
var<workgroup> wg_counts: array<atomic<u32>, 4>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = flat_index(gid, nwg);
  if (t < params.n) {
    let p = pred[t];
    let l = labels[t];
    let p_on = !is_nan(p) && p > params.threshold;
    let l_on = is_nan(l) || l != 0.0;
    // 0 TP, 1 FP, 2 FN, 3 TN
    let cell = select(select(3u, 2u, l_on), select(1u, 0u, l_on), p_on);
    atomicAdd(&wg_counts[cell], 1u);
  }
  workgroupBarrier();
  if (lid < 4u) {
    let total = atomicLoad(&wg_counts[lid]);
    if (total > 0u) {
      atomicAdd(&counts[params.offset + lid], total);
    }
  }
}`;
}

/**
 * Bindings: 0 pred [n] f32, 1 labels [n] f32, 2 counts (u32 atomics), 3 params.
 * Keras's AUC bucketing for `thresholds` evenly spaced thresholds (its default 200): the
 * prediction is clipped to [0, 1] (a NaN one counts as 0), its bucket is
 * max(0, ceil(p · (thresholds − 1)) − 1), and counts[offset + 2·bucket + positive] += 1 with
 * the label's positivity as in confusionShader. Threshold i then sees as predicted positive
 * exactly the buckets ≥ i (the host takes suffix sums). Launch: one thread per element.
 */
export function aucHistogramShader(thresholds: number): string {
  const bins = 2 * thresholds;
  return /* wgsl */ `
struct Params { n: u32, offset: u32, scale: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
const BINS: u32 = ${bins}u;  // [bucket][negative, positive]
${flatIndex}
${isNan}

var<workgroup> wg_counts: array<atomic<u32>, BINS>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = flat_index(gid, nwg);
  if (t < params.n) {
    var p = pred[t];
    if (is_nan(p)) { p = 0.0; }
    p = clamp(p, 0.0, 1.0);
    // scale = thresholds − 1; p · scale ≤ scale, so the bucket is < thresholds.
    let bucket = u32(max(ceil(p * params.scale) - 1.0, 0.0));
    let l = labels[t];
    let positive = select(0u, 1u, is_nan(l) || l != 0.0);
    atomicAdd(&wg_counts[2u * bucket + positive], 1u);
  }
  workgroupBarrier();
  for (var b = lid; b < BINS; b += WG) {
    let total = atomicLoad(&wg_counts[b]);
    if (total > 0u) {
      atomicAdd(&counts[params.offset + b], total);
    }
  }
}`;
}

/**
 * Bindings: 0 pred [rows, cols] f32, 1 labels [rows, cols] f32, 2 out [2·thresholds, rows]
 * f32, then (weighted) 3 weights [rows] f32 and params last.
 * The AUC histogram of each row for weighted auc: out[(2·bucket + positive)·rows + r] =
 * w[r] · (the number of row r's elements in that bucket and class), buckets and positivity
 * as aucHistogramShader's. Summing each word over the rows gives Keras's weighted AUC
 * counts (a sample weight broadcast over the row's units). No atomics: one thread per
 * (bucket, row) scans the row, neighbouring threads taking neighbouring rows (their writes
 * are adjacent). Launch: thresholds · rows threads, folded 2-D.
 */
export function aucRowsShader(weighted: boolean): string {
  return wgsl`
struct Params { rows: u32, cols: u32, scale: f32, thresholds: u32 }

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${weightsThenParams(weighted)}

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flat_index(gid, nwg);
  let rows = params.rows;
  if (t >= params.thresholds * rows) { return; }
  let bucket = t / rows;
  let row = t - bucket * rows;
  let cols = params.cols;
  var negatives = 0.0;
  var positives = 0.0;
  for (var j = 0u; j < cols; j++) {
    var p = pred[row * cols + j];
    if (is_nan(p)) { p = 0.0; }
    p = clamp(p, 0.0, 1.0);
    // scale = thresholds − 1, as aucHistogramShader.
    let b = u32(max(ceil(p * params.scale) - 1.0, 0.0));
    if (b == bucket) {
      let l = labels[row * cols + j];
      if (is_nan(l) || l != 0.0) {
        positives += 1.0;
      } else {
        negatives += 1.0;
      }
    }
  }
#if ${weighted}
  let w = weights[row];
  negatives *= w;
  positives *= w;
#endif
  out[2u * bucket * rows + row] = negatives;
  out[(2u * bucket + 1u) * rows + row] = positives;
}`;
}
