/**
 * KerasClassifier / KerasRegressor: the wrapper's fit equals fitting the same seeded model by
 * hand on the targets the loss needs (ids, one-hot, 0/1), its predictions are that model's,
 * score is accuracy of predict / R² in float64, labels of any type round trip, clone is
 * unfitted and independent, parameters route to the build function and fit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { sequential, type LayersModel } from '../model/model.js';
import { optimizers } from '../nn/optimizers.js';
import { createRng } from '../util/random.js';
import { seededDense } from '../../kernels-test/models.js';
import { KerasClassifier, KerasRegressor, type KerasMeta } from './wrappers.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** k Gaussian blobs in 2-D, `per` rows each, class c centred at (2c, −c). */
function blobs(k: number, per: number, seed = 3): { x: number[][]; ids: number[] } {
  const rng = createRng(seed);
  const x: number[][] = [];
  const ids: number[] = [];
  for (let c = 0; c < k; c++)
    for (let i = 0; i < per; i++) {
      x.push([2 * c + 0.7 * rng.normal(), -c + 0.7 * rng.normal()]);
      ids.push(c);
    }
  return { x, ids };
}

const FIT = { epochs: 3, batch_size: 8, shuffle: false } as const;

function build(p: Record<string, unknown>, meta: KerasMeta): LayersModel {
  const units = (p.units as number | undefined) ?? meta.nClasses ?? 1;
  const m = sequential({
    layers: [
      seededDense((p.hidden as number | undefined) ?? 6, 'relu', 1, { inputShape: [meta.nFeaturesIn] }),
      seededDense(units, (p.activation as string | undefined) ?? 'softmax', 2),
    ],
  });
  m.compile({
    optimizer: optimizers.sgd({ learningRate: 0.3 }),
    loss: (p.loss as string | undefined) ?? 'sparse_categorical_crossentropy',
  });
  return m;
}

/** The same model fitted by hand on `y` (Keras targets), and its raw output for x. */
async function byHand(
  p: Record<string, unknown>,
  meta: KerasMeta,
  x: number[][],
  y: { data: Float32Array | Uint32Array; shape: number[] },
): Promise<Float32Array> {
  const m = build(p, meta);
  try {
    const input = { data: Float32Array.from(x.flat()), shape: [x.length, 2] };
    await m.fit(input, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    const out = await m.predict(input);
    return (Array.isArray(out) ? out[0] : out)?.data as Float32Array;
  } finally {
    await m.dispose();
  }
}

function argmax(row: readonly number[]): number {
  let best = 0;
  row.forEach((v, k) => (best = v > (row[best] as number) ? k : best));
  return best;
}

describe('KerasClassifier', () => {
  it('string labels: classes_ sorted, targets as ids, predict/proba are the model, score is accuracy', async () => {
    const { x, ids } = blobs(3, 12);
    const names = ['emu', 'cat', 'dog']; // class c is names[c]; sorted: cat, dog, emu
    const y = ids.map((c) => names[c] as string);
    const clf = new KerasClassifier(build, { ...FIT });
    await clf.fit(x, y);
    expect(clf.classes_).toEqual(['cat', 'dog', 'emu']);

    const sortedId = ids.map((c) => ['cat', 'dog', 'emu'].indexOf(names[c] as string));
    const ref = await byHand({}, { nFeaturesIn: 2, nClasses: 3 }, x, {
      data: Uint32Array.from(sortedId),
      shape: [x.length],
    });
    const proba = await clf.predictProba(x);
    expect(proba.flat()).toEqual(Array.from(ref));

    const pred = await clf.predict(x);
    expect(pred).toEqual(proba.map((r) => ['cat', 'dog', 'emu'][argmax(r)]));
    const acc = pred.filter((v, i) => v === y[i]).length / y.length;
    expect(await clf.score(x, y)).toBe(acc);
    expect(acc).toBeGreaterThan(0.5); // three blobs 2σ apart: better than chance (1/3)
    await clf.dispose();
  });

  it('categorical_crossentropy gets one-hot targets; numeric labels map through sorted classes_', async () => {
    const { x, ids } = blobs(3, 10, 5);
    const y = ids.map((c) => [30, -4, 7][c] as number); // sorted: -4, 7, 30
    const clf = new KerasClassifier({ build_fn: build, loss: 'categorical_crossentropy', ...FIT });
    await clf.fit(x, y);
    expect(clf.classes_).toEqual([-4, 7, 30]);
    const oneHot = new Float32Array(x.length * 3);
    y.forEach((v, r) => (oneHot[r * 3 + [-4, 7, 30].indexOf(v)] = 1));
    const ref = await byHand({ loss: 'categorical_crossentropy' }, { nFeaturesIn: 2, nClasses: 3 }, x, {
      data: oneHot,
      shape: [x.length, 3],
    });
    expect((await clf.predictProba(x)).flat()).toEqual(Array.from(ref));
    await clf.dispose();
  });

  it("one-hot y (to_categorical's dummy_y) as Keras 2's wrapper: classes 0 … k−1, the model fitted on those ids", async () => {
    const { x, ids } = blobs(3, 10, 9);
    const dummy = ids.map((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0)));
    const p = { loss: 'categorical_crossentropy' };
    const clf = new KerasClassifier(build, { ...p, ...FIT });
    await clf.fit(x, dummy);
    expect(clf.classes_).toEqual([0, 1, 2]);
    const ref = await byHand(p, { nFeaturesIn: 2, nClasses: 3 }, x, {
      data: Float32Array.from(dummy.flat()),
      shape: [x.length, 3],
    });
    const proba = await clf.predictProba(x);
    expect(proba.flat()).toEqual(Array.from(ref));
    const pred = await clf.predict(x);
    expect(pred).toEqual(proba.map(argmax));
    const acc = pred.filter((v, i) => v === ids[i]).length / ids.length;
    expect(await clf.score(x, dummy)).toBe(acc);
    expect(await clf.score(x, ids)).toBe(acc);
    await expect(clf.fit(x, [[0, 1, 0], [0.5, 0.5, 0], ...dummy.slice(2)])).rejects.toThrow(
      'KerasClassifier.fit: y row 1 is [0.5,0.5,0], not a one-hot row of 3; give class labels or one-hot rows (to_categorical)',
    );
    expect(clf.classes_).toEqual([0, 1, 2]); // the failed fit kept the fitted model
    expect((await clf.predictProba(x)).flat()).toEqual(Array.from(ref));
    await clf.dispose();
  });

  it('binary_crossentropy with one sigmoid unit: 0/1 targets, predictProba [1 − p, p]', async () => {
    const { x, ids } = blobs(2, 15, 7);
    const y = ids.map((c) => (c ? 'yes' : 'no'));
    const p = { loss: 'binary_crossentropy', units: 1, activation: 'sigmoid' };
    const clf = new KerasClassifier({ model: build, ...p, ...FIT });
    await clf.fit(x, y);
    const ref = await byHand(p, { nFeaturesIn: 2, nClasses: 2 }, x, {
      data: Float32Array.from(ids),
      shape: [x.length, 1],
    });
    const proba = await clf.predictProba(x);
    proba.forEach(([q0, q1], r) => {
      expect(q1).toBe(ref[r]);
      expect(q0).toBe(1 - (ref[r] as number));
    });
    expect(await clf.predict(x)).toEqual(Array.from(ref, (v) => (v > 0.5 ? 'yes' : 'no')));
    await clf.dispose();
  });

  it('clone is unfitted and independent; getParams / setParams / routing', async () => {
    const seen: Record<string, unknown>[] = [];
    const recording = (p: Record<string, unknown>, meta: KerasMeta): LayersModel => {
      seen.push(p);
      return build(p, meta);
    };
    const clf = new KerasClassifier(recording, { hidden: 3, model__hidden: 4, batchSize: 8, epochs: 2 });
    expect(clf.getParams()).toEqual({
      model: recording,
      epochs: 2,
      batch_size: 8,
      verbose: 0,
      validation_split: 0,
      callbacks: undefined,
      shuffle: true,
      random_state: undefined,
      hidden: 3,
      model__hidden: 4,
    });
    const { x, ids } = blobs(2, 8);
    await clf.fit(x, ids);
    expect(seen[0]).toEqual({ hidden: 4 }); // model__hidden wins; fit parameters stay out

    const copy = clf.clone();
    expect(copy).not.toBe(clf);
    expect(copy.model_).toBeUndefined();
    expect(copy.classes_).toBeUndefined();
    expect(copy.getParams()).toEqual(clf.getParams());
    copy.setParams({ epochs: 5, hidden: 9 });
    expect(clf.getParams().epochs).toBe(2);
    expect(clf.getParams().hidden).toBe(3);
    await expect(copy.predict(x)).rejects.toThrow(/not fitted/);
    await clf.dispose();
  });

  it('refusals: uncompiled model, bad routing prefix, no build function, too few units', async () => {
    const uncompiled = (_p: Record<string, unknown>, meta: KerasMeta): LayersModel =>
      sequential({ layers: [seededDense(2, 'softmax', 1, { inputShape: [meta.nFeaturesIn] })] });
    const { x, ids } = blobs(2, 4);
    await expect(new KerasClassifier(uncompiled).fit(x, ids)).rejects.toThrow(/must compile/);
    expect(() => new KerasClassifier(build, { optimizer__lr: 1 })).toThrow(/model__.*fit__/);
    expect(() => new KerasClassifier({ epochs: 1 })).toThrow(/build function/);
    await expect(
      new KerasClassifier(build, { units: 1, epochs: 1 }).fit(x, [0, 1, 2, 0, 1, 2, 0, 1]),
    ).rejects.toThrow(/3 classes/);
  });
});

describe('KerasRegressor', () => {
  const reg = (p: Record<string, unknown>, meta: KerasMeta): LayersModel => {
    const m = sequential({
      layers: [seededDense(8, 'relu', 4, { inputShape: [meta.nFeaturesIn] }), seededDense(1, 'linear', 5)],
    });
    m.compile({
      optimizer: optimizers.sgd({ learningRate: (p.lr as number | undefined) ?? 0.05 }),
      loss: 'mse',
    });
    return m;
  };

  it('score is R² of predict in float64; string targets are refused', async () => {
    const rng = createRng(9);
    const x = Array.from({ length: 40 }, () => [rng.normal(), rng.normal()]);
    const y = x.map(([a, b]) => 2 * (a as number) - (b as number) + 0.1 * rng.normal());
    const r = new KerasRegressor(reg, { epochs: 3, batch_size: 8, random_state: 1 });
    await r.fit(x, y);
    const p = await r.predict(x);
    const mean = y.reduce((s, v) => s + v, 0) / y.length;
    const ssRes = y.reduce((s, v, i) => s + (v - (p[i] as number)) ** 2, 0);
    const ssTot = y.reduce((s, v) => s + (v - mean) ** 2, 0);
    expect(await r.score(x, y)).toBeCloseTo(1 - ssRes / ssTot, 12);
    await r.dispose();

    await expect(new KerasRegressor(reg).fit(x.slice(0, 2), ['a', 'b'])).rejects.toThrow(
      /regression targets must be numbers; y\[0\] is "a"/,
    );
  });
});
