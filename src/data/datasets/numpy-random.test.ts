/**
 * numpy's RandomState(seed).shuffle(arange(n)) against numpy's own output
 * (test/fixtures/make_datasets.py → test/fixtures/datasets.json): whole permutations up to
 * n = 1000, and for Keras's California housing size (20,640) the first and last 64 entries
 * and Σ (i + 1)·p[i], exact in a double.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Mt19937, randomStatePermutation } from './numpy-random.js';

interface Shuffle {
  n: number;
  seed: number;
  perm?: number[];
  head?: number[];
  tail?: number[];
  weighted_sum?: number;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/datasets.json', import.meta.url), 'utf8'),
) as { shuffles: Shuffle[] };

describe('randomStatePermutation', () => {
  it.each(fixture.shuffles.map((s) => [s.n, s.seed, s] as const))(
    'n %i, seed %i is numpy’s',
    (n, seed, s) => {
      const p = Array.from(randomStatePermutation(n, seed));
      if (s.perm) {
        expect(p).toEqual(s.perm);
      } else {
        expect(p.slice(0, 64)).toEqual(s.head);
        expect(p.slice(-64)).toEqual(s.tail);
        expect(p.reduce((sum, v, i) => sum + (i + 1) * v, 0)).toBe(s.weighted_sum);
      }
    },
  );

  it('gives the reference MT19937 stream for init_genrand(5489)', () => {
    // mt19937ar.c's default seed: its first output is 3499211612 (Matsumoto & Nishimura).
    expect(new Mt19937(5489).nextUint32()).toBe(3499211612);
  });

  it('refuses seeds numpy refuses', () => {
    expect(() => randomStatePermutation(3, -1)).toThrow('seed -1 must be an integer between 0 and 2**32 - 1');
    expect(() => randomStatePermutation(3, 2 ** 32)).toThrow(RangeError);
    expect(() => randomStatePermutation(3, 1.5)).toThrow(RangeError);
  });
});
