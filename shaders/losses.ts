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
 * Row layout and reductions: see rowSegmentsWgsl in shaders/softmax_xent.ts.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { log1pWgsl } from './activations.js';
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';
import { rowEnable, rowSegmentsWgsl, type RowReduction } from './softmax_xent.js';

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
export function lossShader(name: LossName, reduction: RowReduction = 'workgroup'): string {
  const categorical = name === 'categorical_crossentropy';
  const hingeTargets = lossUsesHingeTargets(name);
  const termBody = categorical ? '' : TERMS[name];
  const log1p = name === 'binary_crossentropy' || name === 'binary_crossentropy_logits' ? log1pWgsl : '';
  return wgsl`${rowEnable(reduction)}
${PARAMS}

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dpred: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
#if ${hingeTargets}
@group(0) @binding(5) var<storage, read> not_binary: array<u32>;
#endif
${rowSegmentsWgsl(reduction)}
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

// ------------------------------------------------------------ PyTorch losses
//
// PyTorch 1.13's nn losses (torch.nn.functional), as their forward and backward compute them
// in f32, for input [rows, cols] (rows = the batch N, cols = the features or classes C):
//
//   torch_bce              (y − 1)·max(log(1 − x), −100) − y·max(log x, −100),
//                          gradient (x − y) / max(x·(1 − x), 1e-12); x outside [0, 1] gives
//                          NaN (PyTorch raises)
//   torch_bce_with_logits  max(x, 0) − x·y + log1p(exp(−|x|)), gradient sigmoid(x) − y
//   torch_mse              (x − y)², gradient 2(x − y)
//   torch_l1               |x − y|, gradient sign(x − y) (0 where x = y)
//   torch_cross_entropy    w[t]·(logsumexp(x) − x[t]) over logits, gradient w[t]·(softmax − onehot(t))
//   torch_nll              −w[t]·x[t] over log-probabilities, gradient −w[t] at t, 0 elsewhere
//
// t: the class id (i32 bits in a u32 word); w: the optional class weights [cols] (1 without);
// a row whose id is ignore_index has loss 0 and gradient 0 (NaN where its log_softmax is NaN,
// as PyTorch's backward gives); an id outside [0, cols) that is not ignore_index makes the
// row's loss and gradient NaN (PyTorch raises). A NaN input or target gives NaN for its
// element (CE: for the whole row; NLL: where x[t] is NaN).
//
// Reductions: 'none' writes each element's (class losses: each row's) value; 'sum' and 'mean'
// write one number, reduced by torchReduceShader from per-row partial sums left in scratch.
// 'mean' divides by rows·cols for the element-wise losses and by Σ w[t] over the kept rows
// for CE/NLL (the row count without weights), computed first by torchWeightTotalShader into
// scratch[rows]. The gradient is the one PyTorch's backward gives for an upstream gradient of
// grad_scale (times grad_output[i] for 'none' when that buffer is bound).

export const TORCH_LOSS_KINDS = [
  'torch_bce',
  'torch_bce_with_logits',
  'torch_cross_entropy',
  'torch_nll',
  'torch_mse',
  'torch_l1',
] as const;
export type TorchLossKind = (typeof TORCH_LOSS_KINDS)[number];

export const TORCH_REDUCTIONS = ['mean', 'sum', 'none'] as const;
export type TorchReduction = (typeof TORCH_REDUCTIONS)[number];

/** CrossEntropyLoss and NLLLoss: class-id targets [rows], one loss per row. */
export function torchLossIsClassIndexed(kind: TorchLossKind): boolean {
  return kind === 'torch_cross_entropy' || kind === 'torch_nll';
}

/** The compile-time choices of torchLossShader. */
export interface TorchLossVariant {
  kind: TorchLossKind;
  reduction: TorchReduction;
  /** Class weights bound (class-indexed kinds only). */
  weighted: boolean;
  /** grad_output bound ('none' only). */
  gradOutput: boolean;
}

/** `fn torch_term(p, y) -> vec2f`: (the element's loss, its derivative in p), p and y not NaN. */
const TORCH_TERMS: Record<Exclude<TorchLossKind, 'torch_cross_entropy' | 'torch_nll'>, string> = {
  // log x and log(1 − x), the argument near 1 as log1p of an exact difference (as
  // binary_crossentropy above); 0 gives −100 directly (WGSL's log(0) is not defined).
  torch_bce: `
  if (p < 0.0 || p > 1.0) {
    return vec2f(nan_f32(), nan_f32());
  }
  let log_p = select(select(log(p), log1p_small(p - 1.0), p >= 0.5), -100.0, p == 0.0);
  let log_q = select(select(log(1.0 - p), log1p_small(-p), p <= 0.5), -100.0, p == 1.0);
  let value = (y - 1.0) * max(log_q, -100.0) - y * max(log_p, -100.0);
  return vec2f(value, (p - y) / max(p * (1.0 - p), 1e-12));`,
  torch_bce_with_logits: `
  let z = exp(-abs(p));
  let small = z / (1.0 + z);  // sigmoid(−|x|)
  let grad = select(small - y, (1.0 - y) - small, p >= 0.0);
  return vec2f(max(p, 0.0) - p * y + log1p_small(z), grad);`,
  torch_mse: `
  let e = p - y;
  return vec2f(e * e, 2.0 * e);`,
  torch_l1: `
  let e = p - y;
  return vec2f(abs(e), sign(e));`,
};

const TORCH_PARAMS = /* wgsl */ `
struct Params {
  rows: u32, cols: u32, tpr: u32,
  ignore_index: i32,
  grad_scale: f32,
  divisor: f32,  // 'mean' of the element-wise losses: rows·cols; otherwise 1
  _pad0: u32, _pad1: u32,
}`;

/**
 * The row pass of a PyTorch loss. Bindings, in order: input f32 [rows, cols]; target (f32
 * [rows, cols], or u32 [rows] class ids for CE/NLL); out ('none': f32 [rows, cols], or [rows]
 * for CE/NLL; 'mean'/'sum': scratch f32 [rows + 1], the row partial sums, and for CE/NLL
 * 'mean' the divisor at [rows]); grad_input f32 [rows, cols]; params; then the class weights
 * f32 [cols] when weighted, then grad_output ('none', same shape as out) when bound.
 * Launch: ceil(rows / (256 / tpr)) workgroups (folded 2-D).
 */
export function torchLossShader(v: TorchLossVariant, reduction: RowReduction = 'workgroup'): string {
  const classIds = torchLossIsClassIndexed(v.kind);
  const ce = v.kind === 'torch_cross_entropy';
  const nll = v.kind === 'torch_nll';
  const elementwise = !classIds;
  const none = v.reduction === 'none';
  const reduced = !none;
  const meanOfWeights = classIds && v.reduction === 'mean';
  const weighted = classIds && v.weighted;
  const gradOutput = none && v.gradOutput;
  const termBody = elementwise ? TORCH_TERMS[v.kind as keyof typeof TORCH_TERMS] : '';
  const log1p = v.kind === 'torch_bce' || v.kind === 'torch_bce_with_logits' ? log1pWgsl : '';
  const weightBinding = 5;
  const gradOutputBinding = weighted ? 6 : 5;
  return wgsl`${rowEnable(reduction)}
${TORCH_PARAMS}

@group(0) @binding(0) var<storage, read> input: array<f32>;
#if ${classIds}
@group(0) @binding(1) var<storage, read> targets: array<u32>;
#else
@group(0) @binding(1) var<storage, read> targets: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_input: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
#if ${weighted}
@group(0) @binding(${weightBinding}) var<storage, read> class_weight: array<f32>;
#endif
#if ${gradOutput}
@group(0) @binding(${gradOutputBinding}) var<storage, read> grad_output: array<f32>;
#endif
${rowSegmentsWgsl(reduction)}
${log1p}

// Below every finite logit; −inf logits stay below it and take no part in the max.
const LOWEST: f32 = -0x1.fffffep+127f;  // -FLT_MAX

#if ${elementwise}
fn torch_term(p: f32, y: f32) -> vec2f {
${termBody}
}
#endif

// The upstream gradient of value i of out ('none') or of the reduced loss.
fn upstream(i: u32) -> f32 {
#if ${gradOutput}
  return params.grad_scale * grad_output[i];
#else
  return params.grad_scale;
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tpr = params.tpr;
  let lane = lid % tpr;
  let row = row_of(wid, nwg, lid);
  let live = row < params.rows;
  let n = params.cols;
  let base = row * n;
#if ${meanOfWeights}
  let divisor = out[params.rows];
#else
  let divisor = params.divisor;
#endif
#if ${elementwise}
  var acc = vec4f(0.0);  // (Σ values, NaN count)
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let i = base + j;
      let p = input[i];
      let y = targets[i];
      var t = vec2f(nan_f32(), nan_f32());
      if (!(is_nan(p) || is_nan(y))) {
        t = torch_term(p, y);
      }
      if (is_nan(t.x)) {
        acc.y += 1.0;
      } else {
        acc.x += t.x;
      }
#if ${none}
      out[i] = t.x;
#endif
      grad_input[i] = select(t.y * upstream(i) / divisor, nan_f32(), is_nan(t.y));
    }
  }
#if ${reduced}
  let sums = segment_sum(lid, acc);
  if (live && lane == 0u) {
    out[row] = select(sums.x, nan_f32(), sums.y > 0.0);
  }
#endif
#else
  // The row's class id, its weight (0 when ignored) and whether it is valid.
  var id = 0i;
  if (live) {
    id = bitcast<i32>(targets[row]);
  }
  let ignored = id == params.ignore_index;
  let id_ok = id >= 0i && u32(id) < n;
  let bad_id = !ignored && !id_ok;
  let t = u32(select(0i, id, id_ok));
  var w = select(1.0, 0.0, ignored);
#if ${weighted}
  if (live && id_ok && !ignored) {
    w = class_weight[t];
  }
#endif
  let factor = w * upstream(row) / divisor;
#if ${ce}
  // Pass 1: the row's max over non-NaN logits, and the count of NaN logits.
  var m = LOWEST;
  var nans = 0.0;
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let x = input[base + j];
      if (is_nan(x)) {
        nans += 1.0;
      } else {
        m = max(m, x);
      }
    }
  }
  let max_nans = segment_max_sum(lid, vec2f(m, nans));
  let row_max = max_nans.x;
  let nan_row = max_nans.y > 0.0;
  // Pass 2: s = Σ exp(x − m).
  var acc = vec4f(0.0);
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      acc.x += exp(input[base + j] - row_max);
    }
  }
  let s = segment_sum(lid, acc).x;
  let log_s = log(s);
  if (live && lane == 0u) {
    // −log_softmax(x)[t] = (m − x[t]) + log s.
    var value = 0.0;
    if (!ignored && id_ok) {
      value = w * ((row_max - input[base + t]) + log_s);
    }
    out[row] = select(value, nan_f32(), bad_id || (nan_row && !ignored));
  }
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let p = exp(input[base + j] - row_max) / s;
      let g = select(p, p - 1.0, j == t && id_ok && !ignored);
      // Ignored rows: 0 even when factor is NaN (a 'mean' whose rows are all ignored).
      grad_input[base + j] = select(select(g * factor, 0.0, ignored), nan_f32(), bad_id || nan_row);
    }
  }
#endif
#if ${nll}
  if (live && lane == 0u) {
    var value = 0.0;
    if (!ignored && id_ok) {
      let x = input[base + t];
      value = select(-w * x, nan_f32(), is_nan(x));
    }
    out[row] = select(value, nan_f32(), bad_id);
  }
  if (live) {
    for (var j = lane; j < n; j += tpr) {
      let g = select(0.0, -factor, j == t && id_ok && !ignored);
      grad_input[base + j] = select(g, nan_f32(), bad_id);
    }
  }
#endif
#endif
}`;
}

/**
 * CE/NLL 'mean': scratch[rows] = Σ w[t_r] over the rows whose id is not ignore_index (the
 * count of those rows without weights); NaN when an id outside [0, cols) is not ignored.
 * Bindings: 0 targets u32 [rows], 1 scratch f32 [rows + 1], 2 params (as torchLossShader),
 * then 3 the class weights f32 [cols] when weighted. One workgroup of 256.
 */
export function torchWeightTotalShader(weighted: boolean): string {
  return wgsl`
${TORCH_PARAMS}

@group(0) @binding(0) var<storage, read> targets: array<u32>;
@group(0) @binding(1) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
#if ${weighted}
@group(0) @binding(3) var<storage, read> class_weight: array<f32>;
#endif

const WG: u32 = ${WORKGROUP_1D}u;
var<workgroup> part: array<vec2f, WG>;
var<private> nan_bits: u32 = 0x7fc00000u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = vec2f(0.0);  // (Σ w, bad ids)
  for (var r = lid; r < params.rows; r += WG) {
    let id = bitcast<i32>(targets[r]);
    if (id != params.ignore_index) {
      if (id >= 0i && u32(id) < params.cols) {
#if ${weighted}
        acc.x += class_weight[u32(id)];
#else
        acc.x += 1.0;
#endif
      } else {
        acc.y += 1.0;
      }
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      part[lid] += part[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    scratch[params.rows] = select(part[0].x, bitcast<f32>(nan_bits), part[0].y > 0.0);
  }
}`;
}

/**
 * 'mean'/'sum': out[0] = Σ scratch[0 .. rows) / divisor, the divisor params.divisor or, for
 * CE/NLL 'mean' (fromScratch), scratch[rows]. NaN partials give NaN.
 * Bindings: 0 scratch f32 [rows + 1], 1 out f32 [1], 2 params. One workgroup of 256.
 */
export function torchReduceShader(fromScratch: boolean): string {
  return wgsl`
${TORCH_PARAMS}

@group(0) @binding(0) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
var<workgroup> part: array<vec2f, WG>;
var<private> nan_bits: u32 = 0x7fc00000u;
${isNan}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = vec2f(0.0);  // (Σ partials, NaN count)
  for (var r = lid; r < params.rows; r += WG) {
    let v = scratch[r];
    if (is_nan(v)) {
      acc.y += 1.0;
    } else {
      acc.x += v;
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      part[lid] += part[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
#if ${fromScratch}
    let divisor = scratch[params.rows];
#else
    let divisor = params.divisor;
#endif
    let total = part[0].x / divisor;
    // 0/0 (a 'mean' over no kept rows) is NaN, as PyTorch's; WGSL leaves it undefined.
    let zero_by_zero = part[0].x == 0.0 && divisor == 0.0;
    out[0] = select(total, bitcast<f32>(nan_bits), part[0].y > 0.0 || is_nan(divisor) || zero_by_zero);
  }
}`;
}
