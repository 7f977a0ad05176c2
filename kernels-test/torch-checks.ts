/**
 * What the PyTorch-style front-end's vitest files share: float32 comparisons against
 * PyTorch's fixtures, and small readers (the deck's model is in models.ts, for the browser
 * runner too).
 */
import { expect } from 'vitest';
import type { Tensor } from '../src/torch/index.js';

/** A number or nested arrays of numbers, flattened row-major. */
export function flat(v: unknown): number[] {
  return typeof v === 'number' ? [v] : ((v as unknown[]).flat(Infinity) as number[]);
}

/**
 * |got − expected| ≤ atol + rtol·|expected| for every value, the values outside listed on
 * failure. Defaults: float32 on both sides with other summation orders, rtol 2e-6 (about 17
 * ulps), atol 1e-6 for values that cancel to near zero.
 */
export function expectNear(
  actual: ArrayLike<number>,
  expected: readonly number[],
  what: string,
  rtol = 2e-6,
  atol = 1e-6,
): void {
  expect(actual.length, `${what}: number of values`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) bad.push(`[${i}] got ${a}, expected ${e}`);
  }
  expect(bad, `${what}: values outside |got − expected| ≤ ${atol} + ${rtol}·|expected|`).toEqual([]);
}

/** The value, or a failure naming what is missing (instead of a non-null assertion). */
export function must<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new Error(`${what} is missing`);
  return v;
}

/** A tensor's values as numbers. */
export async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}
