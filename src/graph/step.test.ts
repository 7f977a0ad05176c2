/**
 * The compiled training step against the float64 reference model (./reference.ts): whole-model
 * gradients, SGD and Adam steps, partial last batches, NaN handling, counts and memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bn, checkGradients, dense, gpuData, makeBatch, param } from '../../kernels-test/graph-check.js';
import { uniformF32 } from '../../kernels-test/harness.js';
import { initEngine, type Engine } from '../node/index.js';
import { Executor } from './executor.js';
import { Graph } from './ir.js';
import * as ops from './ops/index.js';
import { referenceGradients, type ParamValues, type ReferenceBatch } from './reference.js';
import { initialOptimizerHyper, optimizerStateSlots, type OptimizerSpec } from '../kernels/optim.js';
import { optimizerAdvanceReference, optimizerStepReference } from '../kernels/optim-reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

describe('whole-model gradients (GPU vs float64 reference vs finite differences)', () => {
  it('MLP 6-5-4, relu, fused softmax + sparse cross-entropy', async () => {
    const g = new Graph();
    const h = dense(g, 'd1', g.input('x', 6), 5, 'relu', 1);
    g.loss(dense(g, 'd2', h, 4, 'softmax', 3), 'categorical_crossentropy', 'sparse');
    await checkGradients(engine, 'mlp', g, 8, 10);
  });

  it('with batch norm (train mode) and tanh, dense one-hot targets', async () => {
    const g = new Graph();
    const h = dense(g, 'd1', g.input('x', 7), 6, 'linear', 1);
    const a = ops.activation(g, 'act', bn(g, 'bn', h, 5), { name: 'tanh' });
    g.loss(dense(g, 'd2', a, 3, 'softmax', 3), 'categorical_crossentropy', 'dense');
    await checkGradients(engine, 'batchnorm', g, 12, 20);
  });

  it('with a residual add (fan-out of a hidden value)', async () => {
    const g = new Graph();
    const h1 = dense(g, 'd1', g.input('x', 5), 6, 'tanh', 1);
    const h2 = dense(g, 'd2', h1, 6, 'gelu', 3);
    const r = ops.add(g, 'res', [h1, h2]);
    g.loss(dense(g, 'd3', r, 3, 'softmax', 5), 'categorical_crossentropy', 'sparse');
    await checkGradients(engine, 'residual', g, 9, 30);
  });

  it('with two inputs and concatenate, one input also feeding a second branch', async () => {
    const g = new Graph();
    const a = g.input('wide', 4);
    const b = g.input('deep', 5);
    const d1 = dense(g, 'd1', b, 6, 'relu', 1);
    const d2 = dense(g, 'd2', d1, 4, 'sigmoid', 3);
    const cat = ops.concat(g, 'cat', [a, d2, d1]);
    g.loss(dense(g, 'out', cat, 1, 'linear', 5), 'mse', 'dense');
    await checkGradients(engine, 'concat', g, 10, 40);
  });

  it('two outputs with loss weights (cross-entropy 1.0 + mse 0.3) and a shared kernel', async () => {
    const g = new Graph();
    const x = g.input('x', 5);
    const shared = param(g, 'shared/kernel', [5, 5], 9, 0.6);
    const h1 = ops.activation(g, 's1', ops.matmul(g, 's1', x, shared), { name: 'relu' });
    const h2 = ops.activation(g, 's2', ops.matmul(g, 's2', h1, shared), { name: 'elu' });
    g.loss(dense(g, 'cls', h2, 3, 'softmax', 1), 'categorical_crossentropy', 'sparse');
    g.loss(dense(g, 'reg', h1, 2, 'linear', 3), 'mse', 'dense', { weight: 0.3 });
    await checkGradients(engine, 'multi-output', g, 7, 50);
  });

  it('a batch-norm layer applied to two branches (shared γ, β, moving statistics) and a frozen one', async () => {
    const g = new Graph();
    const f = 4;
    const shared = {
      gamma: g.param('bn/gamma', [f], uniformF32(f, 0.5, 1.5, 1)),
      beta: param(g, 'bn/beta', [f], 2, 0.2),
      movingMean: g.param('bn/moving_mean', [f], new Float32Array(f), { trainable: false }),
      movingVariance: g.param('bn/moving_variance', [f], new Float32Array(f).fill(1), { trainable: false }),
    };
    const frozen = {
      gamma: g.param('fbn/gamma', [f], uniformF32(f, 0.5, 1.5, 3), { trainable: false }),
      beta: g.param('fbn/beta', [f], uniformF32(f, -0.2, 0.2, 4), { trainable: false }),
      movingMean: g.param('fbn/moving_mean', [f], new Float32Array(f), { trainable: false }),
      movingVariance: g.param('fbn/moving_variance', [f], new Float32Array(f).fill(1), { trainable: false }),
    };
    const opts = { epsilon: 1e-3, momentum: 0.9 };
    const a = ops.batchNorm(g, 'bn_a', dense(g, 'da', g.input('a', 5), f, 'linear', 5), shared, opts);
    const b = ops.batchNorm(g, 'bn_b', dense(g, 'db', g.input('b', 3), f, 'linear', 7), shared, opts);
    const c = ops.batchNorm(
      g,
      'fbn',
      dense(g, 'dc', ops.concat(g, 'cat', [a, b]), f, 'tanh', 9),
      frozen,
      opts,
    );
    g.loss(dense(g, 'out', c, 3, 'softmax', 11), 'categorical_crossentropy', 'sparse');
    await checkGradients(engine, 'shared and frozen batch-norm', g, 8, 90);
  });

  it('with activity regularizers (l1 on a hidden layer, l2 on a value read twice)', async () => {
    const g = new Graph();
    const h = ops.activityRegularizer(g, 'd1', dense(g, 'd1', g.input('x', 5), 6, 'tanh', 1), { l1: 0.05 });
    const r = ops.activityRegularizer(g, 'd2', dense(g, 'd2', h, 6, 'linear', 3), { l2: 0.1 });
    const s2 = ops.add(g, 'res', [r, dense(g, 'd3', r, 6, 'relu', 5)]);
    g.loss(dense(g, 'out', s2, 3, 'softmax', 7), 'categorical_crossentropy', 'sparse');
    await checkGradients(engine, 'activity', g, 8, 95);
  });

  it('with dropout: the GPU mask of step 0 is the reference mask', async () => {
    const g = new Graph();
    const h = ops.dropout(g, 'drop', dense(g, 'd1', g.input('x', 6), 8, 'relu', 1), 0.3, 1234);
    g.loss(dense(g, 'd2', h, 3, 'softmax', 3), 'categorical_crossentropy', 'sparse');
    await checkGradients(engine, 'dropout', g, 8, 60);
  });
});

/**
 * `steps` optimizer steps on the GPU (one epoch, batches in order) against the float64
 * reference applying the same optimizer to the reference gradients of the same batches.
 */
async function runSteps(spec: OptimizerSpec, lr: number): Promise<void> {
  const g = new Graph();
  const x = g.input('x', 6);
  const w1 = g.param('d1/kernel', [6, 5], uniformF32(30, -0.7, 0.7, 1), { l2: 0.01 });
  const b1 = param(g, 'd1/bias', [5], 2, 0.1);
  const h = ops.dense(g, 'd1', x, w1, b1, { name: 'tanh' });
  g.loss(dense(g, 'd2', h, 3, 'softmax', 3), 'categorical_crossentropy', 'sparse');
  const rows = 5;
  const steps = 4;
  const batch = makeBatch(g, rows * steps, 70);
  const data = gpuData(engine, g, batch);
  const t = new Executor(engine, g, { spec, learningRate: lr });
  try {
    const segs = t.model.segments;
    const arena = new Float64Array(t.model.totalLength);
    t.model.trainable.forEach((p, i) => arena.set(p.init, segs[i]?.offset ?? 0));
    const state = Array.from(
      { length: optimizerStateSlots(spec) },
      () => new Float64Array(t.model.totalLength),
    );
    let hyper = initialOptimizerHyper(lr);
    const params: ParamValues = g.params.map((p) => Float64Array.from(p.init));
    for (let s = 0; s < steps; s++) {
      const sub: ReferenceBatch = {
        inputs: batch.inputs.map((v) => Array.from(v).slice(s * rows * 6, (s + 1) * rows * 6)),
        targets: batch.targets.map((v) => Array.from(v).slice(s * rows, (s + 1) * rows)),
      };
      const ref = referenceGradients(g, params, sub, { mode: 'train', step: s });
      const grads = new Float64Array(t.model.totalLength);
      t.model.trainable.forEach((p, i) =>
        grads.set(ref.grads.get(p.id) as Float64Array, segs[i]?.offset ?? 0),
      );
      hyper = optimizerAdvanceReference(spec, hyper);
      optimizerStepReference(spec, segs, arena, grads, state, hyper);
      t.model.trainable.forEach((p, i) => {
        const off = segs[i]?.offset ?? 0;
        params[p.id] = arena.slice(off, off + p.length);
      });
    }
    await t.trainEpoch(data, { batchSize: rows, stepsPerSubmit: 3 });
    const h = await t.optimizerState();
    expect(h.step).toBe(steps);
    expect(h.lr).toBe(Math.fround(lr));
    const gpu = await t.readWeights();
    for (const p of t.model.trainable) {
      const a = gpu[p.id] as Float32Array;
      const e = params[p.id] as Float64Array;
      for (let k = 0; k < p.length; k++) {
        const [u, v] = [a[k] ?? NaN, e[k] ?? NaN];
        if (!(Math.abs(u - v) <= 2e-6 + 1e-4 * Math.abs(v)))
          throw new Error(`${spec.kind}: ${p.name}[${k}] = ${u}, expected ${v}`);
      }
      // Not a vacuous comparison: the weights moved.
      expect(p.init.some((v0, k) => Math.abs(v0 - (a[k] ?? v0)) > 1e-4)).toBe(true);
    }
  } finally {
    t.dispose();
    data.dispose();
  }
}

describe('optimizer steps on the GPU follow the float64 reference step by step', () => {
  it('setLearningRate changes the rate of the next steps without recompiling', async () => {
    const g = new Graph();
    const w = g.param('k', [2, 1], Float32Array.from([1, -1]));
    g.loss(ops.matmul(g, 'lin', g.input('x', 2), w), 'mse', 'dense');
    const data = gpuData(engine, g, {
      inputs: [Float32Array.from([1, 2])],
      targets: [Float32Array.from([1])],
    });
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0.05 });
    // y = w·x, L = (y − 1)², dL/dw = 2(y − 1)·x. Step 1 at lr 0.05: y = −1, w = [1, −1] + 0.05·4·[1, 2] = [1.2, −0.6].
    await t.trainEpoch(data, { batchSize: 1 });
    const pipelines = engine.stats().pipelines;
    t.setLearningRate(0.01);
    // Step 2 at lr 0.01: y = 0, w = [1.2, −0.6] + 0.01·2·[1, 2] = [1.22, −0.56].
    await t.trainEpoch(data, { batchSize: 1 });
    const got = Array.from((await t.readWeights())[w.id] ?? []);
    expect(got[0]).toBeCloseTo(1.22, 6);
    expect(got[1]).toBeCloseTo(-0.56, 6);
    expect((await t.optimizerState()).lr).toBe(Math.fround(0.01));
    expect(engine.stats().pipelines).toBe(pipelines);
    expect(() => t.setLearningRate(Number.NaN)).toThrow(/learning rate NaN must be a finite number/);
    t.dispose();
    data.dispose();
  });
  it('SGD with momentum (L2 0.01 on one kernel)', () => runSteps({ kind: 'sgd', momentum: 0.9 }, 0.1));
  it('Adam', () => runSteps({ kind: 'adam' }, 0.01));
  it('plain SGD', () => runSteps({ kind: 'sgd' }, 0.1));
  it('SGD with Nesterov momentum', () => runSteps({ kind: 'sgd', momentum: 0.9, nesterov: true }, 0.05));
  it('RMSprop (centered, with momentum)', () =>
    runSteps({ kind: 'rmsprop', momentum: 0.5, centered: true }, 0.01));
  it('AMSGrad', () => runSteps({ kind: 'adam', amsgrad: true }, 0.01));
  it('Nadam', () => runSteps({ kind: 'nadam' }, 0.01));
});
