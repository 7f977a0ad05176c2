/**
 * Deck 001 (Neural networks): relu + he_uniform vs tanh + random uniform, residual + BN,
 * EarlyStopping on 'val_acc', L1/L2 regularizers on a layer, momentum, Keras Tuner's
 * Hyperband with model_builder(hp).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import {
  EarlyStopping,
  hyperband,
  initializers,
  input,
  layers,
  model,
  optimizers,
  regularizers,
  sequential,
  utils,
  type HyperParameters,
} from '../../src/node/index.js';
import { blobs, kw, seeded, slide, uniform, useEngine } from './course.js';

useEngine();

/** A folder of this run's own for the tuner's project (removed afterwards). */
const projects: string[] = [];
const projectFolder = (): string => {
  const f = mkdtempSync(join(tmpdir(), 'deck001-'));
  projects.push(f);
  return f;
};
afterAll(() => {
  for (const f of projects) rmSync(f, { recursive: true, force: true });
});

describe('deck 001', () => {
  slide(1, 'How do you fix « the vanishing gradient problem »').both(
    "10 hidden tanh layers with RandomUniform(-0.5, 0.5), relu with 'he_uniform', residual + BatchNormalization: the kernels start in the initializers' ranges",
    async (s) => {
      const deep = (act: string, init: unknown) =>
        sequential({
          layers: [
            layers.dense(16, kw(s, { activation: act, input_shape: [4], kernel_initializer: init })),
            ...Array.from({ length: 9 }, () =>
              layers.dense(16, kw(s, { activation: act, kernel_initializer: init })),
            ),
            layers.dense(1),
          ],
        });
      const tanh = deep('tanh', initializers.RandomUniform(kw(s, { minval: -0.5, maxval: 0.5, seed: 1 })));
      const relu = deep('relu', 'he_uniform');
      for (const w of (await tanh.getWeights()).filter((w) => w.shape.length === 2 && w.shape[1] === 16))
        w.data.forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(0.5));
      const heLimit = Math.sqrt(6 / 16);
      const reluKernels = (await relu.getWeights()).filter((w) => w.shape[0] === 16 && w.shape[1] === 16);
      expect(reluKernels).toHaveLength(9);
      for (const w of reluKernels) w.data.forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(heLimit));
      // Residual + BN: x → Dense → BN → Add(x) → ..., trained one epoch.
      const x0 = input([16]);
      let h = x0;
      for (let i = 0; i < 5; i++) {
        const d = layers.dense(16, kw(s, { activation: 'relu', kernel_initializer: 'he_uniform' })).apply(h);
        h = layers.add().apply([h, layers.batchNormalization().apply(d)]);
      }
      const res = model({ inputs: x0, outputs: layers.dense(1).apply(h) });
      res.compile({ optimizer: 'adam', loss: 'mse' });
      const hist = await res.fit({ data: uniform(32, 16), shape: [32, 16] }, new Float32Array(32), {
        epochs: 1,
        verbose: 0,
      });
      expect(Number.isFinite(hist.history.loss?.[0])).toBe(true);
    },
  );

  slide(1, 'How to stop at best fit').both(
    "EarlyStopping(monitor='val_acc', patience=3) with metrics=['accuracy'] and epochs=10000 stops 3 epochs after val_accuracy's best",
    async (s) => {
      const { x, y } = blobs(100, 2, 2, 7);
      const m = sequential({
        layers: [
          layers.dense(8, kw(s, { activation: 'relu', input_shape: [2], kernel_initializer: seeded(1) })),
          layers.dense(1, kw(s, { activation: 'sigmoid', kernel_initializer: seeded(2) })),
        ],
      });
      m.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
      const es = new EarlyStopping({ monitor: 'val_acc', patience: 3 });
      const history = await m.fit(
        x,
        y.map((c) => [c]),
        kw(s, { validation_split: 0.2, epochs: 10000, callbacks: [es], verbose: 0 as const, seed: 1 }),
      );
      const val = history.history.val_accuracy as number[];
      expect(val.length).toBeLessThan(10000);
      let best = 0;
      val.forEach((v, e) => {
        if (v > (val[best] as number)) best = e;
      });
      expect(val.length - 1).toBe(best + 3);
      expect(es.stoppedEpoch).toBe(best + 3);
    },
  );

  slide(1, 'How to add regularisation in Keras').both(
    'Dense(units=5, kernel_regularizer=L1(0.01), activity_regularizer=L2(0.01)) adds 0.01·Σ|W| + 0.01·Σy²/batch to the loss',
    async (s) => {
      const layer = layers.dense(
        kw(s, {
          units: 5,
          input_shape: [2],
          kernel_regularizer: regularizers.L1(0.01),
          activity_regularizer: regularizers.L2(0.01),
        }),
      );
      const m = sequential({ layers: [layer] });
      const W = [1, -2, 3, 0.5, 1, 2, 0, -1, 1, 1];
      await m.setWeights([Float32Array.from(W), new Float32Array(5)]);
      m.compile({ optimizer: 'sgd', loss: 'mse' });
      const X = [
        [1, 0],
        [0, 1],
      ];
      const out = X.map((r) =>
        [0, 1, 2, 3, 4].map(
          (j) => (r[0] as number) * (W[j] as number) + (r[1] as number) * (W[5 + j] as number),
        ),
      );
      const sq = out.flat().reduce((a, v) => a + v * v, 0);
      const [loss] = await m.evaluate(X, [new Array(5).fill(0), new Array(5).fill(0)]);
      const l1 = W.reduce((a, v) => a + Math.abs(v), 0);
      expect(loss).toBeCloseTo(sq / 10 + 0.01 * l1 + (0.01 * sq) / 2, 4);
      // Dropout: 'a good value ... between 0.2 and 0.5'.
      expect(layers.dropout(0.2).rate).toBe(0.2);
    },
  );

  slide(1, 'Add momentum').both('SGD with momentum: v ← 0.9·v − lr·g; w ← w + v', async (s) => {
    // ŷ = w·x, x = 1, y = 0, mse: g = 2w.
    const m = sequential({ layers: [layers.dense(1, kw(s, { input_shape: [1], use_bias: false }))] });
    await m.setWeights([Float32Array.of(1)]);
    m.compile({ optimizer: optimizers.SGD(kw(s, { learning_rate: 0.1, momentum: 0.9 })), loss: 'mse' });
    await m.fit([[1]], [[0]], kw(s, { epochs: 2, batch_size: 1, verbose: 0 as const }));
    let w = 1;
    let v = 0;
    for (let i = 0; i < 2; i++) {
      v = 0.9 * v - 0.1 * 2 * w;
      w += v;
    }
    expect((await m.getWeights())[0]?.data[0]).toBeCloseTo(w, 6);
  });

  slide(1, 'Keras tuner').both(
    "model_builder(hp) with hp.Int('units', 32, 512, 32) and hp.Choice('learning_rate'); Hyperband(objective='val_accuracy', max_epochs=10, factor=3); search with EarlyStopping; get_best_hyperparameters(num_trials=1)[0]; hypermodel.build; fit; evaluate",
    async (s) => {
      const modelBuilder = (hp: HyperParameters) => {
        const m = sequential();
        m.add(layers.flatten(kw(s, { input_shape: [28, 28] })));
        const hpUnits = hp.Int('units', kw(s, { min_value: 32, max_value: 512, step: 32 }));
        m.add(layers.dense(kw(s, { units: hpUnits, activation: 'relu' })));
        m.add(layers.dense(10));
        hp.Choice('learning_rate', kw(s, { values: [1e-2, 1e-3, 1e-4] }));
        m.compile({ optimizer: 'adam', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
        return m;
      };
      const tuner = hyperband(
        modelBuilder,
        kw(s, {
          objective: 'val_accuracy',
          max_epochs: 10,
          factor: 3,
          // The deck's names, inside a folder of this run's own: the project is saved there.
          directory: join(projectFolder(), 'my_dir'),
          project_name: 'intro_to_kt',
          print: () => undefined,
        }),
      );
      const n = 40;
      const X = { data: uniform(n, 784, 2), shape: [n, 28, 28] };
      const Y = utils.to_categorical(
        Array.from({ length: n }, (_, i) => i % 10),
        10,
      );
      const es = new EarlyStopping({ monitor: 'val_loss', patience: 5 });
      const trials = await tuner.search(X, Y, kw(s, { epochs: 50, validation_split: 0.2, callbacks: [es] }));
      expect(trials.length).toBeGreaterThan(1);
      const bestHps = tuner.getBestHyperparameters(kw(s, { num_trials: 1 }))[0] as HyperParameters;
      const units = bestHps.get('units') as number;
      expect(units % 32).toBe(0);
      expect([1e-2, 1e-3, 1e-4]).toContain(bestHps.get('learning_rate'));
      const best = tuner.hypermodel.build(bestHps);
      expect(best.layers[1]?.outputShape).toEqual([null, units]);
      const hist = await best.fit(
        X,
        Y,
        kw(s, { epochs: 3, validation_split: 0.2, callbacks: [es], verbose: 0 as const }),
      );
      expect(hist.history.val_loss?.length).toBeGreaterThan(0);
      const [loss, acc] = await best.evaluate(X, Y);
      expect(Number.isFinite(loss)).toBe(true);
      expect(acc).toBeGreaterThanOrEqual(0);
    },
  );
});
