/**
 * Saving and loading in the TF.js layers format, checked against tfjs-layers 4.22 itself
 * (on tfjs's CPU backend) in both directions, plus round trips through files, HTTP and, in
 * headless Chromium, IndexedDB and downloads.
 *
 * Tolerance: predictions of the two libraries agree within 1e-5 absolute (the issue's bound):
 * both compute in f32, and on these small layers their different summation orders differ by
 * a few ulps of values of order 1. Weights are compared bit for bit: saving and loading only
 * copy them.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, uniformF32 } from '../../kernels-test/harness.js';
import { seededDense } from '../../kernels-test/models.js';
import { openPage } from '../../kernels-test/browser/chromium.js';
import { initEngine } from '../node/index.js';
import { input, layers } from '../nn/layers/index.js';
import type * as LayersModule from '../nn/layers/index.js';
import { model as functional, sequential, type LayersModel, type Prediction } from './model.js';
import type * as ModelModule from './model.js';
import {
  listModels,
  ModelFormatError,
  modelToArtifacts,
  removeModel,
  saveModel,
  type ModelArtifacts,
} from './io.js';
import type * as IoModule from './io.js';
import { loadModel, modelFromArtifacts } from './load.js';
import type * as LoadModule from './load.js';

const PREDICT = { atol: 1e-5, rtol: 0 };

let dir = '';

beforeAll(async () => {
  await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'webgpu-mlp-io-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- helpers

/** Replaces every weight by seeded random values (BN variances positive) so nothing is trivial. */
async function randomizeWeights(
  m: LayersModel,
  seed: number,
  keep: (name: string) => boolean = () => false,
): Promise<void> {
  const ws = await m.getWeights();
  await m.setWeights(
    ws.map((w, i) => {
      const n = w.data.length;
      if (keep(w.name)) return w.data;
      if (w.name.endsWith('/moving_variance')) return uniformF32(n, 0.5, 2, seed + i);
      if (w.name.endsWith('/gamma')) return uniformF32(n, 0.5, 1.5, seed + i);
      return uniformF32(n, -0.5, 0.5, seed + i);
    }),
  );
}

async function captureArtifacts(m: LayersModel): Promise<ModelArtifacts> {
  let captured: ModelArtifacts | undefined;
  await saveModel(m, {
    save: (a) => {
      captured = a;
      return Promise.resolve();
    },
  });
  if (!captured) throw new Error('the save handler was not called');
  return captured;
}

/** Our predictions (the model is compiled just to run; compile does not touch the weights). */
async function ours(m: LayersModel, xs: { data: Float32Array; shape: number[] }[]): Promise<Prediction[]> {
  if (!m.isCompiled) m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const p = await m.predict(xs.length === 1 ? (xs[0] as { data: Float32Array; shape: number[] }) : xs);
  return Array.isArray(p) ? p : [p];
}

function theirs(
  m: tf.Tensor | tf.Tensor[] | tfl.LayersModel,
  xs: { data: Float32Array; shape: number[] }[],
): Float32Array[] {
  const model = m as tfl.LayersModel;
  return tf.tidy(() => {
    const out = model.predict(xs.map((x) => tf.tensor(x.data, x.shape)));
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

function bits(data: Float32Array): number[] {
  return Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));
}

async function weightBits(m: LayersModel): Promise<Record<string, number[]>> {
  return Object.fromEntries((await m.getWeights()).map((w) => [w.name, bits(w.data)]));
}

function tfjsWeightBits(m: tfl.LayersModel): Record<string, number[]> {
  return Object.fromEntries(
    m.weights.map((w) => [w.originalName, bits(w.read().dataSync() as Float32Array)]),
  );
}

function mlp(name: string, opts: { bn?: { center?: boolean; scale?: boolean } } = {}): LayersModel {
  return sequential({
    name,
    layers: [
      layers.dense({ units: 16, activation: 'relu', inputShape: [784] }),
      layers.batchNormalization(opts.bn ?? {}),
      layers.dropout({ rate: 0.2 }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

/** Two inputs, a layer shared by two calls, add, concatenate, BN, two outputs. */
function wideAndDeep(): LayersModel {
  const wide = input({ shape: [6], name: 'wide' });
  const deep = input({ shape: [4], name: 'deep' });
  const h1 = layers.dense({ units: 5, activation: 'relu' }).apply(wide);
  const h2 = layers.dense({ units: 5, activation: 'tanh' }).apply(deep);
  const shared = layers.dense({ units: 5, activation: 'sigmoid' });
  const sum = layers.add().apply([shared.apply(h1), shared.apply(h2), h1]);
  const cat = layers.concatenate().apply([sum, wide]);
  const bn = layers.batchNormalization().apply(cat);
  const cls = layers.dense({ units: 3, activation: 'softmax', name: 'wd_class' }).apply(bn);
  const value = layers
    .dense({ units: 1, name: 'wd_value' })
    .apply(layers.activation({ activation: 'elu' }).apply(sum));
  return functional({ inputs: [wide, deep], outputs: [cls, value], name: 'wide_deep' });
}

function expectPredictionsClose(actual: Prediction[], expected: Float32Array[], what: string): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((p, i) => expectClose(p.data, expected[i] as Float32Array, PREDICT, `${what} output ${i}`));
}

/** Serves `root` over HTTP on 127.0.0.1. */
async function serve(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    readFile(path).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

// ---------------------------------------------------------------- ours → tfjs-layers

describe('saved here, loaded by tfjs-layers 4.22', () => {
  it('a Sequential 784 → 16 relu → BN → dropout → 10 softmax predicts the same in tfjs', async () => {
    const m = mlp('io_mlp');
    await randomizeWeights(m, 100);
    const a = await captureArtifacts(m);
    expect(a.format).toBe('layers-model');
    expect(a.modelTopology.class_name).toBe('Sequential');
    const first = a.modelTopology.config.layers[0];
    expect(first?.config.batch_input_shape).toEqual([null, 784]);
    expect(a.modelTopology.config.layers.map((l) => l.class_name)).toEqual([
      'Dense',
      'BatchNormalization',
      'Dropout',
      'Dense',
    ]);
    const names = m.layers.map((l) => l.name);
    expect(a.weightSpecs.map((s) => s.name)).toEqual([
      `${names[0]}/kernel`,
      `${names[0]}/bias`,
      `${names[1]}/gamma`,
      `${names[1]}/beta`,
      `${names[1]}/moving_mean`,
      `${names[1]}/moving_variance`,
      `${names[3]}/kernel`,
      `${names[3]}/bias`,
    ]);
    expect(a.weightData.byteLength).toBe(4 * m.countParams());

    const t = await tfl.loadLayersModel(tf.io.fromMemory(a));
    expect(t.layers.map((l) => l.name)).toEqual(names);
    expect(tfjsWeightBits(t)).toEqual(await weightBits(m));
    const x = { data: uniformF32(5 * 784, 0, 1, 7), shape: [5, 784] };
    expectPredictionsClose(await ours(m, [x]), theirs(t, [x]), 'mlp');
    t.dispose();
  });

  it('a functional model (two inputs, a shared layer, add, concatenate, two outputs) predicts the same in tfjs', async () => {
    const m = wideAndDeep();
    await randomizeWeights(m, 200);
    const a = await captureArtifacts(m);
    expect(a.modelTopology.class_name).toBe('Model'); // what tfjs-layers 4.22 writes for tf.model()
    const byName = new Map(a.modelTopology.config.layers.map((l) => [l.name, l]));
    const addLayer = a.modelTopology.config.layers.find((l) => l.class_name === 'Add');
    const sharedName = addLayer?.inbound_nodes?.[0]?.[0]?.[0] as string;
    // The shared layer's two calls are nodes 0 and 1; the add takes both.
    expect(addLayer?.inbound_nodes?.[0]?.map((r) => r.slice(1, 3))).toEqual([
      [0, 0],
      [1, 0],
      [0, 0],
    ]);
    expect(byName.get(sharedName)?.inbound_nodes?.length).toBe(2);
    expect(a.modelTopology.config.input_layers).toEqual([
      ['wide', 0, 0],
      ['deep', 0, 0],
    ]);
    expect(a.modelTopology.config.output_layers).toEqual([
      ['wd_class', 0, 0],
      ['wd_value', 0, 0],
    ]);

    const t = await tfl.loadLayersModel(tf.io.fromMemory(a));
    expect(tfjsWeightBits(t)).toEqual(await weightBits(m));
    const xs = [
      { data: uniformF32(7 * 6, -1, 1, 8), shape: [7, 6] },
      { data: uniformF32(7 * 4, -1, 1, 9), shape: [7, 4] },
    ];
    expectPredictionsClose(await ours(m, xs), theirs(t, xs), 'wide & deep');
    t.dispose();
  });

  it('every activation tfjs also has keeps its meaning there (Dense and Activation layers)', async () => {
    const names = [
      'elu',
      'selu',
      'hard_sigmoid',
      'softplus',
      'softsign',
      'gelu',
      'sigmoid',
      'tanh',
      'relu',
      'linear',
    ];
    const m = sequential({
      name: 'io_activations',
      layers: [
        layers.dense({ units: 6, inputShape: [4], activation: 'softmax' }),
        ...names.map((activation) => layers.dense({ units: 6, activation })),
        layers.activation({ activation: 'selu' }),
        layers.activation({ activation: 'softsign' }),
      ],
    });
    await randomizeWeights(m, 350);
    const t = await tfl.loadLayersModel(tf.io.fromMemory(await captureArtifacts(m)));
    const x = { data: uniformF32(9 * 4, -3, 3, 351), shape: [9, 4] };
    expectPredictionsClose(await ours(m, [x]), theirs(t, [x]), 'activation chain');
    t.dispose();
  });

  it('BatchNormalization without scale and center has no gamma/beta weights, as in tfjs', async () => {
    const m = mlp('io_mlp_nobn', { bn: { center: false, scale: false } });
    const bn = m.layers[1]?.name as string;
    // γ and β are constants of this layer (1 and 0): saving refuses other values.
    await randomizeWeights(m, 300, (name) => name.startsWith(`${bn}/`) && /gamma|beta/.test(name));
    const a = await captureArtifacts(m);
    expect(a.weightSpecs.filter((s) => s.name.startsWith(`${bn}/`)).map((s) => s.name)).toEqual([
      `${bn}/moving_mean`,
      `${bn}/moving_variance`,
    ]);
    // tfjs builds the same layer with the same weights.
    const ref = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 16, inputShape: [784] }),
        tfl.layers.batchNormalization({ center: false, scale: false }),
      ],
    });
    expect(ref.layers[1]?.weights.map((w) => w.originalName.split('/')[1])).toEqual([
      'moving_mean',
      'moving_variance',
    ]);
    ref.dispose();

    const t = await tfl.loadLayersModel(tf.io.fromMemory(a));
    const x = { data: uniformF32(3 * 784, 0, 1, 10), shape: [3, 784] };
    expectPredictionsClose(await ours(m, [x]), theirs(t, [x]), 'mlp without BN scale/center');
    // And back here: no γ/β weights (they are constants 1 and 0 inside the layer, as in Keras).
    const back = modelFromArtifacts(a);
    const w = await back.getWeights();
    expect(w.some((v) => v.name === `${bn}/gamma` || v.name === `${bn}/beta`)).toBe(false);
    expectPredictionsClose(await ours(back, [x]), theirs(t, [x]), 'reloaded mlp without BN scale/center');
    t.dispose();
  });

  it("file:// writes a model.json + weights.bin that tfjs's HTTP loader reads", async () => {
    const m = mlp('io_mlp_http');
    await randomizeWeights(m, 400);
    const saved = await m.save(`file://${dir}/http-model`);
    expect(saved.url).toBe(`file://${dir}/http-model/model.json`);
    expect(saved.modelArtifactsInfo.weightDataBytes).toBe(4 * m.countParams());
    const json = JSON.parse(await readFile(join(dir, 'http-model', 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(Object.keys(json).sort()).toEqual([
      'convertedBy',
      'format',
      'generatedBy',
      'modelTopology',
      'weightsManifest',
    ]);
    expect((json.weightsManifest as { paths: string[] }[])[0]?.paths).toEqual(['weights.bin']);

    const server = await serve(dir);
    try {
      const t = await tfl.loadLayersModel(`${server.url}/http-model/model.json`);
      expect(tfjsWeightBits(t)).toEqual(await weightBits(m));
      const x = { data: uniformF32(4 * 784, 0, 1, 11), shape: [4, 784] };
      expectPredictionsClose(await ours(m, [x]), theirs(t, [x]), 'mlp over http');
      t.dispose();
      // loadModel reads the same URL.
      const back = await loadModel(`${server.url}/http-model/model.json`);
      expect(await weightBits(back)).toEqual(await weightBits(m));
      await expect(loadModel(`${server.url}/nothing/model.json`)).rejects.toThrow(/answered 404/);
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------- tfjs-layers → ours

async function tfjsArtifacts(m: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler((a) => {
      captured = a;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  if (!captured) throw new Error('tfjs did not call the save handler');
  return captured;
}

/** Random weights in tfjs, BN variances positive. */
function randomizeTfjs(m: tfl.LayersModel, seed: number): void {
  m.setWeights(
    m.weights.map((w, i) => {
      const n = w.shape.reduce((a, b) => (a as number) * (b as number), 1) as number;
      const [lo, hi] = w.originalName.endsWith('/moving_variance')
        ? [0.5, 2]
        : w.originalName.endsWith('/gamma')
          ? [0.5, 1.5]
          : [-0.5, 0.5];
      return tf.tensor(uniformF32(n, lo, hi, seed + i), w.shape as number[]);
    }),
  );
}

describe('saved by tfjs-layers 4.22, loaded here', () => {
  it('a tfjs Dense/BN/Dropout Sequential predicts the same here', async () => {
    const t = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 12, activation: 'relu', inputShape: [7] }),
        tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-2 }),
        tfl.layers.dropout({ rate: 0.3 }),
        tfl.layers.dense({ units: 8, activation: 'tanh', kernelInitializer: 'heUniform', useBias: false }),
        tfl.layers.dense({ units: 4, activation: 'softmax' }),
      ],
    });
    randomizeTfjs(t, 500);
    const a = await tfjsArtifacts(t);
    // tfjs lists trainable weights first and the BN moving statistics last: names match them.
    expect(a.weightSpecs?.at(-1)?.name).toMatch(/moving_variance$/);
    const m = await loadModel(tf.io.fromMemory(a));
    expect(m.layers.map((l) => l.name)).toEqual(t.layers.map((l) => l.name));
    expect(await weightBits(m)).toEqual(tfjsWeightBits(t));
    const x = { data: uniformF32(6 * 7, -1, 1, 12), shape: [6, 7] };
    expectPredictionsClose(await ours(m, [x]), theirs(t, [x]), 'tfjs mlp');
    t.dispose();
  });

  it('a tfjs functional model ("Model": concatenate, add, two inputs) predicts the same here', async () => {
    const a = tfl.input({ shape: [3] });
    const b = tfl.input({ shape: [5] });
    const cat = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
    const d1 = tfl.layers.dense({ units: 6, activation: 'relu' }).apply(cat) as tfl.SymbolicTensor;
    const d2 = tfl.layers.dense({ units: 6, activation: 'sigmoid' }).apply(b) as tfl.SymbolicTensor;
    const sum = tfl.layers.add().apply([d1, d2]) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization().apply(sum) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 2 }).apply(bn) as tfl.SymbolicTensor;
    const t = tfl.model({ inputs: [a, b], outputs: out });
    randomizeTfjs(t, 600);
    const art = await tfjsArtifacts(t);
    expect((art.modelTopology as { class_name: string }).class_name).toBe('Model');
    const m = await loadModel(tf.io.fromMemory(art));
    expect(await weightBits(m)).toEqual(tfjsWeightBits(t));
    const xs = [
      { data: uniformF32(5 * 3, -1, 1, 13), shape: [5, 3] },
      { data: uniformF32(5 * 5, -1, 1, 14), shape: [5, 5] },
    ];
    expectPredictionsClose(await ours(m, xs), theirs(t, xs), 'tfjs functional');
    t.dispose();
  });
});

describe('a Keras model converted by tensorflowjs_converter', () => {
  it("reads model_config, 'Functional', InputLayer and Keras 2 initializer configs; predicts the closed form", async () => {
    // y = softmax(relu(x·K + b)), K = [[1, -1], [2, 0.5]], b = [0.1, -0.2]
    const topology = {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Functional',
        config: {
          name: 'keras_model',
          layers: [
            {
              class_name: 'InputLayer',
              name: 'x',
              config: {
                batch_input_shape: [null, 2],
                dtype: 'float32',
                sparse: false,
                ragged: false,
                name: 'x',
              },
              inbound_nodes: [],
            },
            {
              class_name: 'Dense',
              name: 'hidden',
              config: {
                name: 'hidden',
                trainable: true,
                dtype: 'float32',
                units: 2,
                activation: 'relu',
                use_bias: true,
                kernel_initializer: {
                  module: 'keras.initializers',
                  class_name: 'GlorotUniform',
                  config: { seed: null },
                },
                bias_initializer: { class_name: 'Zeros', config: {} },
                kernel_regularizer: null,
                bias_regularizer: null,
                activity_regularizer: null,
                kernel_constraint: null,
                bias_constraint: null,
              },
              inbound_nodes: [[['x', 0, 0, {}]]],
            },
            {
              class_name: 'Activation',
              name: 'probs',
              config: { name: 'probs', trainable: true, dtype: 'float32', activation: 'softmax' },
              inbound_nodes: [[['hidden', 0, 0]]],
            },
          ],
          input_layers: [['x', 0, 0]],
          output_layers: [['probs', 0, 0]],
        },
      },
      training_config: { loss: 'categorical_crossentropy' },
    };
    const weightData = new Float32Array([1, -1, 2, 0.5, 0.1, -0.2]).buffer;
    const m = await loadModel({
      modelTopology: topology,
      format: 'layers-model',
      weightSpecs: [
        { name: 'hidden/kernel', shape: [2, 2], dtype: 'float32' },
        { name: 'hidden/bias', shape: [2], dtype: 'float32' },
      ],
      weightData,
    });
    const x = [0.5, -0.25, -1, 2];
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      const [a, b] = [x[2 * r] as number, x[2 * r + 1] as number];
      const h = [Math.max(0, a * 1 + b * 2 + 0.1), Math.max(0, a * -1 + b * 0.5 - 0.2)] as const;
      const z = Math.exp(h[0]) + Math.exp(h[1]);
      expected.push(Math.exp(h[0]) / z, Math.exp(h[1]) / z);
    }
    const [p] = await ours(m, [{ data: new Float32Array(x), shape: [2, 2] }]);
    expectClose(
      p?.data ?? new Float32Array(),
      new Float32Array(expected),
      { atol: 1e-6, rtol: 1e-6 },
      'keras model',
    );
  });
});

// ---------------------------------------------------------------- round trips here

describe('round trip here', () => {
  it('trained model → file:// → loadModel: weights bit-exact, same topology and predictions, fit works', async () => {
    const m = wideAndDeep();
    m.compile({ optimizer: 'adam', loss: ['categoricalCrossentropy', 'meanSquaredError'] });
    const rows = 24;
    const xs = [
      { data: uniformF32(rows * 6, -1, 1, 15), shape: [rows, 6] },
      { data: uniformF32(rows * 4, -1, 1, 16), shape: [rows, 4] },
    ];
    const labels = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) labels[r * 3 + (r % 3)] = 1;
    const ys = [
      { data: labels, shape: [rows, 3] },
      { data: uniformF32(rows, -1, 1, 17), shape: [rows, 1] },
    ];
    await m.fit(xs, ys, { epochs: 2, batchSize: 8, verbose: 0, seed: 1 });
    const trained = await weightBits(m);

    await m.save(`file://${dir}/wide-deep/`);
    const back = await loadModel(`file://${dir}/wide-deep/model.json`);
    const alsoBack = await loadModel(`file://${dir}/wide-deep`); // the directory works too
    expect(back.isCompiled).toBe(false);
    expect(await weightBits(back)).toEqual(trained);
    expect(await weightBits(alsoBack)).toEqual(trained);
    expect((await modelToArtifacts(back)).modelTopology).toEqual((await modelToArtifacts(m)).modelTopology);
    expect(back.name).toBe('wide_deep');
    expect(back.inputs.map((i) => i.name)).toEqual(['wide', 'deep']);
    expect(back.outputs.map((o) => o.name)).toEqual(['wd_class', 'wd_value']);

    const before = await ours(m, xs);
    const after = await ours(back, xs);
    after.forEach((p, i) =>
      expectClose(p.data, (before[i] as Prediction).data, { atol: 0, rtol: 0 }, `reloaded output ${i}`),
    );

    back.compile({ optimizer: 'sgd', loss: ['categoricalCrossentropy', 'meanSquaredError'] });
    const h = await back.fit(xs, ys, { epochs: 3, batchSize: 8, verbose: 0, seed: 2 });
    const losses = h.history.loss as number[];
    expect(losses).toHaveLength(3);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    expect(await weightBits(back)).not.toEqual(trained);
  });

  it('a Sequential round-trips through file:// with the same topology, including initializers and regularizers', async () => {
    const m = sequential({
      name: 'io_reg',
      layers: [
        layers.dense({
          units: 5,
          inputShape: [3],
          activation: 'hard_sigmoid',
          kernelInitializer: 'heNormal',
          kernelRegularizer: { l2: 1e-3 },
        }),
        layers.dense({
          units: 2,
          activation: 'softmax',
          kernelInitializer: { className: 'RandomUniform', config: { minval: -0.5, maxval: 0.5, seed: 3 } },
        }),
      ],
    });
    await m.save(`file://${dir}/reg`);
    const back = await loadModel(`file://${dir}/reg/model.json`);
    const a = await modelToArtifacts(m);
    const b = await modelToArtifacts(back);
    expect(b.modelTopology).toEqual(a.modelTopology);
    expect(bits(new Float32Array(b.weightData))).toEqual(bits(new Float32Array(a.weightData)));
    const first = a.modelTopology.config.layers[0]?.config;
    expect(first?.kernel_initializer).toEqual({
      class_name: 'VarianceScaling',
      config: { scale: 2, mode: 'fan_in', distribution: 'normal', seed: null },
    });
    expect(first?.kernel_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 1e-3 } });
    // tfjs reads these configs too.
    const t = await tfl.loadLayersModel(tf.io.fromMemory(a));
    expect(t.layers[0]?.getConfig().kernelRegularizer).toEqual({
      className: 'L1L2',
      config: { l1: 0, l2: 1e-3 },
    });
    t.dispose();
  });
});

// ---------------------------------------------------------------- errors

describe('clear errors', () => {
  async function small(): Promise<{ m: LayersModel; a: ModelArtifacts }> {
    const m = sequential({
      name: 'io_small',
      layers: [layers.dense({ units: 3, inputShape: [2] }), layers.dense({ units: 1 })],
    });
    return { m, a: await captureArtifacts(m) };
  }
  function copy(a: ModelArtifacts): ModelArtifacts {
    const c = structuredClone({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs });
    return { ...a, ...c };
  }

  it('an unknown layer class names the class and the supported ones', async () => {
    const { a } = await small();
    const c = copy(a);
    (c.modelTopology.config.layers[1] as { class_name: string }).class_name = 'Conv2D';
    expect(() => modelFromArtifacts(c)).toThrow(ModelFormatError);
    expect(() => modelFromArtifacts(c)).toThrow(
      /unknown layer class 'Conv2D' \(layer "[^"]+"\); supported: Dense, Flatten, Activation, Dropout, BatchNormalization, Concatenate, Add, InputLayer/,
    );
  });

  it('a missing weight, an extra weight, a wrong shape and short weight data are named', async () => {
    const { a } = await small();
    const missing = copy(a);
    missing.weightSpecs.pop();
    missing.weightData = a.weightData.slice(0, a.weightData.byteLength - 4);
    expect(() => modelFromArtifacts(missing)).toThrow(/missing from the file: "[^"]+\/bias" \[1\]/);

    const extra = copy(a);
    extra.weightSpecs.push({ name: 'stray/kernel', shape: [2], dtype: 'float32' });
    const data = new Uint8Array(a.weightData.byteLength + 8);
    data.set(new Uint8Array(a.weightData));
    extra.weightData = data.buffer;
    expect(() => modelFromArtifacts(extra)).toThrow(/in the file but not in the model: "stray\/kernel"/);

    const shape = copy(a);
    (shape.weightSpecs[0] as { shape: number[] }).shape = [3, 2];
    expect(() => modelFromArtifacts(shape)).toThrow(/the file has shape \[3, 2\], the model needs \[2, 3\]/);

    const short = copy(a);
    short.weightData = a.weightData.slice(0, 8);
    expect(() => modelFromArtifacts(short)).toThrow(/the weight data has 8 bytes; the weight specs need 52/);
  });

  it('includeOptimizer: Adam state saved and restored, so training continues exactly as without the save', async () => {
    const make = (): LayersModel =>
      sequential({
        layers: [seededDense(5, 'tanh', 11, { inputShape: [3] }), seededDense(2, 'softmax', 12)],
      });
    const x = { data: uniformF32(24, -1, 1, 13), shape: [8, 3] };
    const y = Uint8Array.from([0, 1, 1, 0, 1, 0, 0, 1]);
    const opts = { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 as const };
    const a = make();
    a.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    await a.fit(x, y, opts);
    await a.save(`file://${dir}/with-optimizer`, { includeOptimizer: true });
    const json = JSON.parse(await readFile(join(dir, 'with-optimizer', 'model.json'), 'utf8')) as {
      modelTopology: { training_config?: { optimizer_config: { class_name: string } } };
      weightsManifest: { weights: { name: string; dtype: string; group?: string }[] }[];
    };
    expect(json.modelTopology.training_config?.optimizer_config.class_name).toBe('Adam');
    const opt = json.weightsManifest[0]?.weights.filter((w) => w.group === 'optimizer') ?? [];
    expect(opt[0]).toEqual({ name: 'iterations', shape: [], dtype: 'int32', group: 'optimizer' });
    expect(opt).toHaveLength(1 + 2 * 4); // iterations, then m and v of 2 kernels + 2 biases
    const b = await loadModel(`file://${dir}/with-optimizer/model.json`);
    b.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    expect(await b.getOptimizerWeights()).toEqual(await a.getOptimizerWeights());
    await a.fit(x, y, opts);
    await b.fit(x, y, opts);
    const [wa, wb] = [await a.getWeights(), await b.getWeights()];
    wa.forEach((w, i) => expect(Array.from(wb[i]?.data ?? [])).toEqual(Array.from(w.data)));
    // Another optimizer cannot take Adam's state.
    const c = await loadModel(`file://${dir}/with-optimizer/model.json`);
    c.compile({ optimizer: 'rmsprop', loss: 'sparseCategoricalCrossentropy' });
    await expect(c.fit(x, y, opts)).rejects.toThrow(/does not fit the compiled optimizer \(RMSprop\)/);
  });

  it('missing files, unsupported URLs, graph models and includeOptimizer', async () => {
    const { m } = await small();
    await expect(loadModel(`file://${dir}/no-such-model/model.json`)).rejects.toThrow(
      `loadModel: file://${dir}/no-such-model/model.json not found`,
    );
    await m.save(`file://${dir}/no-weights`);
    await rm(join(dir, 'no-weights', 'weights.bin'));
    await expect(loadModel(`file://${dir}/no-weights/model.json`)).rejects.toThrow(
      new RegExp(`weights file ${dir}/no-weights/weights.bin \\(listed in .*model.json\\) not found`),
    );
    await writeFile(join(dir, 'no-weights', 'model.json'), '{ "modelTopology": ');
    await expect(loadModel(`file://${dir}/no-weights/model.json`)).rejects.toThrow(/is not valid JSON/);
    await expect(m.save('s3://bucket/model')).rejects.toThrow(
      /unsupported destination 's3:\/\/bucket\/model'/,
    );
    await expect(m.save(`file://${dir}/x`, { includeOptimizer: true })).rejects.toThrow(
      /includeOptimizer needs a compiled model/,
    );
    await expect(m.save('indexeddb://m')).rejects.toThrow(/needs a browser with IndexedDB/);
    await expect(listModels()).rejects.toThrow(/needs a browser with IndexedDB/);
    await expect(removeModel('indexeddb://m')).rejects.toThrow(/needs a browser with IndexedDB/);
    await expect(loadModel('downloads://m')).rejects.toThrow(/only saves/);
    await expect(m.save('downloads://m')).rejects.toThrow(/downloads:\/\/ needs a browser page/);
    expect(() => modelFromArtifacts({ modelTopology: {}, format: 'graph-model' })).toThrow(
      /format 'graph-model' is not supported/,
    );
  });

  it('a functional config whose layer input does not exist', async () => {
    const a = await captureArtifacts(wideAndDeep());
    const c = copy(a);
    const add = c.modelTopology.config.layers.find((l) => l.class_name === 'Add');
    const first = add?.inbound_nodes?.[0]?.[0];
    if (first) first[0] = 'ghost';
    expect(() => modelFromArtifacts(c)).toThrow(/needs "ghost" call 0, which no layer produces/);
  });
});

// ---------------------------------------------------------------- browser

interface BrowserModules {
  io: typeof IoModule;
  load: typeof LoadModule;
  nn: typeof LayersModule;
  mdl: typeof ModelModule;
}

describe('in headless Chromium', () => {
  /** A Chromium page with the io, layers and model modules as window.__ioTest. */
  async function openIoPage() {
    const lines: string[] = [];
    const session = await openPage('/package.json', (l) => lines.push(l));
    try {
      await session.page.addScriptTag({
        type: 'module',
        content:
          "import * as io from '/src/model/io.ts'; import * as load from '/src/model/load.ts'; " +
          "import * as nn from '/src/nn/layers/index.ts'; import * as mdl from '/src/model/model.ts'; " +
          'window.__ioTest = { io, load, nn, mdl };',
      });
      await session.page
        .waitForFunction(() => '__ioTest' in window, { timeout: 60_000 })
        .catch((e: unknown) => {
          throw new Error(`the modules did not load in the page: ${lines.join('\n')}`, { cause: e });
        });
      return session;
    } catch (e) {
      await session.close();
      throw e;
    }
  }

  it('indexeddb:// and downloads:// + browserFiles round-trip bit-exact', async () => {
    const session = await openIoPage();
    try {
      const r = await session.page.evaluate(async () => {
        const { io, load, nn, mdl } = (window as unknown as { __ioTest: BrowserModules }).__ioTest;
        const m = mdl.sequential({
          name: 'browser_mlp',
          layers: [
            nn.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }),
            nn.layers.batchNormalization(),
            nn.layers.dense({ units: 2, activation: 'softmax' }),
          ],
        });
        await m.setWeights(
          (await m.getWeights()).map((w) => w.data.map((_, i) => Math.sin(i + w.data.length) + 1.5)),
        );
        const bitsOf = async (x: LayersModel): Promise<number[][]> =>
          (await x.getWeights()).map((w) =>
            Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)),
          );
        const topology = async (x: LayersModel): Promise<string> =>
          JSON.stringify((await io.modelToArtifacts(x)).modelTopology);

        const saved = await m.save('indexeddb://browser_mlp');
        const fromDb = await load.loadModel('indexeddb://browser_mlp');
        let missing = '';
        await load.loadModel('indexeddb://no_such_model').catch((e: unknown) => {
          missing = String(e);
        });

        const clicks: { name: string; href: string }[] = [];
        Object.defineProperty(HTMLAnchorElement.prototype, 'click', {
          configurable: true,
          value(this: HTMLAnchorElement) {
            clicks.push({ name: this.download, href: this.href });
          },
        });
        const downloaded = await m.save('downloads://browser_mlp');
        delete (HTMLAnchorElement.prototype as { click?: unknown }).click;
        const files = await Promise.all(
          clicks.map(async (c) => new File([await (await fetch(c.href)).blob()], c.name)),
        );
        const manifest = JSON.parse(await (files[0] as File).text()) as {
          weightsManifest: { paths: string[] }[];
        };
        const fromFiles = await load.loadModel(io.browserFiles(files[0] as File, files[1] as File));
        let wrongFile = '';
        await load.loadModel(io.browserFiles(files[0] as File)).catch((e: unknown) => {
          wrongFile = String(e);
        });
        return {
          urls: [saved.url, downloaded.url],
          names: clicks.map((c) => c.name),
          paths: manifest.weightsManifest[0]?.paths,
          bits: await bitsOf(m),
          dbBits: await bitsOf(fromDb),
          fileBits: await bitsOf(fromFiles),
          topology: await topology(m),
          dbTopology: await topology(fromDb),
          fileTopology: await topology(fromFiles),
          missing,
          wrongFile,
        };
      });
      expect(r.urls).toEqual(['indexeddb://browser_mlp', 'downloads://browser_mlp']);
      expect(r.names).toEqual(['browser_mlp.json', 'browser_mlp.weights.bin']);
      expect(r.paths).toEqual(['./browser_mlp.weights.bin']);
      expect(r.bits.flat().length).toBe(4 * 3 + 4 + 4 * 4 + 4 * 2 + 2);
      expect(r.dbBits).toEqual(r.bits);
      expect(r.fileBits).toEqual(r.bits);
      expect(r.dbTopology).toBe(r.topology);
      expect(r.fileTopology).toBe(r.topology);
      expect(r.missing).toMatch(/no model named 'no_such_model' in IndexedDB/);
      expect(r.wrongFile).toMatch(/needs the weights file "browser_mlp.weights.bin"; got none/);
    } finally {
      await session.close();
    }
  });

  it('listModels() gives the IndexedDB models with dates and sizes; removeModel() deletes one', async () => {
    const session = await openIoPage();
    try {
      const r = await session.page.evaluate(async () => {
        const { io, load, nn, mdl } = (window as unknown as { __ioTest: BrowserModules }).__ioTest;
        const mlpOf = (inputs: number, hidden: number) =>
          mdl.sequential({
            layers: [
              nn.layers.dense({ units: hidden, inputShape: [inputs], activation: 'relu' }),
              nn.layers.dense({ units: 2, activation: 'softmax' }),
            ],
          });
        // A database as version 1 of this library left it (one store, no model_info): the
        // model in it must be listed once the library opens it as version 2.
        const oldArtifacts = await io.modelToArtifacts(mlpOf(3, 5));
        const oldDate = new Date('2024-05-06T07:08:09Z');
        await new Promise<void>((resolve, reject) => {
          const req = indexedDB.open('webgpu-mlp', 1);
          req.onupgradeneeded = () => {
            const store = req.result.createObjectStore('models', { keyPath: 'name' });
            store.put({ name: 'from_v1', artifacts: oldArtifacts, dateSaved: oldDate });
          };
          req.onsuccess = () => {
            req.result.close();
            resolve();
          };
          req.onerror = () => reject(req.error ?? new Error('open failed'));
        });
        const before = Date.now();
        const a = await mlpOf(4, 6).save('indexeddb://a');
        const b = await mlpOf(8, 3).save('indexeddb://b model');
        const after = Date.now();
        const listed = await io.listModels();
        const removed = await io.removeModel('indexeddb://a');
        const listedAfter = await io.listModels();
        const errors: string[] = [];
        for (const url of ['indexeddb://a', 'file://x', 'indexeddb://']) {
          await io.removeModel(url).catch((e: unknown) => errors.push(String(e)));
        }
        await load.loadModel('indexeddb://a').catch((e: unknown) => errors.push(String(e)));
        const stillThere = await load.loadModel('indexeddb://b model');
        const plain = (i: Record<string, unknown>) =>
          Object.fromEntries(Object.entries(i).map(([k, v]) => [k, v instanceof Date ? v.getTime() : v]));
        const plainAll = (l: Record<string, Record<string, unknown>>) =>
          Object.fromEntries(Object.entries(l).map(([k, v]) => [k, plain(v)]));
        return {
          before,
          after,
          oldDate: oldDate.getTime(),
          oldWeightBytes: oldArtifacts.weightData.byteLength,
          oldTopologyBytes: new TextEncoder().encode(JSON.stringify(oldArtifacts.modelTopology)).byteLength,
          saved: [plain({ ...a.modelArtifactsInfo }), plain({ ...b.modelArtifactsInfo })],
          listed: plainAll(listed as unknown as Record<string, Record<string, unknown>>),
          removed: plain({ ...removed }),
          listedAfter: Object.keys(listedAfter),
          errors,
          stillThereParams: (await stillThere.getWeights()).reduce((s, w) => s + w.data.length, 0),
        };
      });
      // Weights are f32: 4 bytes per parameter, counted from the layer sizes.
      const params = (i: number, h: number) => i * h + h + h * 2 + 2;
      expect(r.oldWeightBytes).toBe(4 * params(3, 5));
      expect(Object.keys(r.listed)).toEqual(['indexeddb://a', 'indexeddb://b model', 'indexeddb://from_v1']);
      expect(r.listed['indexeddb://from_v1']).toMatchObject({
        dateSaved: r.oldDate,
        modelTopologyType: 'JSON',
        modelTopologyBytes: r.oldTopologyBytes,
        weightDataBytes: 4 * params(3, 5),
      });
      expect(r.listed['indexeddb://a']).toEqual(r.saved[0]);
      expect(r.listed['indexeddb://b model']).toEqual(r.saved[1]);
      expect(r.listed['indexeddb://a']?.weightDataBytes).toBe(4 * params(4, 6));
      expect(r.listed['indexeddb://b model']?.weightDataBytes).toBe(4 * params(8, 3));
      for (const url of ['indexeddb://a', 'indexeddb://b model']) {
        const t = r.listed[url]?.dateSaved as number;
        expect(t).toBeGreaterThanOrEqual(r.before);
        expect(t).toBeLessThanOrEqual(r.after);
      }
      expect(r.removed).toEqual(r.saved[0]);
      expect(r.listedAfter).toEqual(['indexeddb://b model', 'indexeddb://from_v1']);
      expect(r.errors).toHaveLength(4);
      expect(r.errors[0]).toMatch(/removeModel: no model named 'a' in IndexedDB/);
      expect(r.errors[1]).toMatch(/removeModel: 'file:\/\/x' is not an indexeddb:\/\/name URL/);
      expect(r.errors[2]).toMatch(/'indexeddb:\/\/' has no model name/);
      expect(r.errors[3]).toMatch(/loadModel: no model named 'a' in IndexedDB/);
      expect(r.stillThereParams).toBe(params(8, 3));
    } finally {
      await session.close();
    }
  });
});
