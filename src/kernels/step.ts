/**
 * The compiled step's helper kernels (WGSL in shaders/step.ts): column copies, the per-step
 * bookkeeping, and the guarded weight snapshot; with their references.
 */
import {
  activityGradShader,
  activityPenaltyShader,
  BAD_WHAT,
  guardedCopyShader,
  penaltyTermsShader,
  STATUS,
  STATUS_WORDS,
  STEP_END_MAX_SUMS,
  stepEndShader,
} from '../../shaders/step.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { copyBlockReference, encodeCopyBlock, type CopyBlockSpec } from './pointwise.js';
import { SUM_SINGLE_PASS_MAX } from './reduce.js';
import { checkCount, checkF32, checkF32Each, checkSize } from './validate.js';

export { BAD_WHAT, STATUS, STATUS_WORDS, STEP_END_MAX_SUMS };

export interface ColumnCopy {
  rows: number;
  width: number;
  /** src is [rows, srcCols]; columns srcOffset .. srcOffset + width are read. */
  srcCols: number;
  srcOffset: number;
  /** dst is [rows, dstCols]; columns dstOffset .. dstOffset + width are written. */
  dstCols: number;
  dstOffset: number;
  /** dst += src instead of dst = src. */
  accumulate: boolean;
}

/** dst[:, dstOffset + c] (+)= src[:, srcOffset + c] for c < width; src and dst must differ. */
export function encodeCopyColumns(engine: Engine, spec: ColumnCopy, src: Bindable, dst: Bindable): void {
  const what = `copyColumns ${spec.rows}x${spec.width}`;
  for (const k of ['rows', 'width', 'srcCols', 'srcOffset', 'dstCols', 'dstOffset'] as const) {
    checkCount(what, k, spec[k], k === 'width' || k.endsWith('Cols') ? 1 : 0);
  }
  if (spec.srcOffset + spec.width > spec.srcCols || spec.dstOffset + spec.width > spec.dstCols) {
    throw new RangeError(
      `${what}: columns [${spec.srcOffset}, +${spec.width}) of ${spec.srcCols} → ` +
        `[${spec.dstOffset}, +${spec.width}) of ${spec.dstCols} run past a row`,
    );
  }
  checkF32(what, 'src', src, spec.rows * spec.srcCols, `[${spec.rows}, ${spec.srcCols}]`);
  checkF32(what, 'dst', dst, spec.rows * spec.dstCols, `[${spec.rows}, ${spec.dstCols}]`);
  if (src === dst) throw new RangeError(`${what}: src and dst must be different buffers`);
  // A block copy (src/kernels/pointwise.ts): rows of `width` values at their offsets and strides.
  encodeCopyBlock(engine, columnBlock(spec), { src, dst });
}

/** A column copy as the strided block copy it is. */
function columnBlock(spec: ColumnCopy): CopyBlockSpec {
  return {
    rows: spec.rows,
    cols: spec.width,
    src: { offset: spec.srcOffset, stride: spec.srcCols },
    dst: { offset: spec.dstOffset, stride: spec.dstCols },
    accumulate: spec.accumulate,
  };
}

/**
 * Resets the status words to `steps` steps run, no bad step (BAD_WHAT 0 too) and a snapshot
 * of step `steps` (the start of an epoch, or a restored snapshot): one queue write.
 */
export function writeStatus(engine: Engine, status: GPUBuffer, steps: number): void {
  checkCount('writeStatus', 'steps', steps);
  checkSize('writeStatus', 'status', status, STATUS_WORDS * 4, `[${STATUS_WORDS}] u32`);
  const words = new Uint32Array(STATUS_WORDS);
  words[STATUS.STEPS] = steps;
  words[STATUS.BACKUP_STEP] = steps;
  engine.writeBuffer(status, 0, words);
}

/**
 * One thread of bookkeeping after a step: first acc[h] += Σ b.sums[h][0 .. spec.sumRows) for
 * each per-row loss buffer given (at most STEP_END_MAX_SUMS, sumRows at most
 * SUM_SINGLE_PASS_MAX: the bits encodeAccumulateSum would give, without its dispatch); then
 * if any of acc[0 .. slots) is NaN/±Inf and no bad step is recorded, status[BAD_STEP] =
 * status[STEPS] + 1; if that is this step (recorded now or by the optimizer's update
 * before), status[BAD_WHAT] |= BAD_WHAT.LOSS. Then status[STEPS] += 1 (unless countStep is
 * false: an evaluate or predict batch) and cursor[0] += batch.
 */
export function encodeStepEnd(
  engine: Engine,
  spec: { slots: number; batch: number; countStep?: boolean; sumRows?: number },
  b: { acc: Bindable; status: Bindable; cursor: Bindable; sums?: readonly Bindable[] },
): void {
  const what = 'stepEnd';
  checkCount(what, 'slots', spec.slots);
  checkCount(what, 'batch', spec.batch);
  const sums = b.sums ?? [];
  const sumRows = spec.sumRows ?? 0;
  checkCount(what, 'sumRows', sumRows);
  if (sums.length > STEP_END_MAX_SUMS) {
    throw new RangeError(`${what}: at most ${STEP_END_MAX_SUMS} loss sums, got ${sums.length}`);
  }
  if (sums.length > 0 && (sumRows < 1 || sumRows > SUM_SINGLE_PASS_MAX)) {
    throw new RangeError(
      `${what}: sumRows ${sumRows} must be from 1 to ${SUM_SINGLE_PASS_MAX} (a longer sum takes its own passes)`,
    );
  }
  const words = Math.max(1, spec.slots, sums.length);
  checkF32(what, 'acc', b.acc, words, `[${words}]`);
  checkSize(what, 'status', b.status, STATUS_WORDS * 4, `[${STATUS_WORDS}] u32`);
  checkSize(what, 'cursor', b.cursor, 4, 'one u32');
  for (const [h, rows] of sums.entries()) checkF32(what, `sums[${h}]`, rows, sumRows, `[${sumRows}]`);
  const params = engine.tempUniform(
    new Uint32Array([spec.slots, spec.batch, spec.countStep === false ? 0 : 1, sumRows]),
    'step_end params',
  );
  const label = sums.length > 0 ? `step_end_sum${sums.length}` : 'step_end';
  engine.dispatch(
    engine.pipeline(stepEndShader(sums.length), label),
    [b.acc, b.status, b.cursor, params, ...sums],
    [1],
    label,
    // Bit tests only, and the sums' adds (as a sum pass: a term each, 4 joining the chains
    // and the slot). The slots read; the bad-step and step words read, the step word
    // written (the bad-step and bad-what words only on a bad step); the cursor read and
    // written; each sum's rows read and its slot read and written.
    {
      flops: sums.length * (sumRows + 4),
      bytes: 4 * (spec.slots + 5) + 4 * sums.length * (sumRows + 2),
    },
  );
}

/**
 * dst[0 .. n) = src[0 .. n) (32-bit words, bit-exact) unless status[BAD_STEP] ≠ 0; with `mark`, also
 * status[BACKUP_STEP] = status[STEPS] (the step the snapshot belongs to).
 */
export function encodeGuardedCopy(
  engine: Engine,
  n: number,
  b: { src: Bindable; dst: Bindable; status: Bindable },
  mark: boolean,
): void {
  const what = 'guardedCopy';
  checkCount(what, 'n', n);
  checkSize(what, 'src', b.src, n * 4, `[${n}] words`);
  checkSize(what, 'dst', b.dst, n * 4, `[${n}] words`);
  checkSize(what, 'status', b.status, STATUS_WORDS * 4, `[${STATUS_WORDS}] u32`);
  if (n === 0) return;
  const params = engine.tempUniform(new Uint32Array([n, mark ? 1 : 0, 0, 0]), 'guarded_copy params');
  engine.dispatch(
    engine.pipeline(guardedCopyShader(), 'guarded_copy'),
    [b.src, b.dst, b.status, params],
    engine.dispatchGrid(n, WORKGROUP_1D),
    'guarded_copy',
    // n words read and written, the bad-step word read (+ the step read and the backup
    // step written with `mark`); nothing is copied after a bad step, so this is the most.
    { flops: 0, bytes: 8 * n + 4 + (mark ? 8 : 0) },
  );
}

/**
 * terms[i] = rows · (l1·|w[i]| + l2·w[i]²) with the l1/l2 of the segment holding i (0 in
 * the padding): summed, the step's regularization penalty weighted by its rows, so that an
 * epoch's penalty sum / samples is the mean penalty over its steps, as Keras reports it.
 * `table` is the optimizer's segment table (createSegmentTable) for `total` elements.
 */
export function encodePenaltyTerms(
  engine: Engine,
  spec: { total: number; rows: number },
  b: { params: Bindable; table: Bindable; terms: Bindable },
): void {
  const what = 'penaltyTerms';
  checkCount(what, 'total', spec.total, 1);
  checkCount(what, 'rows', spec.rows, 1);
  checkF32(what, 'params', b.params, spec.total, `[${spec.total}]`);
  checkF32(what, 'terms', b.terms, spec.total, `[${spec.total}]`);
  const params = engine.tempUniform(new Float32Array([spec.rows, 0, 0, 0]), 'penalty_terms params');
  engine.dispatch(
    engine.pipeline(penaltyTermsShader(), 'penalty_terms'),
    [b.params, b.table, b.terms, params],
    engine.dispatchGrid(spec.total, WORKGROUP_1D),
    'penalty_terms',
    // rows·(l1·|w| + l2·w²): 6 per element, the weights read and the terms written, the
    // table read once. The padding between segments (no reads, no arithmetic) is counted as
    // weights: an estimate.
    { flops: 6 * spec.total, bytes: 8 * spec.total + b.table.size },
  );
}

/** terms[i] = l1·|a[i]| + l2·a[i]² for i < n (an activity regularizer's penalty terms). */
export function encodeActivityPenalty(
  engine: Engine,
  spec: { n: number; l1: number; l2: number },
  b: { a: Bindable; terms: Bindable },
): void {
  const what = 'activityPenalty';
  checkCount(what, 'n', spec.n, 1);
  checkFactors(what, spec);
  checkF32(what, 'a', b.a, spec.n, `[${spec.n}]`);
  checkF32(what, 'terms', b.terms, spec.n, `[${spec.n}]`);
  const words = new Uint32Array([spec.n, 0, 0, 0]);
  new Float32Array(words.buffer).set([spec.l1, spec.l2], 1);
  engine.dispatch(
    engine.pipeline(activityPenaltyShader(), 'activity_penalty'),
    [b.a, b.terms, engine.tempUniform(words, 'activity_penalty params')],
    engine.dispatchGrid(spec.n, WORKGROUP_1D),
    'activity_penalty',
    { flops: 5 * spec.n, bytes: 8 * spec.n }, // l1·|a| + l2·a²; a read, terms written
  );
}

/** dx (+)= dy + (l1·sign(a) + 2·l2·a)·scale: the gradient through an activity regularizer. */
export function encodeActivityGrad(
  engine: Engine,
  spec: { n: number; l1: number; l2: number; scale: number; accumulate: boolean },
  b: { a: Bindable; dy: Bindable; dx: Bindable },
): void {
  const what = 'activityGrad';
  checkCount(what, 'n', spec.n, 1);
  checkFactors(what, spec);
  checkF32Each(what, b, spec.n, `[${spec.n}]`);
  if (b.dx === b.a || b.dx === b.dy) throw new RangeError(`${what}: dx must differ from a and dy`);
  const words = new Uint32Array([spec.n, 0, 0, 0]);
  new Float32Array(words.buffer).set([spec.l1, spec.l2, spec.scale], 1);
  const label = spec.accumulate ? 'activity_grad_acc' : 'activity_grad';
  const acc = spec.accumulate ? 1 : 0;
  engine.dispatch(
    engine.pipeline(activityGradShader(spec.accumulate), label),
    [b.a, b.dy, b.dx, engine.tempUniform(words, `${label} params`)],
    engine.dispatchGrid(spec.n, WORKGROUP_1D),
    label,
    // dy + (l1·sign(a) + 2·l2·a)·scale: 7 per element (+1 accumulating); a and dy read, dx
    // written (and read when accumulating).
    { flops: (7 + acc) * spec.n, bytes: 4 * spec.n * (3 + acc) },
  );
}

function checkFactors(what: string, spec: { l1: number; l2: number }): void {
  if (!(Number.isFinite(spec.l1) && spec.l1 >= 0 && Number.isFinite(spec.l2) && spec.l2 >= 0)) {
    throw new RangeError(`${what}: l1 ${spec.l1} and l2 ${spec.l2} must be finite and ≥ 0`);
  }
}

/** float64 reference of encodeCopyColumns (dst is updated in place and returned). */
export function copyColumnsReference(
  spec: ColumnCopy,
  src: ArrayLike<number>,
  dst: Float64Array,
): Float64Array {
  return copyBlockReference(columnBlock(spec), src, dst);
}
