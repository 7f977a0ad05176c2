/**
 * The learning-rate range test (Leslie Smith's, popularised by fastai's lr_find): train a
 * fresh model for a few dozen batches while the learning rate rises exponentially from tiny
 * to large, one training step per batch, and record each batch's loss. The loss falls once
 * the rate is large enough to learn and blows up once it is too large; a good rate lies on
 * the steep descent, about a decade below the minimum. Browser-safe and Node-safe.
 */
import { NonFiniteLossError, type GpuData, type LayersModel } from '../../src/index.js';

export interface LrFinderOptions {
  /** The first and last learning rates (default 1e-6 and 1). */
  minLr?: number;
  maxLr?: number;
  /** Training steps, one batch each (default 100). */
  steps?: number;
  /**
   * The loss's exponential moving average factor (default 0.9, bias-corrected): an average
   * over about 10 batches, which trails the rate by about half a decade over 100 steps
   * (fastai's 0.98 would trail it by three).
   */
  beta?: number;
  /** Stop once the smoothed loss exceeds this many times its lowest (default 4). */
  divergeFactor?: number;
}

export interface LrPoint {
  lr: number;
  /** The batch's loss, before its step (what trainOnBatch reports). */
  loss: number;
  /** The bias-corrected moving average of the losses so far. */
  smoothed: number;
}

export interface LrSuggestion {
  /** The rate where the smoothed loss falls fastest per decade of learning rate. */
  steepest: number | undefined;
  /** The rate of the lowest smoothed loss. */
  minimum: number | undefined;
  /** What to try: the steepest descent's rate, or a tenth of the minimum's when there is no descent. */
  suggested: number | undefined;
}

/** Learning rate k of `steps`, from minLr to maxLr evenly in log scale. */
export function lrAt(k: number, steps: number, minLr: number, maxLr: number): number {
  return steps <= 1 ? minLr : minLr * (maxLr / minLr) ** (k / (steps - 1));
}

function check(o: Required<LrFinderOptions>): void {
  if (!(o.minLr > 0 && o.maxLr > o.minLr && Number.isFinite(o.maxLr)))
    throw new RangeError(`the range test needs 0 < minLr < maxLr, got ${o.minLr} and ${o.maxLr}`);
  if (!Number.isSafeInteger(o.steps) || o.steps < 5)
    throw new RangeError(`steps must be a whole number ≥ 5, got ${o.steps}`);
  if (!(o.beta >= 0 && o.beta < 1)) throw new RangeError(`beta must be in [0, 1), got ${o.beta}`);
  if (!(o.divergeFactor > 1)) throw new RangeError(`divergeFactor must be > 1, got ${o.divergeFactor}`);
}

/**
 * Runs the range test on `model` (compiled; its weights change: use a fresh model), one
 * trainOnBatch per step on `batch(k)` (a GpuData whose rows are batch k) at learning rate
 * lrAt(k). Stops early when the smoothed loss diverges, the loss is not finite, or
 * `shouldStop()`; `onPoint` sees each point as it comes. The model's learning rate is left at
 * the last rate tried.
 */
export async function lrRangeTest(
  model: LayersModel,
  batch: (k: number) => GpuData,
  options: LrFinderOptions = {},
  onPoint?: (p: LrPoint, k: number) => void,
  shouldStop: () => boolean = () => false,
): Promise<{ points: LrPoint[]; suggestion: LrSuggestion; stoppedBy: 'end' | 'diverged' | 'stopped' }> {
  const o: Required<LrFinderOptions> = {
    minLr: 1e-6,
    maxLr: 1,
    steps: 100,
    beta: 0.9,
    divergeFactor: 4,
    ...options,
  };
  check(o);
  const points: LrPoint[] = [];
  let average = 0;
  let best = Infinity;
  let stoppedBy: 'end' | 'diverged' | 'stopped' = 'end';
  for (let k = 0; k < o.steps; k++) {
    if (shouldStop()) {
      stoppedBy = 'stopped';
      break;
    }
    const lr = lrAt(k, o.steps, o.minLr, o.maxLr);
    model.learningRate = lr;
    let loss: number;
    try {
      const logs = await model.trainOnBatch(batch(k), undefined, { returnDict: true });
      loss = logs.loss ?? NaN;
    } catch (e) {
      if (!(e instanceof NonFiniteLossError)) throw e;
      loss = NaN;
    }
    if (!Number.isFinite(loss)) {
      stoppedBy = 'diverged';
      break;
    }
    average = o.beta * average + (1 - o.beta) * loss;
    const smoothed = average / (1 - o.beta ** (k + 1));
    const p = { lr, loss, smoothed };
    points.push(p);
    onPoint?.(p, k);
    best = Math.min(best, smoothed);
    if (k > 0 && smoothed > o.divergeFactor * best) {
      stoppedBy = 'diverged';
      break;
    }
  }
  return { points, suggestion: suggestLr(points), stoppedBy };
}

/**
 * Where to look on a range test's curve: the steepest fall of the smoothed loss per decade of
 * learning rate (central differences, up to the minimum), and the minimum itself.
 */
export function suggestLr(points: readonly LrPoint[]): LrSuggestion {
  if (points.length === 0) return { steepest: undefined, minimum: undefined, suggested: undefined };
  let iMin = 0;
  points.forEach((p, i) => {
    if (p.smoothed < (points[iMin] as LrPoint).smoothed) iMin = i;
  });
  let steepest: number | undefined;
  let slope = 0;
  for (let i = 1; i < iMin; i++) {
    const a = points[i - 1] as LrPoint;
    const b = points[i + 1] as LrPoint;
    const s = (b.smoothed - a.smoothed) / (Math.log10(b.lr) - Math.log10(a.lr));
    if (s < slope) {
      slope = s;
      steepest = (points[i] as LrPoint).lr;
    }
  }
  const minimum = (points[iMin] as LrPoint).lr;
  return { steepest, minimum, suggested: steepest ?? minimum / 10 };
}
