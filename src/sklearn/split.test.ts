/**
 * Splitters: KFold and StratifiedKFold without shuffling equal scikit-learn 1.2's folds
 * exactly; ShuffleSplit's draws are the library's generator, so only its sizes are
 * scikit-learn's, and its sets are checked disjoint, in range and seeded.
 */
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/sklearn.json';
import { KFold, StratifiedKFold } from '../data/prep.js';
import { asSplitter, ShuffleSplit } from './split.js';

describe('asSplitter(KFold | StratifiedKFold) matches scikit-learn', () => {
  for (const c of fixture.splits.kfold) {
    it(`KFold(${c.n_splits}) of ${c.n}`, () => {
      const cv = asSplitter(new KFold({ n_splits: c.n_splits }));
      expect(cv.getNSplits()).toBe(c.n_splits);
      expect([...cv.split(c.n)]).toEqual(c.folds);
    });
  }
  for (const c of fixture.splits.stratified) {
    it(`StratifiedKFold(${c.n_splits}), also with string labels`, () => {
      const cv = asSplitter(new StratifiedKFold({ n_splits: c.n_splits }));
      expect([...cv.split(c.y.length, c.y)]).toEqual(c.folds);
      expect([
        ...cv.split(
          c.y.length,
          c.y.map((v) => `class ${v}`),
        ),
      ]).toEqual(c.folds);
    });
  }
});

describe('ShuffleSplit', () => {
  for (const c of fixture.splits.shuffle) {
    it(`sizes as scikit-learn: n ${c.n}, test ${c.test_size}, train ${c.train_size}`, () => {
      const cv = new ShuffleSplit({
        n_splits: c.n_splits,
        test_size: c.test_size ?? undefined,
        train_size: c.train_size ?? undefined,
        random_state: 0,
      });
      const splits = cv.split(Array.from({ length: c.n }, () => [0]));
      expect(splits.map(([a, b]) => [a.length, b.length])).toEqual(c.sizes);
      for (const [train, test] of splits) {
        const all = new Set([...train, ...test]);
        expect(all.size).toBe(train.length + test.length); // disjoint, no repeats
        expect([...all].every((i) => Number.isInteger(i) && i >= 0 && i < c.n)).toBe(true);
      }
      expect(cv.split(c.n)).toEqual(splits); // seeded: the same each call
    });
  }

  it('splits differ between draws; bad sizes are refused', () => {
    const [first, second] = new ShuffleSplit({ nSplits: 2, randomState: 3 }).split(50);
    expect(first?.[1]).not.toEqual(second?.[1]);
    expect(new ShuffleSplit().getNSplits()).toBe(10);
    expect(() => new ShuffleSplit({ testSize: 0.6, trainSize: 0.6 }).split(10)).toThrow(/exceed/);
    expect(() => new ShuffleSplit({ testSize: 10 }).split(10)).toThrow(/fraction in \(0, 1\) or a row count/);
    expect(() => new ShuffleSplit({ n_split: 3 } as never)).toThrow(/did you mean 'n_splits'/);
  });
});
