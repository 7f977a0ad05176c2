/**
 * Data preparation against independent values: hand computations, and outputs printed by
 * scikit-learn 1.2.1 (StandardScaler, MinMaxScaler, KFold, StratifiedKFold, train_test_split
 * sizes and stratified per-class counts) on the same inputs. Scaled values are float32
 * outputs of float64 math, so they are compared with a 1e-6 relative tolerance.
 */
import { describe, expect, it } from 'vitest';
import {
  kFold,
  MinMaxScaler,
  minMaxScaler,
  standardScaler,
  stratifiedKFold,
  takeRows,
  toCategorical,
  trainTestSplit,
  type Split,
} from './prep.js';
import { createRng } from '../util/random.js';

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-6, atol = 1e-7): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`index ${i}: got ${a}, expected ${e}`);
    }
  }
}

describe('toCategorical', () => {
  it('one-hot encodes, with numClasses defaulting to max + 1', () => {
    expect(Array.from(toCategorical([2, 0, 1]))).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(Array.from(toCategorical(Uint8Array.from([1, 1]), 4))).toEqual([0, 1, 0, 0, 0, 1, 0, 0]);
    expect(toCategorical([])).toEqual(new Float32Array(0));
  });

  it('names the index and value of a bad label', () => {
    expect(() => toCategorical([0, 1, -1])).toThrow(/label -1 at index 2 is not a class id/);
    expect(() => toCategorical([0, 1.5])).toThrow(/label 1.5 at index 1 is not a class id/);
    expect(() => toCategorical([NaN])).toThrow(/label NaN at index 0/);
    expect(() => toCategorical([0, 3, 1], 3)).toThrow(
      /label 3 at index 1 is out of range for numClasses 3 \(ids 0\.\.2\)/,
    );
    expect(() => toCategorical([0], 0)).toThrow(/numClasses 0 must be a positive integer/);
  });
});

// Columns: varied; constant 0.1 (its mean rounds below 0.1); constant 5; constant 1e8/3;
// varied with negatives.
const X = [
  [1.0, 0.1, 5.0, 1e8 / 3, -2.0],
  [2.0, 0.1, 5.0, 1e8 / 3, 7.5],
  [4.0, 0.1, 5.0, 1e8 / 3, 0.25],
  [8.0, 0.1, 5.0, 1e8 / 3, 3.0],
  [16.0, 0.1, 5.0, 1e8 / 3, -1.0],
  [3.0, 0.1, 5.0, 1e8 / 3, 2.0],
  [0.5, 0.1, 5.0, 1e8 / 3, 0.0],
];
const flat = X.flat();

describe('standardScaler', () => {
  it('matches scikit-learn: population std, constant columns get scale 1', () => {
    const s = standardScaler().fit(flat, 5);
    // Column 0 by hand: Σx = 34.5, Σx² = 350.25 → mean 34.5/7, var 350.25/7 − mean².
    expect(s.mean[0]).toBeCloseTo(34.5 / 7, 14);
    expect(s.variance[0]).toBeCloseTo(350.25 / 7 - (34.5 / 7) ** 2, 12);
    expectClose(s.mean, [4.928571428571429, 0.1, 5.0, 3.3333333333333336e7, 1.3928571428571428], 1e-15, 0);
    expectClose(s.variance, [25.744897959183675, 0, 0, 0, 8.676020408163266], 1e-14, 1e-20);
    expectClose(s.scale, [5.073943038622297, 1, 1, 1, 2.945508514359323], 1e-14, 0);
    expect(s.mean).toBeInstanceOf(Float64Array);
    expect(s.nSamplesSeen).toBe(7);
    const z = s.transform(flat);
    expect(z).toBeInstanceOf(Float32Array);
    const col0 = [
      -0.7742639991556024, -0.5771786175523581, -0.18300785434586969, 0.6053336720671072, 2.182016724893061,
      -0.38009323594911393, -0.8728066899572244,
    ];
    const col4 = [
      -1.1518748380176123, 2.0733747084317025, -0.38799994543751148, 0.54562492327150058,
      -0.81237488575978967, 0.20612497101367799, -0.47287493350196713,
    ];
    expectClose(
      Array.from({ length: 7 }, (_, r) => z[r * 5] as number),
      col0,
    );
    expectClose(
      Array.from({ length: 7 }, (_, r) => z[r * 5 + 4] as number),
      col4,
    );
    // Constant columns come out (near) zero: x − mean with scale 1.
    for (let r = 0; r < 7; r++)
      for (const c of [1, 2, 3]) expect(Math.abs(z[r * 5 + c] as number)).toBeLessThan(1e-8);
  });

  it('standardized columns have mean 0 and population std 1; inverseTransform restores x', () => {
    const s = standardScaler();
    const z = s.fitTransform(flat, 5);
    for (const c of [0, 4]) {
      let m = 0;
      let v = 0;
      for (let r = 0; r < 7; r++) m += (z[r * 5 + c] as number) / 7;
      for (let r = 0; r < 7; r++) v += ((z[r * 5 + c] as number) - m) ** 2 / 7;
      expect(Math.abs(m)).toBeLessThan(1e-7);
      expect(v).toBeCloseTo(1, 6);
    }
    const back = s.inverseTransform(z);
    const f32 = Float32Array.from(flat);
    expectClose(back, f32, 1e-6, 1e-6);
  });

  it('withMean / withStd off', () => {
    const x = [1, 10, 3, 30];
    const noMean = standardScaler({ withMean: false }).fit(x, 2);
    expectClose(noMean.transform(x), [1, 1, 3, 3]); // each column divided by its std (1, 10)
    const noStd = standardScaler({ withStd: false }).fit(x, 2);
    expectClose(noStd.scale, [1, 1]);
    expectClose(noStd.transform(x), [-1, -10, 1, 10]);
  });

  it('checks its input', () => {
    expect(() => standardScaler().mean).toThrow(/StandardScaler is not fitted yet/);
    expect(() => standardScaler().fit([1, 2, 3], 2)).toThrow(/3 values are not whole rows of 2 columns/);
    expect(() => standardScaler().fit([], 2)).toThrow(/no rows to fit/);
    expect(() => standardScaler().fit([1, 2, NaN, 4], 2)).toThrow(
      /x\[1, 0\] is NaN; fit needs finite values/,
    );
    expect(() => standardScaler().fit([1, 2], 2).transform([1, 2, 3])).toThrow(/StandardScaler.transform/);
  });
});

describe('minMaxScaler', () => {
  it('matches scikit-learn with featureRange [-1, 1]; a constant column maps to the range min', () => {
    const m = minMaxScaler({ featureRange: [-1, 1] }).fit(flat, 5);
    expectClose(m.dataMin, [0.5, 0.1, 5, 1e8 / 3, -2], 0, 0);
    expectClose(m.dataMax, [16, 0.1, 5, 1e8 / 3, 7.5], 0, 0);
    expectClose(m.scale, [0.12903225806451613, 2, 2, 2, 0.21052631578947367], 1e-15, 0);
    expectClose(m.min, [-1.064516129032258, -1.2, -11, -66666667.666666664, -0.57894736842105265], 1e-15, 0);
    const t = m.transform(flat);
    const expected = [
      [-0.9354838709677419, -1, -1, -1, -1],
      [-0.8064516129032258, -1, -1, -1, 1],
      [-0.5483870967741935, -1, -1, -1, -0.5263157894736843],
      [-0.032258064516129, -1, -1, -1, 0.05263157894736836],
      [1, -1, -1, -1, -0.7894736842105263],
      [-0.6774193548387096, -1, -1, -1, -0.1578947368421053],
      [-1, -1, -1, -1, -0.5789473684210527],
    ];
    expectClose(t, expected.flat());
    // New data outside the fitted range goes outside [-1, 1] unless clipped.
    const row = [20, 0.2, 4, 0, 10];
    expectClose(m.transform(row), [1.5161290322580645, -0.8, -3, -66666667.666666664, 1.5263157894736841]);
    const clipped = new MinMaxScaler({ featureRange: [-1, 1], clip: true }).fit(flat, 5).transform(row);
    expectClose(clipped, [1, -0.8, -1, -1, 1]);
  });

  it('defaults to [0, 1] (the course’s /255 for pixels) and inverts', () => {
    const pixels = [0, 255, 51, 102];
    const m = minMaxScaler().fit(pixels, 1);
    expectClose(m.transform(pixels), [0, 1, 0.2, 0.4]);
    expectClose(m.inverseTransform([0.5, 1]), [127.5, 255]);
    expect(() => minMaxScaler({ featureRange: [1, 1] })).toThrow(
      /featureRange \[1, 1\] must be finite with min < max/,
    );
  });
});

describe('takeRows', () => {
  it('gathers rows into the same typed-array type', () => {
    const x = Uint8Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22]);
    const r = takeRows(x, 3, [2, 0, 2]);
    expect(r).toBeInstanceOf(Uint8Array);
    expect(Array.from(r)).toEqual([20, 21, 22, 0, 1, 2, 20, 21, 22]);
    const f = takeRows(Float64Array.from([0.5, -1, 2.25]), 1, Uint32Array.from([2, 1]));
    expect(f).toBeInstanceOf(Float64Array);
    expect(Array.from(f)).toEqual([2.25, -1]);
    expect(() => takeRows(x, 3, [3])).toThrow(/rows\[0\] = 3 is not a row index in \[0, 3\)/);
    expect(() => takeRows(x, 4, [0])).toThrow(/9 values are not whole rows of 4/);
  });
});

function expectPartition(split: Split, n: number): void {
  const seen = new Uint8Array(n);
  for (const i of [...split.train, ...split.test]) {
    expect(i).toBeLessThan(n);
    seen[i] = (seen[i] as number) + 1;
  }
  expect(seen.every((s) => s === 1)).toBe(true);
}

function classCounts(labels: ArrayLike<number>, rows: ArrayLike<number>, classes: number): number[] {
  const c = new Array<number>(classes).fill(0);
  for (let i = 0; i < rows.length; i++) {
    const y = labels[rows[i] as number] as number;
    c[y] = (c[y] as number) + 1;
  }
  return c;
}

// 25 labels: class 0 ×14, class 1 ×7, class 2 ×4.
const Y25 = [0, 1, 2, 0, 0, 1, 0, 0, 1, 2, 0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 0, 2, 0, 1, 0];

describe('trainTestSplit', () => {
  it('gives scikit-learn’s sizes: ceil(testSize·n) test rows, floor(trainSize·n) train rows', () => {
    const cases: [number, { testSize?: number; trainSize?: number }, number, number][] = [
      [150, { testSize: 0.2 }, 120, 30],
      [10, {}, 7, 3],
      [7, { testSize: 0.25 }, 5, 2],
      [101, { testSize: 0.33 }, 67, 34],
      [50, { testSize: 7 }, 43, 7],
      [1000, { testSize: 0.1 }, 900, 100],
      [10, { trainSize: 0.65 }, 6, 4],
      [10, { trainSize: 3, testSize: 2 }, 3, 2],
    ];
    for (const [n, opts, nTrain, nTest] of cases) {
      const s = trainTestSplit(n, { ...opts, seed: 1 });
      expect([n, s.train.length, s.test.length]).toEqual([n, nTrain, nTest]);
      if (nTrain + nTest === n) expectPartition(s, n);
    }
  });

  it('is reproducible with a seed, differs across seeds, and keeps order without shuffle', () => {
    const a = trainTestSplit(100, { seed: 42 });
    const b = trainTestSplit(100, { seed: 42 });
    const c = trainTestSplit(100, { seed: 43 });
    expect(a).toEqual(b);
    expect(Array.from(a.test)).not.toEqual(Array.from(c.test));
    const d = trainTestSplit(10, { testSize: 0.3, shuffle: false });
    expect(Array.from(d.train)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(Array.from(d.test)).toEqual([7, 8, 9]);
  });

  it('stratified: per-class counts as scikit-learn, and within one row of the exact share', () => {
    const s = trainTestSplit(25, { testSize: 0.3, stratify: Y25, seed: 3 });
    expectPartition(s, 25);
    expect(classCounts(Y25, s.train, 3)).toEqual([9, 5, 3]);
    expect(classCounts(Y25, s.test, 3)).toEqual([5, 2, 1]);

    const rng = createRng(7);
    const labels = Array.from({ length: 997 }, () => {
      const u = rng.next();
      return u < 0.6 ? 0 : u < 0.85 ? 1 : u < 0.95 ? 2 : 3;
    });
    const totals = classCounts(
      labels,
      Array.from({ length: 997 }, (_, i) => i),
      4,
    );
    for (const seed of [1, 2, 3]) {
      const t = trainTestSplit(997, { testSize: 0.2, stratify: labels, seed });
      expectPartition(t, 997);
      expect(t.test.length).toBe(200);
      classCounts(labels, t.test, 4).forEach((k, c) => {
        expect(Math.abs(k - ((totals[c] as number) * 200) / 997)).toBeLessThan(1);
      });
    }
    // Non-integer class values are fine for stratification.
    const f = trainTestSplit(6, { testSize: 2, stratify: [0.5, 0.5, 0.5, -1, -1, -1], seed: 9 });
    expect(f.test.length).toBe(2);
    expect(new Set(Array.from(f.test, (i) => (i < 3 ? 'a' : 'b'))).size).toBe(2);
  });

  it('rejects impossible requests with clear errors', () => {
    expect(() => trainTestSplit(10, { testSize: 1.5 })).toThrow(
      /testSize 1.5 must be a fraction in \(0, 1\)/,
    );
    expect(() => trainTestSplit(10, { testSize: 10 })).toThrow(/row count in \[1, 9\] for 10 rows/);
    expect(() => trainTestSplit(10, { testSize: 0.99 })).toThrow(/train set of 10 rows would be empty/);
    expect(() => trainTestSplit(10, { trainSize: 6, testSize: 5 })).toThrow(
      /6 train \+ 5 test rows exceed the 10/,
    );
    expect(() => trainTestSplit(4, { stratify: [0, 0, 0, 1] })).toThrow(
      /least populated class .* has 1 member/,
    );
    expect(() => trainTestSplit(4, { stratify: [0, 0, 1, 1], shuffle: false })).toThrow(
      /stratify needs shuffle/,
    );
    expect(() => trainTestSplit(4, { stratify: [0, 0, 1] })).toThrow(/stratify has 3 labels for 4 rows/);
    expect(() => trainTestSplit(6, { stratify: [0, 0, 1, 1, 2, 2], testSize: 2 })).toThrow(
      /cannot each hold all 3 classes/,
    );
  });
});

describe('kFold', () => {
  it('cuts scikit-learn’s consecutive folds, the first n % k one larger', () => {
    const folds = kFold(13);
    expect(folds.map((f) => Array.from(f.test))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9, 10],
      [11, 12],
    ]);
    for (const f of folds) expectPartition(f, 13);
    expect(Array.from(folds[3]?.train ?? [])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12]);
  });

  it('shuffled: every row tested exactly once, same sizes, reproducible per seed', () => {
    const a = kFold(23, { folds: 4, shuffle: true, seed: 5 });
    expect(a.map((f) => f.test.length)).toEqual([6, 6, 6, 5]);
    const tested = a.flatMap((f) => Array.from(f.test)).sort((p, q) => p - q);
    expect(tested).toEqual(Array.from({ length: 23 }, (_, i) => i));
    for (const f of a) expectPartition(f, 23);
    expect(kFold(23, { folds: 4, shuffle: true, seed: 5 })).toEqual(a);
    expect(kFold(23, { folds: 4, shuffle: true, seed: 6 })).not.toEqual(a);
    expect(a.map((f) => Array.from(f.test))).not.toEqual(
      kFold(23, { folds: 4 }).map((f) => Array.from(f.test)),
    );
  });

  it('checks folds', () => {
    expect(() => kFold(10, { folds: 1 })).toThrow(/folds 1 must be an integer ≥ 2/);
    expect(() => kFold(3, { folds: 5 })).toThrow(/5 folds need at least 5 rows, got 3/);
  });
});

describe('stratifiedKFold', () => {
  it('matches scikit-learn’s StratifiedKFold folds without shuffle', () => {
    const y = [2, 0, 1, 0, 2, 2, 1, 0, 0, 2, 1, 2, 0, 2];
    expect(stratifiedKFold(y, { folds: 3 }).map((f) => Array.from(f.test))).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
      [10, 11, 12, 13],
    ]);
    // Classes are dealt in order of first appearance (1, 0, 2 for z), as scikit-learn does.
    const z = [1, 1, 0, 2, 0, 1, 2, 2, 0, 1, 0];
    expect(stratifiedKFold(z, { folds: 3 }).map((f) => Array.from(f.test))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 8],
      [7, 9, 10],
    ]);
    const w = [2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 2, 0, 1];
    expect(stratifiedKFold(w, { folds: 3 }).map((f) => Array.from(f.test))).toEqual([
      [0, 1, 3, 5, 6],
      [2, 4, 7, 9],
      [8, 10, 11, 12],
    ]);
    const folds = stratifiedKFold(Y25, { folds: 4 });
    expect(folds.map((f) => Array.from(f.test))).toEqual([
      [0, 1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10, 12, 13],
      [11, 14, 15, 16, 17, 18],
      [19, 20, 21, 22, 23, 24],
    ]);
    expect(folds.map((f) => classCounts(Y25, f.test, 3))).toEqual([
      [4, 2, 1],
      [4, 1, 1],
      [3, 2, 1],
      [3, 2, 1],
    ]);
    for (const f of folds) expectPartition(f, 25);
  });

  it('shuffled: same per-class counts per fold, every row tested once, reproducible per seed', () => {
    const a = stratifiedKFold(Y25, { folds: 4, shuffle: true, seed: 11 });
    expect(a.map((f) => classCounts(Y25, f.test, 3))).toEqual([
      [4, 2, 1],
      [4, 1, 1],
      [3, 2, 1],
      [3, 2, 1],
    ]);
    const tested = a.flatMap((f) => Array.from(f.test)).sort((p, q) => p - q);
    expect(tested).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(stratifiedKFold(Y25, { folds: 4, shuffle: true, seed: 11 })).toEqual(a);
    expect(stratifiedKFold(Y25, { folds: 4, shuffle: true, seed: 12 })).not.toEqual(a);
  });

  it('keeps every class within one row of its share in each fold (150 iris-like labels, 5 folds)', () => {
    const y = Array.from({ length: 150 }, (_, i) => Math.floor(i / 50));
    const folds = stratifiedKFold(y, { folds: 5, shuffle: true, seed: 1 });
    for (const f of folds) {
      expect(classCounts(y, f.test, 3)).toEqual([10, 10, 10]);
      expect(classCounts(y, f.train, 3)).toEqual([40, 40, 40]);
    }
  });

  it('rejects more folds than any class has members', () => {
    expect(() => stratifiedKFold([0, 0, 1, 1, 2, 2], { folds: 3 })).toThrow(
      /3 folds exceed the member count of every class \(largest 2\)/,
    );
  });
});
