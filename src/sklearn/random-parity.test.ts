/**
 * A random_state gives scikit-learn's draws: numpy's legacy RandomState (random_sample,
 * randint, permutation, the polar normal), and what scikit-learn 1.2 cuts and samples with it
 * (KFold and StratifiedKFold with shuffle, ShuffleSplit, sample_without_replacement's three
 * methods, RandomizedSearchCV's candidates over lists and scipy distributions), each equal to
 * test/fixtures/sklearn-random.json (make_sklearn_random.py).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { numpyRandomState } from '../data/datasets/numpy-random.js';
import { kFold, stratifiedKFold } from '../data/prep.js';
import {
  logUniform,
  randint,
  RandomizedSearchCV,
  sampleWithoutReplacement,
  uniform,
} from './model-selection.js';
import { ShuffleSplit, trainTestSplit } from './split.js';
import type { Estimator } from './types.js';

interface Fixture {
  numpy: {
    seed: number;
    random_sample: number[];
    randint_0_10: number[];
    randint_0_1000003: number[];
    permutation_9: number[];
    randint_0_1e10: number[];
    standard_normal: number[];
  }[];
  kfold: { n: number; n_splits: number; random_state: number; test: number[][] }[];
  stratified_kfold: { y: number[]; n_splits: number; random_state: number; test: number[][] }[];
  shuffle_split: {
    n: number;
    n_splits: number;
    test_size: number;
    random_state: number;
    splits: number[][][];
  }[];
  sample_without_replacement: {
    n_population: number;
    n_samples: number;
    random_state: number;
    out: number[];
  }[];
  parameter_sampler: {
    name: 'lists' | 'lists_all' | 'mixed';
    n_iter: number;
    random_state: number;
    params: Record<string, unknown>[];
  }[];
  parameter_sampler_spaces: { lists: Record<string, unknown[]> };
  train_test_split: {
    X: number[][];
    y: string[];
    cases: {
      test_size: number | null;
      train_size: number | null;
      random_state: number;
      x_train: number[][];
      x_test: number[][];
      y_train: string[];
      y_test: string[];
    }[];
  };
}

const F = JSON.parse(
  readFileSync(new URL('../../test/fixtures/sklearn-random.json', import.meta.url), 'utf8'),
) as Fixture;

describe("numpy's RandomState", () => {
  for (const d of F.numpy) {
    it(`seed ${d.seed}: random_sample, randint, permutation and standard_normal`, () => {
      const rng = numpyRandomState(d.seed);
      expect(Array.from({ length: 4 }, () => rng.next())).toEqual(d.random_sample);
      expect(Array.from({ length: 6 }, () => rng.int(10))).toEqual(d.randint_0_10);
      expect(Array.from({ length: 3 }, () => rng.int(1000003))).toEqual(d.randint_0_1000003);
      expect(Array.from(rng.shuffle(Uint32Array.from({ length: 9 }, (_, i) => i)))).toEqual(d.permutation_9);
      // Ranges over 2³²: numpy's 64-bit masked rejection.
      expect(Array.from({ length: 3 }, () => rng.int(1e10))).toEqual(d.randint_0_1e10);
      expect(Array.from({ length: 5 }, () => rng.normal())).toEqual(d.standard_normal);
    });
  }
});

it('refuses seeds and sample sizes numpy and scikit-learn refuse', () => {
  expect(() => numpyRandomState(1.5)).toThrow('random_state 1.5 must be a safe integer');
  expect(() => new ShuffleSplit({ randomState: 2 ** 60 })).toThrow('must be a safe integer');
  expect(() => sampleWithoutReplacement(3, 5, numpyRandomState(0))).toThrow(
    'sampleWithoutReplacement: need integers 0 ≤ k ≤ n, got n 3, k 5',
  );
  expect(sampleWithoutReplacement(0, 0, numpyRandomState(0))).toEqual([]);
});

describe("scikit-learn's splitters with shuffle and a random_state", () => {
  it('KFold', () => {
    for (const f of F.kfold) {
      const folds = kFold(f.n, { folds: f.n_splits, shuffle: true, seed: f.random_state });
      expect(folds.map((s) => Array.from(s.test))).toEqual(f.test.map((t) => [...t].sort((a, b) => a - b)));
    }
  });

  it('StratifiedKFold', () => {
    for (const f of F.stratified_kfold) {
      const folds = stratifiedKFold(f.y, { folds: f.n_splits, shuffle: true, seed: f.random_state });
      expect(folds.map((s) => Array.from(s.test))).toEqual(f.test);
    }
  });

  it('ShuffleSplit', () => {
    for (const f of F.shuffle_split) {
      const s = new ShuffleSplit({ nSplits: f.n_splits, testSize: f.test_size, randomState: f.random_state });
      expect(s.split(f.n)).toEqual(f.splits);
    }
  });
});

describe('trainTestSplit', () => {
  const { X, y, cases } = F.train_test_split;

  it("gives scikit-learn's rows for a random_state", () => {
    for (const c of cases) {
      const split = trainTestSplit(X, y, {
        ...(c.test_size !== null ? { test_size: c.test_size } : {}),
        ...(c.train_size !== null ? { train_size: c.train_size } : {}),
        random_state: c.random_state,
      });
      expect(split).toEqual([c.x_train, c.x_test, c.y_train, c.y_test]);
    }
  });

  it('keeps order without shuffle, keeps class shares with stratify, refuses bad input', () => {
    expect(trainTestSplit([1, 2, 3, 4, 5], { testSize: 2, shuffle: false })).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    const labels = [...Array(40).keys()].map((i) => (i % 4 === 0 ? 'rare' : 'common'));
    const rows = labels.map((_, i) => [i]);
    const [xa, xb, ya, yb] = trainTestSplit(rows, labels, {
      testSize: 0.25,
      stratify: labels,
      randomState: 3,
    });
    // 10 of 40 rows are rare and 10 rows test: 2.5 rare expected, so 2 or 3 (the rest train).
    const rareTest = yb.filter((v) => v === 'rare').length;
    expect([2, 3]).toContain(rareTest);
    expect(ya.filter((v) => v === 'rare').length).toBe(10 - rareTest);
    expect([...xa, ...xb].map((r) => r[0]).sort((a, b) => (a as number) - (b as number))).toEqual([
      ...Array(40).keys(),
    ]);
    xa.forEach((r, i) => expect(labels[r[0] as number]).toBe(ya[i]));
    expect(() => trainTestSplit([1, 2, 3], [1, 2])).toThrow('trainTestSplit: X has 3 rows, y has 2');
    expect(() => trainTestSplit([1, 2, 3], { tset_size: 1 } as never)).toThrow(/test_size|testSize/);
  });
});

describe("scikit-learn's sampling", () => {
  it('sample_without_replacement: permutation, tracking selection and reservoir sampling', () => {
    for (const f of F.sample_without_replacement)
      expect(sampleWithoutReplacement(f.n_population, f.n_samples, numpyRandomState(f.random_state))).toEqual(
        f.out,
      );
  });

  /** An estimator that only has to name its parameters. */
  const named = (names: string[]): Estimator => ({
    fit() {
      return this;
    },
    getParams: () => Object.fromEntries(names.map((n) => [n, undefined])),
    setParams() {
      return this;
    },
    clone() {
      return this;
    },
  });

  it("RandomizedSearchCV's candidates are ParameterSampler's", () => {
    const mixed = {
      lr: logUniform(1e-4, 1e-1),
      n_hidden: randint(1, 10),
      activation: ['relu', 'tanh', 'sigmoid'],
      dropout: uniform(0, 0.5),
    };
    for (const f of F.parameter_sampler) {
      const space = f.name === 'mixed' ? mixed : F.parameter_sampler_spaces.lists;
      const search = new RandomizedSearchCV(named(Object.keys(space)), space, {
        nIter: f.n_iter,
        randomState: f.random_state,
      });
      const got = (search as unknown as { candidates(): Record<string, unknown>[] }).candidates();
      expect(got.map((p) => Object.keys(p).sort())).toEqual(f.params.map((p) => Object.keys(p).sort()));
      got.forEach((p, i) => {
        const want = f.params[i] as Record<string, unknown>;
        for (const [k, v] of Object.entries(want)) {
          // scipy's a·(b/a)^u goes through C's pow: equal but for the last bit or two.
          if (k === 'lr' && f.name === 'mixed')
            expect(Math.abs((p[k] as number) / (v as number) - 1)).toBeLessThan(1e-15);
          else expect(p[k]).toEqual(v);
        }
      });
      expect(got).toHaveLength(f.params.length);
    }
  });
});
