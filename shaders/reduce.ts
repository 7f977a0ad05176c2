/**
 * Reductions: sums (row, column, full, accumulate-into-a-slot), row-wise argmax, and the
 * correct-prediction counts behind accuracy metrics.
 *
 * Sums use one barrier-free kernel, applied in passes. A pass views x as [outer, n, inner]
 * and writes y[outer, parts, inner], each part the sum of some of the n terms (in four
 * interleaved chains); the next pass sums the parts, until one is left. The wrapper gives a
 * thread at most 64 terms in an intermediate pass and up to 256 in a last one
 * (src/kernels/reduce.ts). Neighbouring threads take neighbouring parts (inner = 1) or
 * neighbouring inner indices, so they read neighbouring addresses. No shared memory and no
 * barriers: on a software adapter, where a CPU thread steps through a workgroup's
 * invocations, every barrier costs a pass over all of them (a 256-wide tree per row ran at
 * a third of a copy's speed on lavapipe); on a GPU the passes are as coalesced as a copy.
 * The order of additions is fixed by the shapes alone, so results are deterministic.
 *
 * Argmax and the counts use `is_nan` on the bit pattern (common.ts): comparisons with a NaN
 * cannot be trusted to a driver's fast-math.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { addWorkgroupHits, flatIndex, isNan, weightsThenParams, WORKGROUP_1D } from './common.js';

/**
 * Bindings: 0 x (read), 1 y (read_write), 2 params.
 * Part b of a pass is lane b % lanes of block b / lanes; a block covers `span` = lanes · T
 * consecutive k, and its lanes interleave there: lane l takes k = l, l + lanes, ... (T =
 * span / lanes terms at most; a last pass is one block of one lane, span = n). With inner = 1 a block's threads stream through one contiguous stretch (a CPU's
 * prefetcher follows it) while neighbouring threads still read neighbouring addresses.
 * y[out_offset + t] = scale · (sum of part t), plus its old value when `accumulate` is set
 * (y[slot] += Σ x for a loss accumulated over an epoch). Launch: one thread per output,
 * outer · parts · inner of them (folded 2-D).
 */
export function partialSumShader(): string {
  return /* wgsl */ `
struct Params {
  outer: u32, n: u32, inner: u32, parts: u32,  // x: [outer, n, inner] -> y: [outer, parts, inner]
  lanes: u32, span: u32, out_offset: u32, accumulate: u32,
  scale: f32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flat_index(gid, nwg);
  let inner = params.inner;
  let parts = params.parts;
  if (t >= params.outer * parts * inner) { return; }
  let lanes = params.lanes;
  // t = (o·parts + b)·inner + i and b = block·lanes + lane. Integer division is slow on a
  // CPU, and most views have a factor of 1 (full sums, rows, columns, last passes): skip it.
  var q = t;
  var i = 0u;
  if (inner != 1u) {
    q = t / inner;
    i = t - q * inner;
  }
  var o = 0u;
  var b = q;
  if (params.outer != 1u) {
    o = q / parts;
    b = q - o * parts;
  }
  var block = b;
  var lane = 0u;
  if (lanes != 1u) {
    block = b / lanes;
    lane = b - block * lanes;
  }
  let n = params.n;
  let first = block * params.span;
  let end = min(n, first + params.span);
  // Term k sits at (o·n + k)·inner + i; this part's terms are lanes·inner apart.
  let stride = lanes * inner;
  var k = first + lane;
  var at = (o * n + k) * inner + i;
  var a0 = 0.0;
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
  // While k + 3·lanes < end, written so that it cannot wrap.
  for (; k < end && end - k > 3u * lanes; k += 4u * lanes) {
    a0 += xs[at];
    a1 += xs[at + stride];
    a2 += xs[at + 2u * stride];
    a3 += xs[at + 3u * stride];
    at += 4u * stride;
  }
  for (; k < end; k += lanes) {
    a0 += xs[at];
    at += stride;
  }
  var s = ((a0 + a1) + (a2 + a3)) * params.scale;
  let out = params.out_offset + t;
  if (params.accumulate != 0u) {
    s = ys[out] + s;
  }
  ys[out] = s;
}`;
}

/**
 * WGSL `fn argmax_<name>(base: u32, cols: u32) -> u32` over `array[base .. base + cols)`:
 * the first index of the maximum, or of the first NaN when the row has one (numpy's
 * convention: a NaN row is not silently ranked). cols ≥ 1.
 */
function argmaxFn(name: string, array: string): string {
  return /* wgsl */ `
fn argmax_${name}(base: u32, cols: u32) -> u32 {
  var best = ${array}[base];
  if (is_nan(best)) { return 0u; }
  var best_j = 0u;
  for (var j = 1u; j < cols; j++) {
    let v = ${array}[base + j];
    if (is_nan(v)) { return j; }
    if (v > best) {
      best = v;
      best_j = j;
    }
  }
  return best_j;
}`;
}

/** Bindings: 0 x [rows, cols] f32, 1 out [rows] u32, 2 params. One thread per row (folded 2-D). */
export function argmaxShader(): string {
  return /* wgsl */ `
struct Params { rows: u32, cols: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}
${argmaxFn('x', 'xs')}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg);
  if (row >= params.rows) { return; }
  out[row] = argmax_x(row * params.cols, params.cols);
}`;
}

export type CorrectCountKind = 'sparse' | 'dense' | 'binary';

/**
 * Bindings: 0 pred [rows, cols] f32, 1 labels (sparse: u32 [rows]; dense, binary: f32
 * [rows, cols]), 2 counts (u32, atomic), 3 params.
 * Launch: one thread per row (sparse, dense) or per element (binary) of the first
 * rows_valid rows, folded 2-D. Each workgroup totals its hits in workgroup memory and adds
 * them to counts[slot] with one atomic: integer addition, so the order does not matter.
 */
export function correctCountShader(kind: CorrectCountKind): string {
  const sparse = kind === 'sparse';
  const dense = kind === 'dense';
  const binary = kind === 'binary';
  return wgsl`
struct Params { rows_valid: u32, cols: u32, slot: u32, threshold: f32 }

@group(0) @binding(0) var<storage, read> pred: array<f32>;
#if ${sparse}
@group(0) @binding(1) var<storage, read> labels: array<u32>;
#else
@group(0) @binding(1) var<storage, read> labels: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}
${argmaxFn('pred', 'pred')}
${dense ? argmaxFn('label', 'labels') : ''}

var<workgroup> hits: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = flat_index(gid, nwg);
  let cols = params.cols;
  var right = false;
#if ${sparse}
  if (t < params.rows_valid) {
    right = argmax_pred(t * cols, cols) == labels[t];
  }
#elif ${dense}
  if (t < params.rows_valid) {
    right = argmax_pred(t * cols, cols) == argmax_label(t * cols, cols);
  }
#elif ${binary}
  // Element-wise over [rows_valid, cols], as Keras 3's binary_accuracy: right when
  // y_true == cast(y_pred > threshold), exact equality, so a soft label such as 0.9 is never
  // right. A NaN prediction is "not above the threshold" (0) and a NaN label equals nothing;
  // both tested on the bit pattern so fast-math cannot flip them.
  if (t < params.rows_valid * cols) {
    let p = pred[t];
    let l = labels[t];
    let p_on = !is_nan(p) && p > params.threshold;
    right = !is_nan(l) && l == select(0.0, 1.0, p_on);
  }
#endif
  if (right) {
    atomicAdd(&hits, 1u);
  }
${addWorkgroupHits}
}`;
}

/**
 * Bindings: 0 pred [rows, cols] f32, 1 labels (as correctCountShader), 2 out [rows] f32,
 * then (weighted) 3 weights [rows] f32 and params last.
 * The per-sample accuracy of each row, times its sample weight when weighted (1 otherwise),
 * for a weighted accuracy metric (Σ w·v / Σ w, Keras's MeanMetricWrapper with
 * sample_weight): 'sparse' and 'dense' 1 when the row's prediction is right (the rules of
 * correctCountShader), else 0; 'binary' the fraction of the row's units right (Keras 3's
 * binary_accuracy takes the mean over the last axis). Launch: one thread per row, folded 2-D.
 */
export function rowCorrectShader(kind: CorrectCountKind, weighted: boolean): string {
  const sparse = kind === 'sparse';
  const dense = kind === 'dense';
  const binary = kind === 'binary';
  return wgsl`
struct Params { rows: u32, cols: u32, threshold: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> pred: array<f32>;
#if ${sparse}
@group(0) @binding(1) var<storage, read> labels: array<u32>;
#else
@group(0) @binding(1) var<storage, read> labels: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${weightsThenParams(weighted)}

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}
${binary ? '' : argmaxFn('pred', 'pred')}
${dense ? argmaxFn('label', 'labels') : ''}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg);
  if (row >= params.rows) { return; }
  let cols = params.cols;
  var v = 0.0;
#if ${sparse}
  v = select(0.0, 1.0, argmax_pred(row * cols, cols) == labels[row]);
#elif ${dense}
  v = select(0.0, 1.0, argmax_pred(row * cols, cols) == argmax_label(row * cols, cols));
#elif ${binary}
  var right = 0u;
  for (var j = 0u; j < cols; j++) {
    let p = pred[row * cols + j];
    let l = labels[row * cols + j];
    let p_on = !is_nan(p) && p > params.threshold;
    right += select(0u, 1u, !is_nan(l) && l == select(0.0, 1.0, p_on));
  }
  v = f32(right) / f32(cols);
#endif
#if ${weighted}
  out[row] = weights[row] * v;
#else
  out[row] = v;
#endif
}`;
}
