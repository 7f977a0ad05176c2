/**
 * Optimizer updates over a flat parameter arena: the API the graph scheduler builds on, the
 * dispatch of ONE update kernel for all segments. The WGSL lives in shaders/optim.ts, the
 * float64 reference of one step in optim-reference.ts.
 *
 * Semantics are Keras 3's (keras/src/optimizers/sgd.py, rmsprop.py, adam.py, nadam.py, read
 * for this file): per step t = 1, 2, ... with g the gradient of the loss INCLUDING the
 * per-segment penalty Keras adds to it (l2(λ): λ·Σw² → g += 2λ·w; l1(λ): λ·Σ|w| →
 * g += λ·sign(w)):
 *   SGD       w −= lr·g;  momentum: v = μ·v − lr·g, w += v;  Nesterov: w += μ·v − lr·g (new v)
 *   RMSprop   S = ρ·S + (1−ρ)·g²;  inc = lr·g / √(S + ε)  (ε INSIDE the root, as Keras 3's code);
 *             centered: ḡ = ρ·ḡ + (1−ρ)·g, inc = lr·g / √(S − ḡ² + ε);
 *             momentum: M = μ·M + inc, w −= M;  otherwise w −= inc
 *   Adam      m += (g−m)(1−β1);  v += (g²−v)(1−β2);  α = lr·√(1−β2^t)/(1−β1^t);
 *             w −= α·m / (√v + ε);  amsgrad: v̂ = max(v̂, v) replaces v in the last line
 *   Nadam     u_t = β1·(1 − 0.5·0.96^(d·t)), Π_t = Π_{t−1}·u_t (Π_0 = 1, kept on the GPU),
 *             m, v as Adam;  m̂ = u_{t+1}·m/(1 − Π_t·u_{t+1}) + (1−u_t)·g/(1 − Π_t);
 *             v̂ = v/(1 − β2^t);  w −= lr·m̂ / (√v̂ + ε)
 * Nadam's d (`scheduleDecay`) is 1 in Keras 3 (`ops.power(0.96, iterations + 1)`); tf.keras 2
 * used 0.004 (its `schedule_decay`). Defaults: SGD lr-only; RMSprop ρ 0.9, ε 1e-7; Adam and
 * Nadam β1 0.9, β2 0.999, ε 1e-7.
 *
 * The torch_* kinds (TorchOptimizerSpec) are PyTorch 1.13's SGD, Adam / AdamW and RMSprop
 * through the same kernel, with PyTorch's numerics (Adam's ε after the bias correction,
 * RMSprop's outside the root, SGD's buffer starting as g): see torchStepReference().
 *
 * Per step the host (or the graph) encodes encodeOptimizerAdvance() then
 * encodeOptimizerUpdate(); both read the step and learning rate from the `hyper` buffer, so
 * any number of steps can be encoded without a readback, and a schedule changes the rate
 * with encodeOptimizerSetLearningRate() (or by writing the buffer) without a recompile.
 * Given the model's status words, the update also records the first step at which it writes
 * a NaN or ±Inf (optimizerFlagReference()), so that the compiled step can undo an overflow
 * whose loss is still finite.
 */
import { ARENA_CHUNK, WORKGROUP_1D } from '../../shaders/common.js';
import { STATUS_WORDS } from '../../shaders/step.js';
import {
  needsNorms,
  optimizerAdvanceShader,
  optimizerNormsShader,
  optimizerSetLearningRateShader,
  optimizerUpdateShader,
  stateSlotNames,
  type ResolvedCommon,
  type ResolvedOptimizer,
} from '../../shaders/optim.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { checkCount, checkF32Each, checkFinite, checkSize } from './validate.js';

export type { ResolvedCommon, ResolvedOptimizer };

/**
 * One weight tensor's place in the arenas (element units): [offset, offset + length), offset
 * a multiple of ARENA_ALIGN. l1/l2 are the Keras regularizer factors of that tensor (kernels
 * typically yes, biases 0).
 */
export interface ArenaSegment {
  offset: number;
  length: number;
  l1: number;
  l2: number;
}

/**
 * Options every optimizer takes (0 or absent: off; see ResolvedCommon in shaders/optim.ts):
 * Keras 2's time `decay` of the rate, Keras 3's `clipnorm` / `globalClipnorm` / `clipvalue`
 * (at most one) and decoupled `weightDecay`.
 */
export interface OptimizerCommon {
  decay?: number;
  clipnorm?: number;
  globalClipnorm?: number;
  clipvalue?: number;
  weightDecay?: number;
}

export type OptimizerSpec = KerasOptimizerSpec | TorchOptimizerSpec;

/** Keras 3's rules, each with the common options. */
export type KerasOptimizerSpec = (
  | { kind: 'sgd'; momentum?: number; nesterov?: boolean }
  | { kind: 'rmsprop'; rho?: number; epsilon?: number; momentum?: number; centered?: boolean }
  | { kind: 'adam'; beta1?: number; beta2?: number; epsilon?: number; amsgrad?: boolean }
  | {
      kind: 'nadam';
      beta1?: number;
      beta2?: number;
      epsilon?: number;
      /** d in u_t = β1(1 − 0.5·0.96^(d·t)): 1 (default) is Keras 3, 0.004 tf.keras 2. */
      scheduleDecay?: number;
    }
) &
  OptimizerCommon;

/**
 * PyTorch 1.13's rules (torch.optim.SGD, Adam / AdamW, RMSprop), with PyTorch's defaults:
 *   torch_sgd      momentum 0, dampening 0, nesterov false, weightDecay 0
 *   torch_adam     beta1 0.9, beta2 0.999, epsilon 1e-8, amsgrad false; weightDecay 0 coupled
 *                  (Adam: g += wd·w), or with `decoupled` (AdamW) 0.01 and w ← w·(1 − lr·wd)
 *   torch_rmsprop  alpha 0.99, epsilon 1e-8, momentum 0, centered false, weightDecay 0
 * weightDecay is PyTorch's `weight_decay` (coupled: g += wd·w, but AdamW's). Keras's common
 * options (decay, clipnorm, globalClipnorm, clipvalue) are refused: PyTorch clips gradients
 * outside the optimizer.
 */
export type TorchOptimizerSpec = (
  | { kind: 'torch_sgd'; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
  | {
      kind: 'torch_adam';
      beta1?: number;
      beta2?: number;
      epsilon?: number;
      amsgrad?: boolean;
      weightDecay?: number;
      /** AdamW: the decay w ← w·(1 − lr·wd) before the update instead of g += wd·w. */
      decoupled?: boolean;
    }
  | {
      kind: 'torch_rmsprop';
      alpha?: number;
      epsilon?: number;
      momentum?: number;
      centered?: boolean;
      weightDecay?: number;
    }
) & { decay?: never; clipnorm?: never; globalClipnorm?: never; clipvalue?: never };

/** The torch_* kinds (PyTorch's rules). */
export function isTorchOptimizer(spec: { kind: string }): spec is TorchOptimizerSpec {
  return spec.kind === 'torch_sgd' || spec.kind === 'torch_adam' || spec.kind === 'torch_rmsprop';
}

/**
 * An optimizer as the update kernel runs it: the update rule with its hyperparameters, and
 * the learning rate the hyper buffer starts with (src/nn/optimizers.ts builds these from
 * Keras's names and options).
 */
export interface OptimizerSettings {
  spec: OptimizerSpec;
  learningRate: number;
}

/** Segment offsets are multiples of this many elements (256 bytes): the chunk of the segment map. */
export const ARENA_ALIGN = ARENA_CHUNK;

/** The scalars in the hyper buffer (see OPTIMIZER_HYPER_BYTES for the layout). */
export interface OptimizerHyper {
  /** The learning rate (stored as f32). */
  lr: number;
  /** t: updates applied, counting the one about to run once advanced (0 at creation). */
  step: number;
  /** Nadam's Π u_i for i ≤ t (1 at creation); carried unchanged by the other optimizers. */
  uProduct: number;
}

/**
 * Hyper buffer: 32 bytes, { lr: f32, step: u32, u_product: f32, unused: u32 }, then four f32
 * the advance kernel derives from the step for the update (see shaders/optim.ts).
 */
export const OPTIMIZER_HYPER_BYTES = 32;

/** Word offsets of the hyper buffer's fields; only this module reads or writes them. */
const HYPER = { LR: 0, STEP: 1, U_PRODUCT: 2 } as const;

/** GPUBufferUsage is a global only once WebGPU is set up (Dawn in Node): read it at call time. */
function hyperUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

// ------------------------------------------------------------ specs

/**
 * Fills in Keras 3's defaults and checks every hyper-parameter: the one place for both
 * (src/nn/optimizers.ts builds its Keras-named optimizers on it). Ranges: momentum in
 * [0, 1] (Keras's check); rho, beta1, beta2 in [0, 1); epsilon and scheduleDecay finite
 * > 0; nesterov, centered and amsgrad booleans; decay, clipnorm, globalClipnorm, clipvalue
 * and weightDecay finite >= 0 (null or absent: off; 0 is off too, as Keras's `if clipnorm`),
 * at most one of the three clips given (Keras 3's rule). The common options appear in the
 * result only when > 0. The torch_* kinds get PyTorch's defaults and checks (resolveTorch()).
 */
export function resolveOptimizerSpec(spec: OptimizerSpec): ResolvedOptimizer {
  if (isTorchOptimizer(spec)) return resolveTorch(spec);
  return { ...resolveRule(spec), ...resolveCommon(spec) };
}

/**
 * PyTorch's defaults and argument checks (torch/optim/*.py __init__), its messages after the
 * kind: momentum, epsilon, weightDecay, alpha >= 0, betas in [0, 1), Nesterov only with
 * momentum > 0 and zero dampening; all finite (PyTorch lets ±Inf through: not here). The
 * result's coupledDecay is PyTorch's weight_decay but AdamW's, which is `weightDecay`.
 */
function resolveTorch(spec: TorchOptimizerSpec): ResolvedOptimizer {
  const what = spec.kind;
  const given = spec as unknown as Record<string, unknown>;
  for (const key of ['decay', 'clipnorm', 'globalClipnorm', 'clipvalue'] as const) {
    if (given[key] !== undefined && given[key] !== null) {
      throw new TypeError(
        `${what}: ${key} is a Keras option; PyTorch's optimizers take none (clip or decay the ` +
          `gradients or the rate outside the optimizer), got ${String(given[key])}`,
      );
    }
  }
  const value = (name: string, torchName: string, x: unknown, ok: (v: number) => boolean): number => {
    if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) {
      throw new RangeError(`${what}: Invalid ${torchName}: ${String(x)} (${name})`);
    }
    return x;
  };
  const nonNegative = (name: string, torchName: string, x: unknown): number =>
    value(`${name} must be a finite number >= 0`, torchName, x, (v) => v >= 0);
  const beta = (k: 0 | 1, x: unknown): number =>
    value(`beta${k + 1} must be in [0, 1)`, `beta parameter at index ${k}`, x, (v) => v >= 0 && v < 1);
  const flag = (name: string, x: unknown): boolean => {
    if (typeof x !== 'boolean')
      throw new TypeError(`${what}: ${name} must be true or false, got ${String(x)}`);
    return x;
  };
  switch (spec.kind) {
    case 'torch_sgd': {
      const momentum = nonNegative('momentum', 'momentum value', spec.momentum ?? 0);
      const dampening = value('dampening must be finite', 'dampening value', spec.dampening ?? 0, () => true);
      const nesterov = flag('nesterov', spec.nesterov ?? false);
      const coupledDecay = nonNegative('weightDecay', 'weight_decay value', spec.weightDecay ?? 0);
      if (nesterov && (momentum <= 0 || dampening !== 0)) {
        throw new RangeError(
          `${what}: Nesterov momentum requires a momentum and zero dampening ` +
            `(got momentum ${momentum}, dampening ${dampening})`,
        );
      }
      return { kind: 'torch_sgd', momentum, dampening, nesterov, coupledDecay };
    }
    case 'torch_adam': {
      const decoupled = flag('decoupled', spec.decoupled ?? false);
      const resolved = {
        kind: 'torch_adam' as const,
        beta1: beta(0, spec.beta1 ?? 0.9),
        beta2: beta(1, spec.beta2 ?? 0.999),
        epsilon: nonNegative('epsilon', 'epsilon value', spec.epsilon ?? 1e-8),
        amsgrad: flag('amsgrad', spec.amsgrad ?? false),
      };
      const wd = nonNegative('weightDecay', 'weight_decay value', spec.weightDecay ?? (decoupled ? 0.01 : 0));
      // AdamW's w·(1 − lr·wd) is Keras's decoupled w − w·wd·lr, the common weightDecay.
      if (decoupled) return { ...resolved, coupledDecay: 0, ...(wd > 0 ? { weightDecay: wd } : {}) };
      return { ...resolved, coupledDecay: wd };
    }
    case 'torch_rmsprop':
      return {
        kind: 'torch_rmsprop',
        alpha: nonNegative('alpha', 'alpha value', spec.alpha ?? 0.99),
        epsilon: nonNegative('epsilon', 'epsilon value', spec.epsilon ?? 1e-8),
        momentum: nonNegative('momentum', 'momentum value', spec.momentum ?? 0),
        centered: flag('centered', spec.centered ?? false),
        coupledDecay: nonNegative('weightDecay', 'weight_decay value', spec.weightDecay ?? 0),
      };
  }
}

/**
 * PyTorch's check of a learning rate (lr >= 0: a zero rate is allowed, unlike
 * checkLearningRate()), with its message after `what`.
 */
export function checkTorchLearningRate(what: string, lr: unknown): number {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new RangeError(`${what}: Invalid learning rate: ${String(lr)} (must be a finite number >= 0)`);
  }
  return lr;
}

const COMMON_KEYS = ['decay', 'clipnorm', 'globalClipnorm', 'clipvalue', 'weightDecay'] as const;
const CLIP_KEYS = ['clipnorm', 'clipvalue', 'globalClipnorm'] as const;

function resolveCommon(spec: KerasOptimizerSpec): ResolvedCommon {
  const what = spec.kind;
  const given = spec as unknown as Record<string, unknown>;
  const clips = CLIP_KEYS.filter((k) => given[k] !== undefined && given[k] !== null);
  if (clips.length > 1) {
    throw new RangeError(
      `${what}: only one of clipnorm, clipvalue and globalClipnorm can be set, got ` +
        clips.map((k) => `${k} ${String(given[k])}`).join(' and '),
    );
  }
  const out: ResolvedCommon = {};
  for (const key of COMMON_KEYS) {
    const x = given[key];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
      throw new RangeError(`${what}: ${key} must be a finite number >= 0, got ${String(x)}`);
    }
    if (x > 0) out[key] = x;
  }
  return out;
}

function resolveRule(spec: KerasOptimizerSpec): ResolvedOptimizer {
  const what = spec.kind;
  const inUnit = (name: string, x: unknown, closedAbove: boolean): number => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || (closedAbove ? x > 1 : x >= 1)) {
      throw new RangeError(`${what}: ${name} must be in [0, 1${closedAbove ? ']' : ')'}, got ${String(x)}`);
    }
    return x;
  };
  const positive = (name: string, x: unknown): number => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) {
      throw new RangeError(`${what}: ${name} must be a finite number > 0, got ${String(x)}`);
    }
    return x;
  };
  const flag = (name: string, x: unknown): boolean => {
    if (typeof x !== 'boolean')
      throw new TypeError(`${what}: ${name} must be true or false, got ${String(x)}`);
    return x;
  };
  switch (spec.kind) {
    case 'sgd':
      return {
        kind: 'sgd',
        momentum: inUnit('momentum', spec.momentum ?? 0, true),
        nesterov: flag('nesterov', spec.nesterov ?? false),
      };
    case 'rmsprop':
      return {
        kind: 'rmsprop',
        rho: inUnit('rho', spec.rho ?? 0.9, false),
        epsilon: positive('epsilon', spec.epsilon ?? 1e-7),
        momentum: inUnit('momentum', spec.momentum ?? 0, true),
        centered: flag('centered', spec.centered ?? false),
      };
    case 'adam':
      return {
        kind: 'adam',
        beta1: inUnit('beta1', spec.beta1 ?? 0.9, false),
        beta2: inUnit('beta2', spec.beta2 ?? 0.999, false),
        epsilon: positive('epsilon', spec.epsilon ?? 1e-7),
        amsgrad: flag('amsgrad', spec.amsgrad ?? false),
      };
    case 'nadam':
      return {
        kind: 'nadam',
        beta1: inUnit('beta1', spec.beta1 ?? 0.9, false),
        beta2: inUnit('beta2', spec.beta2 ?? 0.999, false),
        epsilon: positive('epsilon', spec.epsilon ?? 1e-7),
        scheduleDecay: positive('scheduleDecay', spec.scheduleDecay ?? 1),
      };
    default: {
      const kind: unknown = (spec as { kind: unknown }).kind;
      throw new TypeError(`unknown optimizer kind ${String(kind)}`);
    }
  }
}

/** Checks a learning rate a compile or a factory is given (a schedule may later set 0). */
export function checkLearningRate(what: string, lr: unknown): number {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) {
    throw new RangeError(`${what}: learningRate must be a finite number > 0, got ${String(lr)}`);
  }
  return lr;
}

/** Names of the state arenas the optimizer needs, in the order encodeOptimizerUpdate() takes them. */
export function optimizerStateNames(spec: OptimizerSpec): string[] {
  return stateSlotNames(resolveOptimizerSpec(spec));
}

/**
 * How many state arenas the optimizer needs: SGD 0 (1 with momentum); RMSprop 1 (+1 with
 * momentum, +1 centered); Adam 2 (3 with amsgrad); Nadam 2; each torch_* kind as its Keras
 * namesake. Zero-filled at the start.
 */
export function optimizerStateSlots(spec: OptimizerSpec): number {
  return optimizerStateNames(spec).length;
}

// ------------------------------------------------------------ arena layout

/**
 * Lays out tensors of the given lengths one after another at ARENA_ALIGN offsets; the total
 * is rounded up to ARENA_ALIGN too.
 */
export function planArena(tensors: readonly { length: number; l1?: number; l2?: number }[]): {
  segments: ArenaSegment[];
  totalLength: number;
} {
  let offset = 0;
  const segments = tensors.map(({ length, l1 = 0, l2 = 0 }) => {
    const s = { offset, length, l1, l2 };
    offset += Math.ceil(length / ARENA_ALIGN) * ARENA_ALIGN;
    return s;
  });
  return { segments, totalLength: Math.max(offset, ARENA_ALIGN) };
}

/** Checks a segment list against an arena length; returns the non-empty segments sorted by offset. */
export function validateSegments(segments: readonly ArenaSegment[], totalLength: number): ArenaSegment[] {
  checkCount('optimizer arena', 'totalLength', totalLength, 1);
  for (const [k, s] of segments.entries()) {
    const what = `segment ${k} {offset ${s.offset}, length ${s.length}}`;
    checkCount(what, 'offset', s.offset);
    if (s.offset % ARENA_ALIGN !== 0) {
      throw new RangeError(`${what}: offset must be a multiple of ${ARENA_ALIGN} elements, got ${s.offset}`);
    }
    checkCount(what, 'length', s.length);
    if (s.offset + s.length > totalLength) {
      throw new RangeError(`${what}: ends at ${s.offset + s.length}, past the arena of ${totalLength}`);
    }
    for (const [name, x] of [
      ['l1', s.l1],
      ['l2', s.l2],
    ] as const) {
      if (!Number.isFinite(x) || x < 0)
        throw new RangeError(`${what}: ${name} must be finite and >= 0, got ${x}`);
    }
  }
  const sorted = segments.filter((s) => s.length > 0).sort((a, b) => a.offset - b.offset);
  for (let k = 1; k < sorted.length; k++) {
    const a = sorted[k - 1] as ArenaSegment;
    const b = sorted[k] as ArenaSegment;
    if (b.offset < a.offset + a.length) {
      throw new RangeError(
        `segments overlap: [${a.offset}, ${a.offset + a.length}) and [${b.offset}, ${b.offset + b.length})`,
      );
    }
  }
  return sorted;
}

/**
 * The segment table's words (shaders/common.ts, segmentTable): { count, total, 0, 0 }, then
 * { offset, end, l1 (f32), l2 (f32) } each, then the chunk map: the segment of each
 * ARENA_ALIGN-element chunk (the last one starting at or before it), four to an entry.
 */
export function segmentTableWords(segments: readonly ArenaSegment[], totalLength: number): Uint32Array {
  const sorted = validateSegments(segments, totalLength);
  const entries = Math.max(sorted.length, 1);
  const chunks = Math.ceil(totalLength / ARENA_ALIGN);
  const words = new Uint32Array(4 + 4 * entries + 4 * Math.ceil(chunks / 4));
  const floats = new Float32Array(words.buffer);
  words[0] = sorted.length;
  words[1] = totalLength;
  for (const [k, s] of sorted.entries()) {
    words[4 + 4 * k] = s.offset;
    words[5 + 4 * k] = s.offset + s.length;
    floats[6 + 4 * k] = s.l1;
    floats[7 + 4 * k] = s.l2;
  }
  // The map starts right after the segments (entry `count`: with no segment, where the
  // placeholder entry is, never read then).
  const map = 4 + 4 * sorted.length;
  let k = 0;
  for (let c = 0; c < chunks; c++) {
    while (k + 1 < sorted.length && (sorted[k + 1] as ArenaSegment).offset <= c * ARENA_ALIGN) k++;
    const at = map + c;
    // Lanes 0 and 1 hold u32s, lanes 2 and 3 f32s (the struct's l1 and l2).
    if (c % 4 < 2) words[at] = k;
    else floats[at] = k;
  }
  return words;
}

/**
 * A segment table buffer to pass to encodeOptimizerUpdate() step after step (the caller
 * releases it). Without one, each update uploads a temporary table.
 */
export function createSegmentTable(
  engine: Engine,
  segments: readonly ArenaSegment[],
  totalLength: number,
): GPUBuffer {
  return engine.createBufferWithData(
    segmentTableWords(segments, totalLength),
    GPUBufferUsage.STORAGE,
    'optim segment table',
  );
}

// ------------------------------------------------------------ hyper buffer

/** The hyper state before the first step. */
export function initialOptimizerHyper(learningRate: number): OptimizerHyper {
  return { lr: Math.fround(learningRate), step: 0, uProduct: 1 };
}

/** The hyper buffer's bytes for `h` (the derived words zero until the next advance). */
export function optimizerHyperBytes(h: OptimizerHyper): Uint32Array {
  checkFinite('optimizerHyperBytes', 'lr', h.lr);
  checkCount('optimizerHyperBytes', 'step', h.step);
  const words = new Uint32Array(OPTIMIZER_HYPER_BYTES / 4);
  const floats = new Float32Array(words.buffer);
  floats[HYPER.LR] = h.lr;
  words[HYPER.STEP] = h.step;
  floats[HYPER.U_PRODUCT] = h.uProduct;
  return words;
}

/** Reads a hyper buffer's bytes (as from engine.read(hyper, OPTIMIZER_HYPER_BYTES)). */
export function parseOptimizerHyper(bytes: ArrayBuffer): OptimizerHyper {
  const words = new Uint32Array(bytes, 0, 4);
  const floats = new Float32Array(bytes, 0, 4);
  return {
    lr: floats[HYPER.LR] ?? NaN,
    step: words[HYPER.STEP] ?? 0,
    uProduct: floats[HYPER.U_PRODUCT] ?? NaN,
  };
}

/**
 * A hyper buffer for a fresh optimizer (step 0), or one resumed from `from`. Usage: storage
 * (advance, set-lr), uniform (update), copy source and destination.
 */
export function createOptimizerHyper(
  engine: Engine,
  spec: OptimizerSpec,
  learningRate: number,
  from?: { step: number; uProduct: number },
): GPUBuffer {
  resolveOptimizerSpec(spec);
  if (isTorchOptimizer(spec)) checkTorchLearningRate(spec.kind, learningRate);
  const h = initialOptimizerHyper(learningRate);
  if (from) {
    h.step = from.step;
    h.uProduct = from.uProduct;
  }
  return engine.createBufferWithData(optimizerHyperBytes(h), hyperUsage(), `optim ${spec.kind} hyper`);
}

/**
 * Sets the learning rate of the following steps: one 4-byte queue write (ordered before the
 * next submission), no recompile.
 */
export function writeOptimizerLearningRate(engine: Engine, hyper: GPUBuffer, learningRate: number): void {
  checkHyper('writeOptimizerLearningRate', hyper);
  checkFinite('writeOptimizerLearningRate', 'learningRate', learningRate);
  engine.writeBuffer(hyper, HYPER.LR * 4, new Float32Array([learningRate]));
}

/** Sets the step count (bias correction) and Nadam's Π u_i, e.g. when restoring saved state. */
export function writeOptimizerProgress(
  engine: Engine,
  hyper: GPUBuffer,
  progress: { step: number; uProduct: number },
): void {
  checkHyper('writeOptimizerProgress', hyper);
  checkCount('writeOptimizerProgress', 'step', progress.step);
  engine.writeBuffer(hyper, HYPER.STEP * 4, new Uint32Array([progress.step]));
  engine.writeBuffer(hyper, HYPER.U_PRODUCT * 4, new Float32Array([progress.uProduct]));
}

/** Copies the hyper buffer to the host (one readback). */
export async function readOptimizerHyper(engine: Engine, hyper: GPUBuffer): Promise<OptimizerHyper> {
  return parseOptimizerHyper(await engine.read(hyper, OPTIMIZER_HYPER_BYTES, 'optim hyper'));
}

/** The hyper buffer must hold its OPTIMIZER_HYPER_BYTES. */
function checkHyper(what: string, hyper: Bindable): void {
  checkSize(what, 'hyper', hyper, OPTIMIZER_HYPER_BYTES, 'the optimizer hyper state');
}

/**
 * Encodes t += 1 (and Nadam's Π *= u_t) on the GPU, and the step's bias corrections 1 − β1^t,
 * 1 − β2^t (Adam, Nadam, PyTorch's Adam) and Nadam's u_t, u_(t+1) into the hyper buffer for
 * the update: one single-invocation dispatch.
 */
export function encodeOptimizerAdvance(engine: Engine, spec: OptimizerSpec, hyper: Bindable): void {
  checkHyper('optim_advance', hyper);
  const o = resolveOptimizerSpec(spec);
  const label = `optim_advance_${o.kind === 'nadam' ? 'nadam' : 'step'}`;
  // The step read and written (8 bytes). Bias corrections: two 1 − β^t, each an exp or a
  // 9-term series (counted as 20 flops), written (8 bytes). Nadam: u_t and u_(t+1) (5 each),
  // the product updated (1), written with its old value read (12 bytes).
  const corrected = o.kind === 'adam' || o.kind === 'nadam' || o.kind === 'torch_adam';
  const flops = (corrected ? 40 : 0) + (o.kind === 'nadam' ? 11 : 0);
  const bytes = 8 + (corrected ? 8 : 0) + (o.kind === 'nadam' ? 12 : 0);
  const work = { flops, bytes };
  engine.dispatch(engine.pipeline(optimizerAdvanceShader(o), label), [hyper], [1], label, work);
}

/**
 * Encodes hyper.lr = learningRate, ordered with the dispatches around it; the same pipeline
 * serves every value.
 */
export function encodeOptimizerSetLearningRate(engine: Engine, hyper: Bindable, learningRate: number): void {
  const label = 'optim_set_lr';
  checkHyper(label, hyper);
  checkFinite(label, 'learningRate', learningRate);
  const value = engine.tempUniform(new Float32Array([learningRate, 0, 0, 0]), `${label} value`);
  engine.dispatch(
    engine.pipeline(optimizerSetLearningRateShader(), label),
    [hyper, value],
    [1],
    label,
    { flops: 0, bytes: 4 }, // the rate written (the value is a uniform)
  );
}

// ------------------------------------------------------------ norms

/** Whether the update of `spec` reads squared gradient norms (clipnorm or globalClipnorm). */
export function optimizerNeedsNorms(spec: OptimizerSpec): boolean {
  return needsNorms(resolveOptimizerSpec(spec));
}

/** Bytes of the norms buffer for these segments: one f32 a non-empty segment (at least 16). */
export function optimizerNormsBytes(segments: readonly ArenaSegment[]): number {
  const live = segments.filter((s) => s.length > 0).length;
  return Math.max(16, Math.ceil((4 * live) / 16) * 16);
}

/**
 * Encodes ONE dispatch writing, for each non-empty segment (in offset order), the squared L2
 * norm of its gradient with the l1/l2 penalty's (what the update clips): what clipnorm and
 * globalClipnorm read. `norms` holds optimizerNormsBytes(segments).
 */
export function encodeOptimizerNorms(
  engine: Engine,
  segments: readonly ArenaSegment[],
  b: { params: Bindable; grads: Bindable; norms: Bindable; segmentTable?: Bindable },
  totalLength: number,
): void {
  const label = 'optim_norms';
  checkF32Each(label, { params: b.params, grads: b.grads }, totalLength, `[${totalLength}]`);
  checkSize(label, 'norms', b.norms, optimizerNormsBytes(segments), 'one f32 a segment');
  const live = validateSegments(segments, totalLength);
  let table = b.segmentTable;
  if (!table) {
    table = createSegmentTable(engine, segments, totalLength);
    engine.releaseBuffer(table, true);
  }
  // Over the n elements: the regularized gradient 5 and its square added 2; the parameter
  // and gradient read; the table read, the norms written.
  const n = live.reduce((sum, s) => sum + s.length, 0);
  const work = { flops: 7 * n, bytes: 8 * n + 16 * (1 + live.length) + 4 * live.length };
  engine.dispatch(
    engine.pipeline(optimizerNormsShader(), label),
    [b.params, b.grads, table, b.norms],
    engine.dispatchGrid(Math.max(live.length, 1) * WORKGROUP_1D, WORKGROUP_1D),
    label,
    work,
  );
}

// ------------------------------------------------------------ update

/**
 * Encodes ONE dispatch that applies one optimizer step to every segment of the arenas.
 * `params`, `grads` and each of `state` (optimizerStateNames(spec) order) hold at least
 * `totalLength` f32, a multiple of 4 (planArena()'s are); `hyper` holds the step (already
 * advanced) and the learning rate. `segmentTable` (createSegmentTable() of the same segments
 * and length) saves the upload of a temporary one. Padding elements keep their values.
 * `status` (the model's STATUS_WORDS u32, shaders/step.ts): a parameter or state value
 * written as NaN/±Inf records the step, as optimizerFlagReference() says, in the same
 * dispatch. With clipnorm or globalClipnorm the update reads `norms` (encodeOptimizerNorms()
 * of the same gradients, encoded before); without one given, a temporary one is filled here
 * first (two dispatches).
 */
export function encodeOptimizerUpdate(
  engine: Engine,
  spec: OptimizerSpec,
  segments: readonly ArenaSegment[],
  b: {
    params: Bindable;
    grads: Bindable;
    state: readonly Bindable[];
    hyper: Bindable;
    segmentTable?: Bindable;
    status?: Bindable;
    norms?: Bindable;
  },
  totalLength: number,
): void {
  const o = resolveOptimizerSpec(spec);
  const names = stateSlotNames(o);
  const label = updateLabel(o);
  if (b.state.length !== names.length) {
    throw new RangeError(
      `${label}: needs ${names.length} state buffer(s) [${names.join(', ')}], got ${b.state.length}`,
    );
  }
  const arenas: Record<string, Bindable> = { params: b.params, grads: b.grads };
  for (const [k, s] of b.state.entries()) arenas[`state ${names[k] ?? k}`] = s;
  if (!(totalLength % 4 === 0)) {
    throw new RangeError(
      `${label}: totalLength must be a multiple of 4 elements (a thread updates four; ` +
        `planArena() pads to ${ARENA_ALIGN}), got ${totalLength}`,
    );
  }
  checkF32Each(label, arenas, totalLength, `[${totalLength}]`);
  checkHyper(label, b.hyper);
  if (b.status) checkSize(label, 'status', b.status, STATUS_WORDS * 4, `[${STATUS_WORDS}] u32`);
  const live = validateSegments(segments, totalLength);
  let table = b.segmentTable;
  if (!table) {
    table = createSegmentTable(engine, segments, totalLength);
    engine.releaseBuffer(table, true);
  }
  let norms = b.norms;
  if (needsNorms(o) && !norms) {
    const bytes = optimizerNormsBytes(segments);
    norms = engine.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE, label: `${label} norms` });
    engine.releaseBuffer(norms, true);
    encodeOptimizerNorms(
      engine,
      segments,
      { params: b.params, grads: b.grads, norms, segmentTable: table },
      totalLength,
    );
  } else if (norms && needsNorms(o)) {
    checkSize(label, 'norms', norms, optimizerNormsBytes(segments), 'one f32 a segment');
  }
  // Over the n elements of the segments (the padding lanes of a segment's last vector, read
  // and written back as they were, are left out): updateFlopsPerElement(o) each;
  // the parameter read and written, the gradient read, each state slot read and written; the
  // segment table (16-byte header + 16 bytes a segment) read once. The status words are read
  // and written only by the threads that write a non-finite value: left out.
  const n = live.reduce((sum, s) => sum + s.length, 0);
  const work = {
    flops: updateFlopsPerElement(o) * n,
    bytes: 4 * n * (3 + 2 * names.length) + 16 * (1 + live.length) + (needsNorms(o) ? 4 * live.length : 0),
  };
  const pipeline = engine.pipeline(optimizerUpdateShader(o, b.status !== undefined), label);
  engine.dispatch(
    pipeline,
    [
      b.params,
      b.grads,
      table,
      b.hyper,
      ...b.state,
      ...(needsNorms(o) && norms ? [norms] : []),
      ...(b.status ? [b.status] : []),
    ],
    engine.dispatchGrid(totalLength / 4, WORKGROUP_1D),
    label,
    work,
  );
}

/**
 * Floating-point operations per parameter of one update, as shaders/optim.ts forms them:
 * the regularized gradient g + 2l2·w + l1·sign(w) 5, then SGD w − lr·g 2 (momentum 4,
 * Nesterov 7); RMSprop S 4, ε 1, lr·g/√ 3, w − 1 (centered + ḡ 3 and − ḡ² 2; momentum + 2);
 * Adam m 3, v 4, w − α·m/(√v + ε) 5 (AMSGrad + max 1); Nadam m, v 7, m̂ 5, v̂ 1, w 5.
 * The common options: decay 3 (lr / (1 + d·(t − 1)), per thread), clipnorm 4 (√, max, ÷, ×),
 * globalClipnorm 4 + one add a segment, clipvalue 1, weightDecay 3.
 * Per-step scalars (α, Nadam's u_t, 1 − β2^t, 2·l2) are left out.
 */
function updateFlopsPerElement(o: ResolvedOptimizer): number {
  const common =
    (o.decay ? 3 : 0) +
    (o.clipnorm ? 4 : 0) +
    (o.globalClipnorm ? 4 : 0) +
    (o.clipvalue ? 1 : 0) +
    (o.weightDecay ? 3 : 0);
  return common + ruleFlopsPerElement(o);
}

function ruleFlopsPerElement(o: ResolvedOptimizer): number {
  const grad = 5;
  switch (o.kind) {
    case 'sgd':
      return grad + (o.momentum > 0 ? (o.nesterov ? 7 : 4) : 2);
    case 'rmsprop':
      return grad + 9 + (o.centered ? 5 : 0) + (o.momentum > 0 ? 2 : 0);
    case 'adam':
      return grad + 12 + (o.amsgrad ? 1 : 0);
    case 'nadam':
      return grad + 18;
    // PyTorch's g += wd·w 2 when set; SGD buf = μ·buf + (1−d)·g 3 (+ Nesterov's g + μ·buf 2),
    // w − lr·d 2; Adam m 3, v 4, √v/√bc2 + ε 3 (per-step √bc2 and lr/bc1 left out), m/denom
    // 1, w − 2 (AMSGrad + max 1); RMSprop sq 4, √ + ε 2, g/avg 1, w − lr·x 2 (centered ḡ 3
    // and − ḡ² 2; momentum μ·buf + 2).
    case 'torch_sgd':
      return grad + coupled(o) + (o.momentum > 0 ? 3 + (o.nesterov ? 2 : 0) : 0) + 2;
    case 'torch_adam':
      return grad + coupled(o) + 13 + (o.amsgrad ? 1 : 0);
    case 'torch_rmsprop':
      return grad + coupled(o) + 9 + (o.centered ? 5 : 0) + (o.momentum > 0 ? 2 : 0);
  }
}

function coupled(o: { coupledDecay: number }): number {
  return o.coupledDecay > 0 ? 2 : 0;
}

function updateLabel(o: ResolvedOptimizer): string {
  const flags: string[] = [];
  const sgd = o.kind === 'sgd' || o.kind === 'torch_sgd';
  const rmsprop = o.kind === 'rmsprop' || o.kind === 'torch_rmsprop';
  if ((sgd || rmsprop) && o.momentum > 0) flags.push('momentum');
  if (sgd && o.nesterov && o.momentum > 0) flags.push('nesterov');
  if (rmsprop && o.centered) flags.push('centered');
  if ((o.kind === 'adam' || o.kind === 'torch_adam') && o.amsgrad) flags.push('amsgrad');
  if ('coupledDecay' in o && o.coupledDecay > 0) flags.push('coupled_decay');
  if (o.decay) flags.push('decay');
  if (o.clipnorm) flags.push('clipnorm');
  if (o.globalClipnorm) flags.push('global_clipnorm');
  if (o.clipvalue) flags.push('clipvalue');
  if (o.weightDecay) flags.push('weight_decay');
  return ['optim', o.kind, ...flags].join('_');
}
