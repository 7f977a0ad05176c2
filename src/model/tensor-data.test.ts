/**
 * Eager GPU Tensors as model data (issue 16, item 7): fit, evaluate, predict, trainOnBatch
 * and computeGradients use a Tensor where it is, with no readback of its values, and give the
 * same results, bit for bit, as the same values given as host arrays (whose path the other
 * tests check against float64 references). A Tensor larger than one storage binding is
 * bound in slices: an engine held to a small maxStorageBufferBindingSize (initEngine's
 * `limits`) exercises the split on any adapter. Values are checked on the GPU with the same
 * messages as host data's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededDense } from '../../kernels-test/models.js';
import { checkLowerLimits } from '../gpu/capabilities.js';
import { GPUInitError, GPULimitError } from '../gpu/errors.js';
import { initEngine, type Engine } from '../node/index.js';
import * as ops from '../tensor/ops.js';
import { tensor } from '../tensor/tensor.js';
import type { GpuData } from '../graph/dataset.js';
import { LabelError } from '../graph/executor.js';
import { checkGpuData, DataError, trainingData } from './fit-data.js';
import { sequential, type LayersModel } from './model.js';

const ADAPTER = (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto';
const ROWS = 600;
const FEATURES = 8;
const CLASSES = 3;
/** Binding limit of the small engine: 8 KiB, so x (600 × 8 f32, 19,200 bytes) needs 3 slices. */
const SMALL_BINDING = 8192;

/** Deterministic data: x in [-1, 1), labels from a linear rule the model can learn. */
const X = Float32Array.from({ length: ROWS * FEATURES }, (_, i) => (((i * 7919) % 1000) - 500) / 500);
const Y = Uint32Array.from({ length: ROWS }, (_, r) => {
  const row = X.subarray(r * FEATURES, (r + 1) * FEATURES);
  const s = (row[0] ?? 0) + (row[3] ?? 0) - (row[5] ?? 0);
  return s < -0.4 ? 0 : s < 0.4 ? 1 : 2;
});
const X_U8 = Uint8Array.from(X, (v) => Math.round((v + 1) * 127));

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: ADAPTER, log: false });
});
afterAll(() => engine.dispose());

function model(inputShape: number[] = [FEATURES]): LayersModel {
  const m = sequential({
    layers: [
      seededDense(16, 'relu', 3, { inputShape, name: 'hidden' }),
      seededDense(CLASSES, 'softmax', 4, { name: 'out' }),
    ],
  });
  m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

/** Every weight's bits (so a difference in the last place shows). */
async function bits(m: LayersModel): Promise<number[][]> {
  return (await m.getWeights()).map((w) =>
    Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)),
  );
}

const FIT = { epochs: 2, batchSize: 64, verbose: 0, seed: 11 } as const;

async function fitHost(args: object = {}): Promise<{ m: LayersModel; history: Record<string, number[]> }> {
  const m = model();
  const h = await m.fit(X, Y, { ...FIT, ...args });
  return { m, history: h.history };
}

/** `f`'s result and the readbacks it made on `e`. */
async function counted<T>(f: () => Promise<T>, e: Engine = engine): Promise<[T, number]> {
  const before = e.stats().readbacks;
  const result = await f();
  return [result, e.stats().readbacks - before];
}

describe('eager Tensors as data, used in place', () => {
  it('fit on Tensors: the same weights and logs as host arrays, no readback of the data', async () => {
    const host = await fitHost({ validationSplit: 0.25 });
    const x = tensor(X, [ROWS, FEATURES]);
    const y = tensor(Y, [ROWS], 'u32');
    const fresh = model();
    const before = engine.stats().readbacks;
    const history = await fresh.fit(x, y, { ...FIT, validationSplit: 0.25 });
    const reads = engine.stats().readbacks - before;
    expect(await bits(fresh)).toEqual(await bits(host.m));
    expect(history.history).toEqual(host.history);
    // The host fit's readbacks (2 an epoch with verbose 0, see bench/RESULTS.md) plus ONE, the
    // summary of both tensors' values; a read of either tensor would add one more each.
    const hostFit = model();
    const b2 = engine.stats().readbacks;
    await hostFit.fit(X, Y, { ...FIT, validationSplit: 0.25 });
    expect(reads).toBe(engine.stats().readbacks - b2 + 1);
    // The tensors are untouched and still usable.
    expect(await x.read()).toEqual(X);
    x.dispose();
    y.dispose();
  });

  it('evaluate, predict, trainOnBatch and computeGradients on a Tensor match host arrays', async () => {
    const { m } = await fitHost();
    const x = tensor(X, [ROWS, FEATURES]);
    const y = tensor(Y, [ROWS], 'i32');
    // Each call: the host call's result, with one readback more (the tensors' summary).
    const same = async <T>(onTensor: () => Promise<T>, onHost: () => Promise<T>): Promise<void> => {
      const [t, tReads] = await counted(onTensor);
      const [h, hReads] = await counted(onHost);
      expect(t).toEqual(h);
      expect(tReads).toBe(hReads + 1);
    };
    await same(
      () => m.evaluate(x, y, { batchSize: 50 }),
      () => m.evaluate(X, Y, { batchSize: 50 }),
    );
    await same(
      () => m.predict(x),
      () => m.predict(X),
    );
    const xs = tensor(X.subarray(0, 40 * FEATURES), [40, FEATURES]);
    const ys = tensor(Y.subarray(0, 40), [40], 'u32');
    const x40 = X.subarray(0, 40 * FEATURES);
    const y40 = Y.subarray(0, 40);
    await same(
      () => m.computeGradients(xs, ys),
      () => m.computeGradients(x40, y40),
    );
    const other = await fitHost();
    const [a, aReads] = await counted(() => m.trainOnBatch(xs, ys));
    const [b, bReads] = await counted(() => other.m.trainOnBatch(x40, y40));
    expect(a).toEqual(b);
    expect(aReads).toBe(bReads + 1);
    expect(await bits(m)).toEqual(await bits(other.m));
    for (const t of [x, y, xs, ys]) t.dispose();
  });

  it('mixed: x a Tensor (u8 pixels), y host labels; validationData as Tensors', async () => {
    const host = model();
    const hv = await host.fit(X_U8, Y, { ...FIT, validationData: [X_U8, Y] });
    const m = model();
    const x = tensor(X_U8, [ROWS, FEATURES]);
    const y = tensor(Y, [ROWS], 'u32');
    const [hm, reads] = await counted(() => m.fit(x, Y, { ...FIT, validationData: [x, y] }));
    const [, hostReads] = await counted(() => model().fit(X_U8, Y, { ...FIT, validationData: [X_U8, Y] }));
    expect(hm.history).toEqual(hv.history);
    // u8 x holds no NaN: only validation y is summarised (one readback), x never read.
    expect(reads).toBe(hostReads + 1);
    const [, predictReads] = await counted(() => m.predict(x));
    const [, hostPredictReads] = await counted(() => m.predict(X_U8));
    expect(predictReads).toBe(hostPredictReads);
    expect(await bits(m)).toEqual(await bits(host));
    x.dispose();
    y.dispose();
  });

  it('validationSplit of u8 rows at an odd byte offset: the validation rows are copied on the GPU', async () => {
    // 3 features of u8: the split at row 7 starts at byte 21 (not a multiple of 4).
    const rows = 10;
    const xs = X_U8.subarray(0, rows * 3);
    const ys = Y.subarray(0, rows);
    const build = (): LayersModel => model([3]);
    const host = build();
    const hh = await host.fit(xs, ys, { ...FIT, batchSize: 4, validationSplit: 0.3 });
    const m = build();
    const x = tensor(xs, [rows, 3]);
    const [th, reads] = await counted(() => m.fit(x, ys, { ...FIT, batchSize: 4, validationSplit: 0.3 }));
    const [, hostReads] = await counted(() =>
      build().fit(xs, ys, { ...FIT, batchSize: 4, validationSplit: 0.3 }),
    );
    expect(reads).toBe(hostReads); // a u8 x alone needs no summary
    expect(th.history).toEqual(hh.history);
    expect(th.history.val_loss?.every(Number.isFinite)).toBe(true);
    expect(await bits(m)).toEqual(await bits(host));
    x.dispose();
  });

  it("a Tensor's values are checked on the GPU, with the host path's message; nothing changes", async () => {
    const { m } = await fitHost();
    const before = await bits(m);
    const cases: [Float32Array, Float32Array | Uint32Array][] = [];
    const withNaN = X.slice();
    withNaN[37 * FEATURES + 5] = NaN;
    cases.push([withNaN, Y]);
    const badLabel = Float32Array.from(Y);
    badLabel[123] = 3;
    cases.push([X, badLabel]);
    const fraction = Float32Array.from(Y);
    fraction[9] = 1.5;
    cases.push([X, fraction]);
    const infinite = Float32Array.from(Y);
    infinite[4] = Infinity;
    cases.push([X, infinite]);
    const live = engine.stats().liveBuffers;
    const sameRefusal = async (
      on: LayersModel,
      xv: Float32Array,
      yv: Float32Array | Uint32Array,
    ): Promise<void> => {
      const hostErr = await on.fit(xv, yv, { verbose: 0, validationSplit: 0.5 }).catch((e: unknown) => e);
      const x = tensor(xv, [ROWS, FEATURES]);
      const y = tensor(yv, [ROWS]);
      const err = await on.fit(x, y, { verbose: 0, validationSplit: 0.5 }).catch((e: unknown) => e);
      expect(hostErr).toBeInstanceOf(DataError);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toBe((hostErr as Error).message);
      x.dispose();
      y.dispose();
    };
    for (const [xv, yv] of cases) await sameRefusal(m, xv, yv);
    // Dense targets: NaN in y (MSE takes any finite value; BCE skips NaN in its range check).
    const nanY = Float32Array.from({ length: ROWS }, (_, r) => (r === 444 ? NaN : (Y[r] ?? 0) / 2));
    for (const loss of ['meanSquaredError', 'binaryCrossentropy']) {
      const one = sequential({ layers: [seededDense(1, 'sigmoid', 4, { inputShape: [FEATURES] })] });
      one.compile({ optimizer: 'sgd', loss });
      await sameRefusal(one, X, nanY);
      await one.dispose();
    }
    expect(engine.stats().liveBuffers).toBe(live);
    expect(await bits(m)).toEqual(before);
    await m.fit(tensor(X, [ROWS, FEATURES]), Y, { verbose: 0 });
    expect(await bits(m)).not.toEqual(before); // usable: a good fit after the refusals trains
  });

  it('refuses a disposed Tensor, one of another dtype, shape or engine, by name', async () => {
    const { m } = await fitHost();
    const before = await bits(m);
    const gone = tensor(X, [ROWS, FEATURES]);
    gone.dispose();
    await expect(m.fit(gone, Y, { verbose: 0 })).rejects.toThrow(
      /fit: x: Tensor ".*" \[600, 8\] f32 was disposed/,
    );
    const ints = tensor(Array.from(Y), [ROWS, 1], 'i32');
    await expect(m.predict(ints)).rejects.toThrow(/predict: x: .* i32: features must be f32 or u8/);
    const wrong = tensor(X, [ROWS, 2, 4]);
    await expect(m.evaluate(wrong, Y)).rejects.toThrow(
      /evaluate: x: shape \[600, 2, 4\] \(rows of shape \[2, 4\]\), but the input .* takes rows of shape \[8\]/,
    );
    const oneHot = tensor(Y, [ROWS], 'u32');
    const dense = sequential({ layers: [seededDense(CLASSES, 'softmax', 4, { inputShape: [FEATURES] })] });
    dense.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    await expect(dense.fit(tensor(X, [ROWS, FEATURES]), oneHot, { verbose: 0 })).rejects.toThrow(
      /one value per row, but the output layer .* has 3 units: class ids\? Use sparseCategoricalCrossentropy/,
    );
    expect(await bits(m)).toEqual(before);
    wrong.dispose();
    ints.dispose();
    oneHot.dispose();
  });

  it('a Tensor disposed during fit stays alive until the fit ends, then is freed', async () => {
    const host = await fitHost();
    await host.m.dispose();
    const live = engine.stats().liveBuffers;
    const m = model();
    const x = tensor(X, [ROWS, FEATURES]);
    const y = tensor(Y, [ROWS], 'u32');
    let disposedAt = -1;
    const h = await m.fit(x, y, {
      ...FIT,
      callbacks: {
        onEpochEnd: (epoch: number) => {
          if (epoch > 0) return;
          x.dispose();
          y.dispose();
          disposedAt = epoch;
        },
      },
    });
    expect(disposedAt).toBe(0);
    expect(h.history).toEqual(host.history); // the second epoch trained on the same data
    expect(x.isDisposed && y.isDisposed).toBe(true);
    await m.dispose();
    expect(engine.stats().liveBuffers).toBe(live); // both tensors' buffers freed after the fit
  });

  it('targets given without a loss (a search) carry their summary to the loss checked later', async () => {
    const bad = Float32Array.from(Y); // class ids 0..2: not probabilities for BCE
    const y = tensor(bad, [ROWS, 1]);
    const x = tensor(X, [ROWS, FEATURES]);
    const noLoss = { inputs: [{ name: 'x', features: FEATURES }], outputs: [{ name: 'out', features: 1 }] };
    const data = await trainingData(engine, noLoss, x, y, { validationSplit: 0.5 }, 'search');
    const bce = {
      ...noLoss,
      outputs: [
        { name: 'out', features: 1, targets: 'dense' as const, loss: 'binary_crossentropy' as const },
      ],
    };
    const host = await trainingData(engine, noLoss, X, bad, { validationSplit: 0.5 }, 'search');
    for (const part of ['train', 'val'] as const) {
      const fromHost = () => checkGpuData(host[part] as GpuData, bce, 'fit');
      const fromTensor = () => checkGpuData(data[part] as GpuData, bce, 'fit');
      expect(fromHost).toThrow(LabelError);
      expect(fromTensor).toThrow(LabelError);
      expect(catchMessage(fromTensor)).toBe(catchMessage(fromHost));
    }
    data.dispose();
    host.dispose();
    x.dispose();
    y.dispose();
  });
});

function catchMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
}

describe('an engine held to a small binding size (initEngine limits)', () => {
  let small: Engine;
  let reference: { weights: number[][]; history: Record<string, number[]> };
  beforeAll(async () => {
    // On the first engine, where one binding holds every column.
    const host = await fitHost({ validationSplit: 0.25 });
    reference = { weights: await bits(host.m), history: host.history };
    small = await initEngine({
      adapter: ADAPTER,
      log: false,
      limits: { maxStorageBufferBindingSize: SMALL_BINDING },
    });
  });
  afterAll(() => small.dispose());

  it('holds the engine to the lower limit and refuses bad limits before a device exists', async () => {
    expect(small.limits.maxStorageBufferBindingSize).toBe(SMALL_BINDING);
    expect(engine.limits.maxStorageBufferBindingSize).toBeGreaterThan(SMALL_BINDING);
    const tooHigh = engine.limits.maxStorageBufferBindingSize + 1;
    await expect(
      initEngine({ adapter: ADAPTER, log: false, limits: { maxStorageBufferBindingSize: tooHigh } }),
    ).rejects.toThrow(
      new RegExp(
        `limits\\.maxStorageBufferBindingSize ${tooHigh} must be an integer from \\d+ to ${tooHigh - 1}`,
      ),
    );
    // A binding must hold two aligned slices; undefined limits are left as they are.
    const align = engine.limits.minStorageBufferOffsetAlignment;
    await expect(
      initEngine({ adapter: ADAPTER, log: false, limits: { maxStorageBufferBindingSize: align } }),
    ).rejects.toThrow(`must be an integer from ${2 * align} to`);
    expect(checkLowerLimits({ maxBufferSize: undefined }, engine.limits, 'adapter')).toEqual({});
    const typo = await initEngine({
      adapter: ADAPTER,
      log: false,
      limits: { maxStorageBuferBindingSize: 10 } as never,
    }).catch((e: unknown) => e);
    expect(typo).toBeInstanceOf(GPUInitError);
    expect((typo as GPUInitError).code).toBe('bad-option');
    expect((typo as Error).message).toMatch(
      /unknown limit 'maxStorageBuferBindingSize'; did you mean 'maxStorageBufferBindingSize'/,
    );
    const alignment = await initEngine({
      adapter: ADAPTER,
      log: false,
      limits: { minStorageBufferOffsetAlignment: 512 },
    }).catch((e: unknown) => e);
    expect((alignment as Error).message).toMatch(
      /'minStorageBufferOffsetAlignment' is an alignment, which cannot be lowered/,
    );
  });

  it('a tensor over one binding: made, read back, and refused by eager ops by name', async () => {
    const x = tensor(X, [ROWS, FEATURES]); // 19,200 bytes > 8,192
    expect(x.byteLength).toBeGreaterThan(SMALL_BINDING);
    expect(await x.read()).toEqual(X);
    expect(() => ops.relu(x)).toThrow(GPULimitError);
    expect(() => ops.relu(x)).toThrow(
      /relu\(\): Tensor ".*" \[600, 8\] f32 holds 19200 bytes, over this adapter's maxStorageBufferBindingSize of 8192 bytes: eager ops bind a tensor whole/,
    );
    x.dispose();
  });

  it('fit binds it in slices: the weights and logs of the one-binding run, bit for bit', async () => {
    const x = tensor(X, [ROWS, FEATURES]);
    const y = tensor(Y, [ROWS], 'u32');
    const m = model();
    const [h, reads] = await counted(() => m.fit(x, y, { ...FIT, validationSplit: 0.25 }), small);
    expect(h.history).toEqual(reference.history);
    expect(await bits(m)).toEqual(reference.weights);
    // Host arrays are split into buffers of their own on this engine: the same again, with
    // one readback fewer (no summary): the tensors were not read back.
    const [host, hostReads] = await counted(() => fitHost({ validationSplit: 0.25 }), small);
    expect(await bits(host.m)).toEqual(reference.weights);
    expect(reads).toBe(hostReads + 1);
    // A tensor of the first engine is refused by name.
    const elsewhere = tensor(X, [ROWS, FEATURES], 'f32', { engine });
    await expect(m.fit(elsewhere, Y, { verbose: 0 })).rejects.toThrow(
      /fit: x: Tensor ".*" \[600, 8\] f32 lives on another engine than the model's/,
    );
    elsewhere.dispose();
    // evaluate and predict bind all 600 rows (3 slices).
    expect(await m.evaluate(x, y)).toEqual(await m.evaluate(X, Y));
    expect(await m.predict(x)).toEqual(await m.predict(X));
    x.dispose();
    y.dispose();
  });
});
