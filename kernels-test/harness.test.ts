/** The comparison rule itself, without a GPU. */
import { describe, expect, it } from 'vitest';
import { closeEnough, compareArrays, expectClose, KernelMismatchError, rng } from './harness.js';

describe('closeEnough', () => {
  const tol = { atol: 1e-6, rtol: 1e-3 };
  it('accepts |a-e| <= atol + rtol*|e| and refuses just beyond it', () => {
    expect(closeEnough(1000.9, 1000, tol)).toBe(true); // allowed 1.000001
    expect(closeEnough(1001.01, 1000, tol)).toBe(false);
    expect(closeEnough(5e-7, 0, tol)).toBe(true);
    expect(closeEnough(2e-6, 0, tol)).toBe(false);
  });
  it('matches NaN only with NaN and an infinity only with the same sign', () => {
    expect(closeEnough(NaN, NaN, tol)).toBe(true);
    expect(closeEnough(NaN, Infinity, tol)).toBe(false);
    expect(closeEnough(Infinity, NaN, tol)).toBe(false);
    expect(closeEnough(0, NaN, tol)).toBe(false);
    expect(closeEnough(Infinity, Infinity, tol)).toBe(true);
    expect(closeEnough(-Infinity, Infinity, tol)).toBe(false);
    expect(closeEnough(3.4e38, Infinity, { atol: 1e300, rtol: 1 })).toBe(false);
  });
});

describe('compareArrays / expectClose', () => {
  it('reports the count, the first and the worst mismatch', () => {
    const c = compareArrays([1, 2.5, 3, 10], [1, 2, 3, 4], { atol: 0.1, rtol: 0 });
    expect(c.ok).toBe(false);
    expect(c.mismatches).toBe(2);
    expect(c.first?.index).toBe(1);
    expect(c.worst?.index).toBe(3);
  });
  it('throws with index and values in the message', () => {
    expect(() => expectClose([1, 2, 4], [1, 2, 3], { atol: 0, rtol: 0 }, 'k')).toThrow(
      /k: 1 of 3 values differ.*index 2: got 4, expected 3/,
    );
    expect(() => expectClose([1], [1, 2], { atol: 0, rtol: 0 }, 'k')).toThrow(KernelMismatchError);
  });
});

describe('rng', () => {
  it('is deterministic and uniform on [0, 1)', () => {
    const a = rng(7);
    const b = rng(7);
    const xs = Array.from({ length: 10000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // σ of the mean: 0.0029
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});
