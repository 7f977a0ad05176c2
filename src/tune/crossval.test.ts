/**
 * crossValScore: its folds partition the rows (stratified ones keep the class ratios), each
 * fold's score is what fitting and evaluating that fold separately gives, mean and std are
 * numpy's mean and population std, and the GPU memory is back where it started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { takeRows, toCategorical } from '../data/prep.js';
import { createRng } from '../util/random.js';
import { sequential } from '../model/model.js';
import { optimizers } from '../nn/optimizers.js';
import { crossValScore } from './crossval.js';
import { seededDense } from '../../kernels-test/models.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** Three overlapping Gaussian blobs in 4-D, imbalanced 60 / 30 / 10 (100 rows). */
function blobs() {
  const rng = createRng(11);
  const counts = [60, 30, 10];
  const n = 100;
  const x = new Float32Array(n * 4);
  const y = new Uint32Array(n);
  let r = 0;
  counts.forEach((count, k) => {
    for (let i = 0; i < count; i++, r++) {
      y[r] = k;
      for (let f = 0; f < 4; f++) {
        // Box–Muller normal around a centre that depends on the class.
        const g = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
        x[r * 4 + f] = (f === k ? 1.5 : 0) + g;
      }
    }
  });
  return { x, y };
}

const build = () => {
  const m = sequential({
    layers: [seededDense(8, 'relu', 3, { inputShape: [4] }), seededDense(3, 'softmax', 4)],
  });
  m.compile({
    optimizer: optimizers.adam({ learningRate: 0.05 }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  return m;
};

describe('crossValScore', () => {
  it('folds partition the rows; each score is that fold fitted and evaluated on its own', async () => {
    const { x, y } = blobs();
    const before = engine.stats();
    const r = await crossValScore(build, { data: x, shape: [100, 4] }, y, {
      folds: 4,
      seed: 5,
      epochs: 5,
      batchSize: 16,
    });
    const after = engine.stats();
    expect([after.liveBuffers, after.liveBytes]).toEqual([before.liveBuffers, before.liveBytes]);

    expect(r.folds).toHaveLength(4);
    const seen = new Array<number>(100).fill(0);
    for (const { train, test } of r.folds) {
      expect(test).toHaveLength(25);
      expect(train.length + test.length).toBe(100);
      const inTest = new Set(test);
      expect([...train].some((i) => inTest.has(i))).toBe(false);
      for (const i of test) seen[i] = (seen[i] as number) + 1;
    }
    expect(seen.every((c) => c === 1)).toBe(true);

    // The same folds by hand: a fresh model, fit on the training rows, evaluate the test rows.
    expect(r.scores).toHaveLength(4);
    for (const [f, { train, test }] of r.folds.entries()) {
      const m = build();
      await m.fit({ data: takeRows(x, 4, train), shape: [train.length, 4] }, takeRows(y, 1, train), {
        epochs: 5,
        batchSize: 16,
        seed: 5,
        verbose: 0,
      });
      const logs = await m.evaluate(
        { data: takeRows(x, 4, test), shape: [test.length, 4] },
        takeRows(y, 1, test),
        {
          batchSize: 16,
        },
      );
      await m.dispose();
      expect(r.scores[f]).toBeCloseTo(logs.accuracy ?? NaN, 6);
      expect(Math.abs((r.scores[f] ?? 0) * 25 - Math.round((r.scores[f] ?? 0) * 25))).toBeLessThan(1e-4);
    }
    // numpy: scores.mean(), scores.std() (ddof 0).
    const mean = r.scores.reduce((a, b) => a + b, 0) / 4;
    const std = Math.sqrt(r.scores.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    expect(r.mean).toBeCloseTo(mean, 12);
    expect(r.std).toBeCloseTo(std, 12);
    expect(r.mean).toBeGreaterThan(0.6); // the blobs overlap; the majority class alone is 0.6
  });

  it('stratified folds keep the class ratios (60/30/10 → 12/6/2 per fold), with one-hot targets too', async () => {
    const { x, y } = blobs();
    const oneHot = { data: toCategorical(y, 3), shape: [100, 3] };
    const buildOneHot = () => {
      const m = build();
      m.compile({
        optimizer: optimizers.adam({ learningRate: 0.05 }),
        loss: 'categorical_crossentropy',
        metrics: ['accuracy'],
      });
      return m;
    };
    const r = await crossValScore(buildOneHot, { data: x, shape: [100, 4] }, oneHot, {
      folds: 5,
      stratified: true,
      seed: 1,
      epochs: 2,
      scoring: 'loss',
    });
    for (const { test } of r.folds) {
      const perClass = [0, 1, 2].map((k) => [...test].filter((i) => y[i] === k).length);
      perClass.forEach((c, k) => expect(Math.abs(c - ([12, 6, 2][k] ?? NaN))).toBeLessThanOrEqual(1));
    }
    expect(r.scores.every((s) => s > 0 && Number.isFinite(s))).toBe(true); // loss is the score asked for
    await expect(
      crossValScore(build, { data: x, shape: [100, 4] }, y, { folds: 2, scoring: 'auc' }),
    ).rejects.toThrow(/scoring "auc" is not in model.evaluate's logs \(loss, accuracy\)/);
  });
});
