/**
 * The float64 graph reference against finite differences of itself (PyTorch gradcheck
 * tolerances: |analytic − numeric| ≤ 1e-5 + 1e-3·|numeric|, central differences with
 * eps 1e-6) and against values computed here by hand (closed forms, the Keras moving-stat
 * update, the dropout mask). Float64 throughout, so the hand-computed checks are tight.
 */
import { rng } from '../../kernels-test/harness.js';
import { describe, expect, it } from 'vitest';
import type { ActivationAttrs } from './ir.js';
import * as ops from './ops/index.js';
import { Graph, type Value } from './ir.js';
import { dropoutMaskReference, dropoutScale } from '../kernels/dropout.js';
import type { LossName } from '../kernels/losses.js';
import {
  finiteDifferenceGradients,
  initialParams,
  referenceForward,
  referenceGradients,
  type ReferenceBatch,
  type ReferenceOptions,
} from './reference.js';

const TRAIN: ReferenceOptions = { mode: 'train', step: 7 };
const INFER: ReferenceOptions = { mode: 'inference', step: 0 };
/** For sums of a few float64 products evaluated in a different order. */
const TIGHT = { atol: 1e-12, rtol: 1e-12 };

function uniform(n: number, lo: number, hi: number, r: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

function at(a: ArrayLike<number>, i: number): number {
  return a[i] ?? NaN;
}

function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { atol: number; rtol: number },
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = at(actual, i);
    const e = at(expected, i);
    const ok = Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
    if (!ok) expect.fail(`${what}[${i}]: got ${a}, expected ${e} (atol ${tol.atol}, rtol ${tol.rtol})`);
  }
}

/** A Dense layer's kernel and bias, uniform in ±limit (Glorot-like scale). */
function dense(
  g: Graph,
  r: () => number,
  layer: string,
  x: Value,
  units: number,
  activation: ActivationAttrs,
): Value {
  const limit = Math.sqrt(6 / (x.features + units));
  const kernel = g.param(`${layer}/kernel`, [x.features, units], (n) => uniform(n, -limit, limit, r));
  const bias = g.param(`${layer}/bias`, [units], (n) => uniform(n, -0.1, 0.1, r));
  return ops.dense(g, layer, x, kernel, bias, activation);
}

function classIds(rows: number, classes: number, r: () => number): Float64Array {
  return Float64Array.from({ length: rows }, () => Math.floor(r() * classes));
}

function oneHot(ids: ArrayLike<number>, classes: number): Float64Array {
  const out = new Float64Array(ids.length * classes);
  for (let i = 0; i < ids.length; i++) out[i * classes + at(ids, i)] = 1;
  return out;
}

/**
 * referenceGradients against central differences for every trainable param, and a guard
 * that the gradient is not trivially zero. Returns the analytic result.
 */
function gradcheck(
  graph: Graph,
  batch: ReferenceBatch,
  options: ReferenceOptions,
  params = initialParams(graph),
): ReturnType<typeof referenceGradients> {
  const result = referenceGradients(graph, params, batch, options);
  const numeric = finiteDifferenceGradients(graph, params, batch, options);
  const trainable = graph.params.filter((p) => p.trainable);
  expect([...result.grads.keys()].sort()).toEqual(trainable.map((p) => p.id).sort());
  expect([...numeric.keys()].sort()).toEqual(trainable.map((p) => p.id).sort());
  let norm = 0;
  for (const p of trainable) {
    const a = result.grads.get(p.id) as Float64Array;
    const n = numeric.get(p.id) as Float64Array;
    expectAllClose(a, n, { atol: 1e-5, rtol: 1e-3 }, `d loss / d ${p.name}`);
    for (const v of a) norm += v * v;
  }
  expect(Number.isFinite(result.forward.loss)).toBe(true);
  expect(norm).toBeGreaterThan(1e-6);
  return result;
}

/** Input features [rows, features] as float64, uniform in [−2, 2). */
function inputs(rows: number, features: number, r: () => number): Float64Array {
  return Float64Array.from(uniform(rows * features, -2, 2, r));
}

describe('graph reference: gradients against finite differences', () => {
  it('5-4-3 MLP, relu then softmax, sparse categorical CE (fused softmax + CE)', () => {
    const r = rng(1);
    const g = new Graph();
    const x = g.input('x', 5);
    const h = dense(g, r, 'dense_1', x, 4, { name: 'relu' });
    const y = dense(g, r, 'dense_2', h, 3, { name: 'softmax' });
    g.loss(y, 'categorical_crossentropy', 'sparse');
    g.metric(0, 'sparse');
    const rows = 6;
    const batch = { inputs: [inputs(rows, 5, r)], targets: [classIds(rows, 3, r)] };
    const { forward } = gradcheck(g, batch, TRAIN);

    // The loss is −mean log p[label] of the softmax output; the count is argmax == label.
    const p = forward.values.get(y.id) as Float64Array;
    const labels = batch.targets[0] as Float64Array;
    let nll = 0;
    let right = 0;
    for (let i = 0; i < rows; i++) {
      const row = Array.from(p.subarray(i * 3, i * 3 + 3));
      nll -= Math.log(at(row, at(labels, i)));
      if (row.indexOf(Math.max(...row)) === at(labels, i)) right++;
    }
    expect(forward.loss).toBeCloseTo(nll / rows, 12);
    expect(forward.headLosses).toHaveLength(1);
    expect(forward.correct).toEqual([right]);
  });

  it('dense one-hot targets give the same loss and gradients as sparse class ids', () => {
    // The same seed gives both graphs the same initial params.
    const build = (target: 'sparse' | 'dense'): Graph => {
      const r = rng(2);
      const g = new Graph();
      const x = g.input('x', 5);
      const h = dense(g, r, 'dense_1', x, 4, { name: 'tanh' });
      g.loss(dense(g, r, 'dense_2', h, 3, { name: 'softmax' }), 'categorical_crossentropy', target);
      return g;
    };
    const r = rng(20);
    const ids = classIds(5, 3, r);
    const xs = inputs(5, 5, r);
    const gs = build('sparse');
    const sparse = gradcheck(gs, { inputs: [xs], targets: [ids] }, TRAIN);
    const gd = build('dense');
    const dense1 = referenceGradients(
      gd,
      initialParams(gd),
      { inputs: [xs], targets: [oneHot(ids, 3)] },
      TRAIN,
    );
    expect(dense1.forward.loss).toBeCloseTo(sparse.forward.loss, 13);
    for (const p of gs.params) {
      expectAllClose(
        dense1.grads.get(p.id) as Float64Array,
        sparse.grads.get(p.id) as Float64Array,
        TIGHT,
        p.name,
      );
    }
  });

  it('batch norm in train mode (batch statistics), and in inference mode (moving statistics)', () => {
    const r = rng(3);
    const g = new Graph();
    const x = g.input('x', 4);
    const h = dense(g, r, 'dense_1', x, 3, { name: 'linear' });
    const bnParams = {
      gamma: g.param('bn/gamma', [3], (n) => uniform(n, 0.5, 1.5, r)),
      beta: g.param('bn/beta', [3], (n) => uniform(n, -0.5, 0.5, r)),
      movingMean: g.param('bn/moving_mean', [3], (n) => uniform(n, -0.5, 0.5, r), { trainable: false }),
      movingVariance: g.param('bn/moving_variance', [3], (n) => uniform(n, 0.5, 2, r), { trainable: false }),
    };
    const bn = ops.batchNorm(g, 'bn', h, bnParams, { epsilon: 1e-3, momentum: 0.9 });
    const a = ops.activation(g, 'act', bn, { name: 'elu' });
    const y = dense(g, r, 'dense_2', a, 2, { name: 'linear' });
    g.loss(y, 'mse', 'dense');
    const batch = { inputs: [inputs(7, 4, r)], targets: [Float64Array.from(uniform(14, -1, 1, r))] };
    gradcheck(g, batch, TRAIN);
    gradcheck(g, batch, INFER);
  });

  it('residual add (a value feeding two nodes)', () => {
    const r = rng(4);
    const g = new Graph();
    const x = g.input('x', 4);
    const h = dense(g, r, 'dense_1', x, 4, { name: 'gelu' });
    const h2 = dense(g, r, 'dense_2', h, 4, { name: 'linear' });
    const s = ops.add(g, 'residual', [h, h2]);
    const y = dense(g, r, 'out', s, 2, { name: 'sigmoid' });
    g.loss(y, 'binary_crossentropy', 'dense');
    const batch = {
      inputs: [inputs(5, 4, r)],
      targets: [Float64Array.from({ length: 10 }, () => (r() < 0.5 ? 0 : 1))],
    };
    gradcheck(g, batch, TRAIN);
  });

  it('concatenate of two branches from two inputs', () => {
    const r = rng(5);
    const g = new Graph();
    const a = g.input('a', 3);
    const b = g.input('b', 2);
    const ha = dense(g, r, 'branch_a', a, 4, { name: 'softplus' });
    const hb = dense(g, r, 'branch_b', b, 3, { name: 'selu' });
    const c = ops.concat(g, 'concat', [ha, hb, b]);
    const y = dense(g, r, 'out', c, 3, { name: 'softmax' });
    g.loss(y, 'categorical_crossentropy', 'sparse');
    const batch = { inputs: [inputs(6, 3, r), inputs(6, 2, r)], targets: [classIds(6, 3, r)] };
    const { forward } = gradcheck(g, batch, TRAIN);
    // The concat rows are [ha | hb | b].
    const cv = forward.values.get(c.id) as Float64Array;
    const parts = [ha, hb, b].map((v) => forward.values.get(v.id) as Float64Array);
    for (let row = 0; row < 6; row++) {
      const expected = [
        ...(parts[0] as Float64Array).subarray(row * 4, row * 4 + 4),
        ...(parts[1] as Float64Array).subarray(row * 3, row * 3 + 3),
        ...(parts[2] as Float64Array).subarray(row * 2, row * 2 + 2),
      ];
      expect(Array.from(cv.subarray(row * 9, row * 9 + 9))).toEqual(expected);
    }
  });

  it('two outputs with loss weights 1 and 0.3 (softmax CE + mse)', () => {
    const r = rng(6);
    const g = new Graph();
    const x = g.input('x', 4);
    const h = dense(g, r, 'shared', x, 5, { name: 'leaky_relu' });
    const cls = dense(g, r, 'class', h, 3, { name: 'softmax' });
    const reg = dense(g, r, 'reg', h, 2, { name: 'linear' });
    g.loss(cls, 'categorical_crossentropy', 'sparse', { weight: 1 });
    g.loss(reg, 'mse', 'dense', { weight: 0.3 });
    const batch = {
      inputs: [inputs(6, 4, r)],
      targets: [classIds(6, 3, r), Float64Array.from(uniform(12, -1, 1, r))],
    };
    const { forward } = gradcheck(g, batch, TRAIN);
    expect(forward.headLosses).toHaveLength(2);
    expect(forward.loss).toBeCloseTo(at(forward.headLosses, 0) + 0.3 * at(forward.headLosses, 1), 14);
    // The mse head, by hand: mean over rows and columns of (ŷ − y)².
    const yhat = forward.values.get(reg.id) as Float64Array;
    const t = batch.targets[1] as Float64Array;
    let se = 0;
    for (let i = 0; i < 12; i++) se += (at(yhat, i) - at(t, i)) ** 2;
    expect(at(forward.headLosses, 1)).toBeCloseTo(se / 12, 14);
  });

  it('dropout at a fixed step', () => {
    const r = rng(7);
    const g = new Graph();
    const x = g.input('x', 5);
    const h = dense(g, r, 'dense_1', x, 6, { name: 'relu' });
    const d = ops.dropout(g, 'drop', h, 0.4, 1234);
    const y = dense(g, r, 'out', d, 3, { name: 'softmax' });
    g.loss(y, 'categorical_crossentropy', 'sparse');
    const rows = 6;
    const batch = { inputs: [inputs(rows, 5, r)], targets: [classIds(rows, 3, r)] };
    const { forward } = gradcheck(g, batch, TRAIN);

    // y = x·mask·fround(1/(1 − rate)) with the kernels' mask for (seed, step, stream).
    const node = d.node;
    if (!(node instanceof ops.DropoutOp)) throw new Error('expected a dropout node');
    const mask = dropoutMaskReference(1234, TRAIN.step, rows * 6, 0.4, node.attrs.stream);
    const hv = forward.values.get(h.id) as Float64Array;
    const expected = hv.map((v, i) => (mask[i] ? v * dropoutScale(0.4) : 0));
    expect(Array.from(forward.values.get(d.id) as Float64Array)).toEqual(Array.from(expected));
    expect(mask.some((m) => m === 0) && mask.some((m) => m === 1)).toBe(true);

    // Another step draws another mask; inference is the identity.
    const other = referenceForward(g, initialParams(g), batch, { mode: 'train', step: 8 });
    expect(Array.from(other.values.get(d.id) as Float64Array)).not.toEqual(Array.from(expected));
    const inf = referenceForward(g, initialParams(g), batch, INFER);
    expect(Array.from(inf.values.get(d.id) as Float64Array)).toEqual(
      Array.from(inf.values.get(h.id) as Float64Array),
    );
    gradcheck(g, batch, INFER);
  });

  it('a kernel shared by two matmuls (gradients summed)', () => {
    const r = rng(8);
    const g = new Graph();
    const x = g.input('x', 4);
    const w = g.param('shared/kernel', [4, 4], (n) => uniform(n, -0.6, 0.6, r));
    const h1 = ops.activation(g, 'act_1', ops.matmul(g, 'first', x, w), { name: 'tanh' });
    const h2 = ops.matmul(g, 'second', h1, w);
    const y = dense(g, r, 'out', h2, 2, { name: 'linear' });
    g.loss(y, 'huber', 'dense', { delta: 0.5 });
    const batch = { inputs: [inputs(5, 4, r)], targets: [Float64Array.from(uniform(10, -1, 1, r))] };
    gradcheck(g, batch, TRAIN);
  });

  const heads: {
    act: ActivationAttrs;
    loss: LossName;
    target: (n: number, r: () => number) => Float64Array;
  }[] = [
    {
      act: { name: 'sigmoid' },
      loss: 'binary_crossentropy',
      target: (n, r) => Float64Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1)),
    },
    {
      act: { name: 'linear' },
      loss: 'binary_crossentropy_logits',
      target: (n, r) => Float64Array.from(uniform(n, 0, 1, r)),
    },
    { act: { name: 'tanh' }, loss: 'mae', target: (n, r) => Float64Array.from(uniform(n, -1, 1, r)) },
    {
      act: { name: 'linear' },
      loss: 'hinge',
      target: (n, r) => Float64Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1)),
    },
    {
      act: { name: 'linear' },
      loss: 'squared_hinge',
      target: (n, r) => Float64Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1)),
    },
    { act: { name: 'softplus' }, loss: 'msle', target: (n, r) => Float64Array.from(uniform(n, 0, 2, r)) },
    {
      act: { name: 'softmax' },
      loss: 'kl_divergence',
      target: (n, r) => Float64Array.from(uniform(n, 0.05, 1, r)),
    },
    {
      act: { name: 'sigmoid' },
      loss: 'categorical_crossentropy',
      target: (n, r) => Float64Array.from(uniform(n, 0, 1, r)),
    },
    {
      act: { name: 'hard_sigmoid' },
      loss: 'mse',
      target: (n, r) => Float64Array.from(uniform(n, 0, 1, r)),
    },
  ];
  for (const { act, loss, target } of heads) {
    it(`generic head: ${act.name} output with ${loss}`, () => {
      const r = rng(9);
      const g = new Graph();
      const x = g.input('x', 4);
      const h = dense(g, r, 'hidden', x, 5, { name: 'softsign' });
      const y = dense(g, r, 'out', h, 3, act);
      g.loss(y, loss, 'dense');
      gradcheck(g, { inputs: [inputs(6, 4, r)], targets: [target(18, r)] }, TRAIN);
    });
  }

  it('categorical CE with sparse targets on a non-softmax output (one-hot, then p/Σp clipped)', () => {
    const r = rng(10);
    const g = new Graph();
    const x = g.input('x', 3);
    const y = dense(g, r, 'out', x, 4, { name: 'sigmoid' });
    g.loss(y, 'categorical_crossentropy', 'sparse');
    const ids = classIds(5, 4, r);
    const { forward } = gradcheck(g, { inputs: [inputs(5, 3, r)], targets: [ids] }, TRAIN);
    const p = forward.values.get(y.id) as Float64Array;
    let expected = 0;
    for (let i = 0; i < 5; i++) {
      const row = p.subarray(i * 4, i * 4 + 4);
      expected -= Math.log(at(row, at(ids, i)) / row.reduce((s, v) => s + v, 0));
    }
    expect(forward.loss).toBeCloseTo(expected / 5, 12);
  });
});

describe('graph reference: closed forms', () => {
  it('a single linear layer with mse: dW = 2/(rows·out)·xᵀ(ŷ − y), db = 2/(rows·out)·Σ(ŷ − y)', () => {
    const r = rng(11);
    const [rows, nIn, nOut] = [5, 3, 2];
    const g = new Graph();
    const x = g.input('x', nIn);
    const kernel = g.param('k', [nIn, nOut], (n) => uniform(n, -1, 1, r));
    const bias = g.param('b', [nOut], (n) => uniform(n, -1, 1, r));
    g.loss(ops.dense(g, 'lin', x, kernel, bias), 'mse', 'dense');
    const xs = inputs(rows, nIn, r);
    const ys = Float64Array.from(uniform(rows * nOut, -1, 1, r));
    const { forward, grads } = referenceGradients(
      g,
      initialParams(g),
      { inputs: [xs], targets: [ys] },
      TRAIN,
    );

    const W = Float64Array.from(kernel.init);
    const b = Float64Array.from(bias.init);
    const e = new Float64Array(rows * nOut);
    let se = 0;
    for (let i = 0; i < rows; i++) {
      for (let o = 0; o < nOut; o++) {
        let yhat = at(b, o);
        for (let k = 0; k < nIn; k++) yhat += at(xs, i * nIn + k) * at(W, k * nOut + o);
        e[i * nOut + o] = yhat - at(ys, i * nOut + o);
        se += (yhat - at(ys, i * nOut + o)) ** 2;
      }
    }
    const c = 2 / (rows * nOut);
    const dW = new Float64Array(nIn * nOut);
    const db = new Float64Array(nOut);
    for (let k = 0; k < nIn; k++) {
      for (let o = 0; o < nOut; o++) {
        for (let i = 0; i < rows; i++)
          dW[k * nOut + o] = at(dW, k * nOut + o) + c * at(xs, i * nIn + k) * at(e, i * nOut + o);
      }
    }
    for (let i = 0; i < rows; i++) for (let o = 0; o < nOut; o++) db[o] = at(db, o) + c * at(e, i * nOut + o);
    expect(forward.loss).toBeCloseTo(se / (rows * nOut), 14);
    expectAllClose(grads.get(kernel.id) as Float64Array, dW, TIGHT, 'dW');
    expectAllClose(grads.get(bias.id) as Float64Array, db, TIGHT, 'db');
  });

  it('batch norm moving statistics follow Keras 3: moving·momentum + batch·(1 − momentum), biased variance', () => {
    const r = rng(12);
    const g = new Graph();
    const x = g.input('x', 3);
    const p = {
      gamma: g.param('bn/gamma', [3], (n) => uniform(n, 0.5, 1.5, r)),
      beta: g.param('bn/beta', [3], (n) => uniform(n, -0.5, 0.5, r)),
      movingMean: g.param('bn/moving_mean', [3], (n) => uniform(n, -1, 1, r), { trainable: false }),
      movingVariance: g.param('bn/moving_variance', [3], (n) => uniform(n, 0.5, 2, r), { trainable: false }),
    };
    const momentum = 0.8;
    const epsilon = 1e-3;
    const bn = ops.batchNorm(g, 'bn', x, p, { epsilon, momentum });
    g.loss(bn, 'mse', 'dense');
    const rows = 6;
    const xs = inputs(rows, 3, r);
    const params = initialParams(g);
    const before = params.map((a) => Float64Array.from(a));
    const batch = { inputs: [xs], targets: [new Float64Array(rows * 3)] };
    const train = referenceForward(g, params, batch, TRAIN);

    const mm = params[p.movingMean.id] as Float64Array;
    const mv = params[p.movingVariance.id] as Float64Array;
    const gamma = params[p.gamma.id] as Float64Array;
    const beta = params[p.beta.id] as Float64Array;
    const expectMean = new Float64Array(3);
    const expectVar = new Float64Array(3);
    const y = train.values.get(bn.id) as Float64Array;
    for (let f = 0; f < 3; f++) {
      const col = Array.from({ length: rows }, (_, i) => at(xs, i * 3 + f));
      const mu = col.reduce((s, v) => s + v, 0) / rows;
      const biased = col.reduce((s, v) => s + (v - mu) ** 2, 0) / rows;
      expectMean[f] = at(mm, f) * momentum + mu * (1 - momentum);
      expectVar[f] = at(mv, f) * momentum + biased * (1 - momentum);
      for (let i = 0; i < rows; i++) {
        const want = (at(gamma, f) * (at(col, i) - mu)) / Math.sqrt(biased + epsilon) + at(beta, f);
        expect(at(y, i * 3 + f)).toBeCloseTo(want, 12);
      }
    }
    expect([...train.newState.keys()].sort()).toEqual([p.movingMean.id, p.movingVariance.id].sort());
    expectAllClose(train.newState.get(p.movingMean.id) as Float64Array, expectMean, TIGHT, 'moving mean');
    expectAllClose(
      train.newState.get(p.movingVariance.id) as Float64Array,
      expectVar,
      TIGHT,
      'moving variance',
    );
    // The params passed in are untouched.
    params.forEach((a, k) => expect(Array.from(a)).toEqual(Array.from(before[k] as Float64Array)));

    // Inference normalises with the moving statistics and leaves them as they are.
    const inf = referenceForward(g, params, batch, INFER);
    const yi = inf.values.get(bn.id) as Float64Array;
    for (let i = 0; i < rows * 3; i++) {
      const f = i % 3;
      const want = (at(gamma, f) * (at(xs, i) - at(mm, f))) / Math.sqrt(at(mv, f) + epsilon) + at(beta, f);
      expect(at(yi, i)).toBeCloseTo(want, 12);
    }
    expect(Array.from(inf.newState.get(p.movingVariance.id) as Float64Array)).toEqual(Array.from(mv));
  });

  it('metrics: binary accuracy counts elements at threshold 0.5; dense accuracy on sparse targets one-hot', () => {
    const r = rng(13);
    const g = new Graph();
    const x = g.input('x', 3);
    const yb = dense(g, r, 'bin', x, 4, { name: 'sigmoid' });
    const yc = dense(g, r, 'cls', x, 3, { name: 'softmax' });
    g.loss(yb, 'binary_crossentropy', 'dense');
    g.loss(yc, 'categorical_crossentropy', 'sparse');
    g.metric(0, 'binary');
    g.metric(1, 'dense');
    g.metric(1, 'sparse');
    const rows = 8;
    const tb = Float64Array.from({ length: rows * 4 }, () => (r() < 0.5 ? 0 : 1));
    const ids = classIds(rows, 3, r);
    const f = referenceForward(
      g,
      initialParams(g),
      { inputs: [inputs(rows, 3, r)], targets: [tb, ids] },
      TRAIN,
    );
    const pb = f.values.get(yb.id) as Float64Array;
    const pc = f.values.get(yc.id) as Float64Array;
    let bin = 0;
    for (let i = 0; i < rows * 4; i++) if ((at(pb, i) > 0.5 ? 1 : 0) === at(tb, i)) bin++;
    let cls = 0;
    for (let i = 0; i < rows; i++) {
      const row = Array.from(pc.subarray(i * 3, i * 3 + 3));
      if (row.indexOf(Math.max(...row)) === at(ids, i)) cls++;
    }
    expect(f.correct).toEqual([bin, cls, cls]);
  });

  it('rejects a batch or params of the wrong shape', () => {
    const g = new Graph();
    const x = g.input('x', 3);
    const k = g.param('k', [3, 2], new Float32Array(6));
    g.loss(ops.matmul(g, 'lin', x, k), 'mse', 'dense');
    const params = initialParams(g);
    const ok = { inputs: [new Float64Array(6)], targets: [new Float64Array(4)] };
    expect(referenceForward(g, params, ok, TRAIN).loss).toBe(0);
    expect(() =>
      referenceForward(g, params, { inputs: [new Float64Array(7)], targets: ok.targets }, TRAIN),
    ).toThrow(/not a whole number of rows/);
    expect(() =>
      referenceForward(g, params, { inputs: ok.inputs, targets: [new Float64Array(6)] }, TRAIN),
    ).toThrow(/needs dense targets \[2, 2\]/);
    expect(() => referenceForward(g, [new Float64Array(5)], ok, TRAIN)).toThrow(
      /param "k" \[3, 2\] needs 6 values, got 5/,
    );
    expect(() => referenceForward(g, params, ok, { mode: 'train', step: -1 })).toThrow(/step must be a u32/);
  });
});
