/**
 * Optimizer updates over a flat parameter arena: ONE dispatch updates every parameter
 * segment of a model.
 *
 * Layout (element units, f32): the parameters, their gradients and each optimizer state slot
 * are arenas of the same length. A segment (one weight tensor) starts at a multiple of 64
 * elements (256 bytes) and the padding between segments is zero. The update launches one
 * thread per four arena elements, read and written as one vec4f: a software adapter runs a
 * vector as one SIMD operation where four threads cost four lanes and their overhead (lavapipe:
 * Adam 2.6x as fast as one element a thread). A chunk of 64 holds whole vectors, so the four
 * share a segment, which the thread reads from the segment table's chunk map. Padding is left
 * as it was (zero, whatever the gradient arena holds there): a vector wholly in padding is
 * skipped, and the padding lanes of a segment's last vector are written back as read.
 *
 * The rules follow Keras 3's `update_step` of keras/src/optimizers/{sgd,rmsprop,adam,nadam}.py
 * term for term (the formulas are restated next to each branch); the `torch_*` kinds follow
 * PyTorch 1.13's torch/optim/{sgd,adam,adamw,rmsprop}.py the same way (ResolvedTorchRule). Regularization enters as
 * the gradient of the penalty Keras adds to the loss: l2(λ) adds λ·Σw², so g += 2λ·w;
 * l1(λ) adds λ·Σ|w|, so g += λ·sign(w) (sign(0) = 0, as TensorFlow's gradient of |w|).
 *
 * Keras's options common to every optimizer (Keras 2's time `decay`, Keras 3's `clipnorm`,
 * `global_clipnorm`, `clipvalue` and decoupled `weight_decay`: ResolvedCommon) transform the
 * rate, the gradient and the weight in the same update; the two norm clips read squared
 * norms one small dispatch before it computes (optimizerNormsShader()).
 *
 * Hyper-parameters Keras fixes at construction (momentum, ρ, β1, β2, ε) are WGSL constants,
 * written as exact f32 bit patterns. What changes between steps lives in the `hyper` buffer
 * the GPU owns: the learning rate (rewritten by a schedule without a recompile), the step t
 * and Nadam's running product of momentum coefficients; the advance kernel moves them on
 * before each update, so many steps can be encoded without the host.
 *
 * Watched (the compiled training step), the update also records the first step at which it
 * writes a NaN or ±Inf parameter or state value into the model's status words (shaders/step.ts
 * STATUS), as step end does for a loss: an overflow (inputs near the f32 limit, a huge
 * learning rate) can leave the weights or the state non-finite while the loss read back is
 * still finite, and the step to undo is this one, not the later one whose loss goes NaN.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatIndex, isNan, segmentAt, segmentTable, WORKGROUP_1D } from './common.js';
import { BAD_WHAT, STATUS } from './step.js';

/**
 * The options every Keras optimizer takes besides its rule, each present only when active
 * (> 0), applied in this order inside the update:
 *   decay           Keras 2's time decay of the rate: lr_t = lr / (1 + decay·(t − 1)), t − 1
 *                   the updates done before this one (optimizer_v2's `_decayed_lr`);
 *   clipnorm        per segment (Keras: per variable) g ← g·c / max(‖g‖, c);
 *   globalClipnorm  every segment g ← g·c / max(‖(all g)‖, c) (a NaN/±Inf norm: all NaN);
 *   clipvalue       g ← clip(g, −c, c);
 *   weightDecay     Keras 3's decoupled decay before the rule: w ← w − w·wd·lr_t;
 * g being the gradient with the l1/l2 penalty's (what Keras clips). At most one clip.
 */
export interface ResolvedCommon {
  decay?: number;
  clipnorm?: number;
  globalClipnorm?: number;
  clipvalue?: number;
  weightDecay?: number;
}

/**
 * PyTorch 1.13's rules (torch/optim/{sgd,adam,adamw,rmsprop}.py, single-tensor path), with
 * `coupledDecay` PyTorch's `weight_decay` added to the gradient (g += wd·w) by SGD, Adam and
 * RMSprop. AdamW's decoupled decay w ← w·(1 − lr·wd) is ResolvedCommon's `weightDecay` (the
 * same w − w·wd·lr); no other common option applies to these kinds.
 */
export type ResolvedTorchRule =
  | { kind: 'torch_sgd'; momentum: number; dampening: number; nesterov: boolean; coupledDecay: number }
  | {
      kind: 'torch_adam';
      beta1: number;
      beta2: number;
      epsilon: number;
      amsgrad: boolean;
      coupledDecay: number;
    }
  | {
      kind: 'torch_rmsprop';
      alpha: number;
      epsilon: number;
      momentum: number;
      centered: boolean;
      coupledDecay: number;
    };

/** Every hyper-parameter of one optimizer, defaults filled in (see resolveOptimizerSpec() in src/kernels/optim.ts). */
export type ResolvedOptimizer = (
  | { kind: 'sgd'; momentum: number; nesterov: boolean }
  | { kind: 'rmsprop'; rho: number; epsilon: number; momentum: number; centered: boolean }
  | { kind: 'adam'; beta1: number; beta2: number; epsilon: number; amsgrad: boolean }
  | { kind: 'nadam'; beta1: number; beta2: number; epsilon: number; scheduleDecay: number }
  | ResolvedTorchRule
) &
  ResolvedCommon;

/** Whether the update reads per-segment squared gradient norms (optimizerNormsShader()). */
export function needsNorms(o: ResolvedCommon): boolean {
  return (o.clipnorm ?? 0) > 0 || (o.globalClipnorm ?? 0) > 0;
}

/**
 * The names of the state arenas, in binding order (bindings 4, 5, 6 of the update kernel).
 * Keras's names: SGD `momentum` (velocity), RMSprop `velocity`, `momentum`,
 * `average_gradient`, Adam/Nadam `momentum` (m), `velocity` (v), `velocity_hat`; the torch
 * kinds use PyTorch's state keys.
 */
export function stateSlotNames(o: ResolvedOptimizer): string[] {
  switch (o.kind) {
    case 'sgd':
      return o.momentum > 0 ? ['velocity'] : [];
    case 'rmsprop':
      return ['velocity', ...(o.momentum > 0 ? ['momentum'] : []), ...(o.centered ? ['average_grad'] : [])];
    case 'adam':
      return o.amsgrad ? ['m', 'v', 'v_hat'] : ['m', 'v'];
    case 'nadam':
      return ['m', 'v'];
    case 'torch_sgd':
      return o.momentum > 0 ? ['momentum_buffer'] : [];
    case 'torch_adam':
      return o.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
    case 'torch_rmsprop':
      return [
        'square_avg',
        ...(o.momentum > 0 ? ['momentum_buffer'] : []),
        ...(o.centered ? ['grad_avg'] : []),
      ];
  }
}

/** WGSL: an f32 constant written as its exact bit pattern (no decimal rounding on any compiler). */
function f32Bits(x: number): string {
  const words = new Uint32Array(new Float32Array([x]).buffer);
  return `bitcast<f32>(0x${(words[0] ?? 0).toString(16).padStart(8, '0')}u)`;
}

/** WGSL: `const NAME: f32 = ...; // value`. */
function constF32(name: string, x: number): string {
  return `const ${name}: f32 = ${f32Bits(x)};  // ${Number(x.toPrecision(8))}`;
}

/**
 * The hyper buffer (32 bytes; storage in the advance kernel, uniform in the update):
 *   lr         f32  learning rate of the next update
 *   step       u32  t, the number of updates including the one about to run (0 at creation)
 *   u_product  f32  Nadam: Π u_i for i ≤ t (1 at creation); unused by the other optimizers
 *   then four f32 the advance kernel derives from t (never read before it has run): the
 *   bias corrections 1 − β1^t and 1 − β2^t, and Nadam's u_t and u_{t+1}. Each element of the
 *   update used to compute them itself (two exp and up to two 9-term series an element).
 */
const HYPER_STRUCT = /* wgsl */ `
struct Hyper {
  lr: f32, step: u32, u_product: f32, _pad: u32,
  // Written by the advance kernel for step t, once a step rather than once an element:
  // 1 − β1^t and 1 − β2^t (Adam, Nadam, PyTorch's Adam); Nadam's u_t and u_{t+1}.
  one_minus_beta1_t: f32, one_minus_beta2_t: f32, u_t: f32, u_next: f32,
}`;

/**
 * WGSL: 1 − β^t from ln β without cancellation. For |t·ln β| < 0.5 (β near 1, t small:
 * 1 − 0.999^1 would lose 10 bits to 1 − pow()) it sums the series of −expm1 (truncation
 * below 3e-11 relative); beyond, 1 − exp() has no cancellation (the result exceeds 0.39).
 */
const ONE_MINUS_POW = /* wgsl */ `
fn one_minus_pow(ln_beta: f32, t: f32) -> f32 {
  let y = t * ln_beta;
  if (y < -0.5) {
    return 1.0 - exp(y);
  }
  // expm1(y) = y (1 + y/2 (1 + y/3 (1 + ... (1 + y/10))))
  var p = 1.0;
  for (var k = 10.0; k >= 2.0; k -= 1.0) {
    p = 1.0 + p * y / k;
  }
  return -y * p;
}`;

/**
 * WGSL: Nadam's momentum coefficient u_t = β1 (1 − 0.5 · 0.96^(d·t)), with
 * SCHEDULE_LOG2 = d · log2(0.96) (Keras 3: d = 1; tf.keras 2: d = 0.004).
 */
const NADAM_U = /* wgsl */ `
fn nadam_u(t: f32) -> f32 {
  return BETA1 * (1.0 - 0.5 * exp2(t * SCHEDULE_LOG2));
}`;

function nadamConstants(o: { beta1: number; scheduleDecay: number }): string {
  return [constF32('BETA1', o.beta1), constF32('SCHEDULE_LOG2', o.scheduleDecay * Math.log2(0.96))].join(
    '\n',
  );
}

/** WGSL: NaN or ±Inf (all exponent bits set), on the bits: fast-math drivers fold isnan/isinf away. */
const NON_FINITE = /* wgsl */ `
fn non_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}`;

/** WGSL: NON_FINITE and is_nan() for each lane of a vec4f (WGSL has no overloads). */
const NON_FINITE_4 = /* wgsl */ `
fn non_finite4(x: vec4f) -> vec4<bool> {
  return (bitcast<vec4u>(x) & vec4u(0x7f800000u)) == vec4u(0x7f800000u);
}`;
const IS_NAN_4 = /* wgsl */ `
fn is_nan4(x: vec4f) -> vec4<bool> {
  return (bitcast<vec4u>(x) & vec4u(0x7fffffffu)) > vec4u(0x7f800000u);
}`;

/**
 * WGSL: the recording of a non-finite write. BAD_STEP (0: none yet) becomes STEPS + 1, the
 * step being run (step end counts it after this update), unless an earlier step is recorded;
 * a compare-exchange loop, since many threads may flag at once and the weak exchange may fail
 * spuriously. Every thread flagging this step sets the WRITE bit; a later step sets nothing.
 */
const FLAG_NON_FINITE = /* wgsl */ `
fn flag_non_finite() {
  let this_step = atomicLoad(&status[${STATUS.STEPS}]) + 1u;
  loop {
    let r = atomicCompareExchangeWeak(&status[${STATUS.BAD_STEP}], 0u, this_step);
    if (r.exchanged || r.old_value != 0u) {
      if (r.exchanged || r.old_value == this_step) {
        atomicOr(&status[${STATUS.BAD_WHAT}], ${BAD_WHAT.WRITE}u);
      }
      return;
    }
  }
}`;

/** Drops the blank-line runs left where #if blocks were removed. */
function tidy(code: string): string {
  return code.replace(/\n\s*\n(\s*\n)+/g, '\n\n');
}

/** The common options' constants (ResolvedCommon), those active. */
function commonConstants(o: ResolvedCommon): string {
  const out: string[] = [];
  if (o.decay) out.push(constF32('DECAY', o.decay));
  if (o.clipnorm) out.push(constF32('CLIPNORM', o.clipnorm));
  if (o.globalClipnorm) out.push(constF32('GLOBAL_CLIPNORM', o.globalClipnorm));
  if (o.clipvalue) out.push(constF32('CLIPVALUE', o.clipvalue));
  if (o.weightDecay) out.push(constF32('WEIGHT_DECAY', o.weightDecay));
  return out.join('\n');
}

/** WGSL: the index of the segment holding arena element i (segment_at's search, by index). */
const SEGMENT_INDEX_AT = /* wgsl */ `
fn segment_index_at(i: u32) -> u32 {
  var lo = 0u;
  var hi = table.count;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (table.segments[mid].offset <= i) { lo = mid; } else { hi = mid; }
  }
  return lo;
}`;

/**
 * ln β for one_minus_pow(), finite: β = 0 (PyTorch allows it) gives −1e30, whose 1 − exp(t·ln β)
 * is 1 = 1 − 0^t for t ≥ 1, where ln 0 = −∞ would be a WGSL constant that no compiler accepts.
 */
function lnBeta(beta: number): number {
  return Math.max(Math.log(beta), -1e30);
}

function optimizerConstants(o: ResolvedOptimizer): string {
  return [ruleConstants(o), commonConstants(o)].filter((c) => c !== '').join('\n');
}

function ruleConstants(o: ResolvedOptimizer): string {
  switch (o.kind) {
    case 'sgd':
      return constF32('MOMENTUM', o.momentum);
    case 'rmsprop':
      return [
        constF32('RHO', o.rho),
        constF32('ONE_MINUS_RHO', 1 - o.rho),
        constF32('EPSILON', o.epsilon),
        constF32('MOMENTUM', o.momentum),
      ].join('\n');
    case 'adam':
    case 'nadam':
      // 1 − β and ln β are taken in float64 here, so β's f32 rounding does not enter them.
      return [
        constF32('ONE_MINUS_BETA1', 1 - o.beta1),
        constF32('ONE_MINUS_BETA2', 1 - o.beta2),
        constF32('LN_BETA1', Math.log(o.beta1)),
        constF32('LN_BETA2', Math.log(o.beta2)),
        constF32('EPSILON', o.epsilon),
        ...(o.kind === 'nadam' ? [nadamConstants(o)] : []),
      ].join('\n');
    case 'torch_sgd':
      return [
        constF32('MOMENTUM', o.momentum),
        constF32('ONE_MINUS_DAMPENING', 1 - o.dampening),
        constF32('COUPLED_DECAY', o.coupledDecay),
      ].join('\n');
    case 'torch_adam':
      // β and 1 − β rounded to f32 as PyTorch's kernels take them; ln β for the bias correction.
      return [
        constF32('BETA1', o.beta1),
        constF32('BETA2', o.beta2),
        constF32('ONE_MINUS_BETA1', 1 - o.beta1),
        constF32('ONE_MINUS_BETA2', 1 - o.beta2),
        constF32('LN_BETA1', lnBeta(o.beta1)),
        constF32('LN_BETA2', lnBeta(o.beta2)),
        constF32('EPSILON', o.epsilon),
        constF32('COUPLED_DECAY', o.coupledDecay),
      ].join('\n');
    case 'torch_rmsprop':
      return [
        constF32('ALPHA', o.alpha),
        constF32('ONE_MINUS_ALPHA', 1 - o.alpha),
        constF32('EPSILON', o.epsilon),
        constF32('MOMENTUM', o.momentum),
        constF32('COUPLED_DECAY', o.coupledDecay),
      ].join('\n');
  }
}

/**
 * The update of every segment in one dispatch.
 * Bindings: 0 params (read_write), 1 grads (read), 2 segment table (read), 3 hyper (uniform),
 * 4.. the state arenas in stateSlotNames() order (read_write); with clipnorm or
 * globalClipnorm (needsNorms()) then the squared norms (read: one f32 a segment, table order,
 * from optimizerNormsShader()); `watch`: then the status words (read_write, atomic u32
 * here), where a non-finite write is recorded.
 * Segment table: { count, total, 0, 0 } then `count` × { offset, end, l1, l2 } sorted by offset
 * (u32, u32, f32, f32; [offset, end) in elements), then the chunk map. `total` is a multiple
 * of 4. Launch: one thread per vec4f of the arenas (`total` / 4 of them, 1-D folded into 2-D).
 */
export function optimizerUpdateShader(o: ResolvedOptimizer, watch: boolean): string {
  const sgd = o.kind === 'sgd';
  const rmsprop = o.kind === 'rmsprop';
  const adam = o.kind === 'adam';
  const nadam = o.kind === 'nadam';
  const momentum = (sgd || rmsprop) && o.momentum > 0;
  const nesterov = sgd && o.nesterov;
  const centered = rmsprop && o.centered;
  const amsgrad = adam && o.amsgrad;
  const torchSgd = o.kind === 'torch_sgd';
  const torchAdam = o.kind === 'torch_adam';
  const torchRmsprop = o.kind === 'torch_rmsprop';
  const torchMomentum = (torchSgd || torchRmsprop) && o.momentum > 0;
  const torchNesterov = torchSgd && o.nesterov;
  const torchCentered = torchRmsprop && o.centered;
  const torchAmsgrad = torchAdam && o.amsgrad;
  const coupledDecay = (torchSgd || torchAdam || torchRmsprop) && o.coupledDecay > 0;
  const names = stateSlotNames(o);
  const states = names
    .map((n, k) => `@group(0) @binding(${4 + k}) var<storage, read_write> ${n}: array<vec4f>;`)
    .join('\n');
  const decay = (o.decay ?? 0) > 0;
  const clipnorm = (o.clipnorm ?? 0) > 0;
  const globalClipnorm = (o.globalClipnorm ?? 0) > 0;
  const clipvalue = (o.clipvalue ?? 0) > 0;
  const weightDecay = (o.weightDecay ?? 0) > 0;
  const norms = needsNorms(o);
  const normsBinding = 4 + names.length;
  const statusBinding = normsBinding + (norms ? 1 : 0);
  return tidy(wgsl`
${segmentTable}
${HYPER_STRUCT}

// Arenas of table.total f32 elements each (a multiple of 4), four to a thread.
@group(0) @binding(0) var<storage, read_write> params: array<vec4f>;
@group(0) @binding(1) var<storage, read> grads: array<vec4f>;
@group(0) @binding(2) var<storage, read> table: Table;
@group(0) @binding(3) var<uniform> hyper: Hyper;
${states}
#if ${norms}
@group(0) @binding(${normsBinding}) var<storage, read> norms: array<f32>;
#endif
#if ${watch}
@group(0) @binding(${statusBinding}) var<storage, read_write> status: array<atomic<u32>>;
#endif

const WG: u32 = ${WORKGROUP_1D}u;
${optimizerConstants(o)}
${flatIndex}
${segmentAt}
${isNan}
${IS_NAN_4}
${NON_FINITE}
${NON_FINITE_4}
#if ${clipnorm}
${SEGMENT_INDEX_AT}
#endif
#if ${watch}
${FLAG_NON_FINITE}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // Elements i0 .. i0 + 3 (vector i of the arenas), all in one chunk, so one segment.
  let i = flat_index(gid, nwg);
  let i0 = 4u * i;
  if (i0 >= table.total || table.count == 0u) { return; }
  let seg = segment_at(i0);
  if (i0 < seg.offset || i0 >= seg.end) { return; }  // wholly padding: not touched, stays zero
  // The lanes inside the segment; the others (padding after its end) are written back as read.
  let live = vec4u(i0) + vec4u(0u, 1u, 2u, 3u) < vec4u(seg.end);

#if ${decay}
  // Keras 2's time decay: lr / (1 + decay·iterations), iterations = t − 1 updates done before
  let lr = hyper.lr / (1.0 + DECAY * f32(hyper.step - 1u));
#else
  let lr = hyper.lr;
#endif
  let w_old = params[i];
  // The gradient of loss + l1·Σ|w| + l2·Σw².
  var g = grads[i] + (2.0 * seg.l2) * w_old + seg.l1 * sign(w_old);
#if ${clipnorm}
  // g·c / max(‖g‖, c) over this segment (a NaN norm makes it NaN)
  let sq = norms[segment_index_at(i0)];
  g = select(g * (CLIPNORM / max(sqrt(sq), CLIPNORM)), vec4f(sq), is_nan(sq));
#endif
#if ${globalClipnorm}
  // g·c / max(‖all g‖, c); a NaN or ±Inf global norm makes every gradient NaN (Keras's scale)
  var total = 0.0;
  for (var k = 0u; k < table.count; k++) { total += norms[k]; }
  // NaN from the non-finite total itself (a quiet-NaN bit on ±Inf), not a constant WGSL refuses
  let nan_value = bitcast<f32>(bitcast<u32>(total) | 0x00400000u);
  g = select(g * (GLOBAL_CLIPNORM / max(sqrt(total), GLOBAL_CLIPNORM)), vec4f(nan_value), non_finite(total));
#endif
#if ${clipvalue}
  // clip(g, −c, c), a NaN kept
  g = select(clamp(g, vec4f(-CLIPVALUE), vec4f(CLIPVALUE)), g, is_nan4(g));
#endif
#if ${coupledDecay}
  // PyTorch's weight_decay: g += wd·w
  g = g + COUPLED_DECAY * w_old;
#endif
#if ${weightDecay}
  // Keras 3's decoupled weight decay before the rule: w − w·wd·lr
  let w = w_old - w_old * WEIGHT_DECAY * lr;
#else
  let w = w_old;
#endif
  // Set when a state value written is NaN/±Inf (read only when watched).
  var bad_state = vec4<bool>(false);

#if ${sgd}
#if ${momentum}
  // v = momentum·v − lr·g
  let v = MOMENTUM * velocity[i] - lr * g;
  velocity[i] = select(velocity[i], v, live);
  bad_state = non_finite4(v);
#if ${nesterov}
  // w += momentum·v − lr·g (with the new v)
  var w_new = w + (MOMENTUM * v - lr * g);
#else
  // w += v
  var w_new = w + v;
#endif
#else
  // w −= lr·g
  var w_new = w - lr * g;
#endif
#endif

#if ${rmsprop}
  // S = ρ·S + (1 − ρ)·g²
  let s = RHO * velocity[i] + ONE_MINUS_RHO * (g * g);
  velocity[i] = select(velocity[i], s, live);
  bad_state = non_finite4(s);
#if ${centered}
  // ḡ = ρ·ḡ + (1 − ρ)·g; the denominator is √(S − ḡ² + ε)
  let a = RHO * average_grad[i] + ONE_MINUS_RHO * g;
  average_grad[i] = select(average_grad[i], a, live);
  bad_state = bad_state | non_finite4(a);
  let denominator = s - a * a + EPSILON;
#else
  // Keras 3 puts ε inside the root: √(S + ε)
  let denominator = s + EPSILON;
#endif
  let increment = lr * g / sqrt(denominator);
#if ${momentum}
  // mom = momentum·mom + increment; w −= mom
  let mo = MOMENTUM * momentum[i] + increment;
  momentum[i] = select(momentum[i], mo, live);
  bad_state = bad_state | non_finite4(mo);
  var w_new = w - mo;
#else
  var w_new = w - increment;
#endif
#endif

#if ${adam || nadam}
  // m += (g − m)(1 − β1); v += (g² − v)(1 − β2)
  let m_old = m[i];
  let v_old = v[i];
  let m_new = m_old + (g - m_old) * ONE_MINUS_BETA1;
  let v_new = v_old + (g * g - v_old) * ONE_MINUS_BETA2;
  m[i] = select(m[i], m_new, live);
  v[i] = select(v[i], v_new, live);
  bad_state = non_finite4(m_new) | non_finite4(v_new);
#endif

#if ${adam}
  // α = lr·√(1 − β2^t) / (1 − β1^t)
  let alpha = lr * sqrt(hyper.one_minus_beta2_t) / hyper.one_minus_beta1_t;
#if ${amsgrad}
  // v̂ = max(v̂, v), a NaN in v kept (max() may drop it)
  let v_hat_new = select(max(v_hat[i], v_new), v_new, is_nan4(v_new));
  v_hat[i] = select(v_hat[i], v_hat_new, live);
  bad_state = bad_state | non_finite4(v_hat_new);
  let v_used = v_hat_new;
#else
  let v_used = v_new;
#endif
  // w −= α·m / (√v + ε)
  var w_new = w - m_new * alpha / (sqrt(v_used) + EPSILON);
#endif

#if ${nadam}
  // u_t, u_{t+1}; hyper.u_product = Π u_i for i ≤ t (advanced on the GPU before this update)
  let u_t = hyper.u_t;
  let u_next = hyper.u_next;
  let u_product = hyper.u_product;
  let u_product_next = u_product * u_next;
  // m̂ = u_{t+1}·m / (1 − Π_{t+1}) + (1 − u_t)·g / (1 − Π_t); v̂ = v / (1 − β2^t)
  let m_hat = u_next * m_new / (1.0 - u_product_next) + (1.0 - u_t) * g / (1.0 - u_product);
  let v_hat = v_new / hyper.one_minus_beta2_t;
  // w −= lr·m̂ / (√v̂ + ε)
  var w_new = w - m_hat * lr / (sqrt(v_hat) + EPSILON);
#endif

#if ${torchSgd}
#if ${torchMomentum}
  // PyTorch: the buffer starts as g itself at step 1 (no dampening), then
  // buf = μ·buf + (1 − dampening)·g
  let buf = select(MOMENTUM * momentum_buffer[i] + ONE_MINUS_DAMPENING * g, g, hyper.step == 1u);
  momentum_buffer[i] = select(momentum_buffer[i], buf, live);
  bad_state = non_finite4(buf);
#if ${torchNesterov}
  // Nesterov: d = g + μ·buf
  let d = g + MOMENTUM * buf;
#else
  let d = buf;
#endif
  var w_new = w - lr * d;
#else
  var w_new = w - lr * g;
#endif
#endif

#if ${torchAdam}
  // m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²
  let m_new = BETA1 * exp_avg[i] + ONE_MINUS_BETA1 * g;
  let v_new = BETA2 * exp_avg_sq[i] + ONE_MINUS_BETA2 * (g * g);
  exp_avg[i] = select(exp_avg[i], m_new, live);
  exp_avg_sq[i] = select(exp_avg_sq[i], v_new, live);
  bad_state = non_finite4(m_new) | non_finite4(v_new);
#if ${torchAmsgrad}
  // v_max = max(v_max, v), a NaN in v kept (max() may drop it)
  let v_max = select(max(max_exp_avg_sq[i], v_new), v_new, is_nan4(v_new));
  max_exp_avg_sq[i] = select(max_exp_avg_sq[i], v_max, live);
  bad_state = bad_state | non_finite4(v_max);
  let v_used = v_max;
#else
  let v_used = v_new;
#endif
  // PyTorch puts ε after the bias correction: denom = √v / √(1 − β2^t) + ε;
  // w −= (lr / (1 − β1^t))·m / denom
  let denom = sqrt(v_used) / sqrt(hyper.one_minus_beta2_t) + EPSILON;
  var w_new = w - (lr / hyper.one_minus_beta1_t) * (m_new / denom);
#endif

#if ${torchRmsprop}
  // sq = α·sq + (1 − α)·g²
  let sq = ALPHA * square_avg[i] + ONE_MINUS_ALPHA * (g * g);
  square_avg[i] = select(square_avg[i], sq, live);
  bad_state = non_finite4(sq);
#if ${torchCentered}
  // ḡ = α·ḡ + (1 − α)·g; avg = √(sq − ḡ²) + ε
  let ga = ALPHA * grad_avg[i] + ONE_MINUS_ALPHA * g;
  grad_avg[i] = select(grad_avg[i], ga, live);
  bad_state = bad_state | non_finite4(ga);
  let avg = sqrt(sq - ga * ga) + EPSILON;
#else
  // PyTorch puts ε outside the root: √sq + ε
  let avg = sqrt(sq) + EPSILON;
#endif
#if ${torchMomentum}
  // buf = μ·buf + g / avg; w −= lr·buf
  let buf = MOMENTUM * momentum_buffer[i] + g / avg;
  momentum_buffer[i] = select(momentum_buffer[i], buf, live);
  bad_state = bad_state | non_finite4(buf);
  var w_new = w - lr * buf;
#else
  var w_new = w - lr * (g / avg);
#endif
#endif

  // A NaN gradient makes this parameter NaN whatever sqrt/max did with it.
  w_new = select(w_new, g, is_nan4(g));
  params[i] = select(w_old, w_new, live);
#if ${watch}
  if (any((bad_state | non_finite4(w_new)) & live)) { flag_non_finite(); }
#endif
}`);
}

/**
 * The squared L2 norm of each segment's gradient (with the l1/l2 penalty's, as the update
 * forms it), for clipnorm and globalClipnorm: one workgroup a segment, each thread summing a
 * strided share in f32, then a tree in workgroup memory.
 * Bindings: 0 params (read), 1 grads (read), 2 segment table (read), 3 norms (read_write: one
 * f32 a segment, table order). Launch: table.count workgroups (1-D folded into 2-D).
 */
export function optimizerNormsShader(): string {
  return /* wgsl */ `
${segmentTable}

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read> table: Table;
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;

const WG: u32 = ${WORKGROUP_1D}u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let k = wid.x + wid.y * nwg.x;
  var acc = 0.0;
  if (k < table.count) {
    let seg = table.segments[k];
    for (var i = seg.offset + lid; i < seg.end; i += WG) {
      let w = params[i];
      let g = grads[i] + (2.0 * seg.l2) * w + seg.l1 * sign(w);
      acc += g * g;
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && k < table.count) { norms[k] = partial[0]; }
}`;
}

/**
 * Moves the hyper buffer to the next step: t += 1 and, for Nadam, u_product *= u_t (Keras 3
 * does both before its update_step); writes the step's bias corrections (Adam, Nadam,
 * PyTorch's Adam) and Nadam's u_t, u_{t+1}. One invocation.
 * Bindings: 0 hyper (read_write).
 */
export function optimizerAdvanceShader(o: ResolvedOptimizer): string {
  const nadam = o.kind === 'nadam';
  const corrected = o.kind === 'adam' || nadam || o.kind === 'torch_adam';
  return tidy(wgsl`
${HYPER_STRUCT}

@group(0) @binding(0) var<storage, read_write> hyper: Hyper;

#if ${corrected}
${corrected ? optimizerConstants(o) : ''}
${ONE_MINUS_POW}
#endif
#if ${nadam}
${NADAM_U}
#endif

@compute @workgroup_size(1)
fn main() {
  let t = hyper.step + 1u;
  hyper.step = t;
#if ${corrected}
  hyper.one_minus_beta1_t = one_minus_pow(LN_BETA1, f32(t));
  hyper.one_minus_beta2_t = one_minus_pow(LN_BETA2, f32(t));
#endif
#if ${nadam}
  let u_t = nadam_u(f32(t));
  hyper.u_t = u_t;
  hyper.u_next = nadam_u(f32(t) + 1.0);
  hyper.u_product = hyper.u_product * u_t;
#endif
}`);
}

/**
 * Writes a new learning rate into the hyper buffer, ordered with the surrounding dispatches
 * (a queue write would land before commands encoded but not yet submitted).
 * Bindings: 0 hyper (read_write), 1 { lr } (uniform). One invocation.
 */
export function optimizerSetLearningRateShader(): string {
  return /* wgsl */ `
${HYPER_STRUCT}
struct Value { lr: f32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<storage, read_write> hyper: Hyper;
@group(0) @binding(1) var<uniform> value: Value;

@compute @workgroup_size(1)
fn main() {
  hyper.lr = value.lr;
}`;
}
