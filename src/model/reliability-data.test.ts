/**
 * Data and label errors (issue 15, items 6–9): each refused before any step, with its class
 * and a message naming the problem and the fix; the weights are bit-identical after the
 * refused call (read back from the GPU, where an applied step would show), and a following
 * small fit trains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededDense } from '../../kernels-test/models.js';
import { GPULimitError } from '../gpu/errors.js';
import { GpuData } from '../graph/dataset.js';
import { Executor, LabelError } from '../graph/executor.js';
import { Graph } from '../graph/ir.js';
import * as ops from '../graph/ops/index.js';
import { initEngine, type Engine } from '../node/index.js';
import { layers } from '../nn/layers/index.js';
import { DataError } from './fit-data.js';
import { sequential, type LayersModel } from './model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

type ErrorClass = new (...args: never[]) => Error;

/** 6 rows of 4 features in [0, 1). */
const X4 = Float32Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) / 11);

/** Every weight's bits (so −0 ≠ 0 and NaN payloads count). */
async function bits(m: LayersModel): Promise<number[][]> {
  return (await m.getWeights()).map((w) =>
    Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)),
  );
}

/**
 * A model with `units` outputs, compiled with `loss`, trained one epoch on good data first so
 * that its GPU copy of the weights is the live one (where a step that ran would show).
 */
async function trained(units: number, activation: string, loss: string): Promise<LayersModel> {
  const m = sequential({ layers: [seededDense(units, activation, 5, { inputShape: [4], name: 'out' })] });
  m.compile({ optimizer: 'sgd', loss });
  const y =
    loss === 'sparseCategoricalCrossentropy'
      ? Float32Array.from({ length: 6 }, (_, i) => i % units)
      : Float32Array.from({ length: 6 * units }, (_, i) => i % 2);
  await m.fit(X4, y, { verbose: 0, batchSize: 3 });
  return m;
}

/**
 * `call` is refused with `cls` and a message matching `fragment`; the weights are unchanged,
 * and a fit on `good` afterwards trains (a finite loss, weights that moved).
 */
async function refused(
  m: LayersModel,
  call: () => Promise<unknown>,
  cls: ErrorClass,
  fragment: RegExp,
  good: () => Promise<unknown>,
): Promise<void> {
  const before = await bits(m);
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(fragment);
  expect(await bits(m)).toEqual(before);
  await good();
  expect(await bits(m)).not.toEqual(before);
}

/** A GPU dataset of X4 with one target column. */
function gpu(targets: Uint8Array | Int32Array | Float32Array, width = 1, label = 'data'): GpuData {
  return new GpuData(engine, {
    inputs: [{ data: X4, width: 4 }],
    targets: [{ data: targets, width }],
    label,
  });
}

describe('6: a GPU dataset whose labels the loss cannot read is refused before any step', () => {
  it('class id 7 for a 3-unit sigmoid (sparse CE): fit refuses it with a LabelError naming the row', async () => {
    const m = await trained(3, 'sigmoid', 'sparseCategoricalCrossentropy');
    const bad = gpu(Uint8Array.from([0, 1, 2, 7, 1, 2]), 1, 'bad ids');
    const good = gpu(Uint8Array.from([0, 1, 2, 0, 1, 2]));
    const fit = () => m.fit(good, undefined, { verbose: 0, batchSize: 2 });
    await refused(
      m,
      () => m.fit(bad, undefined, { verbose: 0, batchSize: 2 }),
      LabelError,
      /^fit: GPU dataset "bad ids", targets: label 7 at row 3 is not a class id in \[0, 3\) \(the output layer "out" has 3 units; labels up to 7 need 8 units\)/,
      fit,
    );
    // evaluate, trainOnBatch and computeGradients check the dataset the same way, before any step.
    for (const [what, call] of [
      ['evaluate', () => m.evaluate(bad)],
      ['trainOnBatch', () => m.trainOnBatch(bad)],
      ['computeGradients', () => m.computeGradients(bad)],
    ] as const) {
      await refused(
        m,
        call,
        LabelError,
        new RegExp(`^${what}: GPU dataset "bad ids", targets: label 7 at row 3`),
        fit,
      );
    }
    for (const d of [bad, good]) d.dispose();
    await m.dispose();
  });

  it('a negative id (i32) and a fractional id (f32) for a linear output with sparse CE name their rows', async () => {
    const m = await trained(3, 'linear', 'sparseCategoricalCrossentropy');
    const good = gpu(Int32Array.from([0, 1, 2, 0, 1, 2]));
    const fit = () => m.fit(good, undefined, { verbose: 0, batchSize: 2 });
    const negative = gpu(Int32Array.from([0, 1, 2, 0, -1, 2]));
    await refused(
      m,
      () => m.fit(negative, undefined, { verbose: 0 }),
      LabelError,
      /label -1 at row 4 is not a class id in \[0, 3\)/,
      fit,
    );
    const fraction = gpu(Float32Array.from([0, 1, 1.5, 0, 1, 2]));
    await refused(
      m,
      () => m.fit(fraction, undefined, { verbose: 0 }),
      LabelError,
      /label 1.5 at row 2 is not a class id in \[0, 3\)/,
      fit,
    );
    for (const d of [good, negative, fraction]) d.dispose();
    await m.dispose();
  });

  it('validationData as a GPU dataset is checked before the first epoch trains', async () => {
    const m = await trained(3, 'sigmoid', 'sparseCategoricalCrossentropy');
    const good = gpu(Uint8Array.from([0, 1, 2, 0, 1, 2]));
    const bad = gpu(Uint8Array.from([0, 1, 3, 0, 1, 2]), 1, 'val');
    await refused(
      m,
      () => m.fit(good, undefined, { verbose: 0, validationData: [bad] }),
      LabelError,
      /^validationData: GPU dataset "val", targets: label 3 at row 2 is not a class id in \[0, 3\)/,
      () => m.fit(good, undefined, { verbose: 0, validationData: [good] }),
    );
    for (const d of [good, bad]) d.dispose();
    await m.dispose();
  });
});

describe('7: x whose rows have another shape than the input is refused, not reshaped', () => {
  it('[n, 2, 2] into inputShape [4]: fit, evaluate, predict and validationData name both shapes and the fix', async () => {
    const m = await trained(2, 'linear', 'meanSquaredError');
    const y = new Float32Array(12);
    const x3 = { data: X4, shape: [6, 2, 2] };
    const fix =
      /shape \[6, 2, 2\] \(rows of shape \[2, 2\]\), but the input "\w+" takes rows of shape \[4\]: reshape x to \[6, 4\], or start the model with a Flatten layer \(layers\.flatten\(\{ inputShape: \[2, 2\] \}\)\)/;
    const fit = () => m.fit(X4, y, { verbose: 0 });
    await refused(m, () => m.fit(x3, y, { verbose: 0 }), DataError, fix, fit);
    await refused(m, () => m.evaluate(x3, y), DataError, fix, fit);
    await refused(m, () => m.predict(x3), DataError, fix, fit);
    await refused(m, () => m.fit(X4, y, { verbose: 0, validationData: [x3, y] }), DataError, fix, fit);
    // Nested arrays carry their shape too.
    const nested = [
      [
        [1, 2],
        [3, 4],
      ],
    ];
    await refused(m, () => m.predict(nested), DataError, /shape \[1, 2, 2\].*reshape x to \[1, 4\]/, fit);
    await m.dispose();
  });

  it('rows of 4 into a Flatten([2, 2]) model are refused; a bare typed array, flat numbers and [n] for one feature still work', async () => {
    const f = sequential({
      layers: [layers.flatten({ inputShape: [2, 2] }), layers.dense({ units: 1, useBias: false })],
    });
    f.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await f.setWeights([Float32Array.from([1, 2, 3, 4])]);
    await refused(
      f,
      () => f.predict({ data: X4, shape: [6, 4] }),
      DataError,
      /shape \[6, 4\] \(rows of shape \[4\]\), but the input "\w+" takes rows of shape \[2, 2\]: reshape x to \[6, 2, 2\]$/,
      () => f.fit({ data: X4, shape: [6, 2, 2] }, new Float32Array(6).fill(1), { verbose: 0 }),
    );
    // x·[1, 2, 3, 4] for one row [1, 0, 0, 1] = 5, whatever form carries the row.
    await f.setWeights([Float32Array.from([1, 2, 3, 4])]);
    const row = Float32Array.from([1, 0, 0, 1]);
    for (const x of [row, Array.from(row)]) {
      const p = await f.predict(x);
      expect(Array.isArray(p) ? [] : Array.from(p.data)).toEqual([5]);
    }
    await f.dispose();
    const one = sequential({ layers: [layers.dense({ units: 1, inputShape: [1], useBias: false })] });
    await one.setWeights([Float32Array.from([3])]);
    const p = await one.predict({ data: Float32Array.from([1, 2]), shape: [2] });
    expect(Array.isArray(p) ? [] : Array.from(p.data)).toEqual([3, 6]);
    await one.dispose();
  });
});

describe('8: targets outside [0, 1] for a loss that takes probabilities', () => {
  it('class ids 0..2 and −1 for binary cross-entropy, as host arrays: DataError with the softmax hint', async () => {
    const m = await trained(1, 'sigmoid', 'binaryCrossentropy');
    const fit = () => m.fit(X4, [0, 1, 1, 0, 1, 0], { verbose: 0 });
    await refused(
      m,
      () => m.fit(X4, [0, 1, 2, 0, 1, 2], { verbose: 0 }),
      DataError,
      /fit: y: target 2 at row 2 is outside \[0, 1\]: binary_crossentropy takes probabilities as targets; .*use sparseCategoricalCrossentropy with a softmax output of 3 units/,
      fit,
    );
    await refused(
      m,
      () => m.fit(X4, [0, 1, -1, 0, 1, 2], { verbose: 0 }),
      DataError,
      /target -1 at row 2 is outside \[0, 1\].*map the labels to class ids 0\.\.3 and use sparseCategoricalCrossentropy with a softmax output of 4 units/,
      fit,
    );
    await refused(
      m,
      () => m.evaluate(X4, [1, -1, 1, -1, 1, 1]),
      DataError,
      /for labels −1\/1 map them to 0\/1/,
      fit,
    );
    await m.dispose();
  });

  it('the same as a GPU dataset: LabelError from the extremes recorded at upload; u8 targets are taken scaled', async () => {
    const m = await trained(1, 'sigmoid', 'binaryCrossentropy');
    const good = gpu(Float32Array.from([0, 1, 1, 0, 1, 0]));
    const fit = () => m.fit(good, undefined, { verbose: 0 });
    const bad = gpu(Float32Array.from([0, 1, 0, 2, 1, 0]), 1, 'bce');
    await refused(
      m,
      () => m.fit(bad, undefined, { verbose: 0 }),
      LabelError,
      /^fit: GPU dataset "bce", targets: target 2 at row 3 is outside \[0, 1\].*softmax output of 3 units/,
      fit,
    );
    // u8 targets 0..255 with scale 1/255 are probabilities on the GPU: accepted.
    const scaled = new GpuData(engine, {
      inputs: [{ data: X4, width: 4 }],
      targets: [{ data: Uint8Array.from([0, 255, 128, 0, 255, 64]), width: 1, scale: 1 / 255 }],
    });
    const h = await m.fit(scaled, undefined, { verbose: 0 });
    expect(h.history.loss?.[0]).toBeGreaterThan(0);
    for (const d of [good, bad, scaled]) d.dispose();
    await m.dispose();
  });

  it('one-hot rows with a 2 for categorical cross-entropy name the row and column', async () => {
    const m = await trained(2, 'softmax', 'categoricalCrossentropy');
    await refused(
      m,
      () => m.fit(X4, [1, 0, 0, 1, 1, 0, 0, 2, 1, 0, 0, 1], { verbose: 0 }),
      DataError,
      /target 2 at row 3, column 1 is outside \[0, 1\]: categorical_crossentropy takes probabilities/,
      () => m.fit(X4, [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1], { verbose: 0 }),
    );
    await m.dispose();
  });
});

describe('9: messages that say what is wrong and what to do', () => {
  it('a missing x or y', async () => {
    const m = await trained(3, 'softmax', 'sparseCategoricalCrossentropy');
    const y = [0, 1, 2, 0, 1, 2];
    const fit = () => m.fit(X4, y, { verbose: 0 });
    const missingX =
      /^x is missing \(got (null|undefined)\): pass the model's inputs as a typed array, nested arrays/;
    await refused(m, () => m.fit(null as never, y), DataError, missingX, fit);
    await refused(m, () => m.fit(undefined as never, y), DataError, missingX, fit);
    await refused(m, () => m.fit(X4, null as never, { verbose: 0 }), DataError, /^fit: y is missing/, fit);
    await refused(
      m,
      () => m.evaluate(X4),
      DataError,
      /^evaluate: y is missing: the model is compiled with the loss sparse_categorical_crossentropy.*call evaluate\(x, y\)/,
      fit,
    );
    await refused(
      m,
      () => m.fit(5 as never, y),
      DataError,
      /fit: x: got number 5; expected a typed array/,
      fit,
    );
    await m.dispose();
  });

  it('class ids for categorical cross-entropy, [n] or [n, 1]: the class-id hint fires', async () => {
    const m = await trained(10, 'softmax', 'categoricalCrossentropy');
    const good = () =>
      m.fit(
        X4,
        Float32Array.from({ length: 60 }, (_, i) => (i % 10 === i % 7 ? 1 : 0)),
        { verbose: 0 },
      );
    const hint =
      /fit: y: one value per row, but the output layer "out" has 10 units: these look like class ids\. Use sparseCategoricalCrossentropy for class ids, or one-hot encode them \(data\.toCategorical\(y, 10\)\)/;
    const ids = Float32Array.from([3, 1, 4, 1, 5, 9]);
    await refused(m, () => m.fit(X4, ids, { verbose: 0 }), DataError, hint, good);
    await refused(m, () => m.fit(X4, { data: ids, shape: [6, 1] }, { verbose: 0 }), DataError, hint, good);
    // A wrong count of values names the output layer and its units, not the input size.
    const wrong = await m.fit(X4, new Float32Array(15), { verbose: 0 }).catch((e: unknown) => e as Error);
    expect(wrong).toBeInstanceOf(DataError);
    expect((wrong as Error).message).toMatch(
      /15 values are not whole rows of 10 \(the output layer "out" has 10 units\)/,
    );
    expect((wrong as Error).message).not.toMatch(/input/);
    await m.dispose();
  });

  it('one-hot rows for sparse CE, and string labels', async () => {
    const m = await trained(3, 'softmax', 'sparseCategoricalCrossentropy');
    const fit = () => m.fit(X4, [0, 1, 2, 0, 1, 2], { verbose: 0 });
    const oneHot = Float32Array.from({ length: 18 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    await refused(
      m,
      () => m.fit(X4, { data: oneHot, shape: [6, 3] }, { verbose: 0 }),
      DataError,
      /rows of 3 values \(one-hot\?\), but sparse_categorical_crossentropy takes one class id per row: use categoricalCrossentropy/,
      fit,
    );
    const names = ['cat', 'dog', 'cat', 'bird', 'dog', 'cat'];
    await refused(
      m,
      () => m.fit(X4, names as never, { verbose: 0 }),
      DataError,
      /fit: y: the labels are strings \("cat", "dog", "bird": 3 distinct\).*classes\.indexOf\(c\).*sparseCategoricalCrossentropy and a softmax output of 3 units/,
      fit,
    );
    await refused(
      m,
      () => m.predict([['a', 1, 2, 3]] as never),
      DataError,
      /element \[0\]\[0\] is the string "a", not a number/,
      fit,
    );
    await m.dispose();
  });

  it('a layer too big for any buffer of the device: RangeError at construction naming the layer and bytes', async () => {
    const build = () =>
      sequential({ layers: [layers.dense({ units: 100_000, inputShape: [100_000], name: 'huge' })] });
    expect(build).toThrow(RangeError);
    expect(build).toThrow(
      /layer "huge": the weight "huge\/kernel" \[100000, 100000\] needs 40,000,000,000 bytes \(37\.3 GiB\).*maxStorageBufferBindingSize.*use a smaller layer/,
    );
    // The engine is unharmed: a small model trains.
    const m = await trained(2, 'softmax', 'sparseCategoricalCrossentropy');
    expect((await m.evaluate(X4, [0, 1, 0, 1, 0, 1])).loss).toBeGreaterThan(0);
    await m.dispose();
  });

  it('weights over maxStorageBufferBindingSize: GPULimitError naming the layer, before any allocation', () => {
    // The adapter's limit lowered to 100 kB: a 784×64 kernel (200,704 bytes) is over it.
    const limits = { ...engine.limits, maxStorageBufferBindingSize: 100_000 };
    const small = Object.create(engine, { limits: { value: limits } }) as Engine;
    const g = new Graph();
    const x = g.input('x', 784);
    const w = g.param('wide/kernel', [784, 64], new Float32Array(784 * 64));
    const b = g.param('wide/bias', [64], new Float32Array(64));
    g.loss(ops.dense(g, 'wide', x, w, b, { name: 'softmax' }), 'categorical_crossentropy', 'sparse');
    const created = engine.stats().buffersCreated;
    const err = (() => {
      try {
        new Executor(small, g, { spec: { kind: 'sgd' }, learningRate: 0.1 }).dispose();
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(GPULimitError);
    expect(err?.message).toMatch(
      /trainable weights need [\d,]+ bytes \(0\.2 MiB\) in one GPU storage buffer, over this adapter's maxStorageBufferBindingSize of 100,000 bytes.*layer "wide": "wide\/kernel" \[784, 64\], 200,704 bytes.*Use smaller layers/,
    );
    expect(engine.stats().buffersCreated).toBe(created);
  });

  it('a batch whose activations are over the binding limit: GPULimitError with the batch that fits, before any step', async () => {
    // [batch, 1024] f32 relu activations just over the limit; x is one feature a row.
    const limit = engine.limits.maxStorageBufferBindingSize;
    const batch = Math.floor(limit / 4096) + 1;
    const m = sequential({
      layers: [seededDense(1024, 'relu', 1, { inputShape: [1], name: 'wide' }), seededDense(2, 'softmax', 2)],
    });
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const x = Float32Array.from({ length: batch }, (_, i) => (i % 5) / 5);
    const y = Float32Array.from({ length: batch }, (_, i) => i % 2);
    const fits = Math.floor((limit / (batch * 4096)) * batch);
    await refused(
      m,
      () => m.fit(x, y, { verbose: 0, batchSize: batch }),
      GPULimitError,
      new RegExp(
        `the train step with batch ${batch} needs "wide/relu" of .* over this adapter's maxStorageBufferBindingSize.*use a batchSize of at most ${fits}`,
      ),
      () => m.fit(x.subarray(0, 64), y.subarray(0, 64), { verbose: 0 }),
    );
    await m.dispose();
  });
});
