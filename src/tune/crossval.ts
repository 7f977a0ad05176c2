/**
 * scikit-learn's cross_val_score for this library's models: k folds of the rows (src/data's
 * kFold, or stratifiedKFold to keep the class ratios), a fresh model from build() trained on
 * each training part and scored on its test fold with model.evaluate's logs.
 *
 * GPU data: a GpuData holds whole columns and fit() walks a permutation of all its rows, so a
 * fold cannot be a view of one upload; each fold uploads its training and test rows (n rows
 * per fold), freed when the fold ends. Only one fold's data is on the GPU at a time.
 */
import { currentEngine } from '../gpu/init.js';
import { GpuData } from '../graph/dataset.js';
import type { Callback } from '../model/callbacks.js';
import {
  DataError,
  hostColumns,
  resolveTensors,
  uploadRows,
  type DataInput,
  type HostColumns,
} from '../model/fit-data.js';
import { LayersModel } from '../model/model.js';
import { kFold, stratifiedKFold, type Split } from '../data/prep.js';

export interface CrossValOptions {
  /** Number of folds, ≥ 2 (default 5). */
  folds?: number;
  /** StratifiedKFold on the class of each row (class ids, one-hot rows, or 0/1 targets). Default false. */
  stratified?: boolean;
  /** Shuffle the rows before cutting the folds (default true; scikit-learn's KFold defaults to false). */
  shuffle?: boolean;
  /** Seeds the fold assignment and fit's shuffles. */
  seed?: number;
  /** fit() epochs per fold (default 1). */
  epochs?: number;
  batchSize?: number;
  /** The log of model.evaluate on the test fold to report: 'accuracy' (default), 'loss', any metric. */
  scoring?: string;
  callbacks?: readonly Callback[];
  /** fit's verbose (default 0). */
  verbose?: 0 | 1 | 2;
}

export interface CrossValResult {
  /** The score of each fold, in fold order. */
  scores: number[];
  mean: number;
  /** Population standard deviation (divisor k), numpy's default: what `scores.std()` gives in scikit-learn. */
  std: number;
  /** The train/test row indices of each fold. */
  folds: Split[];
}

/** The class of each row from the first target: class ids, argmax of one-hot rows, or the value. */
function rowClasses(c: HostColumns): Float64Array {
  const t = c.targets[0];
  if (!t) throw new DataError('crossValScore: stratified folds need targets');
  const out = new Float64Array(c.rows);
  for (let r = 0; r < c.rows; r++) {
    if (t.width === 1) {
      out[r] = t.data[r] as number;
      continue;
    }
    let best = 0;
    for (let k = 1; k < t.width; k++)
      if ((t.data[r * t.width + k] as number) > (t.data[r * t.width + best] as number)) best = k;
    out[r] = best;
  }
  return out;
}

/**
 * Scores of a model on k folds: `build()` returns a new compiled model each call (seed its
 * initializers for reproducible scores); x and y as model.fit takes them (eager and TF.js
 * tensors are read back once: folds take rows in any order).
 */
export async function crossValScore(
  build: () => LayersModel,
  xIn: DataInput,
  yIn: DataInput,
  options: CrossValOptions = {},
): Promise<CrossValResult> {
  const engine = currentEngine();
  const folds = options.folds ?? 5;
  const scoring = options.scoring ?? 'accuracy';
  const fresh = (): LayersModel => {
    const m = build();
    if (!(m instanceof LayersModel)) throw new TypeError(`build() must return a model, got ${String(m)}`);
    if (!m.isCompiled) throw new TypeError('build() must compile the model it returns');
    return m;
  };
  if ((xIn as unknown) instanceof GpuData)
    throw new DataError('crossValScore needs host arrays to cut folds from, not a GpuData');
  const x = await resolveTensors(xIn, 'x');
  const y = await resolveTensors(yIn, 'y');
  const probe = fresh();
  let cols: HostColumns;
  try {
    cols = hostColumns(probe.ioLayout(), x, y, 'crossValScore');
  } finally {
    await probe.dispose();
  }
  const split = {
    folds,
    shuffle: options.shuffle ?? true,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  const splits = options.stratified ? stratifiedKFold(rowClasses(cols), split) : kFold(cols.rows, split);
  const scores: number[] = [];
  for (const [f, { train, test }] of splits.entries()) {
    const model = fresh();
    const trainData = uploadRows(engine, cols, train, `fold ${f + 1} train`);
    try {
      const testData = uploadRows(engine, cols, test, `fold ${f + 1} test`);
      try {
        await model.fit(trainData, undefined, {
          epochs: options.epochs ?? 1,
          ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
          ...(options.callbacks ? { callbacks: options.callbacks } : {}),
          verbose: options.verbose ?? 0,
        });
        const logs = await model.evaluate(testData, undefined, {
          ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        });
        const score = logs[scoring];
        if (score === undefined) {
          throw new DataError(
            `crossValScore: scoring "${scoring}" is not in model.evaluate's logs (${Object.keys(logs).join(', ')})`,
          );
        }
        scores.push(score);
      } finally {
        testData.dispose();
      }
    } finally {
      trainData.dispose();
      await model.dispose();
    }
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  return { scores, mean, std, folds: splits };
}
