/**
 * Epoch metrics beyond accuracy: dispatch, validation, the float64/integer references, and
 * the host formulas that turn the accumulated sums and counts into Keras's metric values.
 * The WGSL lives in shaders/metrics.ts.
 */
import {
  aucHistogramShader,
  aucRowsShader,
  confusionRowsShader,
  confusionShader,
  rowErrorShader,
  type RowErrorKind,
} from '../../shaders/metrics.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { checkCount, checkF32, checkFinite, checkSize } from './validate.js';

export type { RowErrorKind };

/** Keras AUC's default num_thresholds. */
export const AUC_THRESHOLDS = 200;

/** Words one confusion count uses: TP, FP, FN, TN. */
export const CONFUSION_WORDS = 4;

/** Words one AUC histogram uses: [bucket][negative, positive]. */
export function aucHistogramWords(thresholds = AUC_THRESHOLDS): number {
  return 2 * thresholds;
}

function checkThresholds(what: string, thresholds: number): void {
  // The histogram lives in workgroup memory: 2 words per bucket, under 16 KiB.
  checkCount(what, 'thresholds', thresholds, 2, 1024);
}

/**
 * out[r] = mean over the row of |pred − target| ('abs') or (pred − target)² ('squared'), for
 * pred and target [rows, cols] f32 and out [rows] f32: the per-sample values of Keras's
 * mean_absolute_error and mean_squared_error; with `weights` [rows] f32, each times its
 * row's sample weight (a weighted metric's numerator terms).
 */
export function encodeRowError(
  engine: Engine,
  spec: { kind: RowErrorKind; rows: number; cols: number },
  b: { pred: Bindable; target: Bindable; out: Bindable; weights?: Bindable },
): void {
  const { kind, rows, cols } = spec;
  const what = `rowError(${kind})`;
  if (!['abs', 'squared'].includes(kind)) {
    throw new TypeError(`rowError: unknown kind '${kind}'; expected abs or squared`);
  }
  checkCount(what, 'rows', rows, 1);
  checkCount(what, 'cols', cols, 1);
  checkF32(what, 'pred', b.pred, rows * cols, `[${rows}, ${cols}]`);
  checkF32(what, 'target', b.target, rows * cols, `[${rows}, ${cols}]`);
  checkF32(what, 'out', b.out, rows, `[${rows}]`);
  if (b.weights) checkF32(what, 'weights', b.weights, rows, `[${rows}]`);
  const weighted = b.weights !== undefined;
  const label = `row_error_${kind}${weighted ? '_weighted' : ''}`;
  const pipeline = engine.pipeline(rowErrorShader(kind, weighted), label);
  const params = engine.tempUniform(new Uint32Array([rows, cols, 0, 0]), `${label} params`);
  engine.dispatch(
    pipeline,
    [b.pred, b.target, b.out, ...(b.weights ? [b.weights] : []), params],
    engine.dispatchGrid(rows, WORKGROUP_1D),
    label,
    // Subtract, abs or square, add per element (the per-row mean left out) and the weight's
    // multiply per row; pred, target (and weights) read, out written.
    {
      flops: 3 * rows * cols + (weighted ? rows : 0),
      bytes: 4 * (2 * rows * cols + rows + (weighted ? rows : 0)),
    },
  );
}

/** Words of encodeConfusionRows' output per row: TP, FP, FN, TN. */
export const CONFUSION_CELLS = 4;

/**
 * out[c·rows + r] = w[r] · (the number of row r's elements in confusion cell c: 0 TP, 1 FP,
 * 2 FN, 3 TN), for pred and labels [rows, cols] f32, out [4, rows] f32 and the optional
 * `weights` [rows] f32 (else w = 1); positives as in encodeConfusion. Summing each cell
 * over the rows gives the weighted confusion counts of Keras's weighted precision, recall
 * and f1 (a sample weight broadcast over the row's units).
 */
export function encodeConfusionRows(
  engine: Engine,
  spec: { rows: number; cols: number; threshold?: number },
  b: { pred: Bindable; labels: Bindable; out: Bindable; weights?: Bindable },
): void {
  const what = 'confusionRows';
  const { rows, cols } = spec;
  const threshold = spec.threshold ?? 0.5;
  checkCount(what, 'rows', rows, 1);
  checkCount(what, 'cols', cols, 1);
  checkFinite(what, 'threshold', threshold);
  checkF32(what, 'pred', b.pred, rows * cols, `[${rows}, ${cols}]`);
  checkF32(what, 'labels', b.labels, rows * cols, `[${rows}, ${cols}]`);
  checkF32(what, 'out', b.out, CONFUSION_CELLS * rows, `[${CONFUSION_CELLS}, ${rows}]`);
  if (b.weights) checkF32(what, 'weights', b.weights, rows, `[${rows}]`);
  const weighted = b.weights !== undefined;
  const words = new Uint32Array([rows, cols, 0, 0]);
  new Float32Array(words.buffer)[2] = threshold;
  const label = `confusion_rows${weighted ? '_weighted' : ''}`;
  engine.dispatch(
    engine.pipeline(confusionRowsShader(weighted), label),
    [
      b.pred,
      b.labels,
      b.out,
      ...(b.weights ? [b.weights] : []),
      engine.tempUniform(words, `${label} params`),
    ],
    engine.dispatchGrid(rows, WORKGROUP_1D),
    label,
    // Two comparisons and an add per element, 4 multiplies per row when weighted; pred,
    // labels (and weights) read, the 4 cells of each row written.
    {
      flops: 3 * rows * cols + (weighted ? CONFUSION_CELLS * rows : 0),
      bytes: 4 * (2 * rows * cols + CONFUSION_CELLS * rows + (weighted ? rows : 0)),
    },
  );
}

/**
 * counts[offset + 0..3] += TP, FP, FN, TN over the n elements of pred and labels (f32):
 * a label is positive when ≠ 0 (NaN too: Keras casts y_true to bool), a prediction when it is
 * > threshold (default 0.5, Keras's Precision/Recall default; NaN never is). u32 atomics, so
 * several batches can add into the same words.
 */
export function encodeConfusion(
  engine: Engine,
  spec: { n: number; threshold?: number },
  b: { pred: Bindable; labels: Bindable; counts: Bindable; offset?: number },
): void {
  const what = 'confusion';
  const { n } = spec;
  const offset = b.offset ?? 0;
  const threshold = spec.threshold ?? 0.5;
  checkCount(what, 'n', n, 1);
  checkCount(what, 'offset', offset);
  checkFinite(what, 'threshold', threshold);
  checkF32(what, 'pred', b.pred, n, `[${n}]`);
  checkF32(what, 'labels', b.labels, n, `[${n}]`);
  checkSize(what, 'counts', b.counts, (offset + CONFUSION_WORDS) * 4, `words ${offset}..${offset + 3} (u32)`);
  const words = new Uint32Array([n, offset, 0, 0]);
  new Float32Array(words.buffer)[2] = threshold;
  const pipeline = engine.pipeline(confusionShader(), 'confusion');
  engine.dispatch(
    pipeline,
    [b.pred, b.labels, b.counts, engine.tempUniform(words, 'confusion params')],
    engine.dispatchGrid(n, WORKGROUP_1D),
    'confusion',
    // Two comparisons per element; pred and labels read, the 4 counts read and written once
    // (the kernel adds each workgroup's totals atomically: the minimum is counted).
    { flops: 2 * n, bytes: 8 * n + 8 * CONFUSION_WORDS },
  );
}

/**
 * counts[offset + 2·bucket + positive] += 1 for each of the n elements: Keras AUC's buckets
 * for `thresholds` evenly spaced thresholds (prediction clipped to [0, 1], NaN as 0, bucket
 * max(0, ceil(p·(thresholds − 1)) − 1)); positive as in encodeConfusion.
 */
export function encodeAucHistogram(
  engine: Engine,
  spec: { n: number; thresholds?: number },
  b: { pred: Bindable; labels: Bindable; counts: Bindable; offset?: number },
): void {
  const what = 'aucHistogram';
  const { n } = spec;
  const thresholds = spec.thresholds ?? AUC_THRESHOLDS;
  const offset = b.offset ?? 0;
  checkCount(what, 'n', n, 1);
  checkThresholds(what, thresholds);
  checkCount(what, 'offset', offset);
  const words = aucHistogramWords(thresholds);
  checkF32(what, 'pred', b.pred, n, `[${n}]`);
  checkF32(what, 'labels', b.labels, n, `[${n}]`);
  checkSize(what, 'counts', b.counts, (offset + words) * 4, `words ${offset}..${offset + words - 1} (u32)`);
  const params = new Uint32Array([n, offset, 0, 0]);
  new Float32Array(params.buffer)[2] = thresholds - 1;
  const label = `auc_histogram_${thresholds}`;
  const pipeline = engine.pipeline(aucHistogramShader(thresholds), label);
  engine.dispatch(
    pipeline,
    [b.pred, b.labels, b.counts, engine.tempUniform(params, `${label} params`)],
    engine.dispatchGrid(n, WORKGROUP_1D),
    label,
    // Clamp, scale, ceil, subtract, max and the label test per element; pred and labels
    // read, the histogram read and written once (per-workgroup atomics: the minimum counted).
    { flops: 6 * n, bytes: 8 * n + 8 * words },
  );
}

/**
 * out[(2·bucket + positive)·rows + r] = w[r] · (row r's elements in that AUC bucket and
 * class), buckets as encodeAucHistogram's, for pred and labels [rows, cols] f32, out
 * [2·thresholds, rows] f32 and the optional `weights` [rows] f32 (else w = 1). Summing each
 * word over the rows gives the weighted histogram of Keras's weighted AUC.
 */
export function encodeAucRows(
  engine: Engine,
  spec: { rows: number; cols: number; thresholds?: number },
  b: { pred: Bindable; labels: Bindable; out: Bindable; weights?: Bindable },
): void {
  const what = 'aucRows';
  const { rows, cols } = spec;
  const thresholds = spec.thresholds ?? AUC_THRESHOLDS;
  checkCount(what, 'rows', rows, 1);
  checkCount(what, 'cols', cols, 1);
  checkThresholds(what, thresholds);
  const words = aucHistogramWords(thresholds);
  checkF32(what, 'pred', b.pred, rows * cols, `[${rows}, ${cols}]`);
  checkF32(what, 'labels', b.labels, rows * cols, `[${rows}, ${cols}]`);
  checkF32(what, 'out', b.out, words * rows, `[${words}, ${rows}]`);
  if (b.weights) checkF32(what, 'weights', b.weights, rows, `[${rows}]`);
  const weighted = b.weights !== undefined;
  const params = new Uint32Array([rows, cols, 0, thresholds]);
  new Float32Array(params.buffer)[2] = thresholds - 1;
  const label = `auc_rows${weighted ? '_weighted' : ''}`;
  engine.dispatch(
    engine.pipeline(aucRowsShader(weighted), label),
    [
      b.pred,
      b.labels,
      b.out,
      ...(b.weights ? [b.weights] : []),
      engine.tempUniform(params, `${label} params`),
    ],
    engine.dispatchGrid(thresholds * rows, WORKGROUP_1D),
    label,
    // Each (bucket, row) thread recomputes the bucket of every element of its row (clamp,
    // scale, ceil, subtract, max, compare): 7 per element per bucket; pred and labels read
    // once per bucket (cache hits after the first), the words written.
    {
      flops: 7 * thresholds * rows * cols + (weighted ? words * rows : 0),
      bytes: 4 * (2 * rows * cols + words * rows + (weighted ? rows : 0)),
    },
  );
}

// ------------------------------------------------------------ references

/** Float64 reference of encodeRowError (`weights`: each row times its weight). */
export function rowErrorReference(
  kind: RowErrorKind,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  rows: number,
  cols: number,
  weights?: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let j = 0; j < cols; j++) {
      const e = (pred[r * cols + j] ?? NaN) - (target[r * cols + j] ?? NaN);
      acc += kind === 'abs' ? Math.abs(e) : e * e;
    }
    out[r] = (weights ? (weights[r] ?? NaN) : 1) * (acc / cols);
  }
  return out;
}

const isPositiveLabel = (l: number): boolean => l !== 0; // NaN !== 0 is true

/** Reference of encodeConfusion: [TP, FP, FN, TN]. */
export function confusionReference(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  threshold = 0.5,
): [number, number, number, number] {
  const t = Math.fround(threshold);
  const c: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const on = (pred[i] ?? NaN) > t;
    const pos = isPositiveLabel(labels[i] ?? NaN);
    c[on ? (pos ? 0 : 1) : pos ? 2 : 3]++;
  }
  return c;
}

/** Reference of encodeConfusionRows: [4, rows], cell c of row r at c·rows + r. */
export function confusionRowsReference(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  rows: number,
  cols: number,
  weights?: ArrayLike<number>,
  threshold = 0.5,
): Float64Array {
  const out = new Float64Array(CONFUSION_CELLS * rows);
  for (let r = 0; r < rows; r++) {
    const c = confusionReference(
      Array.from({ length: cols }, (_, j) => pred[r * cols + j] ?? NaN),
      Array.from({ length: cols }, (_, j) => labels[r * cols + j] ?? NaN),
      cols,
      threshold,
    );
    const w = weights ? (weights[r] ?? NaN) : 1;
    c.forEach((n, k) => (out[k * rows + r] = w * n));
  }
  return out;
}

/** Reference of encodeAucHistogram (the bucket computed in f32 as the kernel does). */
export function aucHistogramReference(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  thresholds = AUC_THRESHOLDS,
): Uint32Array {
  const h = new Uint32Array(aucHistogramWords(thresholds));
  for (let i = 0; i < n; i++) {
    let p = pred[i] ?? NaN;
    if (Number.isNaN(p)) p = 0;
    p = Math.min(Math.max(p, 0), 1);
    const bucket = Math.max(Math.ceil(Math.fround(p * (thresholds - 1))) - 1, 0);
    const k = 2 * bucket + (isPositiveLabel(labels[i] ?? NaN) ? 1 : 0);
    h[k] = (h[k] ?? 0) + 1;
  }
  return h;
}

/** Reference of encodeAucRows: [2·thresholds, rows], word k of row r at k·rows + r. */
export function aucRowsReference(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  rows: number,
  cols: number,
  weights?: ArrayLike<number>,
  thresholds = AUC_THRESHOLDS,
): Float64Array {
  const words = aucHistogramWords(thresholds);
  const out = new Float64Array(words * rows);
  for (let r = 0; r < rows; r++) {
    const h = aucHistogramReference(
      Array.from({ length: cols }, (_, j) => pred[r * cols + j] ?? NaN),
      Array.from({ length: cols }, (_, j) => labels[r * cols + j] ?? NaN),
      cols,
      thresholds,
    );
    const w = weights ? (weights[r] ?? NaN) : 1;
    h.forEach((n, k) => (out[k * rows + r] = w * n));
  }
  return out;
}

// ------------------------------------------------------------ host formulas (Keras)

/** tf.math.divide_no_nan: 0 where the denominator is 0. */
function divideNoNan(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/** Keras Precision: TP / (TP + FP), 0 when there is no predicted positive. */
export function precisionFrom(c: ArrayLike<number>): number {
  const tp = c[0] ?? 0;
  return divideNoNan(tp, tp + (c[1] ?? 0));
}

/** Keras Recall: TP / (TP + FN), 0 when there is no positive label. */
export function recallFrom(c: ArrayLike<number>): number {
  const tp = c[0] ?? 0;
  return divideNoNan(tp, tp + (c[2] ?? 0));
}

/** Keras's backend epsilon, which FBetaScore adds to its denominators. */
export const KERAS_EPSILON = 1e-7;

/**
 * Keras 3 F1Score(average='micro', threshold=0.5) on the counts: p = TP/(TP+FP+ε),
 * r = TP/(TP+FN+ε), f1 = 2·p·r/(p + r + ε), ε = 1e-7 (FBetaScore with β = 1).
 */
export function f1From(c: ArrayLike<number>): number {
  const tp = c[0] ?? 0;
  const p = tp / (tp + (c[1] ?? 0) + KERAS_EPSILON);
  const r = tp / (tp + (c[2] ?? 0) + KERAS_EPSILON);
  return (2 * p * r) / (p + r + KERAS_EPSILON);
}

/**
 * Keras AUC (curve='ROC', summation_method='interpolation') from the bucket histogram:
 * tp[i] = Σ_{b ≥ i} positives[b], fp[i] likewise (threshold i sees buckets ≥ i as positive),
 * tpr = divide_no_nan(tp, P), fpr = divide_no_nan(fp, N), and the trapezoidal Riemann sum
 * Σ_{i < T−1} (fpr[i] − fpr[i+1]) · (tpr[i] + tpr[i+1]) / 2, as Keras's AUC.result().
 */
export function aucFromHistogram(h: ArrayLike<number>, thresholds = AUC_THRESHOLDS): number {
  const tp = new Float64Array(thresholds);
  const fp = new Float64Array(thresholds);
  let pos = 0;
  let neg = 0;
  for (let b = thresholds - 1; b >= 0; b--) {
    neg += h[2 * b] ?? 0;
    pos += h[2 * b + 1] ?? 0;
    tp[b] = pos;
    fp[b] = neg;
  }
  return aucFromCurve(tp, fp, pos, neg);
}

/** The ROC trapezoid sum of Keras's AUC.result() from tp/fp per threshold and the totals. */
export function aucFromCurve(
  tp: ArrayLike<number>,
  fp: ArrayLike<number>,
  positives: number,
  negatives: number,
): number {
  const t = tp.length;
  let auc = 0;
  for (let i = 0; i + 1 < t; i++) {
    const x0 = divideNoNan(fp[i] ?? 0, negatives);
    const x1 = divideNoNan(fp[i + 1] ?? 0, negatives);
    const y0 = divideNoNan(tp[i] ?? 0, positives);
    const y1 = divideNoNan(tp[i + 1] ?? 0, positives);
    auc += ((x0 - x1) * (y0 + y1)) / 2;
  }
  return auc;
}
