/**
 * Refusing non-finite weights. A weight file or a setWeights() call with NaN or ±Inf in it
 * is corrupt (Keras would load it; a model that silently predicts NaN is worse), so every
 * path that writes host weights checks them first and names the weight and the first bad
 * element.
 */

export class NonFiniteWeightError extends RangeError {
  override name = 'NonFiniteWeightError';
  constructor(
    message: string,
    /** The weight's name, e.g. "dense_1/kernel". */
    readonly weight: string,
    /** Flat index of its first non-finite value. */
    readonly index: number,
  ) {
    super(message);
  }
}

/** The flat index of the first NaN/±Inf in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * Throws a NonFiniteWeightError if `data` holds a NaN or ±Inf:
 * `${what}: weight "dense/kernel" has NaN at index 3 (of 12 values); ...`.
 */
export function assertFiniteWeight(what: string, name: string, data: ArrayLike<number>): void {
  const i = firstNonFinite(data);
  if (i < 0) return;
  throw new NonFiniteWeightError(
    `${what}: weight "${name}" has ${String(data[i])} at index ${i} (of ${data.length} values); ` +
      'weights must be finite (a corrupt file, or a model saved after its training diverged). ' +
      'Nothing was changed.',
    name,
    i,
  );
}
