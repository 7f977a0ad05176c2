/**
 * TF.js tensors (tfjs-core 4.22 on its CPU backend) as x, y and validation data: each call
 * gives bit for bit what the same values given as typed arrays give (fit with shuffle off,
 * evaluate, predict, trainOnBatch, testOnBatch, computeGradients, validationData, a tuner's
 * search, crossValScore), and a disposed or complex tensor is refused by name. The library
 * itself imports nothing of TF.js: it reads a tensor by its shape, dtype and data().
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { toCategorical } from '../data/prep.js';
import { optimizers } from '../nn/optimizers.js';
import { gridSearch } from '../tune/searchers.js';
import { crossValScore } from '../tune/crossval.js';
import { input, model, sequential, type LayersModel } from './model.js';
import { layers } from '../nn/layers/index.js';
import { seededDense } from '../../kernels-test/models.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  await tf.setBackend('cpu');
});
afterAll(() => engine.dispose());

// 60 rows of 4 features, 3 classes; class k lifts feature k.
const ROWS = 60;
const xs = Float32Array.from({ length: ROWS * 4 }, (_, i) => {
  const r = Math.floor(i / 4);
  return Math.sin(i * 1.3) + (i % 4 === r % 3 ? 1.5 : 0);
});
const ids = Int32Array.from({ length: ROWS }, (_, r) => r % 3);
const xTyped = { data: xs, shape: [ROWS, 4] };
const yTyped = Uint32Array.from(ids);

function classifier(loss: 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy') {
  const m = sequential({
    layers: [seededDense(8, 'relu', 3, { inputShape: [4] }), seededDense(3, 'softmax', 4)],
  });
  m.compile({ optimizer: optimizers.adam({ learningRate: 0.05 }), loss, metrics: ['accuracy'] });
  return m;
}

/** The float32 bits of every weight: equal bits, not close values. */
async function weightBits(m: LayersModel): Promise<number[][]> {
  return (await m.getWeights()).map((w) =>
    Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)),
  );
}

const FIT = { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 } as const;

describe('TF.js tensors as data', () => {
  it('fit on tf.tensor2d and int32 class ids: the weights bit for bit as from typed arrays', async () => {
    const x = tf.tensor2d(xs, [ROWS, 4]);
    const y = tf.tensor1d(ids, 'int32');
    const a = classifier('sparseCategoricalCrossentropy');
    const b = classifier('sparseCategoricalCrossentropy');
    const ha = await a.fit(x, y, { ...FIT, validationData: [x, y] });
    const hb = await b.fit(xTyped, yTyped, { ...FIT, validationData: [xTyped, yTyped] });
    expect(ha.history).toEqual(hb.history);
    expect(await weightBits(a)).toEqual(await weightBits(b));
    // It trained: the loss fell from epoch 1 to 3.
    const loss = hb.history.loss ?? [];
    expect(loss[2]).toBeLessThan(loss[0] ?? 0);
    // The tensors are TF.js's still: read, not disposed or changed.
    expect(x.isDisposed).toBe(false);
    expect(Array.from(await x.data())).toEqual(Array.from(xs));

    expect(await a.evaluate(x, y)).toEqual(await b.evaluate(xTyped, yTyped));
    const [pa, pb] = [await a.predict(x), await b.predict(xTyped)];
    expect(pa).toEqual(pb);
    expect(Array.isArray(pa) ? [] : pa.shape).toEqual([ROWS, 3]);
    expect(await a.testOnBatch(x, y)).toEqual(await b.testOnBatch(xTyped, yTyped));
    const ga = await a.computeGradients(x, y);
    const gb = await b.computeGradients(xTyped, yTyped);
    expect(ga.map((g) => Array.from(g.data))).toEqual(gb.map((g) => Array.from(g.data)));
    expect(await a.trainOnBatch(x, y)).toEqual(await b.trainOnBatch(xTyped, yTyped));
    expect(await weightBits(a)).toEqual(await weightBits(b));
    tf.dispose([x, y]);
  });

  it('fit reads validationData with data(), as x and y: a backend whose dataSync() throws works', async () => {
    // A GPU backend's dataSync() blocks or fails (TF.js's WebGPU on Dawn has no canvas): a
    // tensor that only reads asynchronously stands for it.
    const asyncOnly = (t: tf.Tensor) => ({
      shape: t.shape,
      dtype: t.dtype,
      data: () => t.data(),
      dataSync: (): never => {
        throw new Error('dataSync() called');
      },
    });
    const x = tf.tensor2d(xs, [ROWS, 4]);
    const y = tf.tensor1d(ids, 'int32');
    const a = classifier('sparseCategoricalCrossentropy');
    const b = classifier('sparseCategoricalCrossentropy');
    const ha = await a.fit(asyncOnly(x), asyncOnly(y), {
      ...FIT,
      validationData: [asyncOnly(x), asyncOnly(y)],
    });
    const hb = await b.fit(xTyped, yTyped, { ...FIT, validationData: [xTyped, yTyped] });
    expect(ha.history).toEqual(hb.history);
    expect(await weightBits(a)).toEqual(await weightBits(b));
  });

  it('tf.oneHot labels (int32 rows) for categorical cross-entropy, as toCategorical', async () => {
    const x = tf.tensor2d(xs, [ROWS, 4]);
    const labels = tf.tensor1d(ids, 'int32');
    const y = tf.oneHot(labels, 3);
    expect(y.dtype).toBe('int32');
    const a = classifier('categoricalCrossentropy');
    const b = classifier('categoricalCrossentropy');
    const ha = await a.fit(x, y, FIT);
    const hb = await b.fit(xTyped, { data: toCategorical(ids, 3), shape: [ROWS, 3] }, FIT);
    expect(ha.history).toEqual(hb.history);
    expect(await weightBits(a)).toEqual(await weightBits(b));
    tf.dispose([x, labels, y]);
  });

  it('several inputs: TF.js tensors in an array or by name', async () => {
    const build = () => {
      const wide = input({ shape: [2], name: 'wide' });
      const deep = input({ shape: [2], name: 'deep' });
      const merged = layers.concatenate().apply([wide, deep]);
      const out = seededDense(3, 'softmax', 7).apply(merged);
      const m = model({ inputs: [wide, deep], outputs: out });
      m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy' });
      return m;
    };
    const half = (c: number) =>
      Float32Array.from({ length: ROWS * 2 }, (_, i) => xs[Math.floor(i / 2) * 4 + c + (i % 2)] ?? 0);
    const w = tf.tensor2d(half(0), [ROWS, 2]);
    const d = tf.tensor2d(half(2), [ROWS, 2]);
    const y = tf.tensor1d(ids, 'int32');
    const [a, b, c] = [build(), build(), build()];
    const ha = await a.fit([w, d], y, FIT);
    const hb = await b.fit({ wide: w, deep: d }, y, FIT);
    const hc = await c.fit(
      [
        { data: half(0), shape: [ROWS, 2] },
        { data: half(2), shape: [ROWS, 2] },
      ],
      yTyped,
      FIT,
    );
    expect(ha.history).toEqual(hc.history);
    expect(hb.history).toEqual(hc.history);
    expect(await weightBits(a)).toEqual(await weightBits(c));
    tf.dispose([w, d, y]);
  });

  it("a tuner's search and crossValScore read TF.js tensors too (synchronously)", async () => {
    const x = tf.tensor2d(xs, [ROWS, 4]);
    const y = tf.tensor1d(ids, 'int32');
    const search = async (
      xd: Parameters<typeof crossValScore>[1],
      yd: Parameters<typeof crossValScore>[2],
    ) => {
      const tuner = gridSearch(
        (hp) => {
          const m = sequential({
            layers: [
              seededDense(hp.choice('units', [4]), 'relu', 3, { inputShape: [4] }),
              seededDense(3, 'softmax', 4),
            ],
          });
          m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
          return m;
        },
        { objective: 'val_loss', print: () => undefined },
      );
      await tuner.search(xd, yd, { ...FIT, validationSplit: 0.25, seed: 1 });
      return tuner.trials.map((t) => t.history);
    };
    expect(await search(x, y)).toEqual(await search(xTyped, yTyped));
    const cv = (xd: Parameters<typeof crossValScore>[1], yd: Parameters<typeof crossValScore>[2]) =>
      crossValScore(() => classifier('sparseCategoricalCrossentropy'), xd, yd, {
        folds: 2,
        seed: 2,
        epochs: 2,
        batchSize: 8,
      });
    const [ra, rb] = [await cv(x, y), await cv(xTyped, yTyped)];
    expect(ra.scores).toEqual(rb.scores);
    tf.dispose([x, y]);
  });

  it('errors: a disposed tensor, a complex one, and a shape the model does not take, by name', async () => {
    const m = classifier('sparseCategoricalCrossentropy');
    const x = tf.tensor2d(xs, [ROWS, 4]);
    const y = tf.tensor1d(ids, 'int32');
    const gone = tf.tensor2d(xs, [ROWS, 4]);
    gone.dispose();
    await expect(m.fit(gone, y, FIT)).rejects.toThrow(
      /^x: this TF\.js tensor \(shape \[60, 4\], float32\) is disposed \(tf\.dispose or tf\.tidy freed it\)/,
    );
    const goneY = tf.tensor1d(ids, 'int32');
    goneY.dispose();
    await expect(m.evaluate(x, goneY)).rejects.toThrow(
      /^y: this TF\.js tensor \(shape \[60\], int32\) is disposed/,
    );
    // validationData is read by fit before anything is uploaded, with the same check.
    await expect(m.fit(x, y, { ...FIT, validationData: [gone, y] })).rejects.toThrow(
      /^validationData: x: this TF\.js tensor .* is disposed/,
    );
    const z = tf.complex(tf.zeros([ROWS, 4]), tf.zeros([ROWS, 4]));
    await expect(m.predict(z)).rejects.toThrow(
      /^x: a complex64 TF\.js tensor; a model trains on real numbers/,
    );
    // The case: a [4, 2] tensor for an input of 4 features ("the data has 0" before).
    const small = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    await expect(m.predict(small)).rejects.toThrow(
      'predict: x: shape [4, 2] does not match rows of 4 values (the input "',
    );
    const strings = tf.tensor1d(
      Array.from(ids, (k) => ['cat', 'dog', 'owl'][k] ?? ''),
      'string',
    );
    await expect(m.fit(x, strings, FIT)).rejects.toThrow(
      /^fit: y: the labels are strings \("cat", "dog", "owl": 3 distinct\)/,
    );
    tf.dispose([x, y, z, small, strings]);
  });
});
