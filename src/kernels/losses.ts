/**
 * Loss kernels: the fused softmax + cross-entropy and the per-row Keras losses (value and
 * gradient), their dispatch geometry and validation, and their float64 references.
 * The WGSL lives in shaders/softmax_xent.ts and shaders/losses.ts.
 */
import { WORKGROUP_1D } from '../../shaders/common.js';
import {
  clearFlagShader,
  hingeTargetCheckShader,
  LOSS_NAMES,
  lossIsMean,
  lossShader,
  lossUsesHingeTargets,
  weightRowsShader,
  type LossName,
} from '../../shaders/losses.js';
import {
  LABEL_OUT_OF_RANGE,
  lanesPerRow,
  softmaxCrossEntropyShader,
  type RowReduction,
} from '../../shaders/softmax_xent.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { checkCount, checkF32, checkFinite, checkSize } from './validate.js';

export { LOSS_NAMES, lossIsMean };
export type { RowReduction };

/**
 * How a row kernel (the losses) lays out and reduces a row of `rowLength` values on
 * `engine`: lanes per row (tpr) and the reduction. 'subgroup' where the engine's profile
 * allows it (subgroupLanes > 0), its rows then taking at most that many lanes (each lane
 * more columns); else 'workgroup'. `asked` pins one; 'subgroup' on an engine without
 * subgroups is an error. `suffix` ends the kernel's dispatch label: '_sg' with subgroups.
 */
export function rowLayout(
  engine: Engine,
  rowLength: number,
  asked: RowReduction | undefined,
  what: string,
): { tpr: number; reduction: RowReduction; suffix: '_sg' | '' } {
  const lanes = engine.profile.subgroupLanes;
  const given: unknown = asked;
  if (given !== undefined && given !== 'subgroup' && given !== 'workgroup') {
    throw new RangeError(`${what}: rowReduction must be 'subgroup' or 'workgroup', got '${String(given)}'`);
  }
  if (asked === 'subgroup' && lanes === 0) {
    throw new RangeError(
      `${what}: rowReduction 'subgroup' asked for, but this engine uses no subgroups ` +
        `(adapter "${engine.adapter.name}": no 'subgroups' feature or sizes, or initEngine({ subgroups: false }))`,
    );
  }
  const reduction = asked ?? (lanes > 0 ? 'subgroup' : 'workgroup');
  const tpr = lanesPerRow(rowLength);
  const subgroup = reduction === 'subgroup';
  return { tpr: subgroup ? Math.min(tpr, lanes) : tpr, reduction, suffix: subgroup ? '_sg' : '' };
}

/** True when a flags word written by encodeSoftmaxCrossEntropy says a label was out of range. */
export function labelOutOfRange(flags: number): boolean {
  return (flags & LABEL_OUT_OF_RANGE) !== 0;
}
export type { LossName };

/** Keras's backend.epsilon(), the default clipping epsilon. */
export const KERAS_EPSILON = 1e-7;

/** The most rows, cols or classes the loss kernels take. */
export const MAX_COUNT = 2 ** 31 - 1;

export interface SoftmaxCrossEntropySpec {
  rows: number;
  classes: number;
  /** 'dense': f32 targets [rows, classes] (one-hot or soft); 'sparse': u32 class ids [rows]. */
  labels: 'dense' | 'sparse';
  /** Multiplies the gradient (e.g. 1/batch for a mean over the batch); not the loss. */
  gradScale: number;
  /**
   * Also count the rows whose argmax of the logits is right (the label; dense: the target
   * row's argmax) into buffers.counts[slot], as encodeCorrectCount('sparse' or 'dense') does:
   * the accuracy metric in the loss's own pass.
   */
  countCorrect?: { slot: number };
  /** Pins how a row is reduced (tests); by default rowLayout's choice for the engine. */
  rowReduction?: RowReduction;
}

export interface SoftmaxCrossEntropyBuffers {
  logits: Bindable;
  labels: Bindable;
  /** f32 [rows] */
  loss: Bindable;
  /** f32 [rows, classes] */
  dlogits: Bindable;
  /** u32 [1]: bit 0 is set (never cleared) when a sparse label is outside [0, classes). */
  flags: Bindable;
  /** u32 counters for spec.countCorrect (at least slot + 1 of them). */
  counts?: Bindable;
}

export interface LossSpec {
  name: LossName;
  rows: number;
  cols: number;
  /** Multiplies the gradient (e.g. 1/batch for a mean over the batch); not the loss. */
  gradScale: number;
  /** huber's δ, default 1. */
  delta?: number;
  /** Clipping epsilon, default 1e-7 as Keras. */
  epsilon?: number;
  /** Pins how a row is reduced (tests); by default rowLayout's choice for the engine. */
  rowReduction?: RowReduction;
}

export interface LossBuffers {
  /** f32 [rows, cols] */
  pred: Bindable;
  /** f32 [rows, cols] */
  target: Bindable;
  /** f32 [rows] */
  loss: Bindable;
  /** f32 [rows, cols] */
  dpred: Bindable;
  /**
   * hinge/squared_hinge only: u32 [1] scratch for the whole-tensor binary-target test,
   * owned by the caller (STORAGE) and cleared by a dispatch of encodeLoss on every call, so
   * that a compiled step allocates nothing for it. Without it, each call creates and frees
   * a temporary 4-byte buffer.
   */
  flag?: GPUBuffer;
}

/**
 * Fused softmax + categorical cross-entropy over logits [rows, classes], one pass per row:
 * max, log-sum-exp, the row's loss, and dlogits = (softmax − onehot) · gradScale (for soft
 * dense targets, (Σy·softmax − y) · gradScale, the exact gradient of the loss).
 * labels 'dense': f32 [rows, classes] (one-hot or soft targets); 'sparse': u32 [rows] class
 * ids (i32 ids may be passed as their bits: a negative id reads as out of range).
 * A sparse label outside [0, classes) sets bit 0 of flags[0] (atomicOr) and that row's loss
 * and gradient are NaN; so is a row holding a NaN logit or NaN dense target. With
 * spec.countCorrect, the rows argmax gets right are added to counts[slot].
 */
export function encodeSoftmaxCrossEntropy(
  engine: Engine,
  spec: SoftmaxCrossEntropySpec,
  buffers: SoftmaxCrossEntropyBuffers,
): void {
  const { rows, classes, labels } = spec;
  const what = `softmaxCrossEntropy [${rows}, ${classes}] (${labels} labels)`;
  checkCount(what, 'rows', rows, 1, MAX_COUNT);
  checkCount(what, 'classes', classes, 1, MAX_COUNT);
  checkFinite(what, 'gradScale', spec.gradScale);
  // Checked at run time for untyped callers.
  const mode: string = labels;
  if (mode !== 'dense' && mode !== 'sparse') {
    throw new RangeError(`${what}: labels must be 'dense' or 'sparse', got '${mode}'`);
  }
  const n = rows * classes;
  const shape = `[${rows}, ${classes}]`;
  checkF32(what, 'logits', buffers.logits, n, shape);
  if (labels === 'dense') checkF32(what, 'labels', buffers.labels, n, shape);
  else checkSize(what, 'labels', buffers.labels, rows * 4, `[${rows}] u32`);
  checkF32(what, 'loss', buffers.loss, rows, `[${rows}]`);
  checkF32(what, 'dlogits', buffers.dlogits, n, shape);
  if (labels === 'sparse') checkSize(what, 'flags', buffers.flags, 4, 'one u32');
  const count = spec.countCorrect;
  if (count) {
    checkCount(what, 'countCorrect.slot', count.slot);
    if (!buffers.counts) throw new TypeError(`${what}: countCorrect is set but no counts buffer was given`);
    checkSize(what, 'counts', buffers.counts, (count.slot + 1) * 4, `slot ${count.slot} (u32)`);
  } else if (buffers.counts) {
    throw new TypeError(`${what}: a counts buffer was given but countCorrect is not set`);
  }

  const { tpr, reduction, suffix } = rowLayout(engine, classes, spec.rowReduction, what);
  const label = `softmax_xent_${labels}${count ? '_count' : ''}${suffix}`;
  const pipeline = engine.pipeline(softmaxCrossEntropyShader(labels, count !== undefined, reduction), label);
  const words = packParams([rows, classes, tpr], [spec.gradScale]);
  const params = engine.tempUniform(Uint32Array.of(...words, count?.slot ?? 0, 0, 0, 0), `${label} params`);
  const bound = [
    buffers.logits,
    buffers.labels,
    buffers.loss,
    buffers.dlogits,
    ...(labels === 'dense' ? [] : [buffers.flags]),
    params,
    ...(count && buffers.counts ? [buffers.counts] : []),
  ];
  // Per logit: the max 1, exp(x − m) and its sum 3, the gradient 5 (exp again, · 1/s, − the
  // target, · gradScale); dense adds y·(m − x) and Σy 4 (counted for every class, although the
  // kernel skips y = 0: an upper bound) and target_total·p 1. Per-row terms left out. Logits
  // read, dlogits written, the labels read ([rows] u32 or [rows, classes] f32), the loss
  // written; the flags atomic (only for a bad label) is not counted. Counting adds a
  // comparison a logit (dense: and a target), as encodeCorrectCount declares, and the count
  // read and written once.
  const base =
    labels === 'dense'
      ? { flops: 14 * n, bytes: 4 * (3 * n + rows) }
      : { flops: 9 * n, bytes: 4 * (2 * n + 2 * rows) };
  const work = count ? { flops: base.flops + (labels === 'dense' ? 2 : 1) * n, bytes: base.bytes + 8 } : base;
  engine.dispatch(pipeline, bound, engine.dispatchGrid(rows, WORKGROUP_1D / tpr), label, work);
}

/**
 * Per-row loss (Keras semantics: the mean over the last axis for mse/mae/huber/msle/hinge/
 * squared_hinge/binary CE; the sum over classes for categorical CE and KL) into loss [rows],
 * and d(loss_row)/d(pred) · gradScale into dpred [rows, cols]. Formulas, clipping and NaN
 * rules: shaders/losses.ts. hinge/squared_hinge take {−1, 1} targets; when every target is
 * 0 or 1 they are mapped to −1/1 first, as Keras does (one extra small pass over target,
 * which needs a u32 flag: buffers.flag, cleared here each call, or a temporary buffer).
 * Per call, encodeLoss itself allocates only the uniform parameter buffers (engine.tempUniform)
 * and, for hinge without buffers.flag, the temporary flag.
 */
export function encodeLoss(engine: Engine, spec: LossSpec, buffers: LossBuffers): void {
  const { name, rows, cols } = spec;
  const what = `loss ${name} [${rows}, ${cols}]`;
  if (!(LOSS_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`${what}: unknown loss; expected one of ${LOSS_NAMES.join(', ')}`);
  }
  checkCount(what, 'rows', rows, 1, MAX_COUNT);
  checkCount(what, 'cols', cols, 1, MAX_COUNT);
  checkFinite(what, 'gradScale', spec.gradScale);
  const { delta, epsilon } = lossParameters(spec, what);
  const n = rows * cols;
  const shape = `[${rows}, ${cols}]`;
  checkF32(what, 'pred', buffers.pred, n, shape);
  checkF32(what, 'target', buffers.target, n, shape);
  checkF32(what, 'loss', buffers.loss, rows, `[${rows}]`);
  checkF32(what, 'dpred', buffers.dpred, n, shape);
  const hinge = lossUsesHingeTargets(name);
  if (hinge && buffers.flag) checkSize(what, 'flag', buffers.flag, 4, 'one u32');

  const { tpr, reduction, suffix } = rowLayout(engine, cols, spec.rowReduction, what);
  const label = `loss_${name}${suffix}`;
  const eps = Math.fround(epsilon);
  const params = engine.tempUniform(
    packParams(
      [rows, cols, tpr],
      [spec.gradScale, lossIsMean(name) ? 1 / cols : 1, delta, eps, Math.fround(1 - eps)],
    ),
    `${label} params`,
  );
  const bound = [buffers.pred, buffers.target, buffers.loss, buffers.dpred, params];
  let temporary: GPUBuffer | undefined;
  if (hinge) {
    // The check pass needs the flag at 0. It is cleared by a dispatch (not clearBuffer), so
    // a recorded step (src/graph) clears it on every replay.
    let flag = buffers.flag;
    if (!flag) {
      flag = engine.createBuffer({
        size: 4,
        usage: GPUBufferUsage.STORAGE,
        label: `${label} not-binary flag`,
      });
      temporary = flag;
    }
    engine.dispatch(
      engine.pipeline(clearFlagShader(), 'loss_hinge_clear_flag'),
      [flag],
      [1],
      'loss_hinge_clear_flag',
      { flops: 0, bytes: 4 },
    );
    const check = engine.pipeline(hingeTargetCheckShader(), 'loss_hinge_target_check');
    const checkParams = engine.tempUniform(new Uint32Array([n, 0, 0, 0]), 'loss_hinge_target_check params');
    engine.dispatch(
      check,
      [buffers.target, flag, checkParams],
      engine.dispatchGrid(n, WORKGROUP_1D),
      'loss_hinge_target_check',
      // Two comparisons per target, the targets read; the flag's atomic (only when a target
      // is not 0 or 1, once per workgroup) is not counted.
      { flops: 2 * n, bytes: 4 * n },
    );
    bound.push(flag);
  }
  const pipeline = engine.pipeline(lossShader(name, reduction), label);
  // LOSS_FLOPS per element; pred and target read, dpred written, the row losses written (and
  // the hinge flag read).
  const work = { flops: LOSS_FLOPS[name] * n, bytes: 4 * (3 * n + rows + (hinge ? 1 : 0)) };
  engine.dispatch(pipeline, bound, engine.dispatchGrid(rows, WORKGROUP_1D / tpr), label, work);
  if (temporary) engine.releaseBuffer(temporary);
}

export interface WeightRowsBuffers {
  /** f32 [rows]: each row's weight. */
  weights: Bindable;
  /** f32 [rows]: the rows' losses, scaled in place. */
  loss: Bindable;
  /** f32 [rows, cols]: the loss's gradient, each row scaled in place. */
  dpred: Bindable;
}

/**
 * Applies per-row sample weights to a loss head's output in place (shaders/losses.ts
 * weightRowsShader): loss[r] *= w[r], dpred[r, :] *= w[r]. Run after encodeLoss or
 * encodeSoftmaxCrossEntropy, so the head's sum over rows becomes Σ w·l.
 */
export function encodeWeightRows(
  engine: Engine,
  spec: { rows: number; cols: number },
  buffers: WeightRowsBuffers,
): void {
  const { rows, cols } = spec;
  const what = `weightRows [${rows}, ${cols}]`;
  checkCount(what, 'rows', rows, 1, MAX_COUNT);
  checkCount(what, 'cols', cols, 1, MAX_COUNT);
  const n = rows * cols;
  if (n > MAX_COUNT) throw new RangeError(`${what}: rows·cols ${n} exceeds ${MAX_COUNT}`);
  checkF32(what, 'weights', buffers.weights, rows, `[${rows}]`);
  checkF32(what, 'loss', buffers.loss, rows, `[${rows}]`);
  checkF32(what, 'dpred', buffers.dpred, n, `[${rows}, ${cols}]`);
  const label = 'loss_weight_rows';
  const params = engine.tempUniform(new Uint32Array([rows, cols, 0, 0]), `${label} params`);
  // One multiply per gradient element and per row loss; weights read, loss and dpred read
  // and written.
  const work = { flops: n + rows, bytes: 4 * (rows + 2 * rows + 2 * n) };
  engine.dispatch(
    engine.pipeline(weightRowsShader(), label),
    [buffers.weights, buffers.loss, buffers.dpred, params],
    engine.dispatchGrid(n, WORKGROUP_1D),
    label,
    work,
  );
}

/** Float64 reference of encodeWeightRows: the weighted copies of loss [rows] and dpred [rows, cols]. */
export function weightRowsReference(
  spec: { rows: number; cols: number },
  weights: ArrayLike<number>,
  loss: ArrayLike<number>,
  dpred: ArrayLike<number>,
): { loss: Float64Array; dpred: Float64Array } {
  const { rows, cols } = spec;
  const l = new Float64Array(rows);
  const d = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const w = weights[r] ?? NaN;
    l[r] = (loss[r] ?? NaN) * w;
    for (let j = 0; j < cols; j++) d[r * cols + j] = (dpred[r * cols + j] ?? NaN) * w;
  }
  return { loss: l, dpred: d };
}

/**
 * Floating-point operations per element of encodeLoss, as shaders/losses.ts forms them: the
 * term and its derivative (both sides of a select, which WGSL evaluates; huber's quadratic
 * branch; hinge's 2y − 1 target map), plus the row sum's add and the gradient's scale.
 * categorical_crossentropy: Σp 1, the loss and Σy 6, the gradient 6. Per-row terms left out.
 */
const LOSS_FLOPS: Record<LossName, number> = {
  mse: 5,
  mae: 5,
  huber: 7,
  msle: 13,
  hinge: 8,
  squared_hinge: 10,
  kl_divergence: 9,
  categorical_crossentropy: 13,
  binary_crossentropy: 19,
  binary_crossentropy_logits: 15,
};

function lossParameters(spec: LossSpec, what: string): { delta: number; epsilon: number } {
  const delta = spec.delta ?? 1;
  const epsilon = spec.epsilon ?? KERAS_EPSILON;
  if (!(Number.isFinite(delta) && delta > 0)) {
    throw new RangeError(`${what}: delta must be a finite number > 0, got ${delta}`);
  }
  if (!(Number.isFinite(epsilon) && epsilon > 0 && epsilon < 0.5)) {
    throw new RangeError(`${what}: epsilon must be in (0, 0.5), got ${epsilon}`);
  }
  return { delta, epsilon };
}

/** u32 words then f32 words, padded to a multiple of 4 words (16 bytes). */
export function packParams(u32s: number[], f32s: number[]): Uint32Array {
  const words = new Uint32Array(Math.ceil((u32s.length + f32s.length) / 4) * 4);
  words.set(u32s);
  new Float32Array(words.buffer).set(f32s, u32s.length);
  return words;
}

// ------------------------------------------------------------ float64 references
//
// Independent of the WGSL: plain float64 arithmetic of the formulas, one branch per loss.
// The clip bounds are the f32 values the kernels use (ε and 1 − ε rounded to f32, as Keras
// evaluates them in float32).

/** The f32 clip bounds for epsilon: [ε, 1 − ε] as float32 numbers. */
export function clipBounds(epsilon = KERAS_EPSILON): { lo: number; hi: number } {
  const lo = Math.fround(epsilon);
  return { lo, hi: Math.fround(1 - lo) };
}

/** Keras's whole-tensor test: true when every target is exactly 0 or 1 (hinge then uses 2y − 1). */
export function hingeTargetsAreBinary(target: ArrayLike<number>): boolean {
  for (let i = 0; i < target.length; i++) {
    const y = target[i];
    if (y !== 0 && y !== 1) return false;
  }
  return true;
}

/**
 * One row's loss and d(loss)/d(pred) (without gradScale). `convertHinge`: map targets
 * y → 2y − 1 first (hingeTargetsAreBinary of the whole tensor).
 */
export function lossRowReference(
  spec: Pick<LossSpec, 'name' | 'delta' | 'epsilon'>,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  convertHinge: boolean,
): { loss: number; grad: Float64Array } {
  const cols = pred.length;
  const grad = new Float64Array(cols);
  const eps = Math.fround(spec.epsilon ?? KERAS_EPSILON);
  const { lo, hi } = clipBounds(eps);
  const at = (a: ArrayLike<number>, j: number): number => a[j] ?? NaN;

  if (spec.name === 'categorical_crossentropy') {
    let total = 0;
    let poisoned = false;
    for (let j = 0; j < cols; j++) {
      if (Number.isNaN(at(pred, j)) || Number.isNaN(at(target, j))) poisoned = true;
      total += at(pred, j);
    }
    // Σp of 0 or ±∞ makes p/Σp 0/0, ±x/0 or ∞/∞: the row is NaN, as the kernel defines it.
    if (poisoned || total === 0 || !Number.isFinite(total)) return { loss: NaN, grad: grad.fill(NaN) };
    let loss = 0;
    let insideTargets = 0;
    for (let j = 0; j < cols; j++) {
      const q = at(pred, j) / total;
      const y = at(target, j);
      loss -= y * Math.log(Math.min(Math.max(q, lo), hi));
      if (q >= lo && q <= hi) insideTargets += y;
    }
    for (let j = 0; j < cols; j++) {
      const q = at(pred, j) / total;
      const dq = q >= lo && q <= hi ? -at(target, j) / q : 0;
      grad[j] = (dq + insideTargets) / total;
    }
    return { loss, grad };
  }

  const delta = spec.delta ?? 1;
  let sum = 0;
  for (let j = 0; j < cols; j++) {
    const p = at(pred, j);
    let y = at(target, j);
    if (convertHinge && lossUsesHingeTargets(spec.name)) y = 2 * y - 1;
    if (Number.isNaN(p) || Number.isNaN(y)) {
      sum = NaN;
      grad[j] = NaN;
      continue;
    }
    const [value, slope] = elementReference(spec.name, p, y, delta, lo, hi);
    sum += value;
    grad[j] = slope;
  }
  const scale = lossIsMean(spec.name) ? 1 / cols : 1;
  for (let j = 0; j < cols; j++) grad[j] = (grad[j] ?? NaN) * scale;
  return { loss: sum * scale, grad };
}

/** [term, d term / d p] of one element, p and y not NaN. */
function elementReference(
  name: Exclude<LossName, 'categorical_crossentropy'>,
  p: number,
  y: number,
  delta: number,
  lo: number,
  hi: number,
): [number, number] {
  const e = p - y;
  switch (name) {
    case 'mse':
      return [e * e, 2 * e];
    case 'mae':
      return [Math.abs(e), e > 0 ? 1 : e < 0 ? -1 : 0];
    case 'huber':
      return Math.abs(e) <= delta
        ? [0.5 * e * e, e]
        : [delta * Math.abs(e) - 0.5 * delta * delta, delta * Math.sign(e)];
    case 'msle': {
      const q = p >= lo ? p : lo;
      const f = Math.log1p(q) - Math.log1p(y >= lo ? y : lo);
      return [f * f, p >= lo ? (2 * f) / (1 + q) : 0];
    }
    case 'hinge': {
      const margin = 1 - y * p;
      return margin >= 0 ? [margin, -y] : [0, 0];
    }
    case 'squared_hinge': {
      const margin = Math.max(1 - y * p, 0);
      return [margin * margin, -2 * margin * y];
    }
    case 'kl_divergence': {
      const yc = Math.min(Math.max(y, lo), 1);
      const pc = Math.min(Math.max(p, lo), 1);
      return [yc * Math.log(yc / pc), p >= lo && p <= 1 ? -yc / pc : 0];
    }
    case 'binary_crossentropy': {
      const pc = Math.min(Math.max(p, lo), hi);
      const value = -(y * Math.log(pc) + (1 - y) * Math.log1p(-pc));
      return [value, p >= lo && p <= hi ? (1 - y) / (1 - pc) - y / pc : 0];
    }
    case 'binary_crossentropy_logits': {
      const sigmoid = p >= 0 ? 1 / (1 + Math.exp(-p)) : Math.exp(p) / (1 + Math.exp(p));
      return [Math.max(p, 0) - p * y + Math.log1p(Math.exp(-Math.abs(p))), sigmoid - y];
    }
  }
}

/** Float64 reference of encodeLoss: loss [rows] and dpred [rows, cols] (gradScale applied). */
export function lossReference(
  spec: LossSpec,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
): { loss: Float64Array; dpred: Float64Array } {
  const { rows, cols } = spec;
  const convertHinge = lossUsesHingeTargets(spec.name) && hingeTargetsAreBinary(target);
  const loss = new Float64Array(rows);
  const dpred = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const p = Array.from({ length: cols }, (_, j) => pred[r * cols + j] ?? NaN);
    const y = Array.from({ length: cols }, (_, j) => target[r * cols + j] ?? NaN);
    const row = lossRowReference(spec, p, y, convertHinge);
    loss[r] = row.loss;
    for (let j = 0; j < cols; j++) dpred[r * cols + j] = (row.grad[j] ?? NaN) * spec.gradScale;
  }
  return { loss, dpred };
}

/**
 * Float64 reference of encodeSoftmaxCrossEntropy. labels: dense targets [rows, classes] or
 * sparse class ids [rows]. outOfRange: some sparse label is not an integer in [0, classes).
 */
export function softmaxCrossEntropyReference(
  spec: SoftmaxCrossEntropySpec,
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
): { loss: Float64Array; dlogits: Float64Array; outOfRange: boolean } {
  const { rows, classes } = spec;
  const loss = new Float64Array(rows);
  const dlogits = new Float64Array(rows * classes);
  let outOfRange = false;
  for (let r = 0; r < rows; r++) {
    const x = Array.from({ length: classes }, (_, j) => logits[r * classes + j] ?? NaN);
    let y: number[];
    if (spec.labels === 'dense') {
      y = Array.from({ length: classes }, (_, j) => labels[r * classes + j] ?? NaN);
    } else {
      const id = labels[r] ?? NaN;
      const valid = Number.isInteger(id) && id >= 0 && id < classes;
      if (!valid) outOfRange = true;
      y = Array.from({ length: classes }, (_, j) => (valid ? (j === id ? 1 : 0) : NaN));
    }
    const row = softmaxCrossEntropyRow(x, y);
    loss[r] = row.loss;
    for (let j = 0; j < classes; j++) dlogits[r * classes + j] = (row.grad[j] ?? NaN) * spec.gradScale;
  }
  return { loss, dlogits, outOfRange };
}

/** −Σ y·log softmax(x) for one row, and its gradient Σy·softmax − y; NaN anywhere → all NaN. */
export function softmaxCrossEntropyRow(
  x: readonly number[],
  y: readonly number[],
): { loss: number; grad: Float64Array } {
  const n = x.length;
  const grad = new Float64Array(n);
  if (x.some(Number.isNaN) || y.some(Number.isNaN)) return { loss: NaN, grad: grad.fill(NaN) };
  const m = Math.max(...x);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  let loss = 0;
  let targetTotal = 0;
  for (let j = 0; j < n; j++) {
    const yj = y[j] ?? 0;
    if (yj !== 0) loss += yj * (lse - (x[j] ?? 0));
    targetTotal += yj;
  }
  for (let j = 0; j < n; j++) grad[j] = (targetTotal * Math.exp((x[j] ?? 0) - m)) / s - (y[j] ?? 0);
  return { loss, grad };
}
