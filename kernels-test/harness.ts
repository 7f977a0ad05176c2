/**
 * The comparison every kernel test uses, and small assertion helpers that work the same in
 * Node and in a browser page (the cases run in both, outside any test framework).
 *
 * A value matches its expectation when |a − e| ≤ atol + rtol·|e|; NaN matches only NaN and
 * an infinity only the infinity of the same sign.
 */

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** For results that must be bit-for-bit what float64 rounds to (copies, integer data). */
export const EXACT: Tolerance = { atol: 0, rtol: 0 };

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  /** The tolerance at this element: atol + rtol·|expected| (NaN for NaN/Inf mismatches). */
  allowed: number;
}

export interface Comparison {
  ok: boolean;
  mismatches: number;
  first?: Mismatch;
  /** The mismatch with the largest |a − e| / allowed. */
  worst?: Mismatch;
}

export function closeEnough(actual: number, expected: number, tol: Tolerance): boolean {
  if (Number.isNaN(expected) || Number.isNaN(actual)) {
    return Number.isNaN(expected) && Number.isNaN(actual);
  }
  if (!Number.isFinite(expected) || !Number.isFinite(actual)) return actual === expected;
  return Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): Comparison {
  if (actual.length !== expected.length) {
    throw new KernelMismatchError(
      `length mismatch: got ${actual.length} values, expected ${expected.length}`,
    );
  }
  let mismatches = 0;
  let first: Mismatch | undefined;
  let worst: Mismatch | undefined;
  let worstRatio = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (closeEnough(a, e, tol)) continue;
    mismatches++;
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    const m: Mismatch = { index: i, actual: a, expected: e, allowed };
    first ??= m;
    const ratio = Number.isFinite(a - e) ? Math.abs(a - e) / Math.max(allowed, Number.MIN_VALUE) : Infinity;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = m;
    }
  }
  return { ok: mismatches === 0, mismatches, first, worst };
}

export class KernelMismatchError extends Error {
  override name = 'KernelMismatchError';
}

function describe(m: Mismatch): string {
  const diff = m.actual - m.expected;
  const detail = Number.isFinite(diff)
    ? `|diff| ${Math.abs(diff).toExponential(3)} > allowed ${m.allowed.toExponential(3)}`
    : 'NaN/Inf mismatch';
  return `index ${m.index}: got ${m.actual}, expected ${m.expected} (${detail})`;
}

/** Throws a KernelMismatchError naming the first and worst failing index and values. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what: string,
): void {
  const c = compareArrays(actual, expected, tol);
  if (c.ok || !c.first || !c.worst) return;
  throw new KernelMismatchError(
    `${what}: ${c.mismatches} of ${expected.length} values differ ` +
      `(atol ${tol.atol}, rtol ${tol.rtol}); first at ${describe(c.first)}; ` +
      `worst at ${describe(c.worst)}`,
  );
}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    throw new KernelMismatchError(`${what}: got ${String(actual)}, expected ${String(expected)}`);
  }
}

/**
 * Runs `fn` and requires it to throw (or reject) an error of class `type` whose message
 * matches every pattern. Returns the error for further checks.
 */
export async function expectError<E extends Error>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  patterns: readonly RegExp[],
  what: string,
): Promise<E> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined)
    throw new KernelMismatchError(`${what}: expected ${type.name}, nothing was thrown`);
  if (!(caught instanceof type)) {
    throw new KernelMismatchError(`${what}: expected ${type.name}, got ${String(caught)}`);
  }
  for (const p of patterns) {
    if (!p.test(caught.message)) {
      throw new KernelMismatchError(`${what}: message does not match ${p}: "${caught.message}"`);
    }
  }
  return caught;
}

/** A seeded generator (mulberry32), so both runtimes test the same numbers. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi), rounded to f32 (the reference sees exactly what the GPU sees). */
export function uniformF32(n: number, lo: number, hi: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** A sample's size, mean, (biased) variance and standard deviation, minimum and maximum. */
export function sampleStats(v: ArrayLike<number>): {
  n: number;
  mean: number;
  variance: number;
  std: number;
  min: number;
  max: number;
} {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += ((v[i] as number) - mean) ** 2;
  const variance = q / v.length;
  return { n: v.length, mean, variance, std: Math.sqrt(variance), min, max };
}
