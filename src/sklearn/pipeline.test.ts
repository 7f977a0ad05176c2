/**
 * Pipeline and makePipeline: step names as scikit-learn's make_pipeline gives them, X
 * through the fitted transformers to the last step, nested parameters, and cross-validation
 * with clones (each fold's scaler sees only its train rows: its mean is the train mean).
 */
import { describe, expect, it } from 'vitest';
import { KFold } from '../data/prep.js';
import { makePipeline, Pipeline } from './pipeline.js';
import { MinMaxScaler, StandardScaler } from './preprocessing.js';
import { asSplitter } from './split.js';
import type { Estimator, Labels, Matrix } from './types.js';

/** Predicts the mean target; records the X it was fitted on; `epochs` is a dummy parameter. */
class MeanRegressor implements Estimator {
  epochs = 1;
  seen: Matrix = [];
  private mean = NaN;
  fit(x: Matrix, y?: Labels | readonly number[]): Promise<this> {
    this.seen = x;
    const t = (y ?? []) as number[];
    this.mean = t.reduce((a, b) => a + b, 0) / t.length;
    return Promise.resolve(this);
  }
  predict(x: Matrix): number[] {
    return x.map(() => this.mean);
  }
  predictProba(x: Matrix): number[][] {
    return x.map(() => [1 - this.mean, this.mean]);
  }
  score(x: Matrix, y: readonly number[]): number {
    return -y.reduce((s, v) => s + Math.abs(v - this.mean), 0) / x.length;
  }
  getParams(): Record<string, unknown> {
    return { epochs: this.epochs };
  }
  setParams(p: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(p)) {
      if (k !== 'epochs') throw new TypeError(`invalid parameter '${k}'`);
      this.epochs = v as number;
    }
    return this;
  }
  clone(): MeanRegressor {
    return new MeanRegressor().setParams(this.getParams());
  }
}

const x = [
  [1, 10],
  [2, 20],
  [3, 60],
  [6, 30],
  [8, 80],
  [10, 40],
];
const y = [0, 1, 0, 1, 1, 1];
const colMean = (rows: Matrix, j: number): number =>
  rows.reduce((s, r) => s + (r[j] as number), 0) / rows.length;

describe('Pipeline', () => {
  it('makePipeline names steps as scikit-learn', () => {
    const p = makePipeline(
      new StandardScaler(),
      new MinMaxScaler(),
      new StandardScaler(),
      new MeanRegressor(),
    );
    expect(p.steps.map(([n]) => n)).toEqual([
      'standardscaler-1',
      'minmaxscaler',
      'standardscaler-2',
      'meanregressor',
    ]);
  });

  it('fits the last step on transformed X and predicts through the steps', async () => {
    const reg = new MeanRegressor();
    const p = new Pipeline([
      ['scale', new MinMaxScaler()],
      ['mlp', reg],
    ]);
    await p.fit(x, y);
    // MinMax onto [0, 1]: column 0 is (x − 1) / 9.
    expect(reg.seen.map((r) => r[0])).toEqual(x.map((r) => ((r[0] as number) - 1) / 9).map(Math.fround));
    expect(await p.predict(x.slice(0, 2))).toEqual([4 / 6, 4 / 6]);
    expect((await p.predictProba(x.slice(0, 1)))[0]?.[1]).toBeCloseTo(4 / 6, 12);
    expect(await p.score(x, [1, 1, 1, 1, 1, 1])).toBeCloseTo(-1 / 3, 12);
    expect(() => p.transform(x)).toThrow(/last step 'mlp' has no transform/);
    expect(p.namedSteps.mlp).toBe(reg);
  });

  it('transform and inverseTransform through transformers only', () => {
    const p = makePipeline(new StandardScaler(), new MinMaxScaler({ featureRange: [-1, 1] }));
    const z = p.fitTransform(x);
    expect(Math.min(...z.map((r) => r[1] as number))).toBeCloseTo(-1, 6);
    expect(Math.max(...z.map((r) => r[1] as number))).toBeCloseTo(1, 6);
    p.inverseTransform(z).forEach((r, i) =>
      r.forEach((v, j) => expect(v).toBeCloseTo(x[i]?.[j] as number, 4)),
    );
  });

  it('getParams deep and setParams with step__param', () => {
    const p = new Pipeline([
      ['scale', new StandardScaler()],
      ['mlp', new MeanRegressor()],
    ]);
    const params = p.getParams();
    expect(params.scale__withMean).toBe(true);
    expect(params.mlp__epochs).toBe(1);
    expect(Object.keys(p.getParams(false))).toEqual(['steps', 'scale', 'mlp']);
    p.setParams({ mlp__epochs: 5, scale__with_std: false });
    expect(p.getParams().mlp__epochs).toBe(5);
    expect(p.getParams().scale__withStd).toBe(false);
    const mm = new MinMaxScaler();
    p.setParams({ scale: mm });
    expect(p.namedSteps.scale).toBe(mm);
    expect(() => p.setParams({ mpl__epochs: 2 })).toThrow(
      /invalid parameter 'mpl__epochs'; did you mean 'mlp__epochs'/,
    );
    expect(() => p.setParams({ mlp__epoch: 2 })).toThrow(/invalid parameter 'epoch'/);
  });

  it('refuses bad steps', () => {
    const reg = new MeanRegressor();
    expect(
      () =>
        new Pipeline([
          ['a', reg],
          ['b', new StandardScaler()],
        ]),
    ).toThrow(/intermediate steps/);
    expect(
      () =>
        new Pipeline([
          ['a', new StandardScaler()],
          ['a', reg],
        ]),
    ).toThrow(/not unique/);
    expect(() => new Pipeline([['a__b', reg]])).toThrow(/'__'/);
  });

  it('cross-validation with clones never lets the test fold reach the scaler', async () => {
    const p = makePipeline(new StandardScaler(), new MeanRegressor());
    p.setParams({ meanregressor__epochs: 3 });
    await p.fit(x, y);
    const fullMean = colMean(x, 1);
    for (const [train, test] of asSplitter(new KFold({ nSplits: 3 })).split(x)) {
      const fold = p.clone();
      expect(fold.getParams().meanregressor__epochs).toBe(3);
      expect(() => (fold.namedSteps.standardscaler as StandardScaler).mean).toThrow(/not fitted/);
      const xTrain = train.map((i) => x[i] as number[]);
      await fold.fit(
        xTrain,
        train.map((i) => y[i] as number),
      );
      const scaler = fold.namedSteps.standardscaler as StandardScaler;
      expect(scaler.mean[1]).toBeCloseTo(colMean(xTrain, 1), 12);
      expect(scaler.mean[1]).not.toBeCloseTo(
        colMean(
          test.map((i) => x[i] as number[]),
          1,
        ),
        6,
      );
    }
    // The original keeps its own fit on all rows.
    expect((p.namedSteps.standardscaler as StandardScaler).mean[1]).toBeCloseTo(fullMean, 12);
  });
});
