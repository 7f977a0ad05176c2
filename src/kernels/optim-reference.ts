/**
 * The fused optimizer update of optim.ts in float64, for the kernel cases and the graph's
 * step tests: Keras 3's rules (optimizerStepReference) and PyTorch 1.13's
 * (torch_sgd / torch_adam / torch_rmsprop), the hyper buffer's advance and the NaN/Inf flag.
 */
import { BAD_WHAT, STATUS } from '../../shaders/step.js';
import { stateSlotNames, type ResolvedOptimizer } from '../../shaders/optim.js';
import {
  type ArenaSegment,
  type OptimizerHyper,
  type OptimizerSpec,
  resolveOptimizerSpec,
  validateSegments,
} from './optim.js';

// ------------------------------------------------------------ float64 references

/** Nadam's u_t = β1·(1 − 0.5·0.96^(d·t)). */
export function nadamMomentumCoefficient(beta1: number, scheduleDecay: number, t: number): number {
  return beta1 * (1 - 0.5 * Math.pow(0.96, scheduleDecay * t));
}

/** What encodeOptimizerAdvance() does to the hyper buffer, in float64. */
export function optimizerAdvanceReference(spec: OptimizerSpec, h: OptimizerHyper): OptimizerHyper {
  const o = resolveOptimizerSpec(spec);
  const step = h.step + 1;
  const uProduct =
    o.kind === 'nadam' ? h.uProduct * nadamMomentumCoefficient(o.beta1, o.scheduleDecay, step) : h.uProduct;
  return { lr: h.lr, step, uProduct };
}

/**
 * What a watched update does to the status words (STATUS_WORDS u32, in place), given whether
 * it wrote a NaN or ±Inf parameter or state value: the step being run is STEPS + 1 (step end
 * counts it after the update); BAD_STEP becomes it unless a step is recorded already, and
 * BAD_WHAT gains the WRITE bit if the recorded step is this one.
 */
export function optimizerFlagReference(status: Uint32Array, wroteNonFinite: boolean): void {
  if (!wroteNonFinite) return;
  const thisStep = ((status[STATUS.STEPS] ?? 0) + 1) >>> 0;
  if (status[STATUS.BAD_STEP] === 0) status[STATUS.BAD_STEP] = thisStep;
  if (status[STATUS.BAD_STEP] === thisStep)
    status[STATUS.BAD_WHAT] = (status[STATUS.BAD_WHAT] ?? 0) | BAD_WHAT.WRITE;
}

/**
 * One update in float64, in place on `params` and `state` (optimizerStateNames() order),
 * with the hyper values the GPU would read (already advanced: hyper.step = t ≥ 1).
 * Elements outside the segments are not touched. The common options as Keras writes them:
 * lr_t = lr / (1 + decay·(t − 1)) (Keras 2's `_decayed_lr`, iterations = t − 1); the
 * gradient clipped (keras/src/optimizers/base_optimizer.py `_clip_gradients`: per variable
 * g·c/max(‖g‖, c), all by c/max(global norm, c) — NaN for a non-finite global norm —, or
 * clip(g, −c, c)); then w ← w − w·weightDecay·lr_t (`_apply_weight_decay`, before the
 * update step); then the rule with lr_t.
 */
export function optimizerStepReference(
  spec: OptimizerSpec,
  segments: readonly ArenaSegment[],
  params: Float64Array,
  grads: ArrayLike<number>,
  state: Float64Array[],
  hyper: OptimizerHyper,
): void {
  const o = resolveOptimizerSpec(spec);
  const slots = stateSlotNames(o).length;
  if (state.length !== slots)
    throw new RangeError(`${o.kind}: needs ${slots} state arrays, got ${state.length}`);
  if (o.kind === 'torch_sgd' || o.kind === 'torch_adam' || o.kind === 'torch_rmsprop') {
    torchStepReference(o, segments, params, grads, state, hyper);
    return;
  }
  const t = hyper.step;
  if ((o.kind === 'adam' || o.kind === 'nadam' || o.decay) && t < 1) {
    throw new RangeError(`${o.kind}: step ${t}: advance the hyper state before the first update`);
  }
  const lr = o.decay ? hyper.lr / (1 + o.decay * (t - 1)) : hyper.lr;
  const [s0 = new Float64Array(0), s1 = new Float64Array(0), s2 = new Float64Array(0)] = state;
  const live = validateSegments(segments, params.length);
  // The gradients with the penalty's, clipped as Keras clips them, before any weight moves.
  const clipped = new Map<ArenaSegment, Float64Array>();
  for (const seg of live) {
    const g = new Float64Array(seg.length);
    for (let j = 0; j < seg.length; j++) {
      const w = params[seg.offset + j] as number;
      g[j] = (grads[seg.offset + j] as number) + 2 * seg.l2 * w + seg.l1 * Math.sign(w);
    }
    clipped.set(seg, g);
  }
  const sumSq = (g: Float64Array): number => g.reduce((a, x) => a + x * x, 0);
  if (o.clipnorm) {
    const c = o.clipnorm;
    for (const g of clipped.values()) {
      const norm = Math.sqrt(sumSq(g));
      for (let j = 0; j < g.length; j++) g[j] = ((g[j] as number) * c) / Math.max(norm, c);
    }
  } else if (o.globalClipnorm) {
    const c = o.globalClipnorm;
    const norm = Math.sqrt([...clipped.values()].reduce((a, g) => a + sumSq(g), 0));
    const scale = Number.isFinite(norm) ? c / Math.max(norm, c) : NaN;
    for (const g of clipped.values()) for (let j = 0; j < g.length; j++) g[j] = (g[j] as number) * scale;
  } else if (o.clipvalue) {
    const c = o.clipvalue;
    for (const g of clipped.values()) {
      for (let j = 0; j < g.length; j++) g[j] = Math.min(Math.max(g[j] as number, -c), c);
    }
  }
  for (const seg of live) {
    const gs = clipped.get(seg) as Float64Array;
    for (let i = seg.offset; i < seg.offset + seg.length; i++) {
      const wOld = params[i] as number;
      const w = o.weightDecay ? wOld - wOld * o.weightDecay * lr : wOld;
      const g = gs[i - seg.offset] as number;
      switch (o.kind) {
        case 'sgd': {
          if (o.momentum > 0) {
            const v = o.momentum * (s0[i] as number) - lr * g;
            s0[i] = v;
            params[i] = o.nesterov ? w + o.momentum * v - lr * g : w + v;
          } else {
            params[i] = w - lr * g;
          }
          break;
        }
        case 'rmsprop': {
          const s = o.rho * (s0[i] as number) + (1 - o.rho) * g * g;
          s0[i] = s;
          const avgSlot = o.momentum > 0 ? s2 : s1;
          let denominator = s + o.epsilon;
          if (o.centered) {
            const a = o.rho * (avgSlot[i] as number) + (1 - o.rho) * g;
            avgSlot[i] = a;
            denominator = s - a * a + o.epsilon;
          }
          const increment = (lr * g) / Math.sqrt(denominator);
          if (o.momentum > 0) {
            const mo = o.momentum * (s1[i] as number) + increment;
            s1[i] = mo;
            params[i] = w - mo;
          } else {
            params[i] = w - increment;
          }
          break;
        }
        case 'adam': {
          const m = (s0[i] as number) + (g - (s0[i] as number)) * (1 - o.beta1);
          let v = (s1[i] as number) + (g * g - (s1[i] as number)) * (1 - o.beta2);
          s0[i] = m;
          s1[i] = v;
          if (o.amsgrad) {
            const vh = s2[i] as number;
            v = Number.isNaN(v) || Number.isNaN(vh) ? NaN : Math.max(vh, v);
            s2[i] = v;
          }
          const alpha = (lr * Math.sqrt(1 - Math.pow(o.beta2, t))) / (1 - Math.pow(o.beta1, t));
          params[i] = w - (m * alpha) / (Math.sqrt(v) + o.epsilon);
          break;
        }
        case 'nadam': {
          const m = (s0[i] as number) + (g - (s0[i] as number)) * (1 - o.beta1);
          const v = (s1[i] as number) + (g * g - (s1[i] as number)) * (1 - o.beta2);
          s0[i] = m;
          s1[i] = v;
          const uT = nadamMomentumCoefficient(o.beta1, o.scheduleDecay, t);
          const uNext = nadamMomentumCoefficient(o.beta1, o.scheduleDecay, t + 1);
          const mHat = (uNext * m) / (1 - hyper.uProduct * uNext) + ((1 - uT) * g) / (1 - hyper.uProduct);
          const vHat = v / (1 - Math.pow(o.beta2, t));
          params[i] = w - (mHat * lr) / (Math.sqrt(vHat) + o.epsilon);
          break;
        }
      }
    }
  }
}

/**
 * optimizerStepReference() of the torch_* kinds: PyTorch 1.13's single-tensor updates
 * (torch/optim/{sgd,adam,adamw,rmsprop}.py) in float64, the segments' l1/l2 penalty gradient
 * added first as for every kind:
 *   SGD      g += wd·w;  momentum: buf = g at t = 1, then μ·buf + (1 − dampening)·g;
 *            d = g + μ·buf (Nesterov) or buf;  w −= lr·d  (no momentum: w −= lr·g)
 *   Adam     g += wd·w (AdamW instead: w ← w·(1 − lr·wd) first);  m = β1·m + (1 − β1)·g;
 *            v = β2·v + (1 − β2)·g²;  AMSGrad: v_max = max(v_max, v) replaces v;
 *            w −= (lr / (1 − β1^t))·m / (√v / √(1 − β2^t) + ε)
 *   RMSprop  g += wd·w;  sq = α·sq + (1 − α)·g²;  centered: ḡ = α·ḡ + (1 − α)·g,
 *            avg = √(sq − ḡ²) + ε, else √sq + ε;  momentum: buf = μ·buf + g/avg, w −= lr·buf;
 *            else w −= lr·g/avg
 */
function torchStepReference(
  o: Extract<ResolvedOptimizer, { kind: 'torch_sgd' | 'torch_adam' | 'torch_rmsprop' }>,
  segments: readonly ArenaSegment[],
  params: Float64Array,
  grads: ArrayLike<number>,
  state: Float64Array[],
  hyper: OptimizerHyper,
): void {
  const t = hyper.step;
  const lr = hyper.lr;
  if ((o.kind === 'torch_adam' || (o.kind === 'torch_sgd' && o.momentum > 0)) && t < 1) {
    throw new RangeError(`${o.kind}: step ${t}: advance the hyper state before the first update`);
  }
  const [s0 = new Float64Array(0), s1 = new Float64Array(0), s2 = new Float64Array(0)] = state;
  for (const seg of validateSegments(segments, params.length)) {
    for (let i = seg.offset; i < seg.offset + seg.length; i++) {
      const wOld = params[i] as number;
      const g = (grads[i] as number) + 2 * seg.l2 * wOld + seg.l1 * Math.sign(wOld) + o.coupledDecay * wOld;
      // AdamW's decoupled decay (the common weightDecay; absent for the other kinds).
      const w = o.weightDecay ? wOld * (1 - lr * o.weightDecay) : wOld;
      switch (o.kind) {
        case 'torch_sgd': {
          let d = g;
          if (o.momentum > 0) {
            const buf = t === 1 ? g : o.momentum * (s0[i] as number) + (1 - o.dampening) * g;
            s0[i] = buf;
            d = o.nesterov ? g + o.momentum * buf : buf;
          }
          params[i] = w - lr * d;
          break;
        }
        case 'torch_adam': {
          const m = o.beta1 * (s0[i] as number) + (1 - o.beta1) * g;
          let v = o.beta2 * (s1[i] as number) + (1 - o.beta2) * g * g;
          s0[i] = m;
          s1[i] = v;
          if (o.amsgrad) {
            const vMax = s2[i] as number;
            v = Number.isNaN(v) || Number.isNaN(vMax) ? NaN : Math.max(vMax, v);
            s2[i] = v;
          }
          const denom = Math.sqrt(v) / Math.sqrt(1 - Math.pow(o.beta2, t)) + o.epsilon;
          params[i] = w - (lr / (1 - Math.pow(o.beta1, t))) * (m / denom);
          break;
        }
        case 'torch_rmsprop': {
          const sq = o.alpha * (s0[i] as number) + (1 - o.alpha) * g * g;
          s0[i] = sq;
          let avg = Math.sqrt(sq) + o.epsilon;
          if (o.centered) {
            const avgSlot = o.momentum > 0 ? s2 : s1;
            const ga = o.alpha * (avgSlot[i] as number) + (1 - o.alpha) * g;
            avgSlot[i] = ga;
            avg = Math.sqrt(sq - ga * ga) + o.epsilon;
          }
          if (o.momentum > 0) {
            const buf = o.momentum * (s1[i] as number) + g / avg;
            s1[i] = buf;
            params[i] = w - lr * buf;
          } else {
            params[i] = w - lr * (g / avg);
          }
          break;
        }
      }
    }
  }
}
