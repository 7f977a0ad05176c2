/**
 * GpuData.subset: a view of some rows of a dataset, sharing its columns (one u32 per row of its
 * own), trains, evaluates and predicts as those rows sent from the host would, in the view's
 * order; views of views compose; bad rows are refused by index; a parent takes its views with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { GpuData } from '../graph/dataset.js';
import { sequential, type LayersModel } from './model.js';
import { blobs3 as blobs, seededDense } from '../../kernels-test/models.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

function model(): LayersModel {
  const m = sequential({
    layers: [seededDense(5, 'tanh', 1, { inputShape: [3] }), seededDense(3, 'softmax', 2)],
  });
  m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

const pick = <T>(a: readonly T[], idx: readonly number[]): T[] => idx.map((i) => a[i] as T);
const first = <T>(p: T | T[]): T => (Array.isArray(p) ? (p[0] as T) : p);

describe('GpuData.subset', () => {
  it('views share the columns, compose, refuse bad rows and go with their parent', () => {
    const parent = new GpuData(engine, {
      inputs: [{ data: new Float32Array(12).map((_, i) => i), width: 2 }],
      label: 'six rows',
    });
    const before = engine.stats().liveBuffers;
    const a = parent.subset([5, 1, 3]);
    const b = a.subset([2, 0]);
    expect([a.rows, a.sourceRows, b.rows, b.sourceRows]).toEqual([3, 6, 2, 6]);
    expect(a.inputs[0]?.parts).toBe(parent.inputs[0]?.parts);
    // Only a permutation buffer each.
    expect(engine.stats().liveBuffers - before).toBe(2);
    expect(() => parent.subset([0, 6])).toThrow('entry 1 is 6, not a row of "six rows" (0 to 5)');
    expect(() => a.subset([3])).toThrow('entry 0 is 3');
    expect(() => parent.subset([])).toThrow('no rows');
    parent.dispose();
    expect([a.isDisposed, b.isDisposed]).toEqual([true, true]);
    expect(engine.stats().liveBuffers).toBe(before - parent.buffers.length);
  });

  it("a view's predict and evaluate are the host rows', in the view's order", async () => {
    const { x, ids } = blobs(3, 8);
    const m = model();
    const parent = new GpuData(engine, {
      inputs: [{ data: Float32Array.from(x.flat()), width: 3 }],
      targets: [{ data: Uint32Array.from(ids), width: 1 }],
    });
    const idx = [17, 3, 22, 9, 0, 14, 6, 20, 11, 2];
    const view = parent.subset(idx);
    try {
      const host = { data: Float32Array.from(pick(x, idx).flat()), shape: [10, 3] };
      const p = await m.predict(view, { batchSize: 4 });
      const q = await m.predict(host, { batchSize: 4 });
      expect(first(p).data).toEqual(first(q).data);
      const e = await m.evaluate(view, undefined, { batchSize: 4 });
      const f = await m.evaluate(
        host,
        { data: Uint32Array.from(pick(ids, idx)), shape: [10] },
        { batchSize: 4 },
      );
      expect(e).toEqual(f);
    } finally {
      parent.dispose();
      await m.dispose();
    }
  });

  it('fit on a view of a view, shuffled, gives the weights and history of those rows from the host', async () => {
    const { x, ids } = blobs(3, 10);
    const outer = [29, 1, 7, 13, 25, 4, 18, 22, 10, 0, 16, 27, 5, 20, 9, 14];
    const inner = [15, 2, 8, 0, 11, 6, 13, 3, 9, 12, 1, 5];
    const rows = inner.map((i) => outer[i] as number);
    const parent = new GpuData(engine, {
      inputs: [{ data: Float32Array.from(x.flat()), width: 3 }],
      targets: [{ data: Uint32Array.from(ids), width: 1 }],
    });
    const a = model();
    const b = model();
    try {
      const view = parent.subset(outer).subset(inner);
      const args = { epochs: 3, batchSize: 5, shuffle: true, seed: 4, verbose: 0 as const };
      const ha = await a.fit(view, undefined, args);
      const hb = await b.fit(
        { data: Float32Array.from(pick(x, rows).flat()), shape: [rows.length, 3] },
        { data: Uint32Array.from(pick(ids, rows)), shape: [rows.length] },
        args,
      );
      expect(ha.history).toEqual(hb.history);
      const wa = (await a.getWeights()).map((w) => w.data);
      const wb = (await b.getWeights()).map((w) => w.data);
      expect(wa).toEqual(wb);
    } finally {
      parent.dispose();
      await a.dispose();
      await b.dispose();
    }
  });
});
