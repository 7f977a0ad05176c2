/**
 * model.computeGradients against a float64 backpropagation written out by hand, and the
 * promise that it changes nothing; fit() stopping within an epoch when stopTraining is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import { GpuData } from '../graph/dataset.js';
import { LabelError } from '../graph/executor.js';
import { CustomCallback } from './callbacks.js';
import { model, sequential, type LayersModel, type Prediction } from './model.js';
import { input } from '../nn/layers/index.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** A deterministic pseudo-random stream in [-1, 1). */
function stream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

type Dims = { n: number; d: number; h: number; k: number };
type MlpWeights = { W1: Float32Array; b1: Float32Array; W2: Float32Array; b2: Float32Array };

/** Float64 z1 = x·W1 + b1, hidden = relu(z1) and softmax(hidden·W2 + b2), row-major [in, out]. */
function forwardPass(
  x: ArrayLike<number>,
  w: MlpWeights,
  dims: Dims,
): { z1: Float64Array; hidden: Float64Array; probs: Float64Array } {
  const { n, d, h, k } = dims;
  const z1 = new Float64Array(n * h);
  const hidden = new Float64Array(n * h);
  const probs = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < h; j++) {
      let s = w.b1[j] as number;
      for (let i = 0; i < d; i++) s += (x[r * d + i] as number) * (w.W1[i * h + j] as number);
      z1[r * h + j] = s;
      hidden[r * h + j] = Math.max(0, s);
    }
    const z = Array.from({ length: k }, (_, c) => {
      let s = w.b2[c] as number;
      for (let j = 0; j < h; j++) s += (hidden[r * h + j] as number) * (w.W2[j * k + c] as number);
      return s;
    });
    const m = Math.max(...z);
    const sum = z.reduce((a, v) => a + Math.exp(v - m), 0);
    z.forEach((v, c) => (probs[r * k + c] = Math.exp(v - m) / sum));
  }
  return { z1, hidden, probs };
}

/**
 * Float64 gradients of mean sparse categorical cross-entropy + l2·ΣW1² for
 * x → relu(x·W1 + b1) → softmax(h·W2 + b2), row-major weights [in, out].
 */
function referenceGradients(
  x: Float64Array,
  y: readonly number[],
  w: MlpWeights,
  dims: Dims,
  l2: number,
): { W1: Float64Array; b1: Float64Array; W2: Float64Array; b2: Float64Array; loss: number } {
  const { n, d, h, k } = dims;
  const { z1, hidden: a1, probs } = forwardPass(x, w, dims);
  const dz2 = new Float64Array(n * k);
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const label = y[r] as number;
    loss -= Math.log(probs[r * k + label] as number) / n;
    for (let c = 0; c < k; c++) dz2[r * k + c] = ((probs[r * k + c] as number) - (c === label ? 1 : 0)) / n;
  }
  const W2 = new Float64Array(h * k);
  const b2 = new Float64Array(k);
  const dz1 = new Float64Array(n * h);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const g = dz2[r * k + c] as number;
      b2[c] = (b2[c] as number) + g;
      for (let j = 0; j < h; j++) {
        W2[j * k + c] = (W2[j * k + c] as number) + (a1[r * h + j] as number) * g;
        dz1[r * h + j] = (dz1[r * h + j] as number) + g * (w.W2[j * k + c] as number);
      }
    }
    for (let j = 0; j < h; j++) if ((z1[r * h + j] as number) <= 0) dz1[r * h + j] = 0;
  }
  const W1 = new Float64Array(d * h);
  const b1 = new Float64Array(h);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < h; j++) {
      const g = dz1[r * h + j] as number;
      b1[j] = (b1[j] as number) + g;
      for (let i = 0; i < d; i++) W1[i * h + j] = (W1[i * h + j] as number) + (x[r * d + i] as number) * g;
    }
  }
  for (let i = 0; i < d * h; i++) {
    const v = w.W1[i] as number;
    W1[i] = (W1[i] as number) + 2 * l2 * v;
    loss += l2 * v * v;
  }
  return { W1, b1, W2, b2, loss };
}

/**
 * x → Dense(h, relu) → Dense(k, softmax) with seeded Glorot kernels (seeds[0], seeds[1]),
 * compiled with Adam at `learningRate` and sparse categorical cross-entropy; `first` adds
 * options to the first layer (a regularizer, a bias initializer).
 */
function reluSoftmaxMlp(
  dims: Dims,
  seeds: [number, number],
  learningRate: number,
  first: Record<string, unknown> = {},
): LayersModel {
  const m = sequential({
    layers: [
      layers.dense({
        units: dims.h,
        activation: 'relu',
        inputShape: [dims.d],
        kernelInitializer: { className: 'GlorotUniform', config: { seed: seeds[0] } },
        ...first,
      }),
      layers.dense({
        units: dims.k,
        activation: 'softmax',
        kernelInitializer: { className: 'GlorotUniform', config: { seed: seeds[1] } },
      }),
    ],
  });
  m.compile({ optimizer: optimizers.adam({ learningRate }), loss: 'sparseCategoricalCrossentropy' });
  return m;
}

/** Both models' weights, bit for bit; then both are disposed. */
async function expectSameWeightsThenDispose(m: LayersModel, twin: LayersModel): Promise<void> {
  const a = await m.getWeights();
  const b = await twin.getWeights();
  a.forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(b[i]?.data ?? [])));
  await m.dispose();
  await twin.dispose();
}

function maxRelError(got: Float32Array, want: Float64Array): number {
  const scale = Math.max(...Array.from(want, Math.abs), 1e-12);
  let worst = 0;
  want.forEach((v, i) => (worst = Math.max(worst, Math.abs((got[i] as number) - v) / scale)));
  return worst;
}

describe('computeGradients', () => {
  it('equals a float64 backpropagation (relu MLP, softmax CE, l2) and changes no weight or optimizer state', async () => {
    const dims = { n: 24, d: 7, h: 9, k: 4 };
    const l2 = 0.01;
    const make = () =>
      reluSoftmaxMlp(dims, [3, 5], 0.01, {
        kernelRegularizer: { className: 'L2', config: { l2 } },
        biasInitializer: { className: 'RandomUniform', config: { minval: -0.1, maxval: 0.1, seed: 4 } },
      });
    const rnd = stream(11);
    const x = Float32Array.from({ length: dims.n * dims.d }, rnd);
    const y = Array.from({ length: dims.n }, (_, i) => (i * 7 + 3) % dims.k);
    const labels = Float32Array.from(y);

    const m = make();
    // One real step first, so that the optimizer has state for computeGradients to keep.
    await m.trainOnBatch(x, labels);
    const weights = await m.getWeights();
    const opt = await m.getOptimizerWeights();
    const grads = await m.computeGradients(x, labels);

    expect(grads.map((g) => g.name)).toEqual(weights.map((w) => w.name));
    expect(grads.map((g) => g.shape)).toEqual(weights.map((w) => w.shape));
    const [W1, b1, W2, b2] = weights.map((w) => w.data) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const ref = referenceGradients(Float64Array.from(x), y, { W1, b1, W2, b2 }, dims, l2);
    const [gW1, gb1, gW2, gb2] = grads.map((g) => g.data) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    expect(maxRelError(gW1, ref.W1)).toBeLessThan(1e-4);
    expect(maxRelError(gb1, ref.b1)).toBeLessThan(1e-4);
    expect(maxRelError(gW2, ref.W2)).toBeLessThan(1e-4);
    expect(maxRelError(gb2, ref.b2)).toBeLessThan(1e-4);

    // Nothing moved: the weights, the optimizer's moments and its step count.
    const after = await m.getWeights();
    after.forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(weights[i]?.data ?? [])));
    const optAfter = await m.getOptimizerWeights();
    optAfter.forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(opt[i]?.data ?? [])));

    // And the next training step is the one a model that never computed gradients takes.
    const twin = make();
    await twin.trainOnBatch(x, labels);
    await twin.setWeights(weights);
    await m.trainOnBatch(x, labels);
    await twin.trainOnBatch(x, labels);
    await expectSameWeightsThenDispose(m, twin);
  });

  it('keeps batch-norm moving statistics; trains nothing for an uncompiled model (clear error)', async () => {
    const rnd = stream(5);
    const m = sequential({
      layers: [
        layers.dense({ units: 6, inputShape: [5], activation: 'tanh' }),
        layers.batchNormalization(),
        layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const x = Float32Array.from({ length: 40 * 5 }, rnd);
    const y = Float32Array.from({ length: 40 }, (_, i) => i % 3);
    await expect(m.computeGradients(x, y)).rejects.toThrow(/compiled/);
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const before = await m.getWeights();
    const grads = await m.computeGradients(x, y);
    // Trainable only: dense kernel + bias, gamma, beta, dense kernel + bias (no moving stats).
    expect(grads.map((g) => g.name)).toEqual(
      before.filter((w) => !/moving_/.test(w.name)).map((w) => w.name),
    );
    const mid = await m.getWeights();
    mid.forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(before[i]?.data ?? [])));
    // SGD's step is −lr·g: one real step moves each weight by exactly that.
    const lr = 0.01;
    await m.trainOnBatch(x, y);
    const after = await m.getWeights();
    for (const g of grads) {
      const i = before.findIndex((w) => w.name === g.name);
      const moved = Float64Array.from(after[i]?.data ?? [], (v, j) => ((before[i]?.data[j] ?? 0) - v) / lr);
      expect(maxRelError(g.data, moved)).toBeLessThan(2e-3);
    }
    // The moving mean moved once, by the real step: (1 − momentum)·μ_B from 0, with μ_B the
    // batch mean of tanh(x·W + b) in float64.
    const kernel = before[0]?.data ?? new Float32Array();
    const bias = before[1]?.data ?? new Float32Array();
    const mu = new Float64Array(6);
    for (let r = 0; r < 40; r++) {
      for (let j = 0; j < 6; j++) {
        let s = bias[j] ?? 0;
        for (let i = 0; i < 5; i++) s += (x[r * 5 + i] ?? 0) * (kernel[i * 6 + j] ?? 0);
        mu[j] = (mu[j] ?? 0) + Math.tanh(s) / 40;
      }
    }
    const mean = after.find((w) => /moving_mean/.test(w.name))?.data ?? new Float32Array();
    mu.forEach((v, j) => expect(mean[j]).toBeCloseTo(0.01 * v, 6));
    await m.dispose();
  });

  it('a GPU dataset with a label out of range: LabelError, and the step it ran is undone', async () => {
    const rnd = stream(7);
    // A sigmoid output: the labels are expanded to one-hot rows (softmax fuses them with the
    // loss instead, where a bad label makes the loss NaN and is undone as a non-finite loss).
    const m = sequential({ layers: [layers.dense({ units: 3, inputShape: [4], activation: 'sigmoid' })] });
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
    const x = Float32Array.from({ length: 8 * 4 }, rnd);
    // Host labels are checked before upload; a GpuData's only on the GPU, as the step runs.
    const data = new GpuData(engine, {
      inputs: [{ data: x, width: 4 }],
      targets: [{ data: Uint8Array.from([0, 1, 2, 0, 1, 2, 0, 7]), width: 1 }],
    });
    // predict() reads the GPU copy of the weights, which the step would have changed.
    const outputs = async () => Array.from(((await m.predict(x)) as { data: Float32Array }).data);
    const before = await outputs();
    await expect(m.computeGradients(data)).rejects.toThrow(LabelError);
    expect(await outputs()).toEqual(before);
    const [iterations] = await m.getOptimizerWeights();
    expect(iterations?.data[0]).toBe(0);
    data.dispose();
    await m.dispose();
  });
});

describe('stopTraining within an epoch', () => {
  it('a callback setting model.stopTraining on the first batch ends fit() before the epoch ends', async () => {
    const rnd = stream(9);
    const rows = 256;
    const x = Float32Array.from({ length: rows * 4 }, rnd);
    const y = Float32Array.from({ length: rows }, (_, i) => i % 2);
    const m = sequential({ layers: [layers.dense({ units: 2, inputShape: [4], activation: 'softmax' })] });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const stop = new CustomCallback({
      onBatchEnd: () => {
        m.stopTraining = true;
      },
    });
    const history = await m.fit(x, y, { epochs: 3, batchSize: 4, callbacks: [stop], stepsPerSubmit: 1 });
    expect(history.epoch).toEqual([0]);
    const [iterations] = await m.getOptimizerWeights();
    const steps = iterations?.data[0] ?? 0;
    expect(steps).toBeGreaterThanOrEqual(1);
    expect(steps).toBeLessThan(rows / 4);
    // The epoch's loss is the mean over the steps that ran: finite, like a full epoch's.
    expect(Number.isFinite(history.history.loss?.[0])).toBe(true);
    await m.dispose();
  });
});

describe('calls on the model from fit callbacks between epochs (as Keras allows)', () => {
  const dims = { n: 48, d: 7, h: 9, k: 4 };
  const make = () => reluSoftmaxMlp(dims, [13, 14], 0.02);
  const rnd = stream(21);
  const x = Float32Array.from({ length: dims.n * dims.d }, rnd);
  const y = Array.from({ length: dims.n }, (_, i) => (i * 5 + 1) % dims.k);
  const labels = Float32Array.from(y);
  const fitArgs = { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 } as const;

  /** Float64 relu(x·W1 + b1) and softmax(h·W2 + b2) for all rows, with weights in getWeights() order. */
  const forward = (w: Float32Array[]) => forwardPass(x, toRecord(w), dims);

  it('onEpochEnd may await computeGradients, predict and evaluate; the training is as without them', async () => {
    const m = make();
    const seen: { weights: Float32Array[]; grads: Float32Array[]; probs: Float32Array; loss: number }[] = [];
    // Predictions started and not awaited, and how many had ended when each epoch began.
    let ended = 0;
    const endedAtEpochBegin: number[] = [];
    const history = await m.fit(x, labels, {
      ...fitArgs,
      callbacks: [
        new CustomCallback({
          onEpochBegin: () => void endedAtEpochBegin.push(ended),
          onEpochEnd: async () => {
            const weights = (await m.getWeights()).map((w) => w.data);
            const grads = (await m.computeGradients(x, labels)).map((g) => g.data);
            // Two at once: they take turns.
            const [probs, logs] = (await Promise.all([
              m.predict(x),
              m.evaluate(x, labels, { returnDict: true }),
            ])) as [Prediction, Record<string, number>];
            seen.push({ weights, grads, probs: probs.data, loss: logs.loss ?? NaN });
            // Started and not awaited: fit waits for it before the next epoch.
            void m.predict(x).then(() => ended++);
          },
        }),
      ],
    });
    expect(seen).toHaveLength(3);
    for (const s of seen) {
      const ref = referenceGradients(Float64Array.from(x), y, toRecord(s.weights), dims, 0);
      const [gW1, gb1, gW2, gb2] = s.grads as [Float32Array, Float32Array, Float32Array, Float32Array];
      expect(maxRelError(gW1, ref.W1)).toBeLessThan(1e-4);
      expect(maxRelError(gb1, ref.b1)).toBeLessThan(1e-4);
      expect(maxRelError(gW2, ref.W2)).toBeLessThan(1e-4);
      expect(maxRelError(gb2, ref.b2)).toBeLessThan(1e-4);
      expect(maxRelError(s.probs, forward(s.weights).probs)).toBeLessThan(1e-5);
      expect(Math.abs(s.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
    }
    expect(endedAtEpochBegin).toEqual([0, 1, 2]);
    expect(ended).toBe(3);

    // The same fit without the calls: the same losses and weights, bit for bit.
    const twin = make();
    const plain = await twin.fit(x, labels, fitArgs);
    expect(history.history.loss).toEqual(plain.history.loss);
    await expectSameWeightsThenDispose(m, twin);
  });

  it('a batch hook calling predict, or a callback calling fit, is refused by name; the model stays usable', async () => {
    const m = make();
    await expect(
      m.fit(x, labels, {
        ...fitArgs,
        callbacks: [
          new CustomCallback({
            onBatchEnd: async () => {
              await m.predict(x);
            },
          }),
        ],
      }),
    ).rejects.toThrow(/predict: this model is already running .*between epochs: onEpochBegin, onEpochEnd/);
    await expect(
      m.fit(x, labels, {
        ...fitArgs,
        callbacks: [
          new CustomCallback({
            onEpochEnd: async () => {
              await m.fit(x, labels, fitArgs);
            },
          }),
        ],
      }),
    ).rejects.toThrow(/fit: this model is already running fit\/evaluate\/predict; await it first$/);
    const weights = (await m.getWeights()).map((w) => w.data);
    const probs = ((await m.predict(x)) as Prediction).data;
    expect(maxRelError(probs, forward(weights).probs)).toBeLessThan(1e-5);
    await m.dispose();
  });

  it('layer.output: a model of the inner outputs shares the weights, also during fit', async () => {
    const m = make();
    const features = model({ inputs: m.inputs, outputs: m.layers.map((l) => l.output) });
    const check = async (): Promise<void> => {
      const weights = (await m.getWeights()).map((w) => w.data);
      const ref = forward(weights);
      const [hidden, probs] = (await features.predict(x)) as Prediction[];
      expect(maxRelError(hidden?.data ?? new Float32Array(0), ref.hidden)).toBeLessThan(1e-5);
      expect(maxRelError(probs?.data ?? new Float32Array(0), ref.probs)).toBeLessThan(1e-5);
    };
    await check();
    let calls = 0;
    await m.fit(x, labels, {
      ...fitArgs,
      callbacks: [
        new CustomCallback({
          onEpochEnd: async () => {
            await check();
            calls++;
          },
        }),
      ],
    });
    expect(calls).toBe(3);
    await check();
    const [first] = m.layers;
    expect(first?.input).toBe(m.inputs[0]);
    expect(() => layers.dense({ units: 2 }).output).toThrow(
      /"dense_\d+" has never been called, so it has no output/,
    );
    const twice = layers.dense({ units: 2 });
    twice.apply(input({ shape: [3] }));
    twice.apply(input({ shape: [3] }));
    expect(() => twice.output).toThrow(/has been called 2 times, so it has 2 outputs/);
    await m.dispose();
    await features.dispose();
  });
});

function toRecord(w: Float32Array[]): MlpWeights {
  const [W1, b1, W2, b2] = w as [Float32Array, Float32Array, Float32Array, Float32Array];
  return { W1, b1, W2, b2 };
}
