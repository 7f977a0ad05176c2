/**
 * Per-row losses over pred and target [rows, cols] with their gradient d(loss_row)/d(pred),
 * Keras's formulas (keras.losses, TF backend), ε the clipping epsilon (Keras 1e-7):
 *
 *   mse            mean (p − y)²
 *   mae            mean |p − y|
 *   huber(δ)       mean ½e² where |e| ≤ δ, δ|e| − ½δ² beyond, e = p − y
 *   msle           mean (log(max(p, ε) + 1) − log(max(y, ε) + 1))²
 *   hinge          mean max(1 − y·p, 0)
 *   squared_hinge  mean max(1 − y·p, 0)²
 *   kl_divergence  Σ y'·log(y'/p'),  y' = clip(y, ε, 1), p' = clip(p, ε, 1)
 *   categorical_crossentropy    Σ −y·log(clip(p / Σp, ε, 1 − ε))
 *   binary_crossentropy         mean −(y·log p' + (1 − y)·log(1 − p')),  p' = clip(p, ε, 1 − ε)
 *   binary_crossentropy_logits  mean max(x, 0) − x·y + log1p(exp(−|x|))
 *
 * hinge/squared_hinge: when every target of the whole tensor is 0 or 1, Keras maps them to
 * −1/1 (2y − 1) first. A separate pass (hingeTargetCheckShader) sets a flag when any target
 * is not 0 or 1; the loss kernel converts only when the flag is clear.
 *
 * Gradients are those autodiff of these formulas gives in TF: zero where a clip or max is
 * saturated, the gradient passing at the boundary itself (clip_by_value and maximum pass it
 * for lo ≤ x ≤ hi and x ≥ 0); |e| has gradient 0 at e = 0.
 *
 * NaN: clamp/max may drop a NaN, so inputs are tested on the bit pattern. A NaN pred or
 * target gives NaN for its element's gradient and its row's loss. categorical_crossentropy
 * couples the row through Σp, so there a NaN anywhere makes the whole row's gradient NaN,
 * and so does a Σp (summed in f32) that is 0 or ±∞: Keras's p/Σp is then 0/0, ±x/0 or ∞/∞
 * (an all-zero prediction row gives NaN there, not −log ε).
 *
 * Logarithms of arguments near 1 (BCE's log p for p → 1 and log(1 − p) for p → 0, and
 * log(1 + exp(−|x|)) of the logits form) go through log1p_small (shaders/activations.ts):
 * WGSL's log is only 2^-21 absolute there, which is most of a tiny loss.
 *
 * Row layout and reductions: see rowSegments in shaders/softmax_xent.ts.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { log1pWgsl } from './activations.js';
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';
import { rowSegments } from './softmax_xent.js';

export const LOSS_NAMES = [
  'mse',
  'mae',
  'huber',
  'msle',
  'hinge',
  'squared_hinge',
  'kl_divergence',
  'categorical_crossentropy',
  'binary_crossentropy',
  'binary_crossentropy_logits',
] as const;
export type LossName = (typeof LOSS_NAMES)[number];

/** Losses averaged over the last axis; the others (categorical CE, KL) are summed over it. */
export function lossIsMean(name: LossName): boolean {
  return name !== 'categorical_crossentropy' && name !== 'kl_divergence';
}

/** True for the losses whose {0, 1} targets are mapped to {−1, 1} first. */
export function lossUsesHingeTargets(name: LossName): boolean {
  return name === 'hinge' || name === 'squared_hinge';
}

/**
 * `fn term(p, y) -> vec2f`: (the element's loss term, its derivative in p), for p and y not
 * NaN. Uses params.delta, params.eps, params.one_minus_eps.
 */
const TERMS: Record<Exclude<LossName, 'categorical_crossentropy'>, string> = {
  mse: `
  let e = p - y;
  return vec2f(e * e, 2.0 * e);`,
  mae: `
  let e = p - y;
  return vec2f(abs(e), sign(e));`,
  huber: `
  let e = p - y;
  let a = abs(e);
  let d = params.delta;
  if (a <= d) {
    return vec2f(0.5 * e * e, e);
  }
  return vec2f(d * a - 0.5 * d * d, d * sign(e));`,
  msle: `
  let q = max(p, params.eps);
  let f = log(q + 1.0) - log(max(y, params.eps) + 1.0);
  return vec2f(f * f, select(0.0, 2.0 * f / (q + 1.0), p >= params.eps));`,
  hinge: `
  let margin = 1.0 - y * p;
  return vec2f(max(margin, 0.0), select(0.0, -y, margin >= 0.0));`,
  squared_hinge: `
  let margin = max(1.0 - y * p, 0.0);
  return vec2f(margin * margin, -2.0 * margin * y);`,
  kl_divergence: `
  let yc = clamp(y, params.eps, 1.0);
  let pc = clamp(p, params.eps, 1.0);
  let inside = p >= params.eps && p <= 1.0;
  return vec2f(yc * log(yc / pc), select(0.0, -yc / pc, inside));`,
  binary_crossentropy: `
  let pc = clamp(p, params.eps, params.one_minus_eps);
  let inside = p >= params.eps && p <= params.one_minus_eps;
  // log pc and log(1 − pc); the argument near 1 as log1p of pc − 1 or −pc, both exact
  // (Sterbenz) where they are taken, so a tiny loss keeps its relative precision.
  let log_p = select(log(pc), log1p_small(pc - 1.0), pc >= 0.5);
  let log_q = select(log(1.0 - pc), log1p_small(-pc), pc <= 0.5);
  let value = -(y * log_p + (1.0 - y) * log_q);
  // (1 − y)/(1 − p) − y/p as one fraction: p − y is rounded once, so no cancellation.
  return vec2f(value, select(0.0, (pc - y) / (pc * (1.0 - pc)), inside));`,
  // z = exp(−|x|) ≤ 1, so nothing overflows. The gradient sigmoid(x) − y is formed as
  // (1 − y) − sigmoid(−x) for x ≥ 0, so a saturated sigmoid does not cancel against y ≈ 1.
  binary_crossentropy_logits: `
  let z = exp(-abs(p));
  let small = z / (1.0 + z);  // sigmoid(−|x|)
  let grad = select(small - y, (1.0 - y) - small, p >= 0.0);
  return vec2f(max(p, 0.0) - p * y + log1p_small(z), grad);`,
};

const PARAMS = /* wgsl */ `
struct Params {
  rows: u32, cols: u32, tpr: u32, grad_scale: f32,
  loss_scale: f32,  // 1/cols for the mean losses, 1 for the summed ones
  delta: f32, eps: f32, one_minus_eps: f32,
}`;

/**
 * Bindings: 0 pred f32 [rows, cols], 1 target f32 [rows, cols], 2 loss f32 [rows], 3 dpred
 * f32 [rows, cols], 4 params, and for hinge/squared_hinge 5 the flag written by
 * hingeTargetCheckShader (u32 [1], nonzero: keep the targets as they are).
 * Launch: ceil(rows / (256 / tpr)) workgroups (folded 2-D).
 */
export function lossShader(name: LossName): string {
  const categorical = name === 'categorical_crossentropy';
  const hingeTargets = lossUsesHingeTargets(name);
  const termBody = categorical ? '' : TERMS[name];
  const log1p = name === 'binary_crossentropy' || name === 'binary_crossentropy_logits' ? log1pWgsl : '';
  return wgsl`
${PARAMS}

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dpred: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
#if ${hingeTargets}
@group(0) @binding(5) var<storage, read> not_binary: array<u32>;
#endif
${rowSegments}
${log1p}

fn target_at(i: u32) -> f32 {
#if ${hingeTargets}
  let y = targets[i];
  return select(2.0 * y - 1.0, y, not_binary[0] != 0u);
#else
  return targets[i];
#endif
}

#if ${!categorical}
fn term(p: f32, y: f32) -> vec2f {
${termBody}
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tpr = params.tpr;
  let lane = lid % tpr;
  let row = row_of(wid, nwg, lid);
  let live = row < params.rows;
  let n = params.cols;
  let base = row * n;
  let grad_factor = params.loss_scale * params.grad_scale;
#if ${categorical}
  // Pass 1: S = Σ p, and the count of NaN inputs in the row.
  var acc = vec4f(0.0);
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let p = pred[base + j];
      if (is_nan(p) || is_nan(targets[base + j])) {
        acc.y += 1.0;
      } else {
        acc.x += p;
      }
    }
  }
  let first = segment_sum(lid, acc);
  let total = first.x;
  let total_bits = bitcast<u32>(total) & 0x7fffffffu;
  // A NaN input, or Σp = ±0 or ±∞ (q = p/Σp would be 0/0, ±∞ or ∞/∞).
  let poisoned = first.y > 0.0 || total_bits == 0u || total_bits >= 0x7f800000u;

  // Pass 2: the loss Σ −y·log(clip(q)), q = p / S, and Σ y over the unclipped q, which is
  // −Σ_k (dL/dq_k)·q_k in dL/dp_j = (dL/dq_j − Σ_k (dL/dq_k)·q_k) / S.
  acc = vec4f(0.0);
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let q = pred[base + j] / total;
      let y = targets[base + j];
      acc.x -= y * log(clamp(q, params.eps, params.one_minus_eps));
      if (q >= params.eps && q <= params.one_minus_eps) {
        acc.y += y;
      }
    }
  }
  let second = segment_sum(lid, acc);
  if (live && lane == 0u) {
    loss[row] = select(second.x, nan_f32(), poisoned);
  }

  // Pass 3: the gradient.
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let q = pred[base + j] / total;
      let inside = q >= params.eps && q <= params.one_minus_eps;
      let dq = select(0.0, -targets[base + j] / q, inside);
      dpred[base + j] = select((dq + second.y) / total * grad_factor, nan_f32(), poisoned);
    }
  }
#else
  var acc = vec4f(0.0);  // (Σ terms, NaN count)
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let p = pred[base + j];
      let y = target_at(base + j);
      if (is_nan(p) || is_nan(y)) {
        acc.y += 1.0;
        dpred[base + j] = nan_f32();
      } else {
        let t = term(p, y);
        acc.x += t.x;
        dpred[base + j] = t.y * grad_factor;
      }
    }
  }
  let sums = segment_sum(lid, acc);
  if (live && lane == 0u) {
    loss[row] = select(sums.x * params.loss_scale, nan_f32(), sums.y > 0.0);
  }
#endif
}`;
}

/**
 * Sets flag[0] to 1 when any of the n targets is not exactly 0 or 1 (NaN included), as
 * Keras's whole-tensor test before converting hinge targets. flag must start at 0.
 * Bindings: 0 target f32 [n], 1 flag atomic u32 [1], 2 params { n }.
 * Launch: ceil(n / 256) workgroups (folded 2-D).
 */
/** Bindings: 0 flag (read_write). One thread: flag[0] = 0 before the target check. */
export function clearFlagShader(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> flag: array<u32>;

@compute @workgroup_size(1)
fn main() {
  flag[0] = 0u;
}`;
}

export function hingeTargetCheckShader(): string {
  return /* wgsl */ `
struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<storage, read> targets: array<f32>;
@group(0) @binding(1) var<storage, read_write> flag: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}
var<workgroup> any_here: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(gid, nwg);
  if (i < params.n) {
    let y = targets[i];
    if (is_nan(y) || (y != 0.0 && y != 1.0)) {
      atomicOr(&any_here, 1u);
    }
  }
  workgroupBarrier();
  // One global atomic per workgroup at most.
  if (lid == 0u && atomicLoad(&any_here) != 0u) {
    atomicOr(&flag[0], 1u);
  }
}`;
}

/**
 * Sample weights (Keras's sample_weight / class_weight) applied to a loss head's rows in
 * place: loss[r] *= w[r] and dpred[r, c] *= w[r], so the head's mean over the batch becomes
 * Σ w·l / rows (Keras's 'sum_over_batch_size'). w·NaN and 0·∞ give NaN, as in Keras.
 * Bindings: 0 weights f32 [rows], 1 loss f32 [rows], 2 dpred f32 [rows, cols] (row-major),
 * 3 params { rows, cols }. One thread per dpred element; the thread of column 0 also scales
 * the row's loss. Launch: ceil(rows·cols / 256) workgroups (folded 2-D).
 */
export function weightRowsShader(): string {
  return /* wgsl */ `
struct Params { rows: u32, cols: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read> weights: array<f32>;
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> dpred: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.cols) {
    return;
  }
  let r = i / params.cols;
  let w = weights[r];
  dpred[i] = dpred[i] * w;
  if (i % params.cols == 0u) {
    loss[r] = loss[r] * w;
  }
}`;
}
