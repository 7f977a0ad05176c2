/**
 * scikit-learn's metrics for one output, in float64: accuracy, binary F1, ROC AUC, mean
 * squared and absolute errors, R²; and scorer(name), scikit-learn's `scoring` strings.
 */
import { suggest } from '../util/suggest.js';
import { repr, uniqueSorted } from './base.js';
import type { Estimator, Labels, Matrix } from './types.js';

type Values = Labels | readonly number[];

function checkLengths(who: string, a: Values, b: Values): number {
  if (a.length !== b.length)
    throw new RangeError(`${who}: y_true has ${a.length} samples, y_pred has ${b.length}; they must match`);
  if (a.length === 0) throw new RangeError(`${who}: no samples`);
  return a.length;
}

/** The fraction of rows whose label equals the prediction. */
export function accuracyScore(yTrue: Values, yPred: Values): number {
  const n = checkLengths('accuracyScore', yTrue, yPred);
  let hits = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === yPred[i]) hits++;
  return hits / n;
}

/**
 * Binary F1 of the class `posLabel` (default 1): 2·tp / (2·tp + fp + fn); 0 when there is
 * no positive label or prediction at all (scikit-learn's zero_division default). More than
 * two labels in y_true ∪ y_pred are refused, as average='binary' refuses them.
 */
export function f1Score(yTrue: Values, yPred: Values, options: { posLabel?: number | string } = {}): number {
  const n = checkLengths('f1Score', yTrue, yPred);
  const pos = options.posLabel ?? 1;
  const labels = uniqueSorted([...yTrue, ...yPred], 'f1Score');
  if (labels.length > 2)
    throw new RangeError(
      `f1Score: the target is multiclass (labels ${labels.map(repr).join(', ')}); f1Score is binary`,
    );
  if (labels.length === 2 && !labels.includes(pos))
    throw new RangeError(
      `f1Score: posLabel ${repr(pos)} is not a valid label; labels are ${labels.map(repr).join(', ')}`,
    );
  let tp = 0;
  let wrong = 0; // fp + fn
  for (let i = 0; i < n; i++) {
    const t = yTrue[i] === pos;
    const p = yPred[i] === pos;
    if (t && p) tp++;
    else if (t !== p) wrong++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + wrong);
}

/**
 * Binary ROC AUC from scores (larger = more positive; the positive class is the larger
 * label). The area under the ROC curve with tied scores as one step (the trapezoid
 * scikit-learn draws) equals the Mann–Whitney statistic with ties counted ½:
 * (Σ ranks of the positives − P(P+1)/2) / (P·N), ranks averaged over ties.
 */
export function rocAucScore(yTrue: Values, yScore: readonly number[]): number {
  const n = checkLengths('rocAucScore', yTrue, yScore);
  const labels = uniqueSorted(yTrue, 'rocAucScore');
  if (labels.length !== 2) {
    throw new RangeError(
      labels.length < 2
        ? 'rocAucScore: only one class present in y_true; ROC AUC is not defined in that case'
        : `rocAucScore: y_true has ${labels.length} classes; rocAucScore is binary`,
    );
  }
  const positive = labels[1];
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (yScore[a] as number) - (yScore[b] as number),
  );
  let rankSum = 0;
  let positives = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && yScore[order[end + 1] as number] === yScore[order[start] as number]) end++;
    const rank = (start + end) / 2 + 1; // ranks start..end (1-based) share their mean
    for (let k = start; k <= end; k++) {
      if (yTrue[order[k] as number] === positive) {
        rankSum += rank;
        positives++;
      }
    }
    start = end + 1;
  }
  const negatives = n - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function numbers(who: string, yTrue: readonly number[], yPred: readonly number[]): number {
  const n = checkLengths(who, yTrue, yPred);
  for (let i = 0; i < n; i++) {
    if (typeof yTrue[i] !== 'number' || typeof yPred[i] !== 'number')
      throw new TypeError(`${who}: targets must be numbers (sample ${i})`);
  }
  return n;
}

export function meanSquaredError(yTrue: readonly number[], yPred: readonly number[]): number {
  const n = numbers('meanSquaredError', yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) s += ((yTrue[i] as number) - (yPred[i] as number)) ** 2;
  return s / n;
}

export function meanAbsoluteError(yTrue: readonly number[], yPred: readonly number[]): number {
  const n = numbers('meanAbsoluteError', yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs((yTrue[i] as number) - (yPred[i] as number));
  return s / n;
}

/**
 * R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)². A constant y_true gives 1 for a perfect prediction and 0
 * otherwise (scikit-learn's force_finite); fewer than two samples give NaN, as there.
 */
export function r2Score(yTrue: readonly number[], yPred: readonly number[]): number {
  const n = numbers('r2Score', yTrue, yPred);
  if (n < 2) return NaN;
  const mean = yTrue.reduce((a, b) => a + b, 0) / n;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    residual += ((yTrue[i] as number) - (yPred[i] as number)) ** 2;
    total += ((yTrue[i] as number) - mean) ** 2;
  }
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}

/** A `scoring` name's metric: greater is always better (errors are negated, as neg_*). */
export interface Scorer {
  readonly name: ScorerName;
  /** What the metric reads: predict's labels or values, or predictProba's column 1. */
  readonly response: 'predict' | 'predictProba';
  /** The score from the targets and the response. */
  fromResponse(yTrue: Values, response: readonly (number | string)[]): number;
  /** The score of a fitted estimator on (X, y). */
  score(estimator: Estimator, x: Matrix, y: Values): Promise<number>;
}

const METRICS = {
  accuracy: { response: 'predict', metric: accuracyScore, sign: 1 },
  f1: { response: 'predict', metric: f1Score, sign: 1 },
  roc_auc: { response: 'predictProba', metric: rocAucScore, sign: 1 },
  neg_mean_squared_error: { response: 'predict', metric: meanSquaredError, sign: -1 },
  neg_mean_absolute_error: { response: 'predict', metric: meanAbsoluteError, sign: -1 },
  r2: { response: 'predict', metric: r2Score, sign: 1 },
} as const;

export type ScorerName = keyof typeof METRICS;
export const SCORER_NAMES = Object.keys(METRICS) as ScorerName[];

/** The Scorers scorer() made: they read X only through the estimator's own predict / predictProba. */
const LIBRARY_SCORERS = new WeakSet<Scorer>();

export function isLibraryScorer(s: unknown): boolean {
  return typeof s === 'object' && s !== null && LIBRARY_SCORERS.has(s as Scorer);
}

/** scikit-learn's get_scorer: the Scorer of a `scoring` name; an unknown one names the closest. */
export function scorer(name: string): Scorer {
  if (!(name in METRICS)) {
    const guess = suggest(name, SCORER_NAMES);
    throw new RangeError(
      `scorer: unknown scoring '${name}'${guess === undefined ? '' : `; did you mean '${guess}'?`} ` +
        `Valid names: ${SCORER_NAMES.join(', ')}`,
    );
  }
  const key = name as ScorerName;
  const { response, metric, sign } = METRICS[key];
  const fromResponse = (yTrue: Values, r: readonly (number | string)[]): number =>
    sign * (metric as (a: Values, b: Values) => number)(yTrue, r);
  const made: Scorer = {
    name: key,
    response,
    fromResponse,
    async score(estimator, x, y) {
      if (response === 'predictProba') {
        if (estimator.predictProba === undefined)
          throw new TypeError(`scorer '${key}': the estimator has no predictProba`);
        const proba = await estimator.predictProba(x);
        const width = proba[0]?.length ?? 0;
        if (width > 2) {
          throw new RangeError(
            `scorer '${key}': predictProba gives ${width} columns; '${key}' needs a classifier with two classes`,
          );
        }
        // Binary: the positive (larger) class's column; a single column is that already.
        return fromResponse(
          y,
          proba.map((p) => (p.length === 1 ? p[0] : p[1]) as number),
        );
      }
      if (estimator.predict === undefined)
        throw new TypeError(`scorer '${key}': the estimator has no predict`);
      return fromResponse(y, await estimator.predict(x));
    },
  };
  LIBRARY_SCORERS.add(made);
  return made;
}
