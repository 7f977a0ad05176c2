/**
 * The executor: dispatch counts of a compiled step, nothing created or read per step,
 * partial last batches, datasets split over several bindings, NaN detection and restore,
 * evaluate/predict, and memory returned on dispose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniformF32 } from '../../kernels-test/harness.js';
import { initEngine, type Engine } from '../node/index.js';
import { GpuData } from './dataset.js';
import { NonFiniteLossError, Executor } from './executor.js';
import { Graph, type Value } from './ir.js';
import * as ops from './ops/index.js';
import { referenceForward, type ParamValues } from './reference.js';

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

/** Dense layers with glorot-uniform-like kernels; the last one softmax. */
function mlp(sizes: number[], seed = 1): { g: Graph; out: Value } {
  const g = new Graph();
  let x = g.input('x', sizes[0] as number);
  for (let i = 1; i < sizes.length; i++) {
    const [a, b] = [sizes[i - 1] as number, sizes[i] as number];
    const lim = Math.sqrt(6 / (a + b));
    const w = g.param(`dense_${i}/kernel`, [a, b], uniformF32(a * b, -lim, lim, seed + i));
    const bias = g.param(`dense_${i}/bias`, [b], new Float32Array(b));
    x = ops.dense(g, `dense_${i}`, x, w, bias, { name: i === sizes.length - 1 ? 'softmax' : 'relu' });
  }
  g.loss(x, 'categorical_crossentropy', 'sparse');
  g.metric(0, 'sparse');
  return { g, out: x };
}

function labels(rows: number, classes: number, seed: number): Uint8Array {
  return Uint8Array.from(uniformF32(rows, 0, classes, seed), (v) => Math.min(classes - 1, Math.floor(v)));
}

describe('compiled step: counts, not times', () => {
  it('784-512-512-10 with Adam compiles to 13 dispatches; 10 steps create nothing and read nothing', async () => {
    const { g } = mlp([784, 512, 512, 10]);
    const rows = 320;
    const data = new GpuData(engine, {
      inputs: [{ data: Uint8Array.from(uniformF32(rows * 784, 0, 255, 3)), width: 784, scale: 1 / 255 }],
      targets: [{ data: labels(rows, 10, 4), width: 1 }],
    });
    const t = new Executor(engine, g, { spec: { kind: 'adam' }, learningRate: 1e-3 });
    const plan = t.plan('train', 32, data);
    // gather x with its labels; 3 matmuls with bias+relu fused (the last linear: its softmax is
    // fused into the loss); softmax-xent counting the accuracy too (the step end sums the
    // loss rows);
    // backward: layer 3 dW with db (its column sums), dX (relu' in its epilogue); layer 2 the
    // same; layer 1 dW with db (no dX: the input needs no gradient); optimizer advance + one
    // update for all 6 tensors; step end (loss sum, NaN watch, step counter, cursor)
    // = 1 + 3 + 1 + 5 + 2 + 1 = 13.
    expect(plan.stats().dispatchesPerStep).toBe(13);
    expect(plan.stats().dispatches).toContain('step_end_sum1');
    // The loss reduces its rows with subgroups where the engine has them (the label says so).
    const sg = engine.profile.subgroupLanes > 0 ? '_sg' : '';
    expect(plan.stats().dispatches).toContain(`softmax_xent_sparse_count${sg}`);
    expect(plan.stats().dispatches.filter((l) => l.includes('_TN_sums'))).toHaveLength(3);
    expect(plan.stats().dispatches.filter((l) => l.includes('_dact_relu'))).toHaveLength(2);
    // Liveness sharing: temporaries take less than one buffer each would (activations,
    // pre-activations and gradients whose lifetimes do not overlap share buffers).
    expect(plan.memory.bytes).toBeLessThan(plan.memory.unsharedBytes);
    expect(plan.memory.buffers.length).toBeLessThan(
      new Set(
        plan.lowered.calls
          .flatMap((c) => [...c.reads, ...c.writes])
          .filter((v) => !v.fixed)
          .map((v) => v.id),
      ).size,
    );
    await t.trainEpoch(data, { batchSize: 32 }); // warm: every plan compiled
    await engine.flush();
    const before = engine.stats();
    await t.trainEpoch(data, { batchSize: 32, stepsPerSubmit: 4 }); // 10 steps, 3 windows
    const after = engine.stats();
    expect(after.buffersCreated - before.buffersCreated).toBe(0);
    expect(after.bindGroups - before.bindGroups).toBe(0);
    expect(after.pipelines - before.pipelines).toBe(0);
    expect(after.readbacks - before.readbacks).toBe(1); // the epoch's one read of the logs
    // 10 steps of 13, plus per window (3) a guarded snapshot of 5 copies: params, Adam's
    // two moments, the non-trainable state arena, the optimizer's hyper words.
    expect(after.dispatches - before.dispatches).toBe(10 * 13 + 3 * 5);
    t.dispose();
    data.dispose();
  });
});

describe('executor', () => {
  it('plan.profile() times every dispatch of one step by label, or names the missing feature', async () => {
    const { g } = mlp([8, 6, 3]);
    const data = new GpuData(engine, {
      inputs: [{ data: uniformF32(32, -1, 1, 5), width: 8 }],
      targets: [{ data: labels(4, 3, 6), width: 1 }],
    });
    const t = new Executor(engine, g, { spec: { kind: 'adam' }, learningRate: 1e-3 });
    const plan = t.plan('train', 4, data);
    if (engine.features.has('timestamp-query')) {
      const p = await plan.profile();
      expect(p.dispatches.map((d) => d.label)).toEqual(plan.stats().dispatches);
      expect(p.dispatches.every((d) => d.ms >= 0 && Number.isFinite(d.ms))).toBe(true);
      expect(p.totalMs).toBeCloseTo(
        p.dispatches.reduce((s, d) => s + d.ms, 0),
        9,
      );
    } else {
      await expect(plan.profile()).rejects.toThrow(/timestamp-query/);
    }
    t.dispose();
    data.dispose();
  });

  it('a partial last batch: every row once, the loss averaged over the real rows', async () => {
    const { g } = mlp([5, 4, 3]);
    const rows = 11; // batches of 4: 4 + 4 + 3
    const x = uniformF32(rows * 5, -1, 1, 9);
    const y = labels(rows, 3, 10);
    const data = new GpuData(engine, { inputs: [{ data: x, width: 5 }], targets: [{ data: y, width: 1 }] });
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    const logs = await t.trainEpoch(data, { batchSize: 4, shuffle: 7 });
    const params: ParamValues = g.params.map((p) => Float64Array.from(p.init));
    const ref = referenceForward(g, params, { inputs: [x], targets: [y] }, { mode: 'train', step: 0 });
    expect(logs.samples).toBe(11);
    expect(logs.step).toBe(3);
    expect(logs.loss).toBeCloseTo(ref.loss, 5); // lr 0: the epoch's mean = the mean over all rows
    expect(logs.metrics.accuracy).toBeCloseTo((ref.correct[0] ?? NaN) / rows, 6);
    // evaluate and predict agree with the reference in inference mode.
    const ev = await t.evaluate(data, 4);
    const inf = referenceForward(g, params, { inputs: [x], targets: [y] }, { mode: 'inference', step: 0 });
    expect(ev.loss).toBeCloseTo(inf.loss, 5);
    const [pred] = await t.predict(data, 4);
    const outId = g.losses[0]?.output.id ?? -1;
    const expected = inf.values.get(outId) as Float64Array;
    expect(pred?.length).toBe(rows * 3);
    pred?.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? NaN))).toBeLessThan(1e-5));
    // Every training step counts on the GPU's step word (dropout masks never repeat), evaluate
    // and predict batches do not: 3, then 2 more encoded directly from the rewound cursor.
    t.resetCursor();
    t.plan('train', 4, data).encode(2);
    const status = new Uint32Array(await engine.read(t.model.status, 16, 'status'));
    expect(status[0]).toBe(5);
    expect(new Uint32Array(await engine.read(t.model.cursor, 4, 'cursor'))[0]).toBe(8);
    t.dispose();
    data.dispose();
  });

  it('progress reads every N steps give the running mean; evaluate uses batch-norm moving statistics', async () => {
    const g = new Graph();
    const x = g.input('x', 5);
    const w = g.param('d/kernel', [5, 4], uniformF32(20, -0.8, 0.8, 1));
    const h = ops.matmul(g, 'd', x, w);
    const f = 4;
    const b = ops.batchNorm(
      g,
      'bn',
      h,
      {
        gamma: g.param('bn/gamma', [f], uniformF32(f, 0.5, 1.5, 2)),
        beta: g.param('bn/beta', [f], uniformF32(f, -0.2, 0.2, 3)),
        movingMean: g.param('bn/moving_mean', [f], uniformF32(f, -0.3, 0.3, 4), { trainable: false }),
        movingVariance: g.param('bn/moving_variance', [f], uniformF32(f, 0.5, 2, 5), { trainable: false }),
      },
      { epsilon: 1e-3, momentum: 0.9 },
    );
    const out = ops.activation(g, 'sm', b, { name: 'softmax' });
    g.loss(out, 'categorical_crossentropy', 'sparse');
    g.metric(0, 'sparse');
    const rows = 12;
    const xs = uniformF32(rows * 5, -1, 1, 6);
    const ys = labels(rows, 4, 7);
    const data = new GpuData(engine, { inputs: [{ data: xs, width: 5 }], targets: [{ data: ys, width: 1 }] });
    const params: ParamValues = g.params.map((p) => Float64Array.from(p.init));
    // Evaluate first (moving statistics as initialised), against the reference in inference mode.
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    const ev = await t.evaluate(data, 5);
    const inf = referenceForward(g, params, { inputs: [xs], targets: [ys] }, { mode: 'inference', step: 0 });
    expect(ev.loss).toBeCloseTo(inf.loss, 5);
    expect(ev.metrics.accuracy).toBeCloseTo((inf.correct[0] ?? NaN) / rows, 6);
    // Train with lr 0 and a read after every step: the running mean over the batches so far.
    const seen: number[][] = [];
    const before = engine.stats().readbacks;
    const logs = await t.trainEpoch(data, {
      batchSize: 4,
      readEvery: 1,
      onProgress: (l) => seen.push([l.step, l.loss]),
    });
    expect(engine.stats().readbacks - before).toBe(3); // after steps 1 and 2, and the epoch's
    expect(seen.map(([step]) => step)).toEqual([1, 2, 3]);
    for (const [step, loss] of seen) {
      const n = 4 * (step ?? 0);
      const ref = referenceForward(
        g,
        params,
        { inputs: [xs.slice(0, n * 5)], targets: [ys.slice(0, n)] },
        { mode: 'train', step: 0 },
      );
      // Batch-norm statistics are per batch, so the reference runs batch by batch.
      let sum = 0;
      for (let k = 0; k < (step ?? 0); k++) {
        const part = referenceForward(
          g,
          params,
          { inputs: [xs.slice(k * 20, (k + 1) * 20)], targets: [ys.slice(k * 4, (k + 1) * 4)] },
          { mode: 'train', step: k },
        );
        sum += part.loss * 4;
      }
      if ((step ?? 0) > 1) expect(ref.loss).not.toBeCloseTo(sum / n, 6); // whole-prefix BN stats differ
      expect(loss).toBeCloseTo(sum / n, 5);
    }
    expect(logs.loss).toBeCloseTo(seen[2]?.[1] ?? NaN, 9);
    // Training updated the moving statistics: mean ← 0.9·mean + 0.1·batch mean, per batch.
    const state = await t.readWeights();
    const mm = g.params.find((p) => p.name === 'bn/moving_mean');
    expect(
      Array.from(state[mm?.id ?? -1] ?? []).some((v, i) => Math.abs(v - (mm?.init[i] ?? v)) > 1e-4),
    ).toBe(true);
    t.dispose();
    data.dispose();
  });

  it('a u8 dataset over the binding limit is split and gathered from every part', async () => {
    const limit = engine.limits.maxStorageBufferBindingSize;
    const features = 4096;
    const rows = Math.ceil((limit + 16 * 2 ** 20) / features); // > the limit by 16 MiB
    const bytes = new Uint8Array(rows * features);
    for (let r = 0; r < rows; r++) bytes.fill(r % 251, r * features, (r + 1) * features);
    const g = new Graph();
    const xin = g.input('x', features);
    const w = g.param('probe/kernel', [features, 1], new Float32Array(features).fill(1 / features));
    g.loss(ops.matmul(g, 'probe', xin, w), 'mse', 'dense');
    const target = Float32Array.from({ length: rows }, (_, r) => r % 251);
    const data = new GpuData(engine, {
      inputs: [{ data: bytes, width: features }],
      targets: [{ data: target, width: 1 }],
    });
    expect(data.inputs[0]?.parts.length).toBeGreaterThan(1);
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    // The probe outputs each row's mean byte, which equals its target: the loss is 0 only if
    // every row (in both parts) was gathered correctly. Rows near the split are in the last batch.
    const ev = await t.evaluate(data, 4096);
    expect(ev.samples).toBe(rows);
    expect(ev.loss).toBeLessThan(1e-6);
    t.dispose();
    data.dispose();
  }, 120_000);

  it('dense u8 targets are split over bindings like inputs (maxPartBytes forces the splits)', async () => {
    const g = new Graph();
    const x = g.input('x', 4);
    const w = Float32Array.from([1, -2, 0.5, 3, -1, 0.25, 2, -0.75]); // [4, 2]
    g.loss(ops.matmul(g, 'lin', x, g.param('lin/kernel', [4, 2], w)), 'mse', 'dense');
    const rows = 10;
    const pixels = Uint8Array.from({ length: rows * 4 }, (_, i) => (i * 37) % 256);
    const target = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < 2; j++) {
        let acc = 0;
        for (let k = 0; k < 4; k++) acc += ((pixels[r * 4 + k] ?? 0) / 255) * (w[k * 2 + j] ?? 0);
        target[r * 2 + j] = acc;
      }
    }
    const data = new GpuData(engine, {
      inputs: [{ data: pixels, width: 4, scale: 1 / 255 }],
      targets: [{ data: target, width: 2 }],
      maxPartBytes: 24, // inputs: 6 rows per part (2 parts); targets: 3 rows per part (4 parts)
    });
    expect(data.inputs[0]?.parts.length).toBe(2);
    expect(data.targets[0]?.parts.length).toBe(4);
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    const ev = await t.evaluate(data, 4);
    expect(ev.loss).toBeLessThan(1e-12);
    const logs = await t.trainEpoch(data, { batchSize: 3, shuffle: 5 });
    expect(logs.loss).toBeLessThan(1e-12);
    t.dispose();
    data.dispose();
  });

  it('a NaN loss is reported with its step, and the weights are those before that step', async () => {
    const { g } = mlp([4, 3, 2]);
    const rows = 24;
    const x = uniformF32(rows * 4, -1, 1, 11);
    x[13 * 4 + 2] = NaN; // row 13: the 4th batch of 4 (step 3) in order
    const data = new GpuData(engine, {
      inputs: [{ data: x, width: 4 }],
      targets: [{ data: labels(rows, 2, 12), width: 1 }],
    });
    // Reference weights: a second model trained on the 3 clean batches only.
    const clean = new GpuData(engine, {
      inputs: [{ data: x.slice(0, 12 * 4), width: 4 }],
      targets: [{ data: labels(rows, 2, 12).slice(0, 12), width: 1 }],
    });
    const t = new Executor(engine, g, { spec: { kind: 'adam' }, learningRate: 0.01 });
    const ok = new Executor(engine, g, { spec: { kind: 'adam' }, learningRate: 0.01 });
    await ok.trainEpoch(clean, { batchSize: 4 });
    const err = await t.trainEpoch(data, { batchSize: 4, stepsPerSubmit: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).epochStep).toBe(3);
    expect((err as Error).message).toMatch(/step 3 of the epoch.*restored/);
    const [a, b] = [await t.readWeights(), await ok.readWeights()];
    for (const p of g.params) {
      expect(Array.from(a[p.id] ?? [])).toEqual(Array.from(b[p.id] ?? []));
      expect((a[p.id] ?? []).every(Number.isFinite)).toBe(true);
    }
    for (const d of [t, ok, data, clean]) d.dispose();
  });

  it('sparse labels out of range are reported', async () => {
    const { g } = mlp([3, 2]);
    const data = new GpuData(engine, {
      inputs: [{ data: uniformF32(6, -1, 1, 1), width: 3 }],
      targets: [{ data: Uint8Array.from([0, 1]), width: 1 }],
    });
    const bad = new GpuData(engine, {
      inputs: [{ data: uniformF32(6, -1, 1, 1), width: 3 }],
      targets: [{ data: Uint8Array.from([0, 7]), width: 1 }],
    });
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0.1 });
    await expect(t.trainEpoch(bad, { batchSize: 2 })).rejects.toThrow(
      /1 target label\(s\) are not valid class ids/,
    );
    expect(() =>
      t.plan(
        'train',
        2,
        new GpuData(engine, {
          inputs: [{ data: new Float32Array(4), width: 4 }],
          targets: [{ data: new Uint8Array(1), width: 1 }],
        }),
      ),
    ).toThrow(/input "x" has 3 features; data column 0 has 4/);
    t.dispose();
    data.dispose();
    bad.dispose();
  });

  it('live buffers return to the starting count after dispose()', async () => {
    await engine.flush();
    const start = engine.stats();
    const { g } = mlp([6, 5, 3]);
    const data = new GpuData(engine, {
      inputs: [{ data: uniformF32(30, -1, 1, 2), width: 6 }],
      targets: [{ data: labels(5, 3, 3), width: 1 }],
    });
    const t = new Executor(engine, g, { spec: { kind: 'nadam' }, learningRate: 0.01 });
    await t.trainEpoch(data, { batchSize: 2, readEvery: 1, onProgress: () => undefined });
    await t.evaluate(data, 4);
    await t.predict(data, 3);
    expect(engine.stats().liveBuffers).toBeGreaterThan(start.liveBuffers);
    t.dispose();
    data.dispose();
    await engine.flush();
    expect(engine.stats().liveBuffers).toBe(start.liveBuffers);
    expect(engine.stats().liveBytes).toBe(start.liveBytes);
  });

  it('one executor, two datasets (train and validation): each plan reads its own data', async () => {
    const g = new Graph();
    const x = g.input('x', 2);
    g.loss(
      ops.matmul(g, 'probe', x, g.param('probe/kernel', [2, 1], Float32Array.from([1, 1]))),
      'mse',
      'dense',
    );
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    const a = new GpuData(engine, {
      inputs: [{ data: Float32Array.from([1, 1, 1, 1]), width: 2 }],
      targets: [{ data: Float32Array.from([2, 2]), width: 1 }],
    });
    const b = new GpuData(engine, {
      inputs: [{ data: Float32Array.from([5, 5, 5, 5]), width: 2 }],
      targets: [{ data: Float32Array.from([0, 0]), width: 1 }],
    });
    expect((await t.evaluate(a, 2)).loss).toBeCloseTo(0, 9);
    expect((await t.evaluate(b, 2)).loss).toBeCloseTo(100, 4);
    expect(Array.from((await t.predict(b, 2))[0] ?? [])).toEqual([10, 10]);
    // Disposing a dataset frees its plans; using it afterwards is a clear error.
    await engine.flush();
    const live = engine.stats().liveBuffers;
    b.dispose();
    await engine.flush();
    expect(engine.stats().liveBuffers).toBeLessThan(live - b.buffers.length);
    await expect(t.evaluate(b, 2)).rejects.toThrow(/this dataset was disposed/);
    // Fresh data for each predict does not grow memory once each is disposed.
    const start = engine.stats().liveBuffers;
    for (let i = 0; i < 3; i++) {
      const d = new GpuData(engine, { inputs: [{ data: Float32Array.from([i, i]), width: 2 }] });
      expect((await t.predict(d, 1, [g.losses[0]?.output as Value]))[0]?.[0]).toBe(2 * i);
      d.dispose();
    }
    await engine.flush();
    expect(engine.stats().liveBuffers).toBe(start);
    t.dispose();
    a.dispose();
  });

  it('an onProgress that throws: the error is raised after the epoch, a NaN is still undone; a busy model refuses', async () => {
    const { g } = mlp([3, 2]);
    const rows = 8;
    const x = uniformF32(rows * 3, -1, 1, 21);
    x[5 * 3] = NaN; // step 2 (batch 2 of 4)
    const data = new GpuData(engine, {
      inputs: [{ data: x, width: 3 }],
      targets: [{ data: labels(rows, 2, 22), width: 1 }],
    });
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0.1 });
    const err = await t
      .trainEpoch(data, {
        batchSize: 2,
        readEvery: 1,
        onProgress: (l) => {
          if (l.step === 1) throw new Error('ui broke');
        },
      })
      .catch((e: unknown) => e);
    // The NaN (the more serious failure) is reported, and the weights are finite.
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).epochStep).toBe(2);
    expect((await t.readWeights()).every((w) => w.every(Number.isFinite))).toBe(true);
    // A callback's own error, without a NaN, comes out of trainEpoch.
    const clean = new GpuData(engine, {
      inputs: [{ data: uniformF32(rows * 3, -1, 1, 23), width: 3 }],
      targets: [{ data: labels(rows, 2, 24), width: 1 }],
    });
    await expect(
      t.trainEpoch(clean, {
        batchSize: 2,
        readEvery: 1,
        onProgress: (l) => {
          if (l.step === 1) throw new Error('ui broke');
        },
      }),
    ).rejects.toThrow('ui broke');
    // Re-entry from a callback is refused with a clear error.
    let reentry: unknown;
    await t.trainEpoch(clean, {
      batchSize: 2,
      readEvery: 1,
      onProgress: (l) => {
        if (l.step === 1) t.evaluate(clean, 2).catch((e: unknown) => (reentry = e));
      },
    });
    expect(String(reentry)).toMatch(/evaluate: this model is busy with trainEpoch/);
    await expect(t.trainEpoch(clean, { batchSize: 2, readEvery: 1.5 })).rejects.toThrow(
      /readEvery 1.5 must be an integer/,
    );
    await expect(t.trainEpoch(clean, { batchSize: 2, stepsPerSubmit: Number.NaN })).rejects.toThrow(
      /stepsPerSubmit NaN/,
    );
    for (const d of [t, data, clean]) d.dispose();
  });
});
