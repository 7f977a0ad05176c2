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
import { KFold, kFold, StratifiedKFold, stratifiedKFold, type Split } from '../data/prep.js';
import { readOptions, type Spelled } from '../util/options.js';

export interface CrossValOptions {
  /**
   * scikit-learn's cv: a number of folds, a splitter (kFold({ ... }) / stratifiedKFold({ n_splits,
   * shuffle, random_state })), or the folds themselves ({ train, test } row indices).
   * A splitter's own shuffle and seed cut the folds; `seed` still seeds fit.
   */
  cv?: number | KFold | StratifiedKFold | readonly Split[];
  /** Number of folds, ≥ 2 (default 5); scikit-learn's n_splits. */
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
  callbacks?: readonly Callback[] | Callback;
  /** fit's verbose (default 0). */
  verbose?: 0 | 1 | 2;
}

const CROSS_VAL_KEYS: Readonly<Record<keyof CrossValOptions, true>> = {
  cv: true,
  folds: true,
  stratified: true,
  shuffle: true,
  seed: true,
  epochs: true,
  batchSize: true,
  scoring: true,
  callbacks: true,
  verbose: true,
};

/** The folds a cv option asks for (undefined: cut them from folds / stratified / shuffle). */
function foldsOfCv(cv: unknown, rows: number, classes: () => Float64Array): Split[] | undefined {
  if (cv === undefined || typeof cv === 'number') return undefined;
  if (cv instanceof KFold) return cv.split(rows);
  if (cv instanceof StratifiedKFold) return cv.split(classes());
  if (Array.isArray(cv)) {
    (cv as unknown[]).forEach((f, i) => {
      const ok =
        typeof f === 'object' &&
        f !== null &&
        'train' in f &&
        'test' in f &&
        [f.train, f.test].every((a) => Array.isArray(a) || ArrayBuffer.isView(a));
      if (!ok) throw new TypeError(`crossValScore: cv[${i}] must be a fold { train, test } of row indices`);
      for (const a of [f.train, f.test] as ArrayLike<number>[]) {
        for (let k = 0; k < a.length; k++) {
          const r = a[k] as number;
          if (!Number.isSafeInteger(r) || r < 0 || r >= rows)
            throw new RangeError(`crossValScore: cv[${i}] holds row ${r}, not a row index in [0, ${rows})`);
        }
      }
    });
    if (cv.length < 1) throw new RangeError('crossValScore: cv holds no folds');
    return (cv as { train: ArrayLike<number>; test: ArrayLike<number> }[]).map((f) => ({
      train: Uint32Array.from(f.train),
      test: Uint32Array.from(f.test),
    }));
  }
  throw new TypeError(
    `crossValScore: cv must be a number of folds, kFold({...}), stratifiedKFold({...}) or a list of folds, got ${String(cv)}`,
  );
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
  given: Spelled<CrossValOptions> & {
    n_splits?: number;
    nSplits?: number;
    random_state?: number;
    randomState?: number;
  } = {},
): Promise<CrossValResult> {
  const options = readOptions<CrossValOptions>('crossValScore', given, CROSS_VAL_KEYS, {
    aliases: { n_splits: 'folds', nSplits: 'folds', random_state: 'seed', randomState: 'seed' },
  });
  if (typeof options.cv === 'number' && options.folds !== undefined)
    throw new TypeError('crossValScore: cv and folds are the same option; give it once');
  if (options.cv !== undefined && typeof options.cv !== 'number') {
    const clash = (['folds', 'stratified', 'shuffle'] as const).filter((k) => options[k] !== undefined);
    if (clash.length)
      throw new TypeError(
        `crossValScore: ${clash.join(', ')} cut the folds, which cv gives already; set them on the splitter (kFold / stratifiedKFold)`,
      );
  }
  const engine = currentEngine();
  const folds = typeof options.cv === 'number' ? options.cv : (options.folds ?? 5);
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
  const shuffle = options.shuffle ?? true;
  const split = {
    folds,
    shuffle,
    // The seed also seeds fit: without shuffle it just does not cut the folds.
    ...(options.seed !== undefined && shuffle ? { seed: options.seed } : {}),
  };
  const splits =
    foldsOfCv(options.cv, cols.rows, () => rowClasses(cols)) ??
    (options.stratified ? stratifiedKFold(rowClasses(cols), split) : kFold(cols.rows, split));
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
            `crossValScore: scoring "${scoring}" is not in model.evaluate's logs (${Object.keys(logs)
              .filter((k) => !/^\d+$/.test(k))
              .join(', ')})`,
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
