/**
 * scikit-learn's preprocessing estimators on rows (number[][]): StandardScaler and
 * MinMaxScaler (the float64 statistics and transforms of src/data/prep.ts, behind the
 * fit/transform/getParams/setParams/clone protocol), LabelEncoder and OneHotEncoder.
 */
import {
  MinMaxScaler as FlatMinMaxScaler,
  StandardScaler as FlatStandardScaler,
  type MinMaxScalerOptions,
  type StandardScalerOptions,
} from '../data/prep.js';
import { readOptions, type Spelled } from '../util/options.js';
import { checkParams, flatten, repr, uniqueSorted, unflatten } from './base.js';
import type { Labels, Matrix, Transformer } from './types.js';

function notFitted(who: string): never {
  throw new Error(`${who} is not fitted yet: call fit first`);
}

/** The columns X must have: those fit saw. */
function checkCols(who: string, cols: number, expected: number): void {
  if (cols !== expected)
    throw new RangeError(`${who}: X has ${cols} features, but was fitted with ${expected}`);
}

// ---------------------------------------------------------------------------------------
// Scalers: the statistics are data/prep.ts's; its transforms return float32, so outputs
// agree with scikit-learn's float64 to float32 rounding (relative 6e-8).

const STANDARD_KEYS = { withMean: true, withStd: true, copy: true } as const;

/** scikit-learn's StandardScaler: z = (x − mean) / scale per column (see data/prep.ts). */
export class StandardScaler implements Transformer {
  private options: StandardScalerOptions;
  private flat: FlatStandardScaler | undefined;

  constructor(options: Spelled<StandardScalerOptions> = {}) {
    this.options = readOptions<StandardScalerOptions>('StandardScaler', options, STANDARD_KEYS);
    new FlatStandardScaler(this.options); // checks the values
  }

  private get fitted(): FlatStandardScaler {
    return this.flat ?? notFitted('StandardScaler');
  }
  /** Per-column mean (scikit-learn's mean_). */
  get mean(): number[] {
    return Array.from(this.fitted.mean);
  }
  /** Per-column population variance (var_). */
  get variance(): number[] {
    return Array.from(this.fitted.variance);
  }
  /** Per-column divisor (scale_): 1 for a constant column, all 1 without withStd. */
  get scale(): number[] {
    return Array.from(this.fitted.scale);
  }
  get nSamplesSeen(): number {
    return this.fitted.nSamplesSeen;
  }
  get nFeaturesIn(): number {
    return this.fitted.cols;
  }

  fit(x: Matrix): this {
    const { flat, cols } = flatten(x, 'StandardScaler.fit');
    this.flat = new FlatStandardScaler(this.options).fit(flat, cols);
    return this;
  }
  transform(x: Matrix): number[][] {
    const { flat, cols } = flatten(x, 'StandardScaler.transform');
    checkCols('StandardScaler.transform', cols, this.fitted.cols);
    return unflatten(this.fitted.transform(flat), cols);
  }
  fitTransform(x: Matrix): number[][] {
    return this.fit(x).transform(x);
  }
  inverseTransform(x: Matrix): number[][] {
    const { flat, cols } = flatten(x, 'StandardScaler.inverseTransform');
    checkCols('StandardScaler.inverseTransform', cols, this.fitted.cols);
    return unflatten(this.fitted.inverseTransform(flat), cols);
  }
  getParams(): Record<string, unknown> {
    const f = new FlatStandardScaler(this.options);
    return { withMean: f.withMean, withStd: f.withStd, copy: this.options.copy ?? true };
  }
  setParams(params: Record<string, unknown>): this {
    const next = { ...this.options, ...checkParams('StandardScaler', params, Object.keys(STANDARD_KEYS)) };
    new FlatStandardScaler(next);
    this.options = next;
    return this;
  }
  clone(): StandardScaler {
    return new StandardScaler(this.options);
  }
}

const MINMAX_KEYS = { featureRange: true, clip: true, copy: true } as const;

/** scikit-learn's MinMaxScaler: x·scale + min per column, onto featureRange (see data/prep.ts). */
export class MinMaxScaler implements Transformer {
  private options: MinMaxScalerOptions;
  private flat: FlatMinMaxScaler | undefined;

  constructor(options: Spelled<MinMaxScalerOptions> = {}) {
    this.options = readOptions<MinMaxScalerOptions>('MinMaxScaler', options, MINMAX_KEYS);
    new FlatMinMaxScaler(this.options);
  }

  private get fitted(): FlatMinMaxScaler {
    return this.flat ?? notFitted('MinMaxScaler');
  }
  get dataMin(): number[] {
    return Array.from(this.fitted.dataMin);
  }
  get dataMax(): number[] {
    return Array.from(this.fitted.dataMax);
  }
  get dataRange(): number[] {
    return Array.from(this.fitted.dataRange);
  }
  get scale(): number[] {
    return Array.from(this.fitted.scale);
  }
  /** Per-column offset added after scaling (min_). */
  get min(): number[] {
    return Array.from(this.fitted.min);
  }
  get nSamplesSeen(): number {
    return this.fitted.nSamplesSeen;
  }
  get nFeaturesIn(): number {
    return this.fitted.cols;
  }

  fit(x: Matrix): this {
    const { flat, cols } = flatten(x, 'MinMaxScaler.fit');
    this.flat = new FlatMinMaxScaler(this.options).fit(flat, cols);
    return this;
  }
  transform(x: Matrix): number[][] {
    const { flat, cols } = flatten(x, 'MinMaxScaler.transform');
    checkCols('MinMaxScaler.transform', cols, this.fitted.cols);
    return unflatten(this.fitted.transform(flat), cols);
  }
  fitTransform(x: Matrix): number[][] {
    return this.fit(x).transform(x);
  }
  inverseTransform(x: Matrix): number[][] {
    const { flat, cols } = flatten(x, 'MinMaxScaler.inverseTransform');
    checkCols('MinMaxScaler.inverseTransform', cols, this.fitted.cols);
    return unflatten(this.fitted.inverseTransform(flat), cols);
  }
  getParams(): Record<string, unknown> {
    const f = new FlatMinMaxScaler(this.options);
    return { featureRange: [...f.featureRange], clip: f.clip, copy: this.options.copy ?? true };
  }
  setParams(params: Record<string, unknown>): this {
    const next = { ...this.options, ...checkParams('MinMaxScaler', params, Object.keys(MINMAX_KEYS)) };
    new FlatMinMaxScaler(next);
    this.options = next;
    return this;
  }
  clone(): MinMaxScaler {
    return new MinMaxScaler(this.options);
  }
}

// ---------------------------------------------------------------------------------------
// Encoders

/** The labels of `y` that `index` does not know, as scikit-learn lists them. */
function unseen(y: Iterable<number | string>, known: (v: number | string) => boolean): Error {
  const missing = uniqueSorted(
    [...y].filter((v) => !known(v)),
    'unseen',
  );
  return new RangeError(`y contains previously unseen labels: ${missing.map(repr).join(', ')}`);
}

/**
 * scikit-learn's LabelEncoder: labels ↔ 0..k−1, the classes sorted as np.unique sorts them
 * (numbers ascending, strings by code point). It encodes y, so it is not a pipeline step.
 */
export class LabelEncoder {
  private fittedClasses: (number | string)[] | undefined;
  private index = new Map<number | string, number>();

  /** The sorted classes (scikit-learn's classes_). */
  get classes(): (number | string)[] {
    return [...(this.fittedClasses ?? notFitted('LabelEncoder'))];
  }

  fit(y: Labels): this {
    const classes = uniqueSorted(y, 'LabelEncoder.fit');
    this.fittedClasses = classes;
    this.index = new Map(classes.map((c, k) => [c, k]));
    return this;
  }
  transform(y: Labels): number[] {
    if (this.fittedClasses === undefined) notFitted('LabelEncoder');
    const out = y.map((v) => this.index.get(v) ?? -1);
    if (out.includes(-1)) throw unseen(y, (v) => this.index.has(v));
    return out;
  }
  fitTransform(y: Labels): number[] {
    return this.fit(y).transform(y);
  }
  inverseTransform(codes: readonly number[]): (number | string)[] {
    const classes = this.fittedClasses ?? notFitted('LabelEncoder');
    const bad = codes.filter((k) => !Number.isInteger(k) || k < 0 || k >= classes.length);
    if (bad.length > 0) throw unseen(bad, () => false);
    return codes.map((k) => classes[k] as number | string);
  }
  getParams(): Record<string, unknown> {
    return {};
  }
  setParams(params: Record<string, unknown>): this {
    checkParams('LabelEncoder', params, []);
    return this;
  }
  clone(): LabelEncoder {
    return new LabelEncoder();
  }
}

/** Rows of categorical values: numbers or strings, one type per column. */
export type Table = readonly (readonly (number | string)[])[];

export interface OneHotEncoderOptions {
  /** 'error' (default): a category fit did not see throws; 'ignore': its block is all zeros. */
  handleUnknown?: 'error' | 'ignore';
}

/**
 * scikit-learn's OneHotEncoder (sparse_output=False): each column becomes one 0/1 column per
 * category, categories per column sorted as np.unique sorts them; blocks in column order.
 * A Transformer but for inverseTransform, which gives categories (strings, null), not numbers.
 */
export class OneHotEncoder {
  handleUnknown: 'error' | 'ignore';
  private fittedCategories: (number | string)[][] | undefined;
  private indices: Map<number | string, number>[] = [];

  constructor(options: Spelled<OneHotEncoderOptions> = {}) {
    const o = readOptions<OneHotEncoderOptions>('OneHotEncoder', options, { handleUnknown: true });
    this.handleUnknown = checkHandleUnknown(o.handleUnknown ?? 'error');
  }

  /** Per column, its sorted categories (categories_). */
  get categories(): (number | string)[][] {
    return (this.fittedCategories ?? notFitted('OneHotEncoder')).map((c) => [...c]);
  }

  fit(x: Table): this {
    const cols = columnsOf(x, 'OneHotEncoder.fit');
    const categories = Array.from({ length: cols }, (_, j) =>
      uniqueSorted(
        x.map((row) => row[j] as number | string),
        `OneHotEncoder.fit: column ${j}`,
      ),
    );
    this.fittedCategories = categories;
    this.indices = categories.map((c) => new Map(c.map((v, k) => [v, k])));
    return this;
  }

  transform(x: Table): number[][] {
    const categories = this.fittedCategories ?? notFitted('OneHotEncoder');
    const cols = columnsOf(x, 'OneHotEncoder.transform');
    checkCols('OneHotEncoder.transform', cols, categories.length);
    const width = categories.reduce((n, c) => n + c.length, 0);
    return x.map((row) => {
      const out = new Array<number>(width).fill(0);
      let offset = 0;
      row.forEach((v, j) => {
        const index = this.indices[j] as Map<number | string, number>;
        const k = index.get(v);
        if (k !== undefined) out[offset + k] = 1;
        else if (this.handleUnknown === 'error') {
          throw new RangeError(
            `OneHotEncoder.transform: found unknown categories [${repr(v)}] in column ${j} during transform ` +
              `(set handleUnknown: 'ignore' to encode them as all zeros)`,
          );
        }
        offset += (categories[j] as unknown[]).length;
      });
      return out;
    });
  }

  fitTransform(x: Table): number[][] {
    return this.fit(x).transform(x);
  }

  /** Rows back to categories: each block's 1 (or its largest value); null for an all-zero block. */
  inverseTransform(z: Matrix): (number | string | null)[][] {
    const categories = this.fittedCategories ?? notFitted('OneHotEncoder');
    const width = categories.reduce((n, c) => n + c.length, 0);
    return z.map((row, i) => {
      if (row.length !== width)
        throw new RangeError(
          `OneHotEncoder.inverseTransform: row ${i} has ${row.length} columns, expected ${width}`,
        );
      let offset = 0;
      return categories.map((c) => {
        const block = row.slice(offset, offset + c.length);
        offset += c.length;
        const best = block.reduce((b, v, k) => (v > (block[b] as number) ? k : b), 0);
        return (block[best] as number) > 0 ? (c[best] as number | string) : null;
      });
    });
  }

  getParams(): Record<string, unknown> {
    return { handleUnknown: this.handleUnknown };
  }
  setParams(params: Record<string, unknown>): this {
    const p = checkParams('OneHotEncoder', params, ['handleUnknown']);
    if (p.handleUnknown !== undefined) this.handleUnknown = checkHandleUnknown(p.handleUnknown);
    return this;
  }
  clone(): OneHotEncoder {
    return new OneHotEncoder({ handleUnknown: this.handleUnknown });
  }
}

function checkHandleUnknown(v: unknown): 'error' | 'ignore' {
  if (v !== 'error' && v !== 'ignore')
    throw new RangeError(`OneHotEncoder: handleUnknown must be 'error' or 'ignore', got ${repr(v)}`);
  return v;
}

function columnsOf(x: Table, who: string): number {
  const first: unknown = x[0];
  if (!Array.isArray(first)) throw new RangeError(`${who}: X must be a non-empty array of rows`);
  const cols = first.length;
  x.forEach((row, i) => {
    if (row.length !== cols)
      throw new RangeError(`${who}: row ${i} has ${row.length} columns, row 0 has ${cols}`);
  });
  return cols;
}
