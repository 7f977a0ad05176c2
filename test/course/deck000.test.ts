/**
 * Deck 000 (Improving the MLP with Keras): activations, softmax, BN and dropout placement, the
 * MNIST lab (load_data, to_categorical, ModelCheckpoint, load_model and predict one image,
 * the batch-size × optimizer × BN/dropout grid).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, vi } from 'vitest';
import {
  layers,
  loadMnist,
  loadModel,
  ModelCheckpoint,
  optimizers,
  sequential,
  utils,
  type Callback,
} from '../../src/node/index.js';
import { argmax, kw, rows, seeded, single, slide, uniform, useEngine } from './course.js';

useEngine();

const XS = [-3, -1, 0, 0.5, 3];
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const elu = (x: number): number => (x > 0 ? x : Math.exp(x) - 1);
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
/** The deck's formulas, slide 'Activation function for hidden layers'. */
const FORMULAS: Record<string, (x: number) => number> = {
  linear: (x) => x,
  exponential: (x) => Math.exp(x),
  elu,
  selu: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * (Math.exp(x) - 1)),
  relu: (x) => Math.max(x, 0),
  sigmoid,
  hard_sigmoid: (x) => (x < -2.5 ? 0 : x > 2.5 ? 1 : 0.2 * x + 0.5),
  tanh: (x) => Math.tanh(x),
  softplus: (x) => Math.log(Math.exp(x) + 1),
  softsign: (x) => x / (Math.abs(x) + 1),
};

describe('deck 000', () => {
  const act = slide(0, 'Activation function for hidden layers');
  for (const [name, f] of Object.entries(FORMULAS)) {
    act.both(`activation '${name}' computes the deck's formula`, async (s) => {
      const m = sequential({ layers: [layers.activation(name, kw(s, { input_shape: [XS.length] }))] });
      const p = single(await m.predict([XS]));
      [...p.data].forEach((v, i) => expect(v).toBeCloseTo(f(XS[i] as number), 4));
    });
  }

  slide(0, 'Softmax function for output layer').both(
    'a softmax output layer gives probabilities that sum to 1',
    async (s) => {
      const m = sequential({
        layers: [layers.dense(4, 'softmax', kw(s, { input_dim: 3, kernel_initializer: seeded(1) }))],
      });
      const p = single(
        await m.predict([
          [1, 2, 3],
          [-1, 0, 4],
        ]),
      );
      for (const r of rows(p.data, 4)) {
        expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        r.forEach((v) => expect(v).toBeGreaterThan(0));
      }
    },
  );

  slide(0, 'Batch normalization / Dropout function').both(
    'Dense → BatchNormalization → Dropout: BN adds 4 parameters per unit, 2 of them non-trainable; Dropout none',
    async (s) => {
      const m = sequential({
        layers: [
          layers.dense(64, kw(s, { activation: 'relu', input_shape: [784] })),
          layers.batchNormalization(),
          layers.dropout(0.2),
          layers.dense(10, kw(s, { activation: 'softmax' })),
        ],
      });
      expect(m.layers.map((l) => l.countParams())).toEqual([784 * 64 + 64, 4 * 64, 0, 650]);
      const lines: string[] = [];
      m.summary(kw(s, { print_fn: (l: string) => lines.push(l) }));
      expect(lines).toContain(`Non-trainable params: ${2 * 64}`);
      expect(lines).toContain(`Trainable params: ${(784 * 64 + 64 + 2 * 64 + 650).toLocaleString('en-US')}`);
      // Dropout is off at inference: two predictions agree.
      const x = { data: uniform(4, 784), shape: [4, 784] };
      expect([...single(await m.predict(x)).data]).toEqual([...single(await m.predict(x)).data]);
    },
  );

  slide(0, 'Use MNIST dataset').it(
    'mnist.load_data(), reshape(60000, 784) and /255: 60,000 train and 10,000 validation rows of 784 pixels',
    async () => {
      const { train, test } = await loadMnist();
      expect([train.rows, train.images.length / train.rows]).toEqual([60000, 784]);
      expect([test.rows, test.images.length / test.rows]).toEqual([10000, 784]);
      expect([train.labels.length, test.labels.length]).toEqual([60000, 10000]);
      const x = Float32Array.from(train.images.subarray(0, 784 * 10), (v) => v / 255);
      expect(Math.max(...x)).toBeLessThanOrEqual(1);
      expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
    },
  );

  slide(0, "Using the categorical cross entropy loss 'categorical_crossentropy'").both(
    'to_categorical(y, num_classes=10) gives one-hot rows',
    (s) => {
      const y = [5, 0, 4, 1, 9];
      const oneHot = utils.to_categorical(y, kw(s, { num_classes: 10 }));
      expect(oneHot).toHaveLength(50);
      rows(oneHot, 10).forEach((r, i) => {
        expect(argmax(r)).toBe(y[i]);
        expect(r.reduce((a, b) => a + b, 0)).toBe(1);
      });
      expect([...utils.toCategorical(y, 10)]).toEqual([...oneHot]);
    },
  );

  const ckSlide = slide(0, 'Save your best model during training and keep history of training metrics');
  ckSlide.both(
    "ModelCheckpoint(filepath, monitor='val_loss', verbose=1, save_best_only=True) saves when val_loss improves, prints Keras's lines, and load_model + predict read the best epoch back",
    async (s) => {
      const dir = mkdtempSync(join(tmpdir(), 'course-000-'));
      const filepath = join(dir, 'model.hdf5');
      const n = 96;
      const labels = Array.from({ length: n }, (_, i) => i % 10);
      const x = uniform(n, 784, 3);
      // Make the digits separable: pixel `label` is bright.
      labels.forEach((l, r) => (x[r * 784 + l * 7] = 4));
      const xTrain = { data: x.slice(0, 64 * 784), shape: [64, 784] };
      const xValidation = { data: x.slice(64 * 784), shape: [32, 784] };
      const yTrain = utils.to_categorical(labels.slice(0, 64), kw(s, { num_classes: 10 }));
      const yValidation = utils.to_categorical(labels.slice(64), kw(s, { num_classes: 10 }));
      const model = sequential({
        layers: [
          layers.dense(32, kw(s, { activation: 'relu', input_shape: [784], kernel_initializer: seeded(1) })),
          layers.dense(10, kw(s, { activation: 'softmax', kernel_initializer: seeded(2) })),
        ],
      });
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        const checkpointer = new ModelCheckpoint(
          kw(s, { filepath, monitor: 'val_loss', verbose: 1, save_best_only: true }),
        );
        model.compile({ optimizer: 'adam', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
        const weightsAt: Float32Array[][] = [];
        const recorder: Callback = {
          onEpochEnd: async () => {
            weightsAt.push((await model.getWeights()).map((w) => w.data.slice()));
          },
        };
        const history = await model.fit(
          xTrain,
          yTrain,
          kw(s, {
            validation_data: [xValidation, yValidation] as const,
            epochs: 10,
            callbacks: [checkpointer, recorder],
            verbose: 0 as const,
            seed: 1,
          }),
        );
        expect(Object.keys(history.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
        const valLoss = history.history.val_loss as number[];
        expect(valLoss).toHaveLength(10);
        // Saved exactly at the epochs where val_loss reached a new minimum.
        const improved: number[] = [];
        let best = Infinity;
        valLoss.forEach((v, e) => {
          if (v < best) {
            best = v;
            improved.push(e);
          }
        });
        expect(checkpointer.saved).toEqual(improved);
        const printed = log.mock.calls.map((c) => String(c[0]));
        expect(printed[0]).toMatch(
          new RegExp(`^Epoch 1: val_loss improved from None to \\d+\\.\\d{5}, saving model to ${filepath}$`),
        );
        // load_model('model.hdf5'): Keras's HDF5 file, as the checkpoint wrote it; predict one image.
        expect([...readFileSync(filepath).subarray(0, 4)]).toEqual([0x89, 0x48, 0x44, 0x46]);
        const loaded = await loadModel(filepath);
        const bestWeights = weightsAt[improved.at(-1) as number] as Float32Array[];
        const got = (await loaded.getWeights()).map((w) => [...w.data]);
        expect(got).toEqual(bestWeights.map((w) => [...w]));
        const datapoint = { data: xValidation.data.slice(6 * 784, 7 * 784), shape: [1, 784] };
        const predictProb = [...single(await loaded.predict(datapoint)).data];
        expect(predictProb).toHaveLength(10);
        expect(predictProb.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(argmax(predictProb)).toBeGreaterThanOrEqual(0);
        expect([...(await loaded.predictClasses(datapoint))]).toEqual([argmax(predictProb)]);
      } finally {
        log.mockRestore();
      }
    },
  );

  slide(0, 'Give the performance of your MLP model').both(
    'sparse_categorical_crossentropy with batch sizes 16, 32, 64 × SGD, Adam × with/without BN and dropout: each trains with the batch size asked',
    async (s) => {
      const n = 128;
      const x = { data: uniform(n, 784, 5), shape: [n, 784] };
      const y = Array.from({ length: n }, (_, i) => i % 10);
      for (const batchSize of [16, 32, 64]) {
        for (const optimizer of [optimizers.SGD(), optimizers.Adam()]) {
          for (const regularized of [false, true]) {
            const model = sequential({
              layers: [
                layers.dense(16, kw(s, { activation: 'relu', input_shape: [784] })),
                ...(regularized ? [layers.batchNormalization(), layers.dropout(0.2)] : []),
                layers.dense(10, kw(s, { activation: 'softmax' })),
              ],
            });
            model.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
            const h = await model.fit(
              x,
              y,
              kw(s, { batch_size: batchSize, epochs: 1, validation_split: 0.25, verbose: 0 as const }),
            );
            expect(h.params).toMatchObject({ batchSize, samples: 96, steps: Math.ceil(96 / batchSize) });
            expect(Object.keys(h.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
          }
        }
      }
    },
  );
});
