/**
 * What the estimators of src/sklearn/ share: reading a 2-D X, ordering labels as numpy does,
 * and refusing unknown parameters (scikit-learn's "Invalid parameter ... for estimator").
 */
import { suggest } from '../util/suggest.js';
import { camelCase } from '../util/options.js';
import type { Matrix } from './types.js';

/** A value as scikit-learn's messages print it: strings quoted, numbers bare. */
export function repr(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** X as one row-major float64 array [rows, cols]; ragged or non-numeric rows are refused. */
export function flatten(x: Matrix, who: string): { flat: Float64Array; rows: number; cols: number } {
  if (!Array.isArray(x)) throw new TypeError(`${who}: X must be an array of rows (number[][])`);
  const rows = x.length;
  const first: unknown = x[0];
  if (rows === 0 || !Array.isArray(first))
    throw new RangeError(`${who}: X must have at least one row of numbers`);
  const cols = first.length;
  const flat = new Float64Array(rows * cols);
  x.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols)
      throw new RangeError(
        `${who}: row ${i} has ${Array.isArray(row) ? row.length : 'no'} columns, row 0 has ${cols}`,
      );
    row.forEach((v, j) => {
      if (typeof v !== 'number') throw new TypeError(`${who}: X[${i}][${j}] is ${repr(v)}, not a number`);
      flat[i * cols + j] = v;
    });
  });
  return { flat, rows, cols };
}

/** Row-major flat [rows, cols] back to rows. */
export function unflatten(flat: ArrayLike<number>, cols: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += cols)
    out.push(Array.from({ length: cols }, (_, j) => flat[i + j] as number));
  return out;
}

/** Code-point order (numpy's order for strings; JS's `<` compares UTF-16 units instead). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done || cb.done) return ca.done ? (cb.done ? 0 : -1) : 1;
    const d = (ca.value.codePointAt(0) as number) - (cb.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

/**
 * The distinct labels sorted as np.unique sorts them: numbers ascending, strings by code
 * point. Numbers and strings together are refused (numpy cannot order them either), as is NaN.
 */
export function uniqueSorted<T extends number | string>(values: Iterable<T>, who: string): T[] {
  const set = new Set<T>();
  for (const v of values) {
    if (typeof v === 'number' && Number.isNaN(v)) throw new RangeError(`${who}: labels contain NaN`);
    if (typeof v !== 'number' && typeof v !== 'string')
      throw new TypeError(`${who}: labels must be numbers or strings, got ${typeof v}`);
    set.add(v);
  }
  const all = [...set];
  const numbers = all.filter((v) => typeof v === 'number');
  if (numbers.length > 0 && numbers.length < all.length) {
    throw new TypeError(`${who}: labels mix numbers and strings (e.g. ${repr(numbers[0])}); use one type`);
  }
  return numbers.length > 0
    ? all.sort((a, b) => (a as number) - (b as number))
    : all.sort((a, b) => compareCodePoints(a as string, b as string));
}

/** One-hot rows as y (to_categorical's dummy_y), told apart from labels by their first entry. */
export type OneHotRows = readonly (readonly number[])[];

/** Rows of two or more columns: one-hot y. Rows of one column are a column of labels (numpy's (n, 1)). */
export function isOneHotRows(y: readonly unknown[]): y is OneHotRows {
  return Array.isArray(y[0]) && (y[0] as unknown[]).length !== 1;
}

/** y as one value per row: a column of labels (rows of one) unwrapped, anything else as given. */
export function columnOf<T>(y: readonly T[]): readonly T[] {
  const first: unknown = y[0];
  return Array.isArray(first) && first.length === 1 ? y.map((r) => (r as unknown as T[])[0] as T) : y;
}

/**
 * A classifier's y as Keras 2's scikit-learn wrapper reads it: labels (classes in numpy's
 * order, ids their indices), or one-hot rows (classes 0 … k−1, ids each row's 1). Rows that
 * are not one-hot are refused with the row.
 */
export function classIds(
  who: string,
  y: readonly unknown[],
): { classes: (number | string)[]; ids: Uint32Array; oneHot: boolean } {
  if (!isOneHotRows(y)) {
    const labels = columnOf(y);
    const classes = uniqueSorted<number | string>(labels as readonly (number | string)[], who);
    const index = new Map<number | string, number>(classes.map((c, i) => [c, i]));
    return {
      classes,
      ids: Uint32Array.from(labels as (number | string)[], (v) => index.get(v) as number),
      oneHot: false,
    };
  }
  const k = y[0]?.length ?? 0;
  if (k < 2) throw new RangeError(`${who}: one-hot rows need at least 2 columns, row 0 has ${k}`);
  const ids = new Uint32Array(y.length);
  y.forEach((row, r) => {
    const ones = Array.isArray(row) ? row.filter((v) => v === 1).length : 0;
    const zeros = Array.isArray(row) ? row.filter((v) => v === 0).length : 0;
    if (!Array.isArray(row) || row.length !== k || ones !== 1 || ones + zeros !== k) {
      throw new TypeError(
        `${who}: y row ${r} is ${JSON.stringify(row)}, not a one-hot row of ${k}; give class labels or one-hot rows (to_categorical)`,
      );
    }
    ids[r] = row.indexOf(1);
  });
  return { classes: Array.from({ length: k }, (_, i) => i), ids, oneHot: true };
}

/**
 * `params` with camelCase keys (snake_case accepted), each one of `valid`; an unknown one is
 * refused as scikit-learn's set_params refuses it, with the closest valid name.
 */
export function checkParams(
  who: string,
  params: Record<string, unknown>,
  valid: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = valid.includes(key) ? key : camelCase(key);
    if (!valid.includes(name)) {
      const guess = suggest(key, valid);
      throw new TypeError(
        `${who}.setParams: invalid parameter '${key}'${guess === undefined ? '' : `; did you mean '${guess}'?`} ` +
          `Valid parameters: ${valid.join(', ')}`,
      );
    }
    out[name] = value;
  }
  return out;
}
