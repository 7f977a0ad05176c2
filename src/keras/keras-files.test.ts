/**
 * Keras's own files (.keras, .h5, .weights.h5) against fixtures laid out as Keras 3.15 and
 * tf.keras 2.15 write them (test/fixtures/keras/make_keras_files.py, from Keras's saving
 * code; expected.json holds their exact values): loading gives those values bit for bit and
 * the predictions of a float64 forward pass over them; saving a loaded file gives back the same
 * HDF5 structure (groups, attributes with their string types, dtypes, names) and values;
 * bad files are refused naming the file and the part, with nothing half-loaded.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  initEngine,
  input,
  layers,
  loadModel,
  model,
  optimizers,
  sequential,
  type LayersModel,
  type Prediction,
} from '../node/index.js';
import { readH5, writeH5, group, putDataset, type H5Group } from './h5.js';

const DIR = join(import.meta.dirname, '../../test/fixtures/keras');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, name)));
type Expected = Record<
  string,
  {
    weights: Record<string, { shape: number[]; values: number[] }>;
    optimizer?: { iteration: number; learning_rate: number; slots: Record<string, { values: number[] }> };
  }
>;
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Expected;

let tmp: string;
beforeAll(async () => {
  await initEngine();
  tmp = mkdtempSync(join(tmpdir(), 'keras-files-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function weightsOf(model: LayersModel): Promise<Map<string, Float32Array>> {
  return new Map((await model.getWeights()).map((w) => [w.name, w.data]));
}

function expectWeights(got: Map<string, Float32Array>, want: Expected[string]['weights']): void {
  expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    // float32 values written as repr(float(np.float32)): exact.
    expect(Array.from(got.get(name) ?? []), name).toEqual(w.values);
  }
}

/** The float64 forward pass of the fixtures' Sequential: dense relu → BN (inference) → dense softmax. */
function seqReference(w: Expected[string]['weights'], x: number[]): number[] {
  const dense = (v: number[], k: string, units: number): number[] => {
    const kernel = (w[`${k}/kernel`] as { values: number[] }).values;
    const bias = (w[`${k}/bias`] as { values: number[] }).values;
    return Array.from({ length: units }, (_, j) =>
      v.reduce((s, xi, i) => s + xi * (kernel[i * units + j] as number), bias[j] as number),
    );
  };
  const h = dense(x, 'dense', 5).map((v) => Math.max(0, v));
  const bn = (n: string): number[] => (w[`batch_normalization/${n}`] as { values: number[] }).values;
  const [g, b, m, va] = [bn('gamma'), bn('beta'), bn('moving_mean'), bn('moving_variance')];
  const hn = h.map(
    (v, i) =>
      ((v - (m[i] as number)) / Math.sqrt((va[i] as number) + 0.001)) * (g[i] as number) + (b[i] as number),
  );
  const z = dense(hn, 'dense_1', 3);
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  return e.map((v) => v / e.reduce((s, u) => s + u, 0));
}

const X = [
  [0.5, -1, 2, 0.25],
  [-0.75, 0.1, 0.3, -2],
];

async function predictRows(model: LayersModel, x: number[][]): Promise<number[][]> {
  const y = (await model.predict(x)) as Prediction;
  const cols = y.shape[1] as number;
  return x.map((_, r) => Array.from(y.data.slice(r * cols, r * cols + cols)));
}

describe('reading Keras files', () => {
  for (const file of ['seq_k3.keras', 'seq_k3.h5', 'seq_tf2.h5']) {
    it(`${file}: layers, exact weights, compile settings and optimizer state; predictions match float64`, async () => {
      const want = expected[file] as Expected[string];
      const model = await loadModel(join(DIR, file));
      expect(model.layers.map((l) => [l.name, l.className])).toEqual([
        ['dense', 'Dense'],
        ['batch_normalization', 'BatchNormalization'],
        ['dropout', 'Dropout'],
        ['dense_1', 'Dense'],
      ]);
      expectWeights(await weightsOf(model), want.weights);
      expect(model.optimizerConfig?.className.toLowerCase()).toBe('adam');
      expect(model.optimizerConfig?.config.learning_rate).toBeCloseTo(0.002, 9);
      // Keras's momentum/velocity per weight become our m/v.
      const opt = want.optimizer as NonNullable<Expected[string]['optimizer']>;
      const pending = new Map((model.pendingOptimizerWeights ?? []).map((s) => [s.name, s.data]));
      expect(pending.get('iterations')?.[0]).toBe(opt.iteration);
      for (const [key, slot] of Object.entries(opt.slots)) {
        const m = /^(.*)\/(momentum|velocity|m|v)$/.exec(key);
        if (!m) throw new Error(`fixture slot ${key}`);
        const ours = `${m[1]}/${m[2] === 'momentum' || m[2] === 'm' ? 'm' : 'v'}`;
        expect(Array.from(pending.get(ours) ?? []), key).toEqual(slot.values);
      }
      const got = await predictRows(model, X);
      X.forEach((x, r) =>
        seqReference(want.weights, x).forEach((v, j) => expect(got[r]?.[j]).toBeCloseTo(v, 5)),
      );
      // The loaded optimizer state is used: one more step counts from the saved iteration.
      await model.fit(
        X,
        [
          [1, 0, 0],
          [0, 0, 1],
        ],
        { epochs: 1, batch_size: 2, verbose: 0 },
      );
      const after = new Map((await model.getOptimizerWeights()).map((s) => [s.name, s.data]));
      expect(after.get('iterations')?.[0]).toBe(opt.iteration + 1);
      await model.dispose();
    });
  }

  it('func_k3.keras: two inputs, a shared layer called twice, two outputs', async () => {
    const want = expected['func_k3.keras'] as Expected[string];
    const model = await loadModel(join(DIR, 'func_k3.keras'));
    expect(model.inputs.map((t) => t.layer.name)).toEqual(['in_a', 'in_b']);
    expect(model.outputs.map((t) => t.layer.name)).toEqual(['out_a', 'out_b']);
    expect(model.getLayer('shared').nodes.length).toBe(2);
    expectWeights(await weightsOf(model), want.weights);
    await model.dispose();
  });

  it('a weights file loads into a model of the same architecture', async () => {
    const model = sequential([
      layers.dense(5, { activation: 'relu', inputShape: [4] }),
      layers.batchNormalization(),
      layers.dropout(0.25),
      layers.dense(3, { activation: 'softmax' }),
    ]);
    await model.loadWeights(join(DIR, 'seq_k3.weights.h5'));
    expectWeights(await weightsOf(model), (expected['seq_k3.weights.h5'] as Expected[string]).weights);
    await model.dispose();
  });
});

/** A tree as comparable data: every path with its kind, attributes, dtype and shape. */
function describeTree(g: H5Group, path = ''): unknown[] {
  const out: unknown[] = [{ path: path || '/', attrs: g.attrs }];
  for (const [name, child] of [...g.children].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const p = `${path}/${name}`;
    if (child.kind === 'group') out.push(...describeTree(child, p));
    else
      out.push({
        path: p,
        attrs: child.attrs,
        dtype: child.dtype,
        shape: child.shape,
        data: Array.from(child.data as ArrayLike<number | bigint>, String),
      });
  }
  return out;
}

async function weightsTreeOfKeras(bytes: Uint8Array): Promise<H5Group> {
  return readH5(unzipSync(bytes)['model.weights.h5'] as Uint8Array, 'model.weights.h5');
}

describe('writing Keras files: a loaded file saved again keeps its structure and values', () => {
  it('.keras → here → .keras: model.weights.h5 identical, config.json the same model', async () => {
    const model = await loadModel(join(DIR, 'seq_k3.keras'));
    const out = join(tmp, 'again.keras');
    await model.save(out);
    const written = new Uint8Array(readFileSync(out));
    expect(describeTree(await weightsTreeOfKeras(written))).toEqual(
      describeTree(await weightsTreeOfKeras(fixture('seq_k3.keras'))),
    );
    const entries = unzipSync(written);
    expect(Object.keys(entries).sort()).toEqual(['config.json', 'metadata.json', 'model.weights.h5']);
    const config = JSON.parse(new TextDecoder().decode(entries['config.json'])) as Record<string, unknown>;
    const original = JSON.parse(
      new TextDecoder().decode(unzipSync(fixture('seq_k3.keras'))['config.json']),
    ) as Record<string, unknown>;
    expect(config.class_name).toBe('Sequential');
    const layerNames = (c: Record<string, unknown>): unknown =>
      (c.config as { layers: { class_name: string; config: { name: string } }[] }).layers.map((l) => [
        l.class_name,
        l.config.name,
      ]);
    expect(layerNames(config)).toEqual(layerNames(original));
    expect((config.compile_config as Record<string, unknown>).loss).toBe('categorical_crossentropy');
    expect((config.compile_config as Record<string, unknown>).metrics).toEqual(['accuracy']);
    await model.dispose();
  });

  it('a functional .keras file saved again names its groups in Keras order (map_graph)', async () => {
    const model = await loadModel(join(DIR, 'func_k3.keras'));
    const out = join(tmp, 'func.keras');
    await model.save(out);
    const written = new Uint8Array(readFileSync(out));
    expect(describeTree(await weightsTreeOfKeras(written))).toEqual(
      describeTree(await weightsTreeOfKeras(fixture('func_k3.keras'))),
    );
    const back = await loadModel(out);
    expectWeights(await weightsOf(back), (expected['func_k3.keras'] as Expected[string]).weights);
    await model.dispose();
    await back.dispose();
  });

  it('.h5 → here → .h5: the same HDF5 structure and values', async () => {
    const model = await loadModel(join(DIR, 'seq_k3.h5'));
    const out = join(tmp, 'again.h5');
    await model.save(out);
    const mine = await readH5(new Uint8Array(readFileSync(out)), 'again.h5');
    const theirs = await readH5(fixture('seq_k3.h5'), 'seq_k3.h5');
    // model_config / training_config are JSON: compared as the model they describe, below.
    const strip = (t: H5Group): unknown[] =>
      describeTree(t).map((e) => {
        const { attrs, ...rest } = e as { attrs: Record<string, unknown> };
        const a = { ...attrs };
        delete a.model_config;
        delete a.training_config;
        return { ...rest, attrs: a };
      });
    expect(strip(mine)).toEqual(strip(theirs));
    const again = await loadModel(out);
    expectWeights(await weightsOf(again), (expected['seq_k3.h5'] as Expected[string]).weights);
    await model.dispose();
    await again.dispose();
  });

  it('saveWeights writes what Keras 3 save_weights writes', async () => {
    const model = await loadModel(join(DIR, 'seq_k3.keras'));
    const out = join(tmp, 'again.weights.h5');
    await model.saveWeights(out);
    expect(describeTree(await readH5(new Uint8Array(readFileSync(out)), 'w'))).toEqual(
      describeTree(await readH5(fixture('seq_k3.weights.h5'), 'w')),
    );
    await model.dispose();
  });

  it('loadWeights into a compiled model takes the optimizer state too, as Keras load_weights', async () => {
    const make = (): LayersModel => {
      const m = sequential([layers.dense(4, { activation: 'tanh', inputShape: [4] }), layers.dense(3)]);
      m.compile({ optimizer: optimizers.adam({ learningRate: 0.01 }), loss: 'mse' });
      return m;
    };
    const Y = [
      [1, 0, 0],
      [0, 1, 0],
    ];
    const a = make();
    await a.fit(X, Y, { epochs: 3, shuffle: false, verbose: 0 });
    const file = join(tmp, 'ckpt.weights.h5');
    await a.saveWeights(file);
    const b = make();
    await b.fit(X, Y, { epochs: 1, shuffle: false, verbose: 0 }); // trained (built) before loading
    await b.loadWeights(file);
    await a.fit(X, Y, { epochs: 1, shuffle: false, verbose: 0 });
    await b.fit(X, Y, { epochs: 1, shuffle: false, verbose: 0 });
    // Two models: their layers have other names, so the weights are compared in order.
    const [wa, wb] = [await a.getWeights(), await b.getWeights()];
    wa.forEach((w, i) => expect(Array.from(wb[i]?.data ?? []), w.name).toEqual(Array.from(w.data)));
    const steps = async (m: LayersModel): Promise<number | undefined> =>
      (await m.getOptimizerWeights()).find((s) => s.name === 'iterations')?.data[0];
    expect(await steps(b)).toBe(await steps(a));
    await a.dispose();
    await b.dispose();
  });

  it('a model trained here round-trips through .keras and .h5 with the same predictions', async () => {
    const model = sequential([
      layers.dense(6, { activation: 'tanh', inputShape: [4] }),
      layers.dense(3, { activation: 'softmax' }),
    ]);
    model.compile({
      optimizer: 'rmsprop',
      loss: 'categorical_crossentropy',
      metrics: ['accuracy'],
      weightedMetrics: ['accuracy'],
    });
    await model.fit(
      X,
      [
        [1, 0, 0],
        [0, 1, 0],
      ],
      { epochs: 2, verbose: 0 },
    );
    const want = await predictRows(model, X);
    for (const name of ['m.keras', 'm.h5']) {
      await model.save(join(tmp, name));
      const back = await loadModel(join(tmp, name));
      expect(back.optimizerConfig?.className).toBe('RMSprop');
      // compile settings, weighted metrics included, come back: the same evaluate, key by key.
      const [ra, rb] = [
        await model.evaluate(X, [
          [1, 0, 0],
          [0, 1, 0],
        ]),
        await back.evaluate(X, [
          [1, 0, 0],
          [0, 1, 0],
        ]),
      ];
      expect(Object.keys(rb)).toEqual(Object.keys(ra));
      expect(rb.weighted_accuracy).toBe(ra.weighted_accuracy);
      const got = await predictRows(back, X);
      got.forEach((row, r) => row.forEach((v, j) => expect(v).toBe(want[r]?.[j])));
      const a = new Map((await model.getOptimizerWeights()).map((s) => [s.name, Array.from(s.data)]));
      const b = await back
        .fit(
          X,
          [
            [1, 0, 0],
            [0, 1, 0],
          ],
          { epochs: 1, verbose: 0 },
        )
        .then(async () => new Map((await back.getOptimizerWeights()).map((s) => [s.name, s.data])));
      expect(b.get('iterations')?.[0]).toBe((a.get('iterations')?.[0] ?? 0) + 1);
      await back.dispose();
    }
    await model.dispose();
  });
});

describe('bad Keras files: clear errors naming the file and the part, nothing loaded', () => {
  it('a corrupt zip, an HDF5 file that is not a Keras model, and neither', async () => {
    const zip = fixture('seq_k3.keras').slice(0, 200);
    await expect(loadModel(zip)).rejects.toThrow(/zip archive is corrupt|no config.json/);
    const notKeras = group();
    putDataset(notKeras, 'data', Float32Array.of(1, 2), [2]);
    await expect(loadModel(await writeH5(notKeras))).rejects.toThrow(
      /HDF5 file but not a Keras model: it has no model_config/,
    );
    await expect(loadModel(new TextEncoder().encode('hello'))).rejects.toThrow(
      /neither a .keras file \(zip\) nor an .h5 file/,
    );
    await expect(loadModel(join(tmp, 'missing.keras'))).rejects.toThrow(/missing.keras not found/);
    // A plain path is read by its bytes, whatever its name: a .keras file named 'best', a model.json.
    const best = join(tmp, 'best');
    writeFileSync(best, fixture('seq_k3.keras'));
    const loaded = await loadModel(best);
    expectWeights(await weightsOf(loaded), (expected['seq_k3.keras'] as Expected[string]).weights);
    await loaded.dispose();
    writeFileSync(join(tmp, 'model.json'), '{"modelTopology": {}}');
    await expect(loadModel(join(tmp, 'model.json'))).rejects.toThrow(/is JSON, not a Keras file.*file:\/\//);
  });

  it('weights of the wrong shape leave the model as it was', async () => {
    const model = sequential([
      layers.dense(5, { activation: 'relu', inputShape: [4] }),
      layers.batchNormalization(),
      layers.dropout(0.25),
      layers.dense(2),
    ]);
    const before = await weightsOf(model);
    await expect(model.loadWeights(join(DIR, 'seq_k3.weights.h5'))).rejects.toThrow(
      /weight "dense_\d+\/kernel": the file has shape \[5, 3\], the model needs \[5, 2\]/,
    );
    const after = await weightsOf(model);
    for (const [k, v] of before) expect(Array.from(after.get(k) ?? []), k).toEqual(Array.from(v));
    await model.dispose();
  });

  it('a layer the model does not have in the file is named', async () => {
    // Keras matches weights by path: the third Dense is layers/dense_2, which the file lacks.
    const model = sequential([layers.dense(5, { inputShape: [4] }), layers.dense(3), layers.dense(2)]);
    await expect(model.loadWeights(join(DIR, 'seq_k3.weights.h5'))).rejects.toThrow(
      /seq_k3.weights.h5: layer "dense_\d+" \(Dense\) has 2 weights, but the file has no group layers\/dense_2\/vars/,
    );
    await model.dispose();
  });

  it('save refuses a weights file name and saveWeights a model file name', async () => {
    const model = sequential([layers.dense(2, { inputShape: [2] })]);
    await expect(model.save(join(tmp, 'x.weights.h5'))).rejects.toThrow(/use model.saveWeights/);
    await expect(model.saveWeights(join(tmp, 'x.h5'))).rejects.toThrow(/must end in .weights.h5/);
    await model.dispose();
  });
});

describe('every layer and optimizer the library has, through both formats', () => {
  /**
   * A functional model with every layer kind, initializers and regularizers set. Dropout's
   * random stream is not part of a saved model (nor of Keras's), so a model that trains on
   * after loading leaves it out.
   */
  function everything(dropout = true): LayersModel {
    const a = input({ shape: [2, 3] });
    const b = input({ shape: [4] });
    const flat = layers.flatten().apply(a);
    const d1 = layers
      .dense(4, {
        activation: 'selu',
        kernelInitializer: { className: 'HeNormal', config: { seed: 3 } },
        kernelRegularizer: { className: 'L1L2', config: { l1: 0.001, l2: 0.01 } },
        biasInitializer: { className: 'Constant', config: { value: 0.1 } },
      })
      .apply(flat);
    const d2 = layers.dense(4, { useBias: false, kernelInitializer: 'lecunUniform' }).apply(b);
    const sum = layers.add().apply([d1, d2]);
    const act = layers.activation('tanh').apply(sum);
    const bn = layers.batchNormalization({ momentum: 0.9, epsilon: 0.01, center: false }).apply(act);
    const drop = dropout ? layers.dropout({ rate: 0.1, seed: 7 }).apply(bn) : bn;
    const cat = layers.concatenate().apply([drop, d2]);
    const out = layers.dense(2, { activation: 'softmax', name: 'out' }).apply(cat);
    return model({ inputs: [a, b], outputs: out, name: 'everything' });
  }
  const xa = [
    [
      [0.1, 0.2, 0.3],
      [0.4, -0.5, 0.6],
    ],
    [
      [-1, 0.5, 0],
      [0.25, 0.75, -0.25],
    ],
  ];
  const xb = [
    [1, 0, -1, 0.5],
    [0.3, 0.2, 0.1, 0],
  ];
  const y = [
    [1, 0],
    [0, 1],
  ];

  for (const ext of ['keras', 'h5']) {
    it(`.${ext}: every layer kind, initializer and regularizer comes back; predictions are equal`, async () => {
      const m = everything();
      const file = join(tmp, `everything.${ext}`);
      await m.save(file);
      const back = await loadModel(file);
      expect(back.layers.map((l) => [l.name, l.className])).toEqual(
        m.layers.map((l) => [l.name, l.className]),
      );
      expect(back.layers.map((l) => l.getConfig())).toEqual(m.layers.map((l) => l.getConfig()));
      const [p, q] = [
        (await m.predict([xa, xb] as never)) as Prediction,
        (await back.predict([xa, xb] as never)) as Prediction,
      ];
      expect(Array.from(q.data)).toEqual(Array.from(p.data));
      await m.dispose();
      await back.dispose();
    });
  }

  const OPTIMIZERS: [string, () => unknown][] = [
    ['sgd momentum nesterov', () => optimizers.sgd({ learningRate: 0.05, momentum: 0.9, nesterov: true })],
    [
      'rmsprop momentum centered',
      () => optimizers.rmsprop({ learningRate: 0.01, momentum: 0.5, centered: true }),
    ],
    ['adam amsgrad', () => optimizers.adam({ learningRate: 0.01, amsgrad: true })],
    ['nadam', () => optimizers.nadam({ learningRate: 0.01 })],
  ];
  for (const [label, make] of OPTIMIZERS) {
    for (const ext of ['keras', 'h5']) {
      it(`${label}, .${ext}: the loaded model trains on exactly as the one that was saved`, async () => {
        const m = everything(false);
        m.compile({ optimizer: make() as never, loss: 'categorical_crossentropy', metrics: ['accuracy'] });
        await m.fit([xa, xb] as never, y, { epochs: 2, shuffle: false, verbose: 0 });
        const file = join(tmp, `everything-${label.replace(/ /g, '-')}.${ext}`);
        await m.save(file);
        const back = await loadModel(file);
        expect(back.layers.map((l) => [l.name, l.className])).toEqual(
          m.layers.map((l) => [l.name, l.className]),
        );
        expect(back.layers.map((l) => l.getConfig())).toEqual(m.layers.map((l) => l.getConfig()));
        // One more epoch on both: the optimizer state and hyperparameters came back whole.
        await m.fit([xa, xb] as never, y, { epochs: 1, shuffle: false, verbose: 0 });
        await back.fit([xa, xb] as never, y, { epochs: 1, shuffle: false, verbose: 0 });
        const [wa, wb] = [await weightsOf(m), await weightsOf(back)];
        for (const [k, v] of wa) expect(Array.from(wb.get(k) ?? []), k).toEqual(Array.from(v));
        await m.dispose();
        await back.dispose();
      });
    }
  }
});

describe('what Keras reads that a round trip here cannot show', () => {
  /** seq_k3.keras with its config.json or weights changed. */
  async function editedKeras(
    editConfig: (c: Record<string, unknown>) => void,
    editWeights?: (t: H5Group) => void,
  ): Promise<Uint8Array> {
    const entries = unzipSync(fixture('seq_k3.keras'));
    const config = JSON.parse(new TextDecoder().decode(entries['config.json'])) as Record<string, unknown>;
    editConfig(config);
    entries['config.json'] = new TextEncoder().encode(JSON.stringify(config));
    if (editWeights) {
      const tree = await readH5(entries['model.weights.h5'] as Uint8Array, 'w');
      editWeights(tree);
      entries['model.weights.h5'] = (await writeH5(tree)) as Uint8Array<ArrayBuffer>;
    }
    return zipSync(entries, { level: 0 });
  }
  const compileConfig = (c: Record<string, unknown>): Record<string, unknown> =>
    c.compile_config as Record<string, unknown>;

  it('the optimizer variables follow Keras layer order in a functional model (not ours)', async () => {
    // Our layer order walks e1 first (depth-first from the outputs); Keras's map_graph orders by
    // depth from the outputs (d1 4, d2 3, then e1 and d3 at 2 in first-seen order).
    const inp = input({ shape: [4] });
    const d1 = layers.dense(4, { name: 'd1' }).apply(inp);
    const d2 = layers.dense(4, { name: 'd2' }).apply(d1);
    const d3 = layers.dense(4, { name: 'd3' }).apply(d2);
    const e1 = layers.dense(4, { name: 'e1' }).apply(inp);
    const out = layers.dense(2, { name: 'out' }).apply(layers.concatenate({ name: 'cat' }).apply([e1, d3]));
    const m = model({ inputs: inp, outputs: out });
    m.compile({ optimizer: 'adam', loss: 'mse' });
    await m.fit(
      X,
      [
        [1, 0],
        [0, 1],
      ],
      { epochs: 1, verbose: 0 },
    );
    const file = join(tmp, 'order.keras');
    await m.save(file);
    const tree = await weightsTreeOfKeras(new Uint8Array(readFileSync(file)));
    // Keras's trainable order is its layer order, which numbers the groups: dense, dense_1, ...
    const groups = [...(tree.children.get('layers') as H5Group).children.entries()]
      .filter(([k]) => k.startsWith('dense'))
      .sort(([a], [b]) => Number(a.slice(6) || 0) - Number(b.slice(6) || 0))
      .map(([, g]) => ((g as H5Group).children.get('vars') as H5Group).attrs.name);
    const names = groups.map((a) => (a?.kind === 'string' ? a.value : ''));
    expect(names).toEqual(['d1', 'd2', 'e1', 'd3', 'out']);
    const vars = (tree.children.get('optimizer') as H5Group).children.get('vars') as H5Group;
    const state = new Map((await m.getOptimizerWeights()).map((s) => [s.name, s.data]));
    // Adam: iteration, learning_rate, then m, v interleaved per trainable weight in that order.
    const order = names.flatMap((n) => [`${n}/kernel`, `${n}/bias`]);
    order.forEach((w, i) => {
      const m0 = vars.children.get(String(2 + 2 * i));
      expect(m0?.kind === 'dataset' ? Array.from(m0.data as Float32Array) : [], w).toEqual(
        Array.from(state.get(`${w}/m`) ?? []),
      );
    });
    await m.dispose();
  });

  it('a frozen layer: saved without optimizer slots, and the loaded model trains on alike', async () => {
    const m = sequential([layers.dense(3, { inputShape: [4], name: 'f' }), layers.dense(2, { name: 'g' })]);
    m.getLayer('f').trainable = false;
    m.compile({ optimizer: 'adam', loss: 'mse' });
    await m.fit(
      X,
      [
        [1, 0],
        [0, 1],
      ],
      { epochs: 2, shuffle: false, verbose: 0 },
    );
    const file = join(tmp, 'frozen.keras');
    await m.save(file);
    const vars = (await weightsTreeOfKeras(new Uint8Array(readFileSync(file)))).children.get(
      'optimizer',
    ) as H5Group;
    expect((vars.children.get('vars') as H5Group).children.size).toBe(2 + 2 * 2); // g's kernel and bias only
    const back = await loadModel(file);
    expect(back.getLayer('f').trainable).toBe(false);
    await m.fit(
      X,
      [
        [1, 0],
        [0, 1],
      ],
      { epochs: 1, shuffle: false, verbose: 0 },
    );
    await back.fit(
      X,
      [
        [1, 0],
        [0, 1],
      ],
      { epochs: 1, shuffle: false, verbose: 0 },
    );
    const [wa, wb] = [await weightsOf(m), await weightsOf(back)];
    for (const [k, v] of wa) expect(Array.from(wb.get(k) ?? []), k).toEqual(Array.from(v));
    await m.dispose();
    await back.dispose();
  });

  it('floats Keras checks with isinstance(x, float) are written with a decimal point', async () => {
    const m = sequential([layers.dense(2, { inputShape: [2] })]);
    m.compile({ optimizer: optimizers.sgd({ learningRate: 1 }), loss: 'mse' });
    const file = join(tmp, 'sgd.keras');
    await m.save(file);
    const text = new TextDecoder().decode(unzipSync(new Uint8Array(readFileSync(file)))['config.json']);
    expect(text).toContain('"learning_rate":1.0,');
    expect(text).toContain('"momentum":0.0,');
    await m.dispose();
  });

  it('a Keras model compiled but never trained loads, with its learning rate', async () => {
    const bytes = await editedKeras(
      () => undefined,
      (t) => {
        const vars = (t.children.get('optimizer') as H5Group).children.get('vars') as H5Group;
        for (const k of [...vars.children.keys()]) if (Number(k) >= 2) vars.children.delete(k);
      },
    );
    const m = await loadModel(bytes);
    expect(m.pendingOptimizerWeights).toBeUndefined();
    expect(m.optimizerConfig?.config.learning_rate).toBeCloseTo(0.002, 9);
    await m.dispose();
  });

  it('settings that would change the model are refused by name, not dropped', async () => {
    const smoothing = await editedKeras((c) => {
      compileConfig(c).loss = {
        module: 'keras.losses',
        class_name: 'CategoricalCrossentropy',
        config: {
          name: 'categorical_crossentropy',
          reduction: 'sum_over_batch_size',
          from_logits: false,
          label_smoothing: 0.1,
          axis: -1,
        },
        registered_name: null,
      };
    });
    await expect(loadModel(smoothing)).rejects.toThrow(
      /CategoricalCrossentropy has label_smoothing=0.1, which is not supported/,
    );
    const schedule = await editedKeras((c) => {
      const opt = compileConfig(c).optimizer as { config: Record<string, unknown> };
      opt.config.learning_rate = {
        module: 'keras.optimizers.schedules',
        class_name: 'ExponentialDecay',
        config: {},
      };
    });
    await expect(loadModel(schedule)).rejects.toThrow(/learning rate is a schedule \(ExponentialDecay\)/);
    // training=True on a call (dropout at inference) in a functional model.
    const entries = unzipSync(fixture('func_k3.keras'));
    const config = JSON.parse(new TextDecoder().decode(entries['config.json'])) as {
      config: { layers: { name: string; inbound_nodes: { kwargs: unknown }[] }[] };
    };
    const shared = config.config.layers.find((l) => l.name === 'shared');
    if (!shared?.inbound_nodes[0]) throw new Error('fixture: no shared layer');
    shared.inbound_nodes[0].kwargs = { training: true };
    entries['config.json'] = new TextEncoder().encode(JSON.stringify(config));
    await expect(loadModel(zipSync(entries, { level: 0 }))).rejects.toThrow(
      /layer "shared" is called with training=true, which is not supported/,
    );
    // With compile: false the model loads without its compile settings.
    const plain = await loadModel(smoothing, { compile: false });
    expect(plain.optimizerConfig).toBeUndefined();
    await plain.dispose();
    await expect(loadModel(smoothing, { compile: false, complie: true } as never)).rejects.toThrow(
      /unknown option 'complie'/,
    );
  });
});
