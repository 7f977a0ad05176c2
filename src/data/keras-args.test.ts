/**
 * The data utilities in Keras's and scikit-learn's spellings (decks 000, 002, 003):
 * to_categorical(y, num_classes), StandardScaler(with_mean=), MinMaxScaler(feature_range=),
 * train_test_split(test_size=, random_state=), KFold / StratifiedKFold(n_splits, shuffle,
 * random_state); folds checked against scikit-learn's documented allocation.
 */
import { describe, expect, it } from 'vitest';
import * as data from './index.js';
import {
  KFold,
  kFold,
  MinMaxScaler,
  StandardScaler,
  StratifiedKFold,
  stratifiedKFold,
  toCategorical,
  trainTestSplit,
} from './prep.js';

describe('to_categorical', () => {
  it('utils.to_categorical(y, num_classes=10) and toCategorical(y, { numClasses })', () => {
    const expected = [0, 0, 1, 1, 0, 0];
    expect(Array.from(data.utils.to_categorical([2, 0], { num_classes: 3 }))).toEqual(expected);
    expect(Array.from(data.utils.toCategorical([2, 0], 3))).toEqual(expected);
    expect(Array.from(toCategorical([2, 0], { numClasses: 3, dtype: 'float32' }))).toEqual(expected);
    // np_utils.to_categorical(encoded_Y): classes = max + 1.
    expect(Array.from(toCategorical([1, 0]))).toEqual([0, 1, 1, 0]);
    expect(() => toCategorical([0], { num_class: 3 } as never)).toThrow(
      /toCategorical: unknown option 'num_class'; did you mean 'num_classes'\?/,
    );
    expect(() => toCategorical([0], { dtype: 'int32' } as never)).toThrow(/dtype int32 is not supported/);
  });
});

describe('scalers', () => {
  it("StandardScaler(with_mean=False): scikit-learn's scale, mean kept", () => {
    // Column [1, 3]: mean 2, population std 1; without the mean, z = x / 1.
    const s = new StandardScaler({ with_mean: false, copy: true }).fit([1, 3], 1);
    expect(Array.from(s.transform([1, 3]))).toEqual([1, 3]);
    expect(new StandardScaler({ withStd: false }).fitTransform([1, 3], 1)).toEqual(
      Float32Array.from([-1, 1]),
    );
    expect(() => new StandardScaler({ with_means: false } as never)).toThrow(/did you mean 'with_mean'\?/);
    expect(() => new StandardScaler({ withMean: 'no' } as never)).toThrow(/withMean must be true or false/);
  });

  it('MinMaxScaler(feature_range=(-1, 1)) maps min → −1, max → 1', () => {
    const s = new MinMaxScaler({ feature_range: [-1, 1] });
    expect(Array.from(s.fitTransform([0, 5, 10], 1))).toEqual([-1, 0, 1]);
    expect(() => new MinMaxScaler({ featureRange: [0, 1], clipp: true } as never)).toThrow(
      /did you mean 'clip'\?/,
    );
    expect(() => new MinMaxScaler({ feature_range: 1 } as never)).toThrow(
      /featureRange must be \[min, max\]/,
    );
  });
});

describe('splits', () => {
  it('train_test_split(test_size=0.33, random_state=7) as trainTestSplit', () => {
    const a = trainTestSplit(100, { test_size: 0.33, random_state: 7 });
    // A fractional test size takes ceil(0.33 · 100) = 33 rows.
    expect([a.train.length, a.test.length]).toEqual([67, 33]);
    expect(trainTestSplit(100, { testSize: 0.33, seed: 7 })).toEqual(a);
    expect(() => trainTestSplit(10, { test_sizes: 0.2 } as never)).toThrow(/did you mean 'test_size'\?/);
  });

  it("KFold(n_splits=3): scikit-learn's contiguous folds (sizes 3, 2, 2 for 7 rows)", () => {
    const folds = new KFold({ n_splits: 3 }).split(7);
    expect(folds.map((f) => Array.from(f.test))).toEqual([
      [0, 1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(kFold({ nSplits: 3 }).getNSplits()).toBe(3);
    expect(kFold(7, { n_splits: 3 })).toEqual(folds);
  });

  it("StratifiedKFold(n_splits=3): scikit-learn's folds for y = [0,0,0,1,1,1]", () => {
    const y = [0, 0, 0, 1, 1, 1];
    // scikit-learn (no shuffle): test folds [0, 3], [1, 4], [2, 5].
    const expected = [
      [0, 3],
      [1, 4],
      [2, 5],
    ];
    expect(new StratifiedKFold({ n_splits: 3 }).split(y).map((f) => Array.from(f.test))).toEqual(expected);
    expect(
      stratifiedKFold({ n_splits: 3 })
        .split(null, y)
        .map((f) => Array.from(f.test)),
    ).toEqual(expected);
    const shuffled = stratifiedKFold({ n_splits: 3, shuffle: true, random_state: 7 });
    expect(shuffled.split(y)).toEqual(stratifiedKFold(y, { folds: 3, shuffle: true, seed: 7 }));
  });

  it("refuses random_state without shuffle (scikit-learn's ValueError) and unknown keys", () => {
    expect(() => new StratifiedKFold({ n_splits: 3, random_state: 1 })).toThrow(
      /a seed \(random_state\) has no effect since shuffle is false/,
    );
    expect(() => kFold(10, { folds: 2, seed: 1 })).toThrow(/has no effect since shuffle is false/);
    expect(() => kFold(10, { n_split: 2 } as never)).toThrow(
      /kFold: unknown option 'n_split'; did you mean 'n_splits'\?/,
    );
    expect(() => new KFold({ n_splits: 1 })).toThrow(/folds 1 must be an integer ≥ 2/);
  });
});
