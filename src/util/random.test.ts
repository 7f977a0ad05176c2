/**
 * The seeded generator against the published algorithms (test/fixtures/make_random.py:
 * xoshiro128** 1.1 seeded by splitmix32, transcribed in Python), and its distributions.
 */
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/random.json';
import { shuffledIndices } from '../data/prep.js';
import { createRng } from './random.js';

describe('createRng against the reference xoshiro128** (make_random.py)', () => {
  it('gives the reference u32 sequence for each seed, both halves of the seed included', () => {
    for (const [seed, want] of Object.entries(fixture.u32)) {
      const r = createRng(Number(seed));
      expect(
        Array.from({ length: want.length }, () => r.nextU32()),
        `seed ${seed}`,
      ).toEqual(want);
    }
  });

  it('builds next() from 53 bits of two draws, as the reference', () => {
    for (const [seed, want] of Object.entries(fixture.next)) {
      const r = createRng(Number(seed));
      expect(
        Array.from({ length: want.length }, () => r.next()),
        `seed ${seed}`,
      ).toEqual(want);
    }
  });

  it('draws normals with mean 0 and variance 1, truncated ones within ±2 (variance 0.7737)', () => {
    const r = createRng(99);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    let tsq = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
      const t = r.truncatedNormal();
      if (Math.abs(t) > 2) outside++;
      tsq += t * t;
    }
    // Standard errors: mean 1/√n ≈ 0.0032, variance √(2/n) ≈ 0.0045; allow 5 of them.
    expect(Math.abs(sum / n)).toBeLessThan(0.016);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.023);
    expect(outside).toBe(0);
    // Var of N(0,1) conditioned on |z| ≤ 2: 1 − 2·2φ(2)/(2Φ(2) − 1) = 0.77374.
    expect(Math.abs(tsq / n - 0.77374)).toBeLessThan(0.013);
  });
});

describe('createRng / shuffledIndices', () => {
  it('is reproducible per seed and uses both halves of the seed', () => {
    const a = createRng(123);
    const b = createRng(123);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(createRng(1).nextU32()).not.toBe(createRng(2 ** 32 + 1).nextU32());
    expect(Array.from(shuffledIndices(10, 4))).toEqual(Array.from(shuffledIndices(10, 4)));
    expect(Array.from(shuffledIndices(10, 4)).sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => createRng(0.5)).toThrow(/seed 0.5 must be a safe integer/);
  });

  it('draws uniformly: next() has mean 1/2, and all 6 orders of 3 items are equally likely', () => {
    const r = createRng(2024);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r.next();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    // Standard error of the mean: √(1/12)/√100000 ≈ 0.0009; allow 5 of them.
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.0046);
    const orders = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const key = r.shuffle([0, 1, 2]).join('');
      orders.set(key, (orders.get(key) ?? 0) + 1);
    }
    expect(orders.size).toBe(6);
    // Each count ~ Binomial(60000, 1/6): mean 10000, sd ≈ 91; allow 5.5 sd.
    for (const count of orders.values()) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});
