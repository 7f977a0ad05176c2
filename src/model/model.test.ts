/**
 * The Keras-style model API: summary counts, fit/evaluate/predict against closed forms,
 * functional models with several inputs and outputs, callbacks, and input errors.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, NonFiniteLossError, type Engine } from '../node/index.js';
import { loadMnist } from '../node/mnist.js';
import { mnist as mnistDatasets } from '../node/data.js';
import { gpuDataset } from '../data/gpu.js';
import { layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import {
  CSVLogger,
  EarlyStopping,
  LearningRateScheduler,
  ModelCheckpoint,
  ReduceLROnPlateau,
  stepDecay,
  TerminateOnNaN,
  timeBasedDecay,
} from './callbacks.js';
import { input, model, sequential } from './model.js';
import { tensor } from '../tensor/tensor.js';
import { seededDense } from '../../kernels-test/models.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** y = x·[1, −1] exactly: a linear model starting there has zero gradient and loss 0. */
function linear(w: [number, number] = [1, -1], b = 0) {
  const m = sequential({ layers: [layers.dense({ units: 1, inputShape: [2] })] });
  return { m, init: () => m.setWeights([Float32Array.from(w), Float32Array.from([b])]) };
}

describe('model API', () => {
  it("summary of 784-300-100-10 (Flatten + 3 Dense) reads Keras's 266,610 parameters", () => {
    const m = sequential({
      layers: [
        layers.flatten({ inputShape: [28, 28] }),
        layers.dense({ units: 300, activation: 'relu' }),
        layers.dense({ units: 100, activation: 'relu' }),
        layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const lines: string[] = [];
    m.summary((l) => lines.push(l));
    expect(lines.some((l) => /\(None, 784\)\s+0$/.test(l))).toBe(true);
    expect(lines.some((l) => /\(None, 300\)\s+235,500$/.test(l))).toBe(true);
    expect(lines).toContain('Total params: 266,610');
    expect(lines).toContain('Trainable params: 266,610');
    expect(lines).toContain('Non-trainable params: 0');
    // A BN layer: 4·units parameters, half of them non-trainable.
    const bn = sequential({
      layers: [layers.dense({ units: 8, inputShape: [4] }), layers.batchNormalization()],
    });
    expect(bn.countParams()).toBe(40 + 32);
  });

  it('fit: one SGD step of a linear model equals the closed form; history holds the loss', async () => {
    const { m, init } = linear();
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'meanSquaredError' });
    await init();
    // ŷ = [1 − 2, 3 − 4] = [−1, −1]; e = ŷ − y = [−2, −1]; loss = (4 + 1)/2 = 2.5;
    // dL/dw = (2/2)·Σ eᵢxᵢ = −2·[1, 2] − [3, 4] = [−5, −8]; dL/db = −3.
    const h = await m.fit(
      [
        [1, 2],
        [3, 4],
      ],
      [[1], [0]],
      { epochs: 1, batchSize: 2, shuffle: false, verbose: 0 },
    );
    expect(h.history.loss?.[0]).toBeCloseTo(2.5, 6);
    expect(h.epoch).toEqual([0]);
    const [w, b] = await m.getWeights();
    expect(w?.data[0]).toBeCloseTo(1.5, 6);
    expect(w?.data[1]).toBeCloseTo(-0.2, 6);
    expect(b?.data[0]).toBeCloseTo(0.3, 6);
    expect(w?.name).toBe(`${m.layers[0]?.name}/kernel`);
    // evaluate / predict with the new weights: ŷ = [1.5 − 0.4 + 0.3, 4.5 − 0.8 + 0.3] = [1.4, 4.0].
    const p = await m.predict({ data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] });
    expect(Array.isArray(p)).toBe(false);
    if (!Array.isArray(p)) {
      expect(p.shape).toEqual([2, 1]);
      expect(p.data[0]).toBeCloseTo(1.4, 5);
      expect(p.data[1]).toBeCloseTo(4.0, 5);
    }
    const ev = await m.evaluate(
      [
        [1, 2],
        [3, 4],
      ],
      [[1], [0]],
    );
    expect(ev.loss).toBeCloseTo((0.4 ** 2 + 4 ** 2) / 2, 4);
  });

  it('an uncompiled model predicts (a forward-only graph), as a loaded model must', async () => {
    const { m, init } = linear([2, 3], 1);
    await init();
    const p = await m.predict([
      [1, 1],
      [0, 2],
    ]);
    expect(Array.isArray(p) ? [] : Array.from(p.data)).toEqual([6, 7]);
    await expect(m.evaluate([[1, 1]], [[0]])).rejects.toThrow(/must be compiled/);
  });

  it('the reported loss includes the regularization penalty (l2 on the kernel, l1 on the bias), as Keras', async () => {
    const m = sequential({
      layers: [
        layers.dense({
          units: 1,
          inputShape: [2],
          kernelRegularizer: { l2: 0.01 },
          biasRegularizer: { l1: 0.5 },
        }),
      ],
    });
    m.compile({ optimizer: optimizers.sgd({ learningRate: 1e-9 }), loss: 'mse' });
    await m.setWeights([Float32Array.from([2, -1]), Float32Array.from([0.5])]);
    // ŷ = [1.5, 4.5] for y = [1, 4]: mse 0.25; penalty 0.01·(4 + 1) + 0.5·|0.5| = 0.3.
    const x = [
      [1, 1],
      [2, 0],
    ];
    const y = [[1], [4]];
    expect((await m.evaluate(x, y)).loss).toBeCloseTo(0.55, 6);
    const h = await m.fit(x, y, { epochs: 1, batchSize: 1, shuffle: false, verbose: 0 });
    expect(h.history.loss?.[0]).toBeCloseTo(0.55, 5);
  });

  it('an activity regularizer adds (l2·Σy²) / batch of the layer output to the loss, as tf.keras', async () => {
    const m = sequential({
      layers: [layers.dense({ units: 1, inputShape: [2], activityRegularizer: { l2: 0.1 } })],
    });
    m.compile({ optimizer: optimizers.sgd({ learningRate: 1e-9 }), loss: 'mse' });
    await m.setWeights([Float32Array.from([2, -1]), Float32Array.from([0.5])]);
    // ŷ = [1.5, 4.5], y = [1, 4]: mse 0.25; activity 0.1·(1.5² + 4.5²)/2 = 1.125.
    expect(
      (
        await m.evaluate(
          [
            [1, 1],
            [2, 0],
          ],
          [[1], [4]],
        )
      ).loss,
    ).toBeCloseTo(1.375, 5);
  });

  it('x and y may be eager GPU tensors', async () => {
    const { m, init } = linear([2, 3], 1);
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    await init();
    const x = tensor([
      [1, 1],
      [0, 2],
    ]);
    const y = tensor([[6], [7]]);
    expect((await m.evaluate(x, y)).loss).toBeCloseTo(0, 9); // ŷ = [6, 7] exactly
    const p = await m.predict(x);
    expect(Array.isArray(p) ? [] : Array.from(p.data)).toEqual([6, 7]);
    x.dispose();
    y.dispose();
  });

  it('validationSplit takes the last rows, as Keras does', async () => {
    const { m, init } = linear();
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.01 }), loss: 'mse' });
    await init();
    // Rows 0-3 fit exactly (y = x·[1, −1]); row 4 (the last 20%) is off by 3.
    const x = [
      [1, 2],
      [2, 1],
      [0, 3],
      [5, 5],
      [1, 1],
    ];
    const y = [[-1], [1], [-3], [0], [3]];
    const h = await m.fit(x, y, { epochs: 1, batchSize: 4, validationSplit: 0.2, verbose: 0 });
    expect(h.history.loss?.[0]).toBeCloseTo(0, 6); // no gradient on the exact rows
    expect(h.history.val_loss?.[0]).toBeCloseTo(9, 5);
  });

  it('a functional wide & deep model: two inputs, concatenate, two outputs with loss weights', async () => {
    const wide = input({ shape: [3], name: 'wide' });
    const deep = input({ shape: [4], name: 'deep' });
    const h = layers.dense({ units: 8, activation: 'relu' }).apply(deep);
    const cat = layers.concatenate().apply([wide, h]);
    const main = layers.dense({ units: 2, activation: 'softmax', name: 'main' }).apply(cat);
    const aux = layers.dense({ units: 1, name: 'aux' }).apply(h);
    const m = model({ inputs: [wide, deep], outputs: [main, aux] });
    m.compile({
      optimizer: 'adam',
      loss: ['sparseCategoricalCrossentropy', 'mse'],
      lossWeights: [1, 0.25],
      metrics: { main: ['accuracy'] },
    });
    const rows = 16;
    const xw = Array.from({ length: rows }, (_, i) => [i % 3, 1, -1]);
    const xd = Array.from({ length: rows }, (_, i) => [i / rows, 0.5, -0.5, 1]);
    const ym = Array.from({ length: rows }, (_, i) => i % 2);
    const ya = Array.from({ length: rows }, (_, i) => [i / rows]);
    const ev = await m.evaluate({ wide: xw, deep: xd }, [ym, ya], { batchSize: 5, returnDict: true });
    expect(Object.keys(ev).sort()).toEqual(['aux_loss', 'loss', 'main_accuracy', 'main_loss']);
    expect(ev.loss).toBeCloseTo((ev.main_loss ?? NaN) + 0.25 * (ev.aux_loss ?? NaN), 5);
    const events: string[] = [];
    const listener = (e: Event): void => {
      const d = (e as CustomEvent<{ epoch: number; step?: number }>).detail;
      events.push(`${e.type} ${d.epoch}${d.step !== undefined ? `:${d.step}` : ''}`);
    };
    m.events.addEventListener('batch', listener);
    m.events.addEventListener('epoch', listener);
    const h2 = await m.fit([xw, xd], [ym, ya], { epochs: 2, batchSize: 4, verbose: 1 });
    // 4 steps per epoch, read every ceil(4/30) = 1 step; the last step's read is the epoch's.
    expect(events).toEqual([
      'batch 0:1',
      'batch 0:2',
      'batch 0:3',
      'batch 0:4',
      'epoch 0',
      'batch 1:1',
      'batch 1:2',
      'batch 1:3',
      'batch 1:4',
      'epoch 1',
    ]);
    expect(h2.history.main_accuracy).toHaveLength(2);
    const preds = await m.predict([xw, xd]);
    expect(Array.isArray(preds) && preds.map((p) => p.shape)).toEqual([
      [rows, 2],
      [rows, 1],
    ]);
  });

  it('callbacks: EarlyStopping, LearningRateScheduler (step drop, time-based decay), ReduceLROnPlateau, CSVLogger', async () => {
    const { m, init } = linear();
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    await init();
    const x = [
      [1, 2],
      [3, 1],
    ];
    const y = [[-1], [2]]; // exact: the loss stays 0, nothing improves
    const stop = new EarlyStopping({ monitor: 'loss', patience: 2 });
    const h = await m.fit(x, y, { epochs: 10, batchSize: 2, verbose: 0, callbacks: [stop] });
    expect(h.epoch).toEqual([0, 1, 2]); // best at 0, then `patience` (2) epochs without improvement, as Keras
    // Reused for another fit, it starts afresh (Keras resets its best value in on_train_begin).
    const again = await m.fit(x, y, { epochs: 10, batchSize: 2, verbose: 0, callbacks: [stop] });
    expect(again.epoch).toEqual([0, 1, 2]);
    const seen: number[] = [];
    const record = { onEpochEnd: () => void seen.push(m.learningRate) };
    await m.fit(x, y, {
      epochs: 5,
      verbose: 0,
      callbacks: [new LearningRateScheduler(stepDecay(0.1, 0.5, 2)), record],
    });
    seen.forEach((lr, e) => expect(lr).toBeCloseTo(0.1 * 0.5 ** Math.floor((1 + e) / 2), 12));
    seen.length = 0;
    await m.fit(x, y, {
      epochs: 3,
      verbose: 0,
      callbacks: [new LearningRateScheduler(timeBasedDecay(0.1, 0.001)), record],
    });
    seen.forEach((lr, e) => expect(lr).toBeCloseTo(0.1 / (1 + 0.001 * e), 12));
    m.learningRate = 0.1;
    seen.length = 0;
    await m.fit(x, y, {
      epochs: 4,
      verbose: 0,
      callbacks: [new ReduceLROnPlateau({ monitor: 'loss', patience: 1, factor: 0.5 }), record],
    });
    expect(seen).toEqual([0.1, 0.05, 0.025, 0.0125]);
    const file = join(mkdtempSync(join(tmpdir(), 'csv-')), 'log.csv');
    await m.fit(x, y, { epochs: 2, verbose: 0, callbacks: [new CSVLogger(file)] });
    const rows = readFileSync(file, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('epoch,loss');
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(['0', '1']);
    expect(Number(rows[1]?.split(',')[1])).toBeCloseTo(0, 6);
  });

  it('a diverging fit: TerminateOnNaN ends training; without it fit throws; weights stay finite', async () => {
    const { m, init } = linear([1e18, 1e18]);
    m.compile({ optimizer: optimizers.sgd({ learningRate: 1e30 }), loss: 'mse' });
    await init();
    const x = [
      [1e10, 1e10],
      [2e10, 1e10],
    ];
    const y = [[0], [1]];
    const h = await m.fit(x, y, { epochs: 5, batchSize: 1, verbose: 0, callbacks: [new TerminateOnNaN()] });
    expect(h.epoch.length).toBeLessThan(5);
    expect(Number.isNaN(h.history.loss?.at(-1))).toBe(true);
    expect((await m.getWeights()).every((w) => w.data.every(Number.isFinite))).toBe(true);
    await expect(m.fit(x, y, { epochs: 2, batchSize: 1, verbose: 0 })).rejects.toBeInstanceOf(
      NonFiniteLossError,
    );
  });

  it('clear errors for bad input', async () => {
    const m = sequential({ layers: [layers.dense({ units: 3, activation: 'softmax', inputShape: [2] })] });
    await expect(m.fit([[1, 2]], [0])).rejects.toThrow(/must be compiled before fit/);
    expect(() => m.compile({ optimizer: 'adamm', loss: 'mse' })).toThrow(/did you mean 'adam'/);
    expect(() => m.compile({ optimizer: 'adam', loss: 'categorical_crossentropie' })).toThrow(
      /did you mean 'categorical_crossentropy'/,
    );
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await expect(
      m.fit(
        [
          [1, 2],
          [3, 4],
        ],
        [0],
      ),
    ).rejects.toThrow(/y has 1 rows, x has 2/);
    await expect(m.fit([[1, 2, 3]], [0])).rejects.toThrow(/3 values are not whole rows of 2/);
    await expect(m.fit([[1, 2]], [3])).rejects.toThrow(/label 3 at row 0 is not a class id in \[0, 3\)/);
    await expect(m.fit([[1, 2]], [0.5])).rejects.toThrow(/label 0.5 at row 0/);
    await expect(m.fit([[1, Number.NaN]], [0])).rejects.toThrow(/value NaN at row 0, column 1/);
    const cat = sequential({ layers: [layers.dense({ units: 3, activation: 'softmax', inputShape: [2] })] });
    cat.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    await expect(cat.fit([[1, 2]], [[0, 1]])).rejects.toThrow(/2 values are not whole rows of 3/);
    expect(() => layers.dense({ units: 4, activation: 'rleu' })).toThrow(/did you mean 'relu'/);
    // Without an input shape a Sequential is built by its first data (see keras-api.test.ts).
    expect(() => sequential({ layers: [layers.dense({ units: 4 })] }).summary()).toThrow(
      /not yet been built/,
    );
  });

  it('a missing y or a seed that is not an integer is refused before any callback runs; the model stays usable', async () => {
    const m = sequential({ layers: [seededDense(3, 'softmax', 7, { inputShape: [2] })] });
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const calls: string[] = [];
    const cb = { onTrainBegin: () => void calls.push('begin'), onEpochEnd: () => void calls.push('epoch') };
    const before = (await m.getWeights()).map((w) => Array.from(w.data));
    await expect(m.fit([[1, 2]], undefined, { callbacks: [cb] })).rejects.toThrow(
      /fit: y is missing \(only a GpuData carries its targets\)/,
    );
    await expect(m.fit([[1, 2]], [0], { callbacks: [cb], validationData: [[[1, 2]]] })).rejects.toThrow(
      /validationData: y is missing/,
    );
    await expect(m.fit([[1, 2]], [0], { callbacks: [cb], seed: 1.5 })).rejects.toThrow(
      /createRng: seed 1.5 must be a safe integer/,
    );
    expect(calls).toEqual([]);
    expect((await m.getWeights()).map((w) => Array.from(w.data))).toEqual(before);
    const h = await m.fit([[1, 2]], [0], { callbacks: [cb], seed: 3, verbose: 0 });
    expect(calls).toEqual(['begin', 'epoch']);
    expect(h.history.loss?.[0]).toBeGreaterThan(0);
  });

  it('MNIST subset: a 784-64-10 model trained 6 epochs on 2,000 images scores over 84% on 1,000 test images (86.2% on lavapipe)', async () => {
    const mnist = await loadMnist({ trainRows: 2000, testRows: 1000 });
    const m = sequential({
      layers: [
        layers.flatten({ inputShape: [28, 28] }),
        seededDense(64, 'relu', 1),
        seededDense(10, 'softmax', 2),
      ],
    });
    m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    const scale = (u8: Uint8Array) => Float32Array.from(u8, (v) => v / 255);
    await m.fit({ data: scale(mnist.train.images), shape: [2000, 28, 28] }, mnist.train.labels, {
      epochs: 6,
      batchSize: 32,
      verbose: 0,
      seed: 3,
    });
    const ev = await m.evaluate({ data: scale(mnist.test.images), shape: [1000, 28, 28] }, mnist.test.labels);
    expect(ev.accuracy).toBeGreaterThan(0.84);
    const classes = await m.predictClasses({ data: scale(mnist.test.images), shape: [1000, 28, 28] });
    const right = classes.reduce((s, c, i) => s + (c === mnist.test.labels[i] ? 1 : 0), 0);
    expect(right / 1000).toBeCloseTo(ev.accuracy ?? NaN, 6); // host argmax = GPU count
  }, 120_000);

  it('data.mnist() gives GPU datasets (u8 pixels scaled on the GPU) that fit() trains from without a copy', async () => {
    const { train, test, host } = await mnistDatasets({ trainRows: 1000, testRows: 500 });
    expect([train.rows, test.rows]).toEqual([1000, 500]);
    const m = sequential({
      layers: [seededDense(32, 'relu', 4, { inputShape: [784] }), seededDense(10, 'softmax', 5)],
    });
    m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    await m.fit(train, undefined, { epochs: 5, batchSize: 32, verbose: 0, seed: 6 });
    const onGpu = await m.evaluate(test, undefined, { batchSize: 100 });
    // The same test images from host arrays scaled on the host: the same result.
    const scaled = Float32Array.from(host.test.images, (v) => v / 255);
    const onHost = await m.evaluate({ data: scaled, shape: [500, 784] }, host.test.labels, {
      batchSize: 100,
    });
    expect(onGpu.accuracy).toBeCloseTo(onHost.accuracy ?? NaN, 9);
    expect(onGpu.loss).toBeCloseTo(onHost.loss ?? NaN, 5);
    expect(onGpu.accuracy).toBeGreaterThan(0.75);
    train.dispose();
    test.dispose();
  }, 60_000);

  it('weights stay consistent: setWeights after a recompile (the k-fold reset), and layers shared by two models', async () => {
    const { m, init } = linear([0.5, -0.5], 0);
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    await init();
    const start = (await m.getWeights()).map((w) => w.data);
    const x = [
      [1, 2],
      [3, 1],
    ];
    const y = [[2], [-1]];
    await m.fit(x, y, { epochs: 3, batchSize: 2, verbose: 0 });
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    await m.setWeights(start);
    expect((await m.getWeights()).map((w) => Array.from(w.data))).toEqual(start.map((d) => Array.from(d)));
    // An encoder sharing the autoencoder's first layer sees the autoencoder's training.
    const a = input({ shape: [4] });
    const encLayer = layers.dense({
      units: 2,
      kernelInitializer: { className: 'GlorotUniform', config: { seed: 31 } },
    });
    const enc = encLayer.apply(a);
    const ae = model({ inputs: a, outputs: layers.dense({ units: 4 }).apply(enc) });
    const encoder = model({ inputs: a, outputs: enc });
    const xs = [
      [1, 0, 0, 1],
      [0, 1, 1, 0],
      [1, 1, 0, 0],
    ];
    const before = await encoder.predict(xs);
    ae.compile({ optimizer: optimizers.sgd({ learningRate: 0.5 }), loss: 'mse' });
    await ae.fit(xs, xs, { epochs: 3, batchSize: 3, verbose: 0 });
    const [k, b] = (await ae.getWeights()).slice(0, 2).map((w) => w.data) as [Float32Array, Float32Array];
    const after = await encoder.predict(xs);
    const expected = xs.flatMap((row) =>
      [0, 1].map((j) => row.reduce((s2, v, i) => s2 + v * (k[i * 2 + j] ?? NaN), b[j] ?? NaN)),
    );
    if (Array.isArray(after) || Array.isArray(before)) throw new Error('one output expected');
    after.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i] ?? NaN, 5));
    expect(Array.from(after.data)).not.toEqual(Array.from(before.data));
  });

  it('Sequential.add after a predict rebuilds; compile dicts with unknown output names are refused', async () => {
    const m = sequential({ layers: [layers.dense({ units: 2, inputShape: [3] })] });
    await m.predict([[1, 2, 3]]);
    m.add(layers.dense({ units: 4 }));
    const p = await m.predict([[1, 2, 3]]);
    expect(Array.isArray(p) ? [] : [p.shape, p.data.length]).toEqual([[1, 4], 4]);
    const i = input({ shape: [2] });
    const f = model({
      inputs: i,
      outputs: [
        layers.dense({ units: 1, name: 'aux_output' }).apply(i),
        layers.dense({ units: 1, name: 'main' }).apply(i),
      ],
    });
    expect(() =>
      f.compile({ optimizer: 'adam', loss: 'mse', lossWeights: { aux_outptu: 0.2, main: 1 } }),
    ).toThrow(
      /lossWeights names output "aux_outptu", which this model does not have; did you mean "aux_output"\?/,
    );
  });

  it('ModelCheckpoint takes a plain path (file:// in Node) with Keras placeholders', async () => {
    const { m, init } = linear([1, -1], 0);
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.05 }), loss: 'mse' });
    await init();
    const dir = mkdtempSync(join(tmpdir(), 'ck-'));
    const every = new ModelCheckpoint({ filepath: `${dir}/ck-{epoch:02d}-{loss:.2f}`, monitor: 'loss' });
    const h = await m.fit(
      [
        [1, 2],
        [3, 1],
      ],
      [[2], [-1]],
      { epochs: 2, batchSize: 2, verbose: 0, callbacks: [every] },
    );
    const names = (h.history.loss ?? []).map(
      (l, e) => `ck-${String(e + 1).padStart(2, '0')}-${l.toFixed(2)}`,
    );
    expect(readdirSync(dir).sort()).toEqual(names.sort());
    expect(readdirSync(join(dir, names[0] ?? '')).sort()).toEqual(['model.json', 'weights.bin']);
  });

  it('compiledStep: encode(n) runs n real training steps (= one more epoch of fit); profile and stats agree; the engine tracks its peak bytes', async () => {
    const build = () => {
      const m = sequential({
        layers: [
          seededDense(6, 'tanh', 3, { inputShape: [3] }),
          layers.dense({ units: 2, kernelInitializer: { className: 'GlorotUniform', config: { seed: 4 } } }),
        ],
      });
      m.compile({ optimizer: optimizers.adam({ learningRate: 0.05 }), loss: 'mse' });
      return m;
    };
    const x = Float32Array.from({ length: 12 * 3 }, (_, i) => Math.sin(i));
    const y = Float32Array.from({ length: 12 * 2 }, (_, i) => Math.cos(i));
    const data = gpuDataset({ inputs: [{ data: x, width: 3 }], targets: [{ data: y, width: 2 }] });
    const a = build();
    const b = build();
    const peak0 = engine.stats().peakBytes;
    expect(peak0).toBeGreaterThanOrEqual(engine.stats().liveBytes);
    await a.fit(data, undefined, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });
    // The same 3 steps again (rows 0..11 in order, batch 4), through the compiled step.
    const step = await a.compiledStep('train', 4, data);
    step.rewind();
    step.encode(3);
    engine.submitPending();
    await b.fit(data, undefined, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0 });
    const wa = await a.getWeights();
    const wb = await b.getWeights();
    wa.forEach((w, i) =>
      expect(Array.from(w.data)).toEqual(Array.from((wb[i] as { data: Float32Array }).data)),
    );

    const stats = step.stats();
    expect(stats.dispatches).toHaveLength(stats.dispatchesPerStep);
    if (engine.features.has('timestamp-query')) {
      const p = await step.profile();
      expect(p.dispatches.map((d) => d.label)).toEqual(stats.dispatches);
      expect(p.dispatches.reduce((s, d) => s + (d.flops ?? 0), 0)).toBe(stats.work.flops);
    }
    await expect(a.compiledStep('train', 0, data)).rejects.toThrow(/batchSize/);

    // Peak: a 1 MiB buffer raises it by 1 MiB; releasing it keeps the peak; resetPeak() drops it.
    engine.resetPeak();
    const live = engine.stats().liveBytes;
    expect(engine.stats().peakBytes).toBe(live);
    const buf = engine.createBuffer({ size: 2 ** 20, usage: GPUBufferUsage.STORAGE, label: 'peak probe' });
    engine.releaseBuffer(buf);
    expect(engine.stats().peakBytes).toBe(live + 2 ** 20);
    expect(engine.stats().liveBytes).toBe(live);
    engine.resetPeak();
    expect(engine.stats().peakBytes).toBe(live);
    await a.dispose();
    await b.dispose();
    data.dispose();
  });

  it('predict on small host inputs reuses one GPU dataset and its compiled step: no pipelines, bind groups or plan per call', async () => {
    const { m, init } = linear([2, -1], 0.5);
    await init();
    const expected = (a: number, b: number) => 2 * a - b + 0.5;
    const first = await m.predict({ data: Float32Array.from([1, 2]), shape: [1, 2] });
    expect(Array.isArray(first) ? [] : Array.from(first.data)).toEqual([expected(1, 2)]);
    const before = engine.stats();
    for (const [a, b] of [
      [3, 1],
      [-2, 0.25],
    ] as const) {
      const p = await m.predict([[a, b]]);
      expect(Array.isArray(p) ? [] : Array.from(p.data)).toEqual([expected(a, b)]);
    }
    const after = engine.stats();
    expect(after.pipelines - before.pipelines).toBe(0);
    expect(after.bindGroups - before.bindGroups).toBe(0);
    // Per call: the output copy target only (the readback reuses the engine's staging).
    expect(after.buffersCreated - before.buffersCreated).toBeLessThanOrEqual(2 * 2);
    // u8 rows (2 bytes: the rewrite pads to a word) are kept as u8, rewritten the same way.
    for (const [a, b] of [
      [3, 4],
      [250, 7],
    ] as const) {
      const p = await m.predict({ data: Uint8Array.from([a, b]), shape: [1, 2] });
      expect(Array.isArray(p) ? [] : Array.from(p.data)).toEqual([expected(a, b)]);
    }
    // Another shape gets its own dataset; values are still right.
    const two = await m.predict([
      [1, 1],
      [0, 4],
    ]);
    expect(Array.isArray(two) ? [] : Array.from(two.data)).toEqual([expected(1, 1), expected(0, 4)]);
    const live = engine.stats().liveBytes;
    await m.dispose(); // frees the kept dataset too
    expect(engine.stats().liveBytes).toBeLessThan(live);
  });

  it('an inference-only model keeps its weights on the GPU and no gradients or training snapshot', async () => {
    const m = sequential({ layers: [layers.dense({ units: 512, inputShape: [784] })] });
    const weightBytes = 4 * (784 * 512 + 512);
    const before = engine.stats().liveBytes;
    await m.predict({ data: new Float32Array(784), shape: [1, 784] });
    const held = engine.stats().liveBytes - before; // the model's memory and its kept input
    expect(held).toBeGreaterThan(weightBytes);
    expect(held).toBeLessThan(1.2 * weightBytes); // gradients + a snapshot would add 2×
    await m.dispose();
    expect(engine.stats().liveBytes).toBe(before);
  });

  it('functional summary lists every call of a shared layer; nested arrays of images are accepted', async () => {
    const a = input({ shape: [3], name: 'left' });
    const b = input({ shape: [3], name: 'right' });
    const shared = layers.dense({ units: 2, name: 'shared' });
    const m = model({
      inputs: [a, b],
      outputs: layers.concatenate({ name: 'cat' }).apply([shared.apply(a), shared.apply(b)]),
    });
    const lines: string[] = [];
    m.summary((l) => lines.push(l));
    expect(lines.find((l) => l.startsWith('shared (Dense)'))).toMatch(
      /\(None, 2\)\s+8\s+left\[0\]\[0\], right\[0\]\[0\]$/,
    );
    expect(lines.find((l) => l.startsWith('cat (Concatenate)'))).toMatch(
      /shared\[0\]\[0\], shared\[1\]\[0\]$/,
    );
    // [2, 2, 3] nested rows for a Flatten([2, 3]) model.
    const f = sequential({
      layers: [layers.flatten({ inputShape: [2, 3] }), layers.dense({ units: 1, useBias: false })],
    });
    await f.setWeights([Float32Array.from([1, 2, 3, 4, 5, 6])]);
    const p = await f.predict([
      [
        [1, 0, 0],
        [0, 0, 0],
      ],
      [
        [0, 0, 0],
        [0, 0, 1],
      ],
    ]);
    expect(Array.isArray(p) ? [] : Array.from(p.data)).toEqual([1, 6]);
    await expect(
      f.predict([
        [
          [1, 0, 0],
          [0, 0],
        ],
      ]),
    ).rejects.toThrow(/element \[0\]\[1\] has 2 entries where 3 were expected/);
  });
});
