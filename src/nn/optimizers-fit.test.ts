/**
 * The common optimizer options through the public API: compile() with a Keras-spelled
 * optimizer, fit() on a linear model, and the weights after several steps against a float64
 * replay of the same steps (MSE gradients in closed form, optimizerStepReference applying
 * Keras's formulas). The course's Keras 2 line `SGD(lr=..., decay=...)` is among them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { sequential } from '../model/model.js';
import { layers } from './layers/index.js';
import { optimizers, resolveOptimizer, type Optimizer } from './optimizers.js';
import { initialOptimizerHyper, optimizerStateSlots } from '../kernels/optim.js';
import { optimizerAdvanceReference, optimizerStepReference } from '../kernels/optim-reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

const X = [
  [1, 2],
  [3, -1],
  [-2, 0.5],
  [0.5, 1.5],
];
const Y = [[1], [0], [2], [-1]];
const W0 = [0.3, -0.7];
const B0 = 0.1;

/** `epochs` full-batch steps of y = x·w + b under MSE, in float64. */
function replay(opt: Optimizer, epochs: number): number[] {
  // Segments as the arena lays them out: the kernel at 0, the bias at 64.
  const segments = [
    { offset: 0, length: 2, l1: 0, l2: 0 },
    { offset: 64, length: 1, l1: 0, l2: 0 },
  ];
  const w = new Float64Array(128);
  w.set(W0, 0);
  w[64] = B0;
  const state = Array.from({ length: optimizerStateSlots(opt.spec) }, () => new Float64Array(128));
  let hyper = initialOptimizerHyper(opt.learningRate);
  for (let e = 0; e < epochs; e++) {
    const g = new Float64Array(128);
    X.forEach((x, i) => {
      const err = (x[0] ?? 0) * (w[0] ?? 0) + (x[1] ?? 0) * (w[1] ?? 0) + (w[64] ?? 0) - (Y[i]?.[0] ?? 0);
      const k = (2 / X.length) * err;
      g[0] = (g[0] ?? 0) + k * (x[0] ?? 0);
      g[1] = (g[1] ?? 0) + k * (x[1] ?? 0);
      g[64] = (g[64] ?? 0) + k;
    });
    hyper = optimizerAdvanceReference(opt.spec, hyper);
    optimizerStepReference(opt.spec, segments, w, g, state, hyper);
  }
  return [0, 1, 64].map((i) => w[i] ?? NaN);
}

describe('fit with the common optimizer options follows a float64 replay', () => {
  const cases: [string, () => Optimizer][] = [
    ['SGD(lr=0.1, decay=0.5) (decks 002/003)', () => optimizers.SGD({ lr: 0.1, decay: 0.5 })],
    [
      'sgd(0.1, { momentum: 0.9, clipnorm: 0.5 })',
      () => optimizers.sgd(0.1, { momentum: 0.9, clipnorm: 0.5 }),
    ],
    [
      'Adam(learning_rate=0.05, clipvalue=0.2)',
      () => optimizers.Adam({ learning_rate: 0.05, clipvalue: 0.2 }),
    ],
    [
      'AdamW(0.05, weight_decay=0.2, global_clipnorm=0.5)',
      () => optimizers.AdamW(0.05, { weight_decay: 0.2, global_clipnorm: 0.5 }),
    ],
    ["'adamw' by name (weight decay 0.004)", () => resolveOptimizer('adamw')],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const opt = make();
      const m = sequential({ layers: [layers.dense({ units: 1, inputShape: [2] })] });
      m.compile({ optimizer: opt, loss: 'meanSquaredError' });
      await m.setWeights([Float32Array.from(W0), Float32Array.from([B0])]);
      const epochs = 5;
      await m.fit(X, Y, { epochs, batchSize: 4, shuffle: false, verbose: 0 });
      const [w, b] = await m.getWeights();
      const got = [w?.data[0] ?? NaN, w?.data[1] ?? NaN, b?.data[0] ?? NaN];
      const want = replay(opt, epochs);
      const worst = Math.max(...got.map((x, i) => Math.abs(x - (want[i] ?? NaN))));
      if (process.env.OPTIM_REPORT)
        console.log(`${name}: max |w_gpu − w_float64| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(2e-6);
      // The weights moved.
      expect(Math.abs((got[0] ?? 0) - (W0[0] ?? 0))).toBeGreaterThan(1e-3);
    });
  }
});
