/** Small helpers the op records share. */
import type { ColumnCopy } from '../../kernels/step.js';

/** a[i], NaN past the end (the float64 references read with it). */
export function at(a: ArrayLike<number>, i: number): number {
  return a[i] ?? NaN;
}

/** A column copy of the whole width of [rows, width] (gradient copies and accumulations). */
export function wholeCopy(rows: number, width: number, accumulate: boolean): ColumnCopy {
  return { rows, width, srcCols: width, srcOffset: 0, dstCols: width, dstOffset: 0, accumulate };
}
