/** Metrics and scorers against scikit-learn 1.2 (test/fixtures/make_sklearn.py), to 1e-12. */
import { describe, expect, it } from 'vitest';
import fixture from '../../test/fixtures/sklearn.json';
import {
  accuracyScore,
  f1Score,
  meanAbsoluteError,
  meanSquaredError,
  r2Score,
  rocAucScore,
  scorer,
} from './metrics.js';
import type { Estimator, Matrix } from './types.js';

const close = (a: number, e: number): void =>
  expect(Math.abs(a - e)).toBeLessThanOrEqual(1e-12 + 1e-12 * Math.abs(e));

describe('metrics match scikit-learn', () => {
  it('accuracy, f1 (binary, pos_label 1)', () => {
    for (const c of fixture.metrics.accuracy) close(accuracyScore(c.y_true, c.y_pred), c.score);
    for (const c of fixture.metrics.f1) close(f1Score(c.y_true, c.y_pred), c.score);
    expect(() => f1Score([0, 1, 2], [0, 1, 1])).toThrow(/multiclass/);
  });

  it('roc_auc with tied scores', () => {
    for (const c of fixture.metrics.roc_auc) close(rocAucScore(c.y_true, c.y_score), c.score);
    expect(() => rocAucScore([1, 1], [0.2, 0.3])).toThrow(/only one class/);
  });

  it('mse, mae, r2 (constant targets as scikit-learn)', () => {
    for (const c of fixture.metrics.regression) {
      close(meanSquaredError(c.y_true, c.y_pred), c.mse);
      close(meanAbsoluteError(c.y_true, c.y_pred), c.mae);
      close(r2Score(c.y_true, c.y_pred), c.r2);
    }
    expect(() => meanSquaredError([1], [1, 2])).toThrow(/must match/);
  });
});

describe('scorer', () => {
  const model: Estimator = {
    fit() {
      return this;
    },
    getParams: () => ({}),
    setParams() {
      return this;
    },
    clone() {
      return this;
    },
    predict: (x: Matrix) => x.map((r) => r[0] as number),
    predictProba: (x: Matrix) => x.map((r) => [1 - (r[1] as number), r[1] as number]),
  };
  const x = [
    [1, 0.9],
    [0, 0.2],
    [1, 0.4],
    [0, 0.4],
  ];
  const y = [1, 0, 0, 1];

  it('reads predict or predictProba[:, 1]; errors are negated', async () => {
    close(await scorer('accuracy').score(model, x, y), 0.5);
    close(await scorer('f1').score(model, x, y), 0.5);
    close(await scorer('roc_auc').score(model, x, y), rocAucScore(y, [0.9, 0.2, 0.4, 0.4]));
    close(await scorer('neg_mean_squared_error').score(model, x, y), -0.5);
    close(await scorer('neg_mean_absolute_error').score(model, x, y), -0.5);
    close(await scorer('r2').score(model, x, y), -1);
    expect(scorer('roc_auc').response).toBe('predictProba');
  });

  it('suggests the closest name', () => {
    expect(() => scorer('acuracy')).toThrow(/unknown scoring 'acuracy'; did you mean 'accuracy'/);
    expect(() => scorer('mean_squared_error')).toThrow(/did you mean 'neg_mean_squared_error'/);
  });
});
