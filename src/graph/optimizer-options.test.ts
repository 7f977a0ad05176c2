/**
 * Keras's options common to every optimizer (Keras 2's time `decay`, Keras 3's `clipnorm`,
 * `global_clipnorm`, `clipvalue` and decoupled `weight_decay`, AdamW) in the compiled training
 * step: a tiny model trained on the GPU for several steps, its weights against a float64
 * replay (the reference model's gradients of the same batches, optimizerStepReference with
 * the same options). The norm clips add one dispatch before the fused update; everything else
 * happens inside it, from the step counter on the GPU.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dense, gpuData, makeBatch, param } from '../../kernels-test/graph-check.js';
import { uniformF32 } from '../../kernels-test/harness.js';
import { optimizers } from '../nn/optimizers.js';
import { initEngine, type Engine } from '../node/index.js';
import { Executor } from './executor.js';
import { Graph } from './ir.js';
import * as ops from './ops/index.js';
import { referenceGradients, type ParamValues, type ReferenceBatch } from './reference.js';
import { initialOptimizerHyper, optimizerStateSlots, type OptimizerSettings } from '../kernels/optim.js';
import { optimizerAdvanceReference, optimizerStepReference } from '../kernels/optim-reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** Trains `steps` batches of 5 rows on the GPU and in float64; returns the largest |Δw|. */
async function replay(opt: OptimizerSettings, steps = 6): Promise<number> {
  const { spec, learningRate: lr } = opt;
  const g = new Graph();
  const x = g.input('x', 6);
  const w1 = g.param('d1/kernel', [6, 5], uniformF32(30, -0.7, 0.7, 1), { l2: 0.01 });
  const b1 = param(g, 'd1/bias', [5], 2, 0.1);
  const h = ops.dense(g, 'd1', x, w1, b1, { name: 'tanh' });
  g.loss(dense(g, 'd2', h, 3, 'softmax', 3), 'categorical_crossentropy', 'sparse');
  const rows = 5;
  const batch = makeBatch(g, rows * steps, 70);
  const data = gpuData(engine, g, batch);
  const t = new Executor(engine, g, opt);
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
    await t.trainEpoch(data, { batchSize: rows, stepsPerSubmit: 4 });
    expect((await t.optimizerState()).step).toBe(steps);
    const gpu = await t.readWeights();
    let worst = 0;
    for (const p of t.model.trainable) {
      const a = gpu[p.id] as Float32Array;
      const e = params[p.id] as Float64Array;
      for (let k = 0; k < p.length; k++) {
        const [u, v] = [a[k] ?? NaN, e[k] ?? NaN];
        worst = Math.max(worst, Math.abs(u - v));
        if (!(Math.abs(u - v) <= 2e-6 + 1e-4 * Math.abs(v)))
          throw new Error(`${JSON.stringify(spec)}: ${p.name}[${k}] = ${u}, expected ${v}`);
      }
      // Not a vacuous comparison: the weights moved.
      expect(p.init.some((v0, k) => Math.abs(v0 - (a[k] ?? v0)) > 1e-4)).toBe(true);
    }
    return worst;
  } finally {
    t.dispose();
    data.dispose();
  }
}

describe('common optimizer options in the compiled step follow the float64 replay', () => {
  const cases: [string, OptimizerSettings][] = [
    ["SGD(lr=0.5, decay=0.2): Keras 2's time decay", optimizers.SGD({ lr: 0.5, decay: 0.2 })],
    [
      'SGD momentum, clipnorm 0.05 (per weight tensor)',
      optimizers.sgd(0.5, { momentum: 0.9, clipnorm: 0.05 }),
    ],
    ['RMSprop, global_clipnorm 0.05', optimizers.rmsprop({ learning_rate: 0.01, global_clipnorm: 0.05 })],
    ['Adam, clipvalue 0.01', optimizers.adam(0.01, { clipvalue: 0.01 })],
    ['AdamW (weight decay 0.004) at lr 0.05', optimizers.AdamW(0.05)],
    [
      'AdamW weight decay 0.5, global clipnorm 0.1, decay 0.1',
      optimizers.adamw(0.05, { weight_decay: 0.5, global_clipnorm: 0.1, decay: 0.1 }),
    ],
    ['Nadam, weight decay 0.3, clipnorm 0.02', optimizers.nadam(0.02, { weightDecay: 0.3, clipnorm: 0.02 })],
  ];
  for (const [name, opt] of cases) {
    it(name, async () => {
      const worst = await replay(opt);
      if (process.env.OPTIM_REPORT)
        console.log(`${name}: max |w_gpu − w_float64| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it('each option changes the trajectory (the replay is not blind to it)', () => {
    const base = optimizers.sgd(0.5);
    const withClip = optimizers.sgd(0.5, { clipnorm: 0.05 });
    // Three float64 steps of each from the same weights and gradient: each must end elsewhere.
    const g = (o: OptimizerSettings): Float64Array => {
      const segs = [{ offset: 0, length: 4, l1: 0, l2: 0 }];
      const w = Float64Array.from([1, -2, 3, -4]);
      let h = initialOptimizerHyper(o.learningRate);
      for (let s = 0; s < 3; s++) {
        h = optimizerAdvanceReference(o.spec, h);
        optimizerStepReference(o.spec, segs, w, [1, 1, -1, 2], [], h);
      }
      return w;
    };
    expect(g(withClip)).not.toEqual(g(base));
    expect(g(optimizers.sgd(0.5, { decay: 0.1 }))).not.toEqual(g(base));
    expect(g(optimizers.sgd(0.5, { weightDecay: 0.1 }))).not.toEqual(g(base));
    expect(g(optimizers.sgd(0.5, { clipvalue: 0.5 }))).not.toEqual(g(base));
  });
});
