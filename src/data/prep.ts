/**
 * Data preparation in the scikit-learn / Keras style: one-hot labels, standard and min-max
 * scaling, train/test splits and k-fold cross-validation indices, with seeded shuffles.
 * Pure TypeScript, browser-safe. Statistics are accumulated in float64; matrices are
 * row-major [rows, cols] flat arrays, as the GPU dataset takes them.
 */

import { numpyRandomState } from './datasets/numpy-random.js';
import { readOptions, type Spelled } from '../util/options.js';
import { createRng, iota, type Rng } from '../util/random.js';

export type NumericArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

export interface Split {
  train: Uint32Array;
  test: Uint32Array;
}

/** 0..n−1 in a random order (seeded when `seed` is given). */
export function shuffledIndices(n: number, seed?: number): Uint32Array {
  checkCount(n, 'shuffledIndices', 'n');
  return createRng(seed).shuffle(iota(n));
}

// ---------------------------------------------------------------------------------------
// Labels and rows

function checkSeed(seed: number, who: string): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`${who}: seed ${seed} must be a safe integer`);
}

function checkCount(n: number, who: string, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${who}: ${what} ${n} must be an integer ≥ 0`);
}

export interface ToCategoricalOptions {
  /** Number of classes (default: the largest label + 1). */
  numClasses?: number;
  /** Keras's dtype: only 'float32', the type of the rows returned. */
  dtype?: 'float32';
}

/**
 * Keras's to_categorical (keras.utils / np_utils): class ids → one-hot rows [n, numClasses]
 * (numClasses defaults to the largest label + 1), as `toCategorical(y, 10)` or
 * `toCategorical(y, { num_classes: 10 })`.
 */
export function toCategorical(
  labels: ArrayLike<number>,
  numClasses?: number | null | Spelled<ToCategoricalOptions>,
): Float32Array {
  const o =
    typeof numClasses === 'object' && numClasses !== null
      ? readOptions<ToCategoricalOptions>('toCategorical', numClasses, { numClasses: true, dtype: true })
      : numClasses === null || numClasses === undefined
        ? {}
        : { numClasses };
  return oneHot(labels, o.numClasses, o.dtype);
}

function oneHot(labels: ArrayLike<number>, numClasses: number | undefined, dtype: unknown): Float32Array {
  if (dtype !== undefined && dtype !== 'float32')
    throw new TypeError(`toCategorical: dtype ${String(dtype)} is not supported; the rows are float32`);
  if (numClasses !== undefined && (!Number.isSafeInteger(numClasses) || numClasses <= 0)) {
    throw new RangeError(`toCategorical: numClasses ${numClasses} must be a positive integer`);
  }
  const n = labels.length;
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = labels[i] as number;
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`toCategorical: label ${v} at index ${i} is not a class id (an integer ≥ 0)`);
    }
    if (numClasses !== undefined && v >= numClasses) {
      throw new RangeError(
        `toCategorical: label ${v} at index ${i} is out of range for numClasses ${numClasses} (ids 0..${numClasses - 1})`,
      );
    }
    if (v > max) max = v;
  }
  const k = numClasses ?? max + 1;
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) out[i * k + (labels[i] as number)] = 1;
  return out;
}

/** Rows `rows` of the row-major matrix `x` [·, cols], as the same typed-array type. */
export function takeRows<T extends NumericArray>(x: T, cols: number, rows: ArrayLike<number>): T {
  if (!Number.isSafeInteger(cols) || cols <= 0) {
    throw new RangeError(`takeRows: cols ${cols} must be a positive integer`);
  }
  if (x.length % cols !== 0) {
    throw new RangeError(`takeRows: ${x.length} values are not whole rows of ${cols}`);
  }
  const available = x.length / cols;
  const out = new (x.constructor as new (length: number) => T)(rows.length * cols);
  // Every typed array copies a same-type subarray with set() (a memcpy).
  const src: { subarray(begin: number, end: number): ArrayLike<number> } = x;
  const dst: { set(values: ArrayLike<number>, offset: number): void } = out;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    if (!Number.isSafeInteger(r) || r < 0 || r >= available) {
      throw new RangeError(`takeRows: rows[${i}] = ${r} is not a row index in [0, ${available})`);
    }
    dst.set(src.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Scalers

function rowsOf(x: ArrayLike<number>, cols: number, who: string): number {
  if (!Number.isSafeInteger(cols) || cols <= 0)
    throw new RangeError(`${who}: cols ${cols} must be a positive integer`);
  if (x.length % cols !== 0)
    throw new RangeError(`${who}: ${x.length} values are not whole rows of ${cols} columns`);
  return x.length / cols;
}

function checkFitInput(x: ArrayLike<number>, cols: number, who: string): number {
  const rows = rowsOf(x, cols, who);
  if (rows === 0) throw new RangeError(`${who}: no rows to fit`);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (!Number.isFinite(v)) {
      throw new RangeError(
        `${who}: x[${Math.floor(i / cols)}, ${i % cols}] is ${v}; fit needs finite values`,
      );
    }
  }
  return rows;
}

const EPS = 2 ** -52;

/** Scikit-learn's rule: scales below 10·eps (a constant column) become 1. */
function zerosToOne(scale: number): number {
  return scale < 10 * EPS ? 1 : scale;
}

function notFitted(who: string): never {
  throw new Error(`${who} is not fitted yet: call fit(x, cols) first`);
}

export interface StandardScalerOptions {
  /** Subtract the mean (default true). */
  withMean?: boolean;
  /** Divide by the standard deviation (default true). */
  withStd?: boolean;
  /**
   * scikit-learn's copy: transform always returns new rows here, which copy=true asks for
   * and copy=false allows (scikit-learn only tries to work in place).
   */
  copy?: boolean;
}

function readBoolean(who: string, key: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${who}: ${key} must be true or false, got ${String(v)}`);
  return v;
}

interface StandardState {
  cols: number;
  mean: Float64Array;
  variance: Float64Array;
  scale: Float64Array;
  rows: number;
}

/**
 * scikit-learn's StandardScaler: z = (x − mean) / scale per column, scale the population
 * standard deviation (divisor n), 1 for a constant column. Non-finite values are rejected by
 * fit (scikit-learn would skip NaNs as missing).
 */
export class StandardScaler {
  readonly withMean: boolean;
  readonly withStd: boolean;
  private state: StandardState | undefined;

  constructor(options: Spelled<StandardScalerOptions> = {}) {
    const who = 'StandardScaler';
    const o = readOptions<StandardScalerOptions>(who, options, { withMean: true, withStd: true, copy: true });
    this.withMean = readBoolean(who, 'withMean', o.withMean, true);
    this.withStd = readBoolean(who, 'withStd', o.withStd, true);
    readBoolean(who, 'copy', o.copy, true);
  }

  private get fitted(): StandardState {
    return this.state ?? notFitted('StandardScaler');
  }
  get cols(): number {
    return this.fitted.cols;
  }
  /** Per-column mean (always computed; subtracted only when withMean). */
  get mean(): Float64Array {
    return this.fitted.mean;
  }
  /** Per-column population variance. */
  get variance(): Float64Array {
    return this.fitted.variance;
  }
  /** Per-column divisor: √variance, 1 for a constant column or when withStd is false. */
  get scale(): Float64Array {
    return this.fitted.scale;
  }
  get nSamplesSeen(): number {
    return this.fitted.rows;
  }

  fit(x: ArrayLike<number>, cols: number): this {
    const rows = checkFitInput(x, cols, 'StandardScaler.fit');
    const mean = new Float64Array(cols);
    const variance = new Float64Array(cols);
    const scale = new Float64Array(cols);
    for (let i = 0; i < x.length; i++) {
      const c = i % cols;
      mean[c] = (mean[c] as number) + (x[i] as number);
    }
    for (let c = 0; c < cols; c++) mean[c] = (mean[c] as number) / rows;
    // Two passes: Σd² with the compensation term −(Σd)²/n for the rounding of the mean.
    const sum = new Float64Array(cols);
    for (let i = 0; i < x.length; i++) {
      const c = i % cols;
      const d = (x[i] as number) - (mean[c] as number);
      variance[c] = (variance[c] as number) + d * d;
      sum[c] = (sum[c] as number) + d;
    }
    for (let c = 0; c < cols; c++) {
      const m = mean[c] as number;
      const s = sum[c] as number;
      const v = Math.max(0, ((variance[c] as number) - (s * s) / rows) / rows);
      variance[c] = v;
      // A variance at the level of rounding error of the mean is a constant column.
      const constant = v <= rows * EPS * v + (rows * m * EPS) ** 2;
      scale[c] = this.withStd && !constant ? zerosToOne(Math.sqrt(v)) : 1;
    }
    this.state = { cols, mean, variance, scale, rows };
    return this;
  }

  transform(x: ArrayLike<number>): Float32Array {
    const { cols, mean, scale } = this.fitted;
    rowsOf(x, cols, 'StandardScaler.transform');
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = i % cols;
      const centred = (x[i] as number) - (this.withMean ? (mean[c] as number) : 0);
      out[i] = centred / (scale[c] as number);
    }
    return out;
  }

  fitTransform(x: ArrayLike<number>, cols: number): Float32Array {
    return this.fit(x, cols).transform(x);
  }

  inverseTransform(z: ArrayLike<number>): Float32Array {
    const { cols, mean, scale } = this.fitted;
    rowsOf(z, cols, 'StandardScaler.inverseTransform');
    const out = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) {
      const c = i % cols;
      out[i] = (z[i] as number) * (scale[c] as number) + (this.withMean ? (mean[c] as number) : 0);
    }
    return out;
  }
}

export function standardScaler(options?: Spelled<StandardScalerOptions>): StandardScaler {
  return new StandardScaler(options);
}

export interface MinMaxScalerOptions {
  /** The target range [min, max] (default [0, 1]); min < max. */
  featureRange?: readonly [number, number];
  /** Clip transformed values to featureRange (default false). */
  clip?: boolean;
  /** scikit-learn's copy (see StandardScalerOptions.copy). */
  copy?: boolean;
}

interface MinMaxState {
  cols: number;
  dataMin: Float64Array;
  dataMax: Float64Array;
  dataRange: Float64Array;
  scale: Float64Array;
  min: Float64Array;
  rows: number;
}

/**
 * scikit-learn's MinMaxScaler: x·scale + min per column, scale = (hi − lo) / (dataMax −
 * dataMin) and min = lo − dataMin·scale; a constant column gets scale 1 and maps to lo.
 */
export class MinMaxScaler {
  readonly featureRange: readonly [number, number];
  readonly clip: boolean;
  private state: MinMaxState | undefined;

  constructor(options: Spelled<MinMaxScalerOptions> = {}) {
    const who = 'MinMaxScaler';
    const o = readOptions<MinMaxScalerOptions>(who, options, { featureRange: true, clip: true, copy: true });
    const range: unknown = o.featureRange ?? [0, 1];
    if (!Array.isArray(range) || range.length !== 2)
      throw new RangeError(`${who}: featureRange must be [min, max], got ${String(range)}`);
    const [lo, hi] = range as [number, number];
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
      throw new RangeError(`MinMaxScaler: featureRange [${lo}, ${hi}] must be finite with min < max`);
    }
    this.featureRange = [lo, hi];
    this.clip = readBoolean(who, 'clip', o.clip, false);
    readBoolean(who, 'copy', o.copy, true);
  }

  private get fitted(): MinMaxState {
    return this.state ?? notFitted('MinMaxScaler');
  }
  get cols(): number {
    return this.fitted.cols;
  }
  get dataMin(): Float64Array {
    return this.fitted.dataMin;
  }
  get dataMax(): Float64Array {
    return this.fitted.dataMax;
  }
  get dataRange(): Float64Array {
    return this.fitted.dataRange;
  }
  get scale(): Float64Array {
    return this.fitted.scale;
  }
  /** Per-column offset added after scaling (scikit-learn's min_). */
  get min(): Float64Array {
    return this.fitted.min;
  }
  get nSamplesSeen(): number {
    return this.fitted.rows;
  }

  fit(x: ArrayLike<number>, cols: number): this {
    const rows = checkFitInput(x, cols, 'MinMaxScaler.fit');
    const [lo, hi] = this.featureRange;
    const dataMin = new Float64Array(cols).fill(Infinity);
    const dataMax = new Float64Array(cols).fill(-Infinity);
    for (let i = 0; i < x.length; i++) {
      const c = i % cols;
      const v = x[i] as number;
      if (v < (dataMin[c] as number)) dataMin[c] = v;
      if (v > (dataMax[c] as number)) dataMax[c] = v;
    }
    const dataRange = new Float64Array(cols);
    const scale = new Float64Array(cols);
    const min = new Float64Array(cols);
    for (let c = 0; c < cols; c++) {
      dataRange[c] = (dataMax[c] as number) - (dataMin[c] as number);
      scale[c] = (hi - lo) / zerosToOne(dataRange[c] as number);
      min[c] = lo - (dataMin[c] as number) * (scale[c] as number);
    }
    this.state = { cols, dataMin, dataMax, dataRange, scale, min, rows };
    return this;
  }

  transform(x: ArrayLike<number>): Float32Array {
    const { cols, scale, min } = this.fitted;
    rowsOf(x, cols, 'MinMaxScaler.transform');
    const [lo, hi] = this.featureRange;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = i % cols;
      const v = (x[i] as number) * (scale[c] as number) + (min[c] as number);
      out[i] = this.clip ? Math.min(hi, Math.max(lo, v)) : v;
    }
    return out;
  }

  fitTransform(x: ArrayLike<number>, cols: number): Float32Array {
    return this.fit(x, cols).transform(x);
  }

  inverseTransform(z: ArrayLike<number>): Float32Array {
    const { cols, scale, min } = this.fitted;
    rowsOf(z, cols, 'MinMaxScaler.inverseTransform');
    const out = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) {
      const c = i % cols;
      out[i] = ((z[i] as number) - (min[c] as number)) / (scale[c] as number);
    }
    return out;
  }
}

export function minMaxScaler(options?: Spelled<MinMaxScalerOptions>): MinMaxScaler {
  return new MinMaxScaler(options);
}

// ---------------------------------------------------------------------------------------
// Splits

/** Class index of every row, classes numbered in sorted order of their values. */
function encodeSorted(labels: ArrayLike<number>, who: string): { codes: Uint32Array; counts: number[] } {
  const values = new Set<number>();
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (Number.isNaN(v)) throw new RangeError(`${who}: label ${i} is NaN`);
    values.add(v);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const index = new Map(sorted.map((v, k) => [v, k]));
  const codes = new Uint32Array(labels.length);
  const counts = new Array<number>(sorted.length).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const k = index.get(labels[i] as number) as number;
    codes[i] = k;
    counts[k] = (counts[k] as number) + 1;
  }
  return { codes, counts };
}

/**
 * Splits `draws` over classes in proportion to `counts`: each class gets the floor of its
 * share, and the draws left go to the largest fractional parts, ties broken at random
 * (scikit-learn's _approximate_mode). Each class is within one of its exact share.
 */
function apportion(counts: readonly number[], draws: number, rng: Rng): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const exact = counts.map((c) => (c / total) * draws);
  const out = exact.map(Math.floor);
  let left = draws - out.reduce((a, b) => a + b, 0);
  // Visit classes by descending remainder; among equal remainders in random order.
  const order = rng.shuffle(iota(counts.length));
  const rest = (k: number): number => (exact[k] as number) - (out[k] as number);
  const ranked = [...order].sort((a, b) => rest(b) - rest(a));
  for (const k of ranked) {
    if (left <= 0) break;
    out[k] = (out[k] as number) + 1;
    left--;
  }
  return out;
}

export interface TrainTestSplitOptions {
  /** A fraction in (0, 1) or a row count ≥ 1 (default 0.25, or the rest after trainSize). */
  testSize?: number;
  /** A fraction in (0, 1) or a row count ≥ 1 (default: the rest after testSize). */
  trainSize?: number;
  /** Seeds the shuffle (default: a random seed). */
  seed?: number;
  /** Default true; false takes the first rows for train and the next ones for test. */
  shuffle?: boolean;
  /** Class labels [n]: each class keeps its proportion in both parts (needs shuffle). */
  stratify?: ArrayLike<number>;
}

function sizeOf(value: number, n: number, what: string, round: (x: number) => number): number {
  if (value > 0 && value < 1) return round(value * n);
  if (Number.isSafeInteger(value) && value >= 1 && value < n) return value;
  throw new RangeError(
    `trainTestSplit: ${what} ${value} must be a fraction in (0, 1) or a row count in [1, ${n - 1}] for ${n} rows`,
  );
}

/**
 * scikit-learn's train_test_split on row indices: a fractional testSize gives
 * ceil(testSize·n) test rows, a fractional trainSize floor(trainSize·n) train rows. Returns
 * the indices in shuffled order (without shuffle: ascending, train first).
 */
export function trainTestSplit(
  n: number,
  given: Spelled<TrainTestSplitOptions> & { random_state?: number; randomState?: number } = {},
): Split {
  const who = 'trainTestSplit';
  const options = readOptions<TrainTestSplitOptions>(
    who,
    given,
    { testSize: true, trainSize: true, seed: true, shuffle: true, stratify: true },
    { aliases: SEED_ALIASES },
  );
  checkCount(n, who, 'n');
  if (options.seed !== undefined) checkSeed(options.seed, who);
  const shuffle = options.shuffle ?? true;
  const { trainSize, stratify } = options;
  const testSize = options.testSize ?? (trainSize === undefined ? 0.25 : undefined);
  let nTest = testSize === undefined ? undefined : sizeOf(testSize, n, 'testSize', Math.ceil);
  let nTrain = trainSize === undefined ? undefined : sizeOf(trainSize, n, 'trainSize', Math.floor);
  nTrain ??= n - (nTest ?? 0);
  nTest ??= n - nTrain;
  if (nTrain + nTest > n) {
    throw new RangeError(`${who}: ${nTrain} train + ${nTest} test rows exceed the ${n} rows`);
  }
  if (nTrain === 0) throw new RangeError(`${who}: the train set of ${n} rows would be empty; lower testSize`);
  if (nTest === 0) throw new RangeError(`${who}: the test set of ${n} rows would be empty; raise testSize`);

  if (!shuffle) {
    if (stratify) throw new RangeError(`${who}: stratify needs shuffle (rows are drawn at random per class)`);
    const all = iota(nTrain + nTest);
    return { train: all.slice(0, nTrain), test: all.slice(nTrain) };
  }
  const rng = createRng(options.seed);
  if (!stratify) {
    const p = rng.shuffle(iota(n));
    return { test: p.slice(0, nTest), train: p.slice(nTest, nTest + nTrain) };
  }

  if (stratify.length !== n)
    throw new RangeError(`${who}: stratify has ${stratify.length} labels for ${n} rows`);
  const { codes, counts } = encodeSorted(stratify, who);
  const fewest = Math.min(...counts);
  if (fewest < 2) {
    throw new RangeError(`${who}: the least populated class in stratify has ${fewest} member; each needs 2`);
  }
  if (nTrain < counts.length || nTest < counts.length) {
    throw new RangeError(
      `${who}: ${nTrain} train and ${nTest} test rows cannot each hold all ${counts.length} classes`,
    );
  }
  const perClassTrain = apportion(counts, nTrain, rng);
  const perClassTest = apportion(
    counts.map((c, k) => c - (perClassTrain[k] as number)),
    nTest,
    rng,
  );
  const members = counts.map((c) => new Uint32Array(c));
  const filled = new Array<number>(counts.length).fill(0);
  for (let i = 0; i < n; i++) {
    const k = codes[i] as number;
    (members[k] as Uint32Array)[filled[k] as number] = i;
    filled[k] = (filled[k] as number) + 1;
  }
  const train = new Uint32Array(nTrain);
  const test = new Uint32Array(nTest);
  let t = 0;
  let s = 0;
  members.forEach((m, k) => {
    rng.shuffle(m);
    const a = perClassTrain[k] as number;
    const b = perClassTest[k] as number;
    train.set(m.subarray(0, a), t);
    test.set(m.subarray(a, a + b), s);
    t += a;
    s += b;
  });
  return { train: rng.shuffle(train), test: rng.shuffle(test) };
}

/** scikit-learn's random_state is our seed. */
const SEED_ALIASES = { random_state: 'seed', randomState: 'seed' } as const;

export interface KFoldOptions {
  /** Number of folds, ≥ 2 (default 5); scikit-learn's n_splits. */
  folds?: number;
  /** Shuffle rows before cutting folds (default false: contiguous folds). */
  shuffle?: boolean;
  /** Seeds the shuffle (default: a random seed); scikit-learn's random_state. Needs shuffle. */
  seed?: number;
}

/** KFoldOptions in either spelling, with scikit-learn's names (n_splits, random_state). */
export type KFoldArgs = Spelled<KFoldOptions> & {
  nSplits?: number;
  n_splits?: number;
  randomState?: number;
  random_state?: number;
};

function readKFold(who: string, given: unknown): KFoldOptions {
  const o = readOptions<KFoldOptions>(
    who,
    given,
    { folds: true, shuffle: true, seed: true },
    { aliases: { ...SEED_ALIASES, n_splits: 'folds', nSplits: 'folds' } },
  );
  const shuffle: unknown = o.shuffle;
  if (shuffle !== undefined && typeof shuffle !== 'boolean')
    throw new TypeError(`${who}: shuffle must be true or false, got ${String(shuffle)}`);
  if (o.seed !== undefined && !o.shuffle) {
    // scikit-learn raises here too: the seed would have no effect.
    throw new RangeError(
      `${who}: a seed (random_state) has no effect since shuffle is false; leave it out or set shuffle: true`,
    );
  }
  return o;
}

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

/**
 * scikit-learn's KFold as an object (`new KFold({ n_splits: 10, shuffle: true,
 * random_state: 7 })`, or kFold(options)): give it to crossValScore as `cv`, or call
 * split(rows) for the folds.
 */
export class KFold {
  readonly folds: number;
  readonly shuffle: boolean;
  readonly seed: number | undefined;
  constructor(options: KFoldArgs = {}) {
    const o = readKFold('KFold', options);
    this.folds = o.folds ?? 5;
    this.shuffle = o.shuffle ?? false;
    this.seed = o.seed;
    if (!Number.isSafeInteger(this.folds) || this.folds < 2)
      throw new RangeError(`KFold: folds ${this.folds} must be an integer ≥ 2`);
  }
  /** scikit-learn's get_n_splits. */
  getNSplits(): number {
    return this.folds;
  }
  /** The folds of `rows` rows (a count, or anything with a shape [rows, ...]). */
  split(rows: number | { shape: readonly number[] }): Split[] {
    const n = typeof rows === 'number' ? rows : rows.shape[0];
    return kFold(n ?? NaN, { folds: this.folds, shuffle: this.shuffle, seed: this.seed });
  }
}

/** scikit-learn's StratifiedKFold as an object; split(labels) or split(x, labels) gives the folds. */
export class StratifiedKFold {
  readonly folds: number;
  readonly shuffle: boolean;
  readonly seed: number | undefined;
  constructor(options: KFoldArgs = {}) {
    const o = readKFold('StratifiedKFold', options);
    this.folds = o.folds ?? 5;
    this.shuffle = o.shuffle ?? false;
    this.seed = o.seed;
    if (!Number.isSafeInteger(this.folds) || this.folds < 2)
      throw new RangeError(`StratifiedKFold: folds ${this.folds} must be an integer ≥ 2`);
  }
  getNSplits(): number {
    return this.folds;
  }
  /** The folds for class labels (scikit-learn's split(X, y): X is not read, only y). */
  split(labels: ArrayLike<number>): Split[];
  split(x: unknown, labels: ArrayLike<number>): Split[];
  split(a: unknown, b?: ArrayLike<number>): Split[] {
    const labels = b ?? a;
    if (!isArrayLike(labels)) throw new TypeError('StratifiedKFold.split: give the class labels y');
    return stratifiedKFold(labels, { folds: this.folds, shuffle: this.shuffle, seed: this.seed });
  }
}

function checkFolds(folds: number, n: number, who: string): void {
  if (!Number.isSafeInteger(folds) || folds < 2)
    throw new RangeError(`${who}: folds ${folds} must be an integer ≥ 2`);
  if (folds > n) throw new RangeError(`${who}: ${folds} folds need at least ${folds} rows, got ${n}`);
}

/** Train/test indices (both ascending) of each fold, from each row's test fold. */
function foldsFrom(testFold: Uint32Array, folds: number): Split[] {
  const sizes = new Array<number>(folds).fill(0);
  for (const f of testFold) sizes[f] = (sizes[f] as number) + 1;
  const out: Split[] = [];
  for (let f = 0; f < folds; f++) {
    const size = sizes[f] as number;
    const test = new Uint32Array(size);
    const train = new Uint32Array(testFold.length - size);
    let a = 0;
    let b = 0;
    testFold.forEach((g, i) => {
      if (g === f) test[a++] = i;
      else train[b++] = i;
    });
    out.push({ train, test });
  }
  return out;
}

/**
 * scikit-learn's KFold: rows (shuffled first if asked, by numpy's RandomState as scikit-learn
 * does, so a seed gives its folds) are cut into `folds` consecutive parts, the first n % folds
 * of them one row larger; each part is the test set once.
 */
export function kFold(n: number, options?: KFoldArgs): Split[];
/** A KFold splitter (scikit-learn's KFold(n_splits, shuffle, random_state)), e.g. for crossValScore's cv. */
export function kFold(options?: KFoldArgs): KFold;
export function kFold(a?: number | KFoldArgs, b?: KFoldArgs): Split[] | KFold {
  if (typeof a !== 'number') return new KFold(a);
  const n = a;
  const who = 'kFold';
  const options = readKFold(who, b);
  const folds = options.folds ?? 5;
  checkCount(n, who, 'n');
  checkFolds(folds, n, who);
  if (options.seed !== undefined) checkSeed(options.seed, who);
  // scikit-learn's draws: numpy's RandomState(random_state).shuffle(np.arange(n)).
  const order = options.shuffle ? numpyRandomState(options.seed).shuffle(iota(n)) : iota(n);
  const testFold = new Uint32Array(n);
  let start = 0;
  for (let f = 0; f < folds; f++) {
    const size = Math.floor(n / folds) + (f < n % folds ? 1 : 0);
    for (let i = start; i < start + size; i++) testFold[order[i] as number] = f;
    start += size;
  }
  return foldsFrom(testFold, folds);
}

/**
 * scikit-learn's StratifiedKFold (same allocation): the labels, sorted by class (classes in
 * order of first appearance), are dealt to the folds in turn, which fixes how many rows of
 * each class every fold gets (fold sizes and per-class counts within one of each other).
 * Within a class, rows in their original order take fold 0's share, then fold 1's, ...;
 * with shuffle, that sequence of folds is shuffled per class, by numpy's RandomState as
 * scikit-learn shuffles it: the folds are scikit-learn's for the same random_state.
 */
export function stratifiedKFold(labels: ArrayLike<number>, options?: KFoldArgs): Split[];
/** A StratifiedKFold splitter (scikit-learn's StratifiedKFold(n_splits, shuffle, random_state)). */
export function stratifiedKFold(options?: KFoldArgs): StratifiedKFold;
export function stratifiedKFold(a?: ArrayLike<number> | KFoldArgs, b?: KFoldArgs): Split[] | StratifiedKFold {
  if (!isArrayLike(a)) return new StratifiedKFold(a);
  const labels = a;
  const who = 'stratifiedKFold';
  const options = readKFold(who, b);
  const n = labels.length;
  const folds = options.folds ?? 5;
  checkFolds(folds, n, who);
  if (options.seed !== undefined) checkSeed(options.seed, who);
  // Classes numbered by first appearance.
  const index = new Map<number, number>();
  const codes = new Uint32Array(n);
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = labels[i] as number;
    if (Number.isNaN(v)) throw new RangeError(`${who}: label ${i} is NaN`);
    let k = index.get(v);
    if (k === undefined) {
      k = counts.length;
      index.set(v, k);
      counts.push(0);
    }
    codes[i] = k;
    counts[k] = (counts[k] as number) + 1;
  }
  if (counts.every((c) => c < folds)) {
    throw new RangeError(
      `${who}: ${folds} folds exceed the member count of every class (largest ${Math.max(...counts)})`,
    );
  }
  // Dealing sorted position j to fold j % folds: class k holds positions [start, start + count).
  // scikit-learn's draws: one RandomState shuffles each class's sequence in turn.
  const rng = options.shuffle ? numpyRandomState(options.seed) : undefined;
  const sequences: Uint32Array[] = [];
  let start = 0;
  for (const count of counts) {
    const seq = new Uint32Array(count);
    let w = 0;
    for (let f = 0; f < folds; f++) {
      // Positions j in [start, start + count) with j ≡ f (mod folds).
      const first = start + ((f - (start % folds) + folds) % folds);
      const share = first < start + count ? Math.floor((start + count - 1 - first) / folds) + 1 : 0;
      seq.fill(f, w, w + share);
      w += share;
    }
    sequences.push(rng ? rng.shuffle(seq) : seq);
    start += count;
  }
  const taken = new Array<number>(counts.length).fill(0);
  const testFold = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = codes[i] as number;
    const t = taken[k] as number;
    testFold[i] = (sequences[k] as Uint32Array)[t] as number;
    taken[k] = t + 1;
  }
  return foldsFrom(testFold, folds);
}
