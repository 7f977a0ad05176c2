/**
 * Scalers and encoders against scikit-learn 1.2 (test/fixtures/make_sklearn.py). The
 * scalers' transforms come from data/prep.ts in float32: |a − e| ≤ 1e-6 + 1e-6·|e| covers
 * float32 rounding (6e-8 relative) of values up to ~25; the statistics are float64 (1e-12).
 */
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/sklearn.json';
import { LabelEncoder, MinMaxScaler, OneHotEncoder, StandardScaler } from './preprocessing.js';

function expectClose(
  actual: readonly number[],
  expected: readonly number[],
  atol: number,
  rtol: number,
): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i] as number;
    if (Math.abs(a - e) > atol + rtol * Math.abs(e)) throw new Error(`element ${i}: ${a} vs ${e}`);
  });
}

const ATTRS: Record<string, 'mean' | 'variance' | 'scale' | 'dataMin' | 'dataMax' | 'dataRange' | 'min'> = {
  mean_: 'mean',
  var_: 'variance',
  scale_: 'scale',
  data_min_: 'dataMin',
  data_max_: 'dataMax',
  data_range_: 'dataRange',
  min_: 'min',
};

describe('scalers match scikit-learn', () => {
  for (const c of fixture.scalers) {
    it(`${c.name}(${JSON.stringify(c.params)})`, () => {
      const s = c.name === 'StandardScaler' ? new StandardScaler(c.params) : new MinMaxScaler(c.params);
      s.fit(fixture.x);
      for (const [attr, expected] of Object.entries(c.attrs as Record<string, number[] | null | undefined>)) {
        if (expected === null || expected === undefined) continue; // scikit-learn's scale_ is None without with_std
        const key = ATTRS[attr] as string;
        expectClose((s as unknown as Record<string, number[]>)[key] as number[], expected, 1e-12, 1e-12);
      }
      expectClose(s.transform(fixture.x_new).flat(), c.transform.flat(), 1e-6, 1e-6);
      expectClose(s.inverseTransform(fixture.x_new).flat(), c.inverse.flat(), 1e-6, 1e-6);
      expect(s.nSamplesSeen).toBe(5);
    });
  }

  it('getParams, setParams (either spelling), clone unfitted, errors', () => {
    const s = new StandardScaler({ with_mean: false });
    expect(s.getParams()).toEqual({ withMean: false, withStd: true, copy: true });
    s.setParams({ with_std: false });
    expect(s.getParams()).toEqual({ withMean: false, withStd: false, copy: true });
    expect(() => s.setParams({ withMeen: true })).toThrow(
      /invalid parameter 'withMeen'; did you mean 'withMean'/,
    );
    expect(() => new MinMaxScaler({ feature_rang: [0, 1] } as never)).toThrow(/did you mean 'feature_range'/);
    s.fit(fixture.x);
    const c = s.clone();
    expect(c.getParams()).toEqual(s.getParams());
    expect(() => c.transform(fixture.x)).toThrow(/not fitted/);
    expect(() => s.transform([[1, 2]])).toThrow(/X has 2 features, but was fitted with 4/);
    expect(() => s.fit([[1, 2], [3]])).toThrow(/row 1 has 1 columns/);
    const m = new MinMaxScaler({ featureRange: [-1, 2] });
    expect(m.getParams()).toEqual({ featureRange: [-1, 2], clip: false, copy: true });
    expect(() => m.setParams({ featureRange: [2, 1] })).toThrow(/min < max/);
    expect(m.getParams().featureRange).toEqual([-1, 2]);
  });
});

describe('LabelEncoder matches scikit-learn', () => {
  for (const c of fixture.label_encoder.cases) {
    it(`classes of ${JSON.stringify(c.y)}`, () => {
      const le = new LabelEncoder();
      expect(le.fitTransform(c.y)).toEqual(c.codes);
      expect(le.classes).toEqual(c.classes);
      expect(le.inverseTransform(c.codes)).toEqual(c.y);
    });
  }

  it('names unseen labels as scikit-learn does', () => {
    const le = new LabelEncoder().fit(['a', 'b']);
    expect(() => le.transform(['a', 'c'])).toThrow(fixture.label_encoder.unseen_message);
    expect(() => le.transform(['d', 'a', 'c', 'd'])).toThrow("y contains previously unseen labels: 'c', 'd'");
    expect(() => le.inverseTransform([0, 2])).toThrow('y contains previously unseen labels: 2');
    expect(() => new LabelEncoder().fit([1, 'a'])).toThrow(/mix numbers and strings/);
    expect(() => new LabelEncoder().transform([1])).toThrow(/not fitted/);
  });
});

describe('OneHotEncoder matches scikit-learn', () => {
  const o = fixture.onehot;
  it('categories and dense transform', () => {
    const enc = new OneHotEncoder();
    expect(enc.fitTransform(o.x)).toEqual(o.transform);
    expect(enc.categories).toEqual(o.categories);
    expect(enc.inverseTransform(o.transform)).toEqual(o.x);
  });

  it("handleUnknown 'error' names the category; 'ignore' gives zeros and null back", () => {
    expect(() => new OneHotEncoder().fit(o.x).transform(o.new)).toThrow(
      /unknown categories \['purple'\] in column 0/,
    );
    const enc = new OneHotEncoder({ handle_unknown: 'ignore' }).fit(o.x);
    const z = enc.transform(o.new);
    expect(z).toEqual(o.ignore);
    expect(enc.inverseTransform(z)).toEqual(o.inverse_ignore);
    expect(enc.clone().getParams()).toEqual({ handleUnknown: 'ignore' });
    expect(() => new OneHotEncoder({ handleUnknown: 'skip' as never })).toThrow(/'error' or 'ignore'/);
  });
});
