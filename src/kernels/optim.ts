/**
 * Optimizer updates over a flat parameter arena: the API the graph scheduler builds on, the
 * dispatch of ONE update kernel for all segments, and the float64 reference of one step.
 * The WGSL lives in shaders/optim.ts.
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
 * Per step the host (or the graph) encodes encodeOptimizerAdvance() then
 * encodeOptimizerUpdate(); both read the step and learning rate from the `hyper` buffer, so
 * any number of steps can be encoded without a readback, and a schedule changes the rate
 * with encodeOptimizerSetLearningRate() (or by writing the buffer) without a recompile.
 * Given the model's status words, the update also records the first step at which it writes
 * a NaN or ±Inf (optimizerFlagReference()), so that the compiled step can undo an overflow
 * whose loss is still finite.
 */
import { WORKGROUP_1D } from '../../shaders/common.js';
import { BAD_WHAT, STATUS, STATUS_WORDS } from '../../shaders/step.js';
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

export type OptimizerSpec = (
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
 * An optimizer as the update kernel runs it: the update rule with its hyperparameters, and
 * the learning rate the hyper buffer starts with (src/nn/optimizers.ts builds these from
 * Keras's names and options).
 */
export interface OptimizerSettings {
  spec: OptimizerSpec;
  learningRate: number;
}

/** Segment offsets are multiples of this many elements (256 bytes). */
export const ARENA_ALIGN = 64;

/** The scalars in the hyper buffer (see OPTIMIZER_HYPER_BYTES for the layout). */
export interface OptimizerHyper {
  /** The learning rate (stored as f32). */
  lr: number;
  /** t: updates applied, counting the one about to run once advanced (0 at creation). */
  step: number;
  /** Nadam's Π u_i for i ≤ t (1 at creation); carried unchanged by the other optimizers. */
  uProduct: number;
}

/** Hyper buffer: 16 bytes, { lr: f32, step: u32, u_product: f32, unused: u32 }. */
export const OPTIMIZER_HYPER_BYTES = 16;

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
 * result only when > 0.
 */
export function resolveOptimizerSpec(spec: OptimizerSpec): ResolvedOptimizer {
  return { ...resolveRule(spec), ...resolveCommon(spec) };
}

const COMMON_KEYS = ['decay', 'clipnorm', 'globalClipnorm', 'clipvalue', 'weightDecay'] as const;
const CLIP_KEYS = ['clipnorm', 'clipvalue', 'globalClipnorm'] as const;

function resolveCommon(spec: OptimizerSpec): ResolvedCommon {
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

function resolveRule(spec: OptimizerSpec): ResolvedOptimizer {
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
 * momentum, +1 centered); Adam 2 (3 with amsgrad); Nadam 2. Zero-filled at the start.
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

/** The segment table's words: { count, total, 0, 0 } then { offset, end, l1 (f32), l2 (f32) } each. */
export function segmentTableWords(segments: readonly ArenaSegment[], totalLength: number): Uint32Array {
  const sorted = validateSegments(segments, totalLength);
  const words = new Uint32Array(4 + 4 * Math.max(sorted.length, 1));
  const floats = new Float32Array(words.buffer);
  words[0] = sorted.length;
  words[1] = totalLength;
  for (const [k, s] of sorted.entries()) {
    words[4 + 4 * k] = s.offset;
    words[5 + 4 * k] = s.offset + s.length;
    floats[6 + 4 * k] = s.l1;
    floats[7 + 4 * k] = s.l2;
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

/** The hyper buffer's 16 bytes for `h`. */
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

/** Encodes t += 1 (and Nadam's Π *= u_t) on the GPU: one single-invocation dispatch. */
export function encodeOptimizerAdvance(engine: Engine, spec: OptimizerSpec, hyper: Bindable): void {
  checkHyper('optim_advance', hyper);
  const o = resolveOptimizerSpec(spec);
  const label = `optim_advance_${o.kind === 'nadam' ? 'nadam' : 'step'}`;
  // The step read and written; Nadam also u_t (5) times the product, read and written.
  const work = o.kind === 'nadam' ? { flops: 6, bytes: 16 } : { flops: 0, bytes: 8 };
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
 * `totalLength` f32; `hyper` holds the step (already advanced) and the learning rate.
 * `segmentTable` (createSegmentTable() of the same segments and length) saves the upload of
 * a temporary one. Padding elements are neither read as parameters nor written.
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
  // Over the n elements of the segments (padding is skipped): updateFlopsPerElement(o) each;
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
    engine.dispatchGrid(totalLength, WORKGROUP_1D),
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
  }
}

function updateLabel(o: ResolvedOptimizer): string {
  const flags: string[] = [];
  if ((o.kind === 'sgd' || o.kind === 'rmsprop') && o.momentum > 0) flags.push('momentum');
  if (o.kind === 'sgd' && o.nesterov && o.momentum > 0) flags.push('nesterov');
  if (o.kind === 'rmsprop' && o.centered) flags.push('centered');
  if (o.kind === 'adam' && o.amsgrad) flags.push('amsgrad');
  if (o.decay) flags.push('decay');
  if (o.clipnorm) flags.push('clipnorm');
  if (o.globalClipnorm) flags.push('global_clipnorm');
  if (o.clipvalue) flags.push('clipvalue');
  if (o.weightDecay) flags.push('weight_decay');
  return ['optim', o.kind, ...flags].join('_');
}

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
