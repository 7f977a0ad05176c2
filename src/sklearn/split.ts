/**
 * Cross-validation splitters with scikit-learn's protocol, `for (const [train, test] of
 * cv.split(X, y))`: ShuffleSplit, and asSplitter() for data/prep.ts's KFold and
 * StratifiedKFold (whose split gives { train, test } Uint32Arrays); and train_test_split over
 * arrays of rows.
 */
import { KFold, StratifiedKFold, trainTestSplit as splitIndices } from '../data/prep.js';
import { readOptions, type Spelled } from '../util/options.js';
import { numpyRandomState } from '../data/datasets/numpy-random.js';
import type { Labels, Matrix, Splitter } from './types.js';

function rowsOf(x: Matrix | number, who: string): number {
  const n = typeof x === 'number' ? x : x.length;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${who}: need at least one row, got ${n}`);
  return n;
}

export interface ShuffleSplitOptions {
  /** Number of re-shuffles (default 10). */
  nSplits?: number;
  /** A fraction in (0, 1) or a row count ≥ 1 (default 0.1, or the rest after trainSize). */
  testSize?: number;
  /** A fraction in (0, 1) or a row count ≥ 1 (default: the rest after testSize). */
  trainSize?: number;
  /** Seeds the shuffles: every split() call then gives the same splits (default: random). */
  randomState?: number;
}

/** A size as a fraction in (0, 1) or a count in [1, n); undefined stays undefined. */
function readSize(
  v: number | undefined,
  n: number,
  name: string,
  round: (x: number) => number,
): number | undefined {
  if (v === undefined) return undefined;
  if (Number.isInteger(v) && v >= 1 && v < n) return v;
  if (v > 0 && v < 1) return round(v * n);
  throw new RangeError(`ShuffleSplit: ${name} ${v} must be a fraction in (0, 1) or a row count in [1, ${n})`);
}

/**
 * scikit-learn's ShuffleSplit: each split is a fresh permutation of the rows, the first
 * nTest of it the test set and the next nTrain the train set (both in permutation order).
 * nTest = ⌈testSize·n⌉, nTrain = ⌊trainSize·n⌋ for fractions, as scikit-learn rounds them.
 * The draws are numpy's RandomState(random_state)'s, as scikit-learn's: the same rows for the
 * same seed.
 */
export class ShuffleSplit implements Splitter {
  readonly nSplits: number;
  readonly testSize: number | undefined;
  readonly trainSize: number | undefined;
  readonly randomState: number | undefined;

  constructor(options: Spelled<ShuffleSplitOptions> = {}) {
    const o = readOptions<ShuffleSplitOptions>(
      'ShuffleSplit',
      options,
      { nSplits: true, testSize: true, trainSize: true, randomState: true },
      { aliases: { seed: 'randomState' } },
    );
    this.nSplits = o.nSplits ?? 10;
    if (!Number.isSafeInteger(this.nSplits) || this.nSplits < 1)
      throw new RangeError(`ShuffleSplit: nSplits ${this.nSplits} must be an integer ≥ 1`);
    this.testSize = o.testSize;
    this.trainSize = o.trainSize;
    this.randomState = o.randomState;
    if (this.randomState !== undefined) numpyRandomState(this.randomState); // refuses a bad seed now
  }

  getNSplits(): number {
    return this.nSplits;
  }

  /** [train, test] row indices of each split; X is only counted, y is not read. */
  split(x: Matrix | number): [number[], number[]][] {
    const n = rowsOf(x, 'ShuffleSplit.split');
    const { nTrain, nTest } = this.counts(n);
    // scikit-learn's draws: rng.permutation(n) per split from one RandomState(random_state).
    const rng = numpyRandomState(this.randomState);
    const out: [number[], number[]][] = [];
    for (let s = 0; s < this.nSplits; s++) {
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      out.push([order.slice(nTest, nTest + nTrain), order.slice(0, nTest)]);
    }
    return out;
  }

  /** scikit-learn's _validate_shuffle_split: the train and test row counts for n rows. */
  counts(n: number): { nTrain: number; nTest: number } {
    const defaultTest = this.trainSize === undefined ? 0.1 : undefined;
    const test = readSize(this.testSize ?? defaultTest, n, 'testSize', Math.ceil);
    const train = readSize(this.trainSize, n, 'trainSize', Math.floor);
    const nTest = test ?? n - (train as number);
    const nTrain = train ?? n - nTest;
    if (nTrain + nTest > n)
      throw new RangeError(`ShuffleSplit: train (${nTrain}) and test (${nTest}) rows exceed the ${n} rows`);
    if (nTrain === 0 || nTest === 0)
      throw new RangeError(`ShuffleSplit: with ${n} rows the train or test set would be empty`);
    return { nTrain, nTest };
  }
}

/**
 * data/prep.ts's KFold or StratifiedKFold as a Splitter of [train, test] number arrays.
 * StratifiedKFold's labels may be strings here: classes are told apart by value only.
 */
export function asSplitter(cv: KFold | StratifiedKFold): Splitter {
  const pairs = (folds: { train: Uint32Array; test: Uint32Array }[]): [number[], number[]][] =>
    folds.map(({ train, test }) => [Array.from(train), Array.from(test)]);
  if (cv instanceof KFold) {
    return { getNSplits: () => cv.getNSplits(), split: (x) => pairs(cv.split(rowsOf(x, 'KFold.split'))) };
  }
  return {
    getNSplits: () => cv.getNSplits(),
    split: (_x: Matrix | number, y?: Labels) => {
      if (y === undefined) throw new TypeError('StratifiedKFold.split: give the class labels y');
      const codes = new Map<number | string, number>();
      return pairs(cv.split(y.map((v) => codes.get(v) ?? (codes.set(v, codes.size), codes.size - 1))));
    },
  };
}

export interface TrainTestSplitOptions {
  /** A fraction in (0, 1) or a row count (default 0.25, or the rest after trainSize). */
  testSize?: number;
  /** A fraction in (0, 1) or a row count (default: the rest after testSize). */
  trainSize?: number;
  randomState?: number;
  /** Default true; false takes the first rows for train and the next ones for test. */
  shuffle?: boolean;
  /** One label per row: each class keeps its share in both parts. */
  stratify?: Labels;
}

/**
 * scikit-learn's train_test_split: `[xTrain, xTest, yTrain, yTest]` (or `[xTrain, xTest]`)
 * from arrays of rows. Shuffled as scikit-learn shuffles (ShuffleSplit's first split of
 * numpy's RandomState), so a randomState gives its rows; with stratify the split keeps each
 * class's share (data.trainTestSplit), drawn from this library's generator instead of
 * scikit-learn's StratifiedShuffleSplit.
 */
export function trainTestSplit<X, Y>(
  x: readonly X[],
  y: readonly Y[],
  options?: Spelled<TrainTestSplitOptions>,
): [X[], X[], Y[], Y[]];
export function trainTestSplit<X>(x: readonly X[], options?: Spelled<TrainTestSplitOptions>): [X[], X[]];
export function trainTestSplit(
  x: readonly unknown[],
  b?: readonly unknown[] | Spelled<TrainTestSplitOptions>,
  c?: Spelled<TrainTestSplitOptions>,
): unknown[][] {
  const who = 'trainTestSplit';
  const y = Array.isArray(b) ? (b as readonly unknown[]) : undefined;
  const o = readOptions<TrainTestSplitOptions>(who, (y ? c : b) ?? {}, {
    testSize: true,
    trainSize: true,
    randomState: true,
    shuffle: true,
    stratify: true,
  });
  if (!Array.isArray(x)) throw new TypeError(`${who}: X must be an array of rows`);
  const n = rowsOf(x.length, who);
  if (y && y.length !== n) throw new RangeError(`${who}: X has ${n} rows, y has ${y.length}`);
  let train: ArrayLike<number>;
  let test: ArrayLike<number>;
  if (o.stratify !== undefined) {
    if (o.stratify.length !== n)
      throw new RangeError(`${who}: stratify has ${o.stratify.length} labels for ${n} rows`);
    const codes = new Map<number | string, number>();
    const ids = o.stratify.map((v) => codes.get(v) ?? (codes.set(v, codes.size), codes.size - 1));
    ({ train, test } = splitIndices(n, {
      ...(o.testSize !== undefined ? { testSize: o.testSize } : {}),
      ...(o.trainSize !== undefined ? { trainSize: o.trainSize } : {}),
      ...(o.randomState !== undefined ? { seed: o.randomState } : {}),
      shuffle: o.shuffle ?? true,
      stratify: ids,
    }));
  } else {
    // scikit-learn's sizes (test 0.25 by default), then ShuffleSplit's first split.
    const testSize = o.testSize ?? (o.trainSize === undefined ? 0.25 : undefined);
    const sizes = new ShuffleSplit({
      nSplits: 1,
      ...(testSize !== undefined ? { testSize } : {}),
      ...(o.trainSize !== undefined ? { trainSize: o.trainSize } : {}),
      ...(o.randomState !== undefined ? { randomState: o.randomState } : {}),
    });
    if (o.shuffle ?? true) [[train, test]] = sizes.split(n) as [[number[], number[]]];
    else {
      const { nTrain, nTest } = sizes.counts(n);
      train = Array.from({ length: nTrain }, (_, i) => i);
      test = Array.from({ length: nTest }, (_, i) => nTrain + i);
    }
  }
  const take = (a: readonly unknown[], idx: ArrayLike<number>): unknown[] => Array.from(idx, (i) => a[i]);
  return y ? [take(x, train), take(x, test), take(y, train), take(y, test)] : [take(x, train), take(x, test)];
}
