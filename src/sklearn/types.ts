/**
 * The scikit-learn protocol the estimators of src/sklearn/ share: estimators (fit, getParams,
 * setParams, clone; predict, predictProba and score where they have them), transformers
 * (transform, fitTransform) and splitters (split, getNSplits). Pipelines, searches and
 * Keras wrappers are written against these interfaces only.
 */

/** Rows of features: [rows, cols], row-major, as scikit-learn's 2-D X. */
export type Matrix = readonly (readonly number[])[];
/** Class labels or targets, one per row: scikit-learn's y. */
export type Labels = readonly (number | string)[];

/** y as an estimator takes it: labels, regression targets, or a classifier's one-hot rows (to_categorical). */
export type Target = Labels | readonly number[] | readonly (readonly number[])[];

export interface Estimator {
  fit(x: Matrix, y?: Target): Promise<this> | this;
  getParams(deep?: boolean): Record<string, unknown>;
  setParams(params: Record<string, unknown>): this;
  /** An unfitted copy with the same parameters (scikit-learn's sklearn.base.clone). */
  clone(): Estimator;
  predict?(x: Matrix): Promise<(number | string)[]> | (number | string)[];
  predictProba?(x: Matrix): Promise<number[][]> | number[][];
  score?(x: Matrix, y: Target): Promise<number> | number;
}

export interface Transformer extends Estimator {
  transform(x: Matrix): number[][];
  fitTransform(x: Matrix, y?: Target): number[][];
  inverseTransform?(x: Matrix): number[][];
}

export interface Splitter {
  split(x: Matrix | number, y?: Target): Iterable<[number[], number[]]>;
  getNSplits(): number;
}
