/**
 * Fused softmax + categorical cross-entropy over logits [rows, classes], one pass per row.
 *
 * Layout shared with shaders/losses.ts: each row is owned by a segment of `tpr` consecutive
 * lanes of a 256-thread workgroup (tpr a power of two ≤ 32, chosen on the host from the
 * row length and passed as a uniform, so one pipeline serves every shape), so a workgroup
 * holds 256 / tpr rows. Lane k of a row visits columns k, k + tpr, ...; per-lane partials are combined by a
 * segmented shared-memory tree whose total every lane of the row reads back.
 *
 * Per row: m = max x (NaN-free), s = Σ exp(x − m), lse = m + log s, and
 *   dense targets y:  loss = Σ_{y≠0} y·(lse − x) = Σ y·(m − x) + log(s)·Σ y
 *                     dlogits = ((Σ y)·softmax − y) · gradScale   (softmax − y for Σ y = 1)
 *   sparse label l:   loss = (m − x_l) + log s,  dlogits = (softmax − onehot(l)) · gradScale
 * Every exponent is ≤ 0, so logits of ±1e4 cannot overflow; terms with y = 0 are skipped,
 * so a −inf logit with a zero target adds 0 rather than 0·∞ = NaN.
 *
 * NaN: builtins may drop NaN (max) or turn it into ±Inf (exp on SwiftShader), so NaN logits
 * (and NaN dense targets) are counted on the bit pattern, and a row holding any gets NaN loss
 * and NaN gradient. A sparse label outside [0, classes) does the same and sets bit 0 of
 * flags[0].
 *
 * With counting, the same pass also counts the rows whose argmax of the logits equals the
 * label (sparse) or the argmax of the target row (dense) into counts[slot]: the accuracy
 * metric without a kernel of its own. Argmax as the accuracy kernel takes it (reduce.ts):
 * the row's first NaN if it holds one, else the first index of its maximum (0 when every
 * value is −inf).
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { addWorkgroupHits, isNan, WORKGROUP_1D } from './common.js';

/**
 * Most lanes given to one row. Wider segments mean deeper barrier trees and fewer rows per
 * workgroup; with 32, a 300 x 257 loss ran about 5x faster on SwiftShader than with 256.
 */
export const MAX_LANES_PER_ROW = 32;

/** The bit of flags[0] set when a sparse label is outside [0, classes). */
export const LABEL_OUT_OF_RANGE = 1;

/**
 * Lanes per row: the row length rounded up to a power of two, at most MAX_LANES_PER_ROW
 * (longer rows take several columns per lane: fewer, shorter reductions).
 */
export function lanesPerRow(rowLength: number): number {
  let tpr = 1;
  while (tpr < rowLength && tpr < MAX_LANES_PER_ROW) tpr *= 2;
  return tpr;
}

/**
 * How a row kernel reduces over the lanes of a row: 'workgroup', a tree in workgroup memory
 * with a barrier per level (every adapter); 'subgroup', butterflies of subgroup shuffles
 * with no workgroup memory and no barrier, where a row's lanes fit in one subgroup (the
 * adapter has the 'subgroups' feature; src/kernels/losses.ts, rowLayout, chooses).
 */
export type RowReduction = 'workgroup' | 'subgroup';

/**
 * WGSL shared by the row-loss kernels: the row geometry, segmented reductions over the lanes
 * of one row, and a runtime NaN. Needs `params.tpr` (lanes per row) in scope.
 *
 * With subgroups, a row's tpr lanes (tpr a power of two no larger than the subgroup) must be
 * consecutive lanes of one subgroup, so that a shuffle by XOR of d < tpr stays within the
 * row: that holds where subgroup lane = local_invocation_index mod subgroup size, which WGSL
 * does not promise, so initEngine checks it on the device before any kernel relies on it
 * (src/gpu/subgroups.ts), and each kernel checks its lanes' partners once (a wrong layout
 * gives NaN sums, never silently wrong ones). (Slots handed out per subgroup by a workgroup atomic would not
 * need it, but SwiftShader returns the same old value to every subgroup's atomicAdd.)
 * The butterfly adds the same pairs in the same order as the tree (lane 0's sum is bit for
 * bit the tree's; every lane gets that sum, since a + b = b + a exactly), so both paths
 * agree wherever tpr does.
 */
export function rowSegmentsWgsl(reduction: RowReduction): string {
  const sub = reduction === 'subgroup';
  return wgsl`
const WG: u32 = ${WORKGROUP_1D}u;
// A NaN made at run time: a constant NaN expression is a shader-creation error in WGSL.
var<private> nan_bits: u32 = 0x7fc00000u;
${isNan}

fn nan_f32() -> f32 {
  return bitcast<f32>(nan_bits);
}

// The row owned by this lane (may be past the last row: such lanes still take part in every
// reduction, and skip all memory access). With subgroups it also checks the lanes' layout
// (check_lanes below), once a kernel, as every lane calls it first.
fn row_of(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
#if ${sub}
  check_lanes(lid);
#endif
  return (wid.x + wid.y * nwg.x) * (WG / params.tpr) + lid / params.tpr;
}
#if ${sub}
// A guard on the layout initEngine checked (one pipeline: a driver could lay out another's
// subgroups otherwise): if a partner of this lane's butterflies is not invocation lid ^ d,
// it would sum another row's values, so the sums turn NaN instead, which fit reports as a
// non-finite loss. Checked once a kernel, by row_of (every lane calls it first, in uniform
// control flow, as a shuffle must be).
var<private> lanes_ok: bool = true;

fn check_lanes(lid: u32) {
  for (var d = params.tpr / 2u; d > 0u; d >>= 1u) {
    let same = subgroupShuffleXor(lid, d) == (lid ^ d);
    lanes_ok = lanes_ok && same;
  }
}

// Σ v over the lanes of this lane's row, returned to all of them. Every invocation of the
// workgroup must call it (a shuffle needs its partner).
fn segment_sum(lid: u32, v: vec4f) -> vec4f {
  var s = v;
  for (var d = params.tpr / 2u; d > 0u; d >>= 1u) {
    s += subgroupShuffleXor(s, d);
  }
  return select(vec4f(nan_f32()), s, lanes_ok);
}

// (max v.x, Σ v.y) over the lanes of this lane's row; same contract as segment_sum.
fn segment_max_sum(lid: u32, v: vec2f) -> vec2f {
  var s = v;
  for (var d = params.tpr / 2u; d > 0u; d >>= 1u) {
    let o = subgroupShuffleXor(s, d);
    s = vec2f(max(s.x, o.x), s.y + o.y);
  }
  return select(vec2f(nan_f32()), s, lanes_ok);
}

// (min v.x, min v.y) of u32 values over the lanes of this lane's row; same contract. Not
// guarded by lanes_ok: its one use, the accuracy count, runs in the same kernel as the
// row's max and sums, whose NaN already reports a broken layout as a non-finite loss.
fn segment_min_u32(lid: u32, v: vec2u) -> vec2u {
  var s = v;
  for (var d = params.tpr / 2u; d > 0u; d >>= 1u) {
    s = min(s, subgroupShuffleXor(s, d));
  }
  return s;
}
#else
var<workgroup> scratch: array<vec4f, WG>;
var<workgroup> scratch_u: array<vec2u, WG>;  // segment_min_u32's (declared, not used, elsewhere)

// Σ v over the lanes of this lane's row, returned to all of them. Every invocation of the
// workgroup must call it (it holds barriers).
fn segment_sum(lid: u32, v: vec4f) -> vec4f {
  let lane = lid % params.tpr;
  scratch[lid] = v;
  workgroupBarrier();
  for (var stride = params.tpr / 2u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
      scratch[lid] += scratch[lid + stride];
    }
    workgroupBarrier();
  }
  let total = scratch[lid - lane];
  workgroupBarrier();  // scratch is reused by the next reduction
  return total;
}

// (max v.x, Σ v.y) over the lanes of this lane's row; same contract as segment_sum.
fn segment_max_sum(lid: u32, v: vec2f) -> vec2f {
  let lane = lid % params.tpr;
  scratch[lid] = vec4f(v, 0.0, 0.0);
  workgroupBarrier();
  for (var stride = params.tpr / 2u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
      let a = scratch[lid];
      let b = scratch[lid + stride];
      scratch[lid] = vec4f(max(a.x, b.x), a.y + b.y, 0.0, 0.0);
    }
    workgroupBarrier();
  }
  let total = scratch[lid - lane].xy;
  workgroupBarrier();
  return total;
}

// (min v.x, min v.y) of u32 values over the lanes of this lane's row; same contract as
// segment_sum. (Its own u32 scratch: small integers through f32 would be subnormals, which a
// driver may flush to zero.)
fn segment_min_u32(lid: u32, v: vec2u) -> vec2u {
  let lane = lid % params.tpr;
  scratch_u[lid] = v;
  workgroupBarrier();
  for (var stride = params.tpr / 2u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
      scratch_u[lid] = min(scratch_u[lid], scratch_u[lid + stride]);
    }
    workgroupBarrier();
  }
  let total = scratch_u[lid - lane];
  workgroupBarrier();
  return total;
}
#endif`;
}

/** The `enable` a row kernel's module starts with (subgroups), or nothing. */
export function rowEnable(reduction: RowReduction): string {
  return reduction === 'subgroup' ? 'enable subgroups;\n' : '';
}

/**
 * Bindings: 0 logits f32 [rows, classes], 1 labels (dense: f32 [rows, classes]; sparse:
 * u32 [rows]), 2 loss f32 [rows], 3 dlogits f32 [rows, classes], then sparse only 4 flags
 * (atomic u32 [1]), then params { rows, classes, tpr, grad_scale, slot }, then with `count`
 * the counts (atomic u32, the right rows added to counts[slot]).
 * Launch: ceil(rows / (256 / tpr)) workgroups (folded 2-D).
 */
export function softmaxCrossEntropyShader(
  labels: 'dense' | 'sparse',
  count = false,
  reduction: RowReduction = 'workgroup',
): string {
  const dense = labels === 'dense';
  const sparse = !dense;
  const paramsBinding = dense ? 4 : 5;
  return wgsl`${rowEnable(reduction)}
struct Params { rows: u32, classes: u32, tpr: u32, grad_scale: f32, slot: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
#if ${dense}
@group(0) @binding(1) var<storage, read> labels: array<f32>;
#else
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> flags: array<atomic<u32>>;
#endif
@group(0) @binding(${paramsBinding}) var<uniform> params: Params;
#if ${count}
@group(0) @binding(${paramsBinding + 1}) var<storage, read_write> counts: array<atomic<u32>>;
var<workgroup> hits: atomic<u32>;
#endif
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
${rowSegmentsWgsl(reduction)}

// Below every finite logit; −inf logits stay below it and take no part in the max.
const LOWEST: f32 = -0x1.fffffep+127f;  // -FLT_MAX

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tpr = params.tpr;
  let lane = lid % tpr;
  let row = row_of(wid, nwg, lid);
  let live = row < params.rows;
  let n = params.classes;
  let base = row * n;
#if ${sparse}
  var label = 0u;
  if (live) {
    label = labels[row];
  }
  let label_ok = label < n;
#endif

  // Pass 1: the row's max over non-NaN logits, and the count of NaN inputs.
  var m = LOWEST;
  var nans = 0.0;
#if ${count && dense}
  var label_max = LOWEST;  // and the target's max and NaN count, for its argmax
  var label_nans = 0.0;
#endif
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let x = logits[base + j];
      if (is_nan(x)) {
        nans += 1.0;
      } else {
        m = max(m, x);
      }
#if ${dense}
      let y = labels[base + j];
      if (is_nan(y)) {
        nans += 1.0;
      }
#if ${count}
      if (is_nan(y)) {
        label_nans += 1.0;
      } else {
        label_max = max(label_max, y);
      }
#endif
#endif
    }
  }
  let max_nans = segment_max_sum(lid, vec2f(m, nans));
  let row_max = max_nans.x;
#if ${dense}
  let poisoned = max_nans.y > 0.0;
#else
  let poisoned = max_nans.y > 0.0 || !label_ok;
#endif

  // Pass 2: s = Σ exp(x − m); dense: Σ y·(m − x) and Σ y over the classes with y ≠ 0.
  var acc = vec4f(0.0);
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let x = logits[base + j];
      acc.x += exp(x - row_max);
#if ${dense}
      let y = labels[base + j];
      if (y != 0.0) {
        acc.y += y * (row_max - x);
        acc.z += y;
      }
#endif
    }
  }
  let sums = segment_sum(lid, acc);
  let log_s = log(sums.x);
#if ${dense}
  let target_total = sums.z;
  let row_loss = sums.y + log_s * target_total;
#else
  var row_loss = 0.0;
  if (live) {
    row_loss = (row_max - logits[base + min(label, n - 1u)]) + log_s;
  }
#endif
  if (live && lane == 0u) {
    loss[row] = select(row_loss, nan_f32(), poisoned);
#if ${sparse}
    if (!label_ok) {
      atomicOr(&flags[0], ${LABEL_OUT_OF_RANGE}u);
    }
#endif
  }

#if ${count}
  // The rows argmax gets right. Each lane's first candidate among its columns (they come in
  // increasing order), then the row's least: the first NaN if the row holds one, else the
  // first index of the maximum; none (n) when every value is −inf, which argmax takes as 0.
#if ${dense}
  let target_max_nans = segment_max_sum(lid, vec2f(label_max, label_nans));
  let logit_nans = max_nans.y - target_max_nans.y;
#else
  let logit_nans = max_nans.y;
#endif
  var first = vec2u(n, n);
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let x = logits[base + j];
      if (select(x == row_max, is_nan(x), logit_nans > 0.0)) { first.x = j; break; }
    }
#if ${dense}
    for (var j = lane; j < n; j += tpr) {
      let y = labels[base + j];
      if (select(y == target_max_nans.x, is_nan(y), target_max_nans.y > 0.0)) { first.y = j; break; }
    }
#endif
  }
  let least = segment_min_u32(lid, first);
  let predicted = select(least.x, 0u, least.x >= n);
#if ${dense}
  let truth = select(least.y, 0u, least.y >= n);
#else
  let truth = label;  // out of range: never equal
#endif
  if (live && lane == 0u && predicted == truth) {
    atomicAdd(&hits, 1u);
  }
${addWorkgroupHits}
#endif

  // Pass 3: the gradient.
  if (live) {
    let inv_s = 1.0 / sums.x;
    for (var j = lane; j < n; j += tpr) {
      let p = exp(logits[base + j] - row_max) * inv_s;
#if ${dense}
      let g = target_total * p - labels[base + j];
#else
      let g = p - select(0.0, 1.0, j == label);
#endif
      dlogits[base + j] = select(g * params.grad_scale, nan_f32(), poisoned);
    }
  }
}`;
}
