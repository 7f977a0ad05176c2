/**
 * The work a compiled step declares: every dispatch of a plan declares its flops and bytes
 * (the test that keeps new kernels honest), the matmuls of a 784-512-512-10 training step
 * add up to the closed form of its forward and backward products, Plan.stats().work is the
 * step's total, and plan.profile() reports the recorded work beside each GPU time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniformF32 } from '../../kernels-test/harness.js';
import { bn, dense } from '../../kernels-test/graph-check.js';
import type { DispatchWork } from '../gpu/engine.js';
import { initEngine, type Engine } from '../node/index.js';
import { GpuData } from './dataset.js';
import { Executor } from './executor.js';
import { Graph } from './ir.js';
import * as ops from './ops/index.js';

let engine: Engine;
beforeAll(async () => {
  // The cpu kernel profile on any adapter: the counts below are its (a GPU profile splits k).
  engine = await initEngine({
    adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto',
    log: false,
    kernels: 'cpu',
  });
});
afterAll(() => engine.dispose());

const SIZES = [784, 512, 512, 10] as const;
const BATCH = 32;

/** Dense 784→512 relu, 512→512 relu, 512→10 softmax; sparse cross-entropy + accuracy. */
function mlp(): Graph {
  const g = new Graph();
  let x = g.input('pixels', SIZES[0]);
  for (let i = 1; i < SIZES.length; i++) {
    const [a, b] = [SIZES[i - 1] as number, SIZES[i] as number];
    const lim = Math.sqrt(6 / (a + b));
    const kernel = g.param(`dense_${i}/kernel`, [a, b], uniformF32(a * b, -lim, lim, i));
    const bias = g.param(`dense_${i}/bias`, [b], new Float32Array(b));
    x = ops.dense(g, `dense_${i}`, x, kernel, bias, { name: i === SIZES.length - 1 ? 'softmax' : 'relu' });
  }
  g.loss(x, 'categorical_crossentropy', 'sparse');
  g.metric(0, 'sparse');
  return g;
}

function mnistLike(rows: number): GpuData {
  return new GpuData(engine, {
    inputs: [{ data: Uint8Array.from(uniformF32(rows * 784, 0, 255, 3)), width: 784, scale: 1 / 255 }],
    targets: [{ data: Uint8Array.from(uniformF32(rows, 0, 9.99, 4), Math.floor), width: 1 }],
  });
}

/** A matmul dispatch's label ends in its variant and "MxNxK" (src/kernels/matmul.ts). */
const MATMUL_LABEL = /_(NN|NT|TN|TT)(_dact_\w+)?(_sums)? (\d+)x(\d+)x(\d+)$/;

describe('declared work of a compiled step', () => {
  it('784-512-512-10, batch 32, Adam: every dispatch declares work; the matmuls add up to the closed form', async () => {
    const data = mnistLike(64);
    const t = new Executor(engine, mlp(), { spec: { kind: 'adam' }, learningRate: 1e-3 });
    const plan = t.plan('train', BATCH, data);
    const dispatches = plan.recording.dispatches;
    expect(dispatches.filter((d) => d.work === undefined).map((d) => d.label)).toEqual([]);

    const matmuls = dispatches.filter((d) => MATMUL_LABEL.test(d.label));
    // Forward 3, dW 3 (each with its db as column sums), dX 2 (the first layer's input needs
    // no gradient).
    expect(matmuls.map((d) => d.label.replace(/ .*/, ''))).toEqual([
      'dense_1_NN',
      'dense_2_NN',
      'dense_3_NN',
      'dense_3_dW_TN_sums',
      'dense_3_dX_NT_dact_relu',
      'dense_2_dW_TN_sums',
      'dense_2_dX_NT_dact_relu',
      'dense_1_dW_TN_sums',
    ]);
    const B = BATCH;
    const macs = 784 * 512 + 512 * 512 + 512 * 10; // weights = multiply-adds per row per product
    // Products, 2 flops a multiply-add: forward and dW over all three layers, dX over layers
    // 3 and 2. Epilogues, 1 flop an element: the forward bias adds (every layer) and relus
    // (layers 1 and 2: the softmax is fused into the loss), each dX's relu'(y) and product,
    // and the bias gradients' column sums (B rows added into each bias element).
    const products =
      2 * B * macs /* forward */ + 2 * B * macs /* dW */ + 2 * B * (512 * 10 + 512 * 512); /* dX */
    const epilogues =
      B * (512 + 512 + 10) /* bias */ +
      B * (512 + 512) /* relu */ +
      2 * B * (512 + 512) /* dact */ +
      B * (512 + 512 + 10); /* db */
    const flops = matmuls.reduce((s, d) => s + (d.work?.flops ?? NaN), 0);
    expect(flops).toBe(products + epilogues);
    expect(products).toBe(6 * B * macs - 2 * B * 784 * 512); // 6·B·macs less layer 1's dX

    // Adam over every parameter: p, g, m, v read, p, m, v written, + the 6-segment table.
    const params = macs + 512 + 512 + 10;
    const adam = dispatches.find((d) => d.label === 'optim_adam');
    expect(adam?.work?.bytes).toBe(4 * params * 7 + 16 * (1 + 6));

    // The 8-bit input rows read at 1 byte a value, written as f32, + their permutation
    // entries and the cursor; x·scale + offset per value. In the same dispatch the class
    // ids: a byte each read, a u32 each written.
    expect(dispatches[0]?.label).toBe('gather_u8_x1_labels_u8_u32');
    expect(dispatches[0]?.work).toEqual({
      flops: 2 * B * 784,
      bytes: B * 784 * (1 + 4) + 4 * B + 4 + B * (1 + 4),
    });

    const sum = (key: keyof DispatchWork) => dispatches.reduce((s, d) => s + (d.work?.[key] ?? NaN), 0);
    expect(plan.stats().work).toEqual({ flops: sum('flops'), bytes: sum('bytes') });

    if (engine.features.has('timestamp-query')) {
      const p = await plan.profile();
      expect(p.dispatches.map((d) => ({ label: d.label, flops: d.flops, bytes: d.bytes }))).toEqual(
        dispatches.map((d) => ({ label: d.label, flops: d.work?.flops, bytes: d.work?.bytes })),
      );
    } else {
      await expect(plan.profile()).rejects.toThrow(/timestamp-query/);
    }
    t.dispose();
    data.dispose();
  });

  it('a model using every graph kernel: each dispatch of compiling, training, evaluating and predicting declares work', async () => {
    const g = new Graph();
    const a = g.input('a', 6);
    const b = g.input('b', 5);
    const h = ops.dropout(g, 'drop', dense(g, 'd1', a, 8, 'tanh', 1), 0.25, 7);
    const n = bn(g, 'bn', dense(g, 'd2', b, 8, 'linear', 3), 5);
    const l2 = g.param('d3/kernel', [8, 8], uniformF32(64, -0.4, 0.4, 9), { l1: 0.01, l2: 0.02 });
    const s = ops.add(g, 'res', [h, ops.activation(g, 'act', ops.matmul(g, 'd3', n, l2), { name: 'elu' })]);
    const r = ops.activityRegularizer(g, 'reg', s, { l1: 0.01, l2: 0.01 });
    const cat = ops.concat(g, 'cat', [r, a]);
    g.loss(dense(g, 'cls', cat, 3, 'softmax', 11), 'categorical_crossentropy', 'sparse');
    g.loss(dense(g, 'reg_out', cat, 2, 'sigmoid', 13), 'mse', 'dense', { weight: 0.5 });
    // The first accuracy is counted by the loss kernel, the second by the accuracy kernel.
    g.metric(0, 'sparse');
    g.metric(0, 'sparse');
    for (const kind of ['mae', 'auc', 'precision'] as const) g.metric(1, kind);

    const rows = 20;
    const data = new GpuData(engine, {
      inputs: [
        { data: uniformF32(rows * 6, -1, 1, 21), width: 6 },
        { data: uniformF32(rows * 5, -1, 1, 22), width: 5 },
      ],
      targets: [
        { data: Uint32Array.from(uniformF32(rows, 0, 2.99, 23), Math.floor), width: 1 },
        { data: Float32Array.from(uniformF32(rows * 2, 0, 1, 24), Math.round), width: 2 },
      ],
    });
    // Every call of engine.dispatch, eager or recorded into a plan (replays do not call it).
    const undeclared: string[] = [];
    const labels = new Set<string>();
    const dispatch = engine.dispatch.bind(engine);
    engine.dispatch = (pipeline, buffers, workgroups, label, work) => {
      labels.add(label);
      if (work === undefined) undeclared.push(label);
      dispatch(pipeline, buffers, workgroups, label, work);
    };
    try {
      const t = new Executor(engine, g, {
        spec: { kind: 'rmsprop', momentum: 0.5, centered: true },
        learningRate: 0.01,
      });
      await t.trainEpoch(data, { batchSize: 8 }); // full batches of 8 and a partial one of 4
      await t.evaluate(data, 8);
      const [cls] = await t.predict(data, 8);
      expect(cls).toHaveLength(rows * 3);
      t.dispose();
    } finally {
      engine.dispatch = dispatch;
    }
    expect(undeclared).toEqual([]);
    // The kernel families these steps use, so that the model keeps covering them.
    for (const family of [
      /^gather_f32/,
      /^gather_f32_x1_labels_u32_u32$/,
      /^dropout$/,
      /^dropout_grad$/,
      /^batchnorm_train$/,
      /^batchnorm_backward$/,
      /^batchnorm_inference$/,
      /^binary_add$/,
      /^activation_grad_elu_from_y$/,
      /^softmax$/,
      /^activity_penalty$/,
      /^activity_grad/,
      /^copy_block/,
      // _sg: reduced with subgroups, where the engine has them.
      /^softmax_xent_sparse_count(_sg)?$/,
      /^loss_mse(_sg)?$/,
      /^row_error_abs$/,
      /^confusion$/,
      /^auc_histogram_/,
      /^correct_count_sparse$/,
      /^penalty_terms$/,
      /^penalty_sum \(pass 1\)$/,
      /^guarded_copy$/,
      /^optim_rmsprop_momentum_centered$/,
      /^step_end$/,
      MATMUL_LABEL,
    ]) {
      expect(
        [...labels].some((l) => family.test(l)),
        `a dispatch matching ${String(family)}`,
      ).toBe(true);
    }
    data.dispose();
  });
});
