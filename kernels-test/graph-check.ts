/**
 * Whole-model gradient checks shared by the Node graph tests (src/graph/step.test.ts) and the
 * kernel cases that run in both Node and Chromium (cases/step.ts): the GPU step's gradient
 * of every parameter against the float64 reference model, and the reference against central
 * finite differences (PyTorch gradcheck tolerances: atol 1e-5, rtol 1e-3).
 */
import type { Engine } from '../src/gpu/engine.js';
import { GpuData } from '../src/graph/dataset.js';
import { Executor } from '../src/graph/executor.js';
import type { Graph, Value } from '../src/graph/ir.js';
import * as ops from '../src/graph/ops/index.js';
import {
  finiteDifferenceGradients,
  referenceGradients,
  type ParamValues,
  type ReferenceBatch,
} from '../src/graph/reference.js';
import { rng, uniformF32 } from './harness.js';

export function param(
  g: Graph,
  name: string,
  shape: number[],
  seed: number,
  scale = 0.5,
): ReturnType<Graph['param']> {
  const n = shape.reduce((a, b) => a * b, 1);
  return g.param(name, shape, uniformF32(n, -scale, scale, seed));
}

export function dense(g: Graph, name: string, x: Value, units: number, act: string, seed: number): Value {
  const w = param(g, `${name}/kernel`, [x.features, units], seed, Math.sqrt(6 / (x.features + units)));
  const b = param(g, `${name}/bias`, [units], seed + 1, 0.1);
  return ops.dense(g, name, x, w, b, { name: act } as never);
}

export function bn(g: Graph, name: string, x: Value, seed: number): Value {
  const f = x.features;
  return ops.batchNorm(
    g,
    name,
    x,
    {
      gamma: g.param(`${name}/gamma`, [f], uniformF32(f, 0.5, 1.5, seed)),
      beta: param(g, `${name}/beta`, [f], seed + 1, 0.2),
      movingMean: g.param(`${name}/moving_mean`, [f], new Float32Array(f), { trainable: false }),
      movingVariance: g.param(`${name}/moving_variance`, [f], new Float32Array(f).fill(1), {
        trainable: false,
      }),
    },
    { epsilon: 1e-3, momentum: 0.99 },
  );
}

interface Case {
  g: Graph;
  batch: ReferenceBatch;
  data: GpuData;
}

/** Columns of a batch as GPU data (inputs f32; sparse targets u32, dense f32). */
export function gpuData(engine: Engine, g: Graph, batch: ReferenceBatch): GpuData {
  return new GpuData(engine, {
    inputs: batch.inputs.map((x, i) => ({ data: Float32Array.from(x), width: g.inputs[i]?.features ?? 1 })),
    targets: batch.targets.map((t, i) => {
      const h = g.losses[i];
      return h?.target === 'sparse'
        ? { data: Uint32Array.from(t), width: 1 }
        : { data: Float32Array.from(t), width: h?.output.features ?? 1 };
    }),
  });
}

export function makeBatch(g: Graph, rows: number, seed: number): ReferenceBatch {
  return {
    inputs: g.inputs.map((v, i) => uniformF32(rows * v.features, -1, 1, seed + i)),
    targets: g.losses.map((h, i) => {
      const r = rng(seed + 50 + i);
      if (h.target === 'sparse')
        return Uint32Array.from({ length: rows }, () => Math.floor(r() * h.output.features));
      if (h.loss === 'categorical_crossentropy') {
        const t = new Float32Array(rows * h.output.features);
        for (let k = 0; k < rows; k++) t[k * h.output.features + Math.floor(r() * h.output.features)] = 1;
        return t;
      }
      return uniformF32(rows * h.output.features, -1, 1, seed + 60 + i);
    }),
  };
}

/** One SGD step with lr 0 leaves the gradients of the batch in the gradient arena. */
async function gpuGradients(
  engine: Engine,
  c: Case,
  rows: number,
): Promise<{ grads: Map<number, Float32Array>; loss: number; t: Executor }> {
  const t = new Executor(engine, c.g, { spec: { kind: 'sgd' }, learningRate: 0 });
  const logs = await t.trainEpoch(c.data, { batchSize: rows });
  const all = new Float32Array(await engine.read(t.model.grads, t.model.totalLength * 4, 'grads'));
  const grads = new Map<number, Float32Array>();
  t.model.trainable.forEach((p, i) => {
    const off = t.model.segments[i]?.offset ?? 0;
    grads.set(p.id, all.slice(off, off + p.length));
  });
  return { grads, loss: logs.loss, t };
}

function expectGrads(
  what: string,
  actual: Map<number, ArrayLike<number>>,
  expected: Map<number, ArrayLike<number>>,
  g: Graph,
): void {
  for (const p of g.params.filter((q) => q.trainable)) {
    const a = actual.get(p.id);
    const e = expected.get(p.id);
    if (!a || !e) throw new Error(`${what}: no gradient for ${p.name}`);
    for (let k = 0; k < p.length; k++) {
      const [x, y] = [a[k] ?? NaN, e[k] ?? NaN];
      if (!(Math.abs(x - y) <= 1e-5 + 1e-3 * Math.abs(y))) {
        throw new Error(`${what}: d(${p.name})[${k}] = ${x}, expected ${y}`);
      }
    }
  }
}

/** The GPU gradients against the reference's, and the reference's against finite differences. */
export async function checkGradients(
  engine: Engine,
  name: string,
  g: Graph,
  rows: number,
  seed: number,
): Promise<void> {
  const batch = makeBatch(g, rows, seed);
  const data = gpuData(engine, g, batch);
  const params: ParamValues = g.params.map((p) => Float64Array.from(p.init));
  const opts = { mode: 'train' as const, step: 0 };
  const ref = referenceGradients(g, params, batch, opts);
  expectGrads(
    `${name} (reference vs finite differences)`,
    ref.grads,
    finiteDifferenceGradients(g, params, batch, opts),
    g,
  );
  const { grads, loss, t } = await gpuGradients(engine, { g, batch, data }, rows);
  try {
    if (!(Math.abs(loss - ref.forward.loss) <= 1e-5 * Math.max(1, Math.abs(ref.forward.loss)))) {
      throw new Error(`${name}: loss ${loss}, expected ${ref.forward.loss}`);
    }
    expectGrads(`${name} (GPU vs reference)`, grads, ref.grads, g);
  } finally {
    t.dispose();
    data.dispose();
  }
}
