/**
 * Weighted metrics (Keras's weighted_metrics) lowered on the GPU: the dispatches they add to
 * a step, derived below, and their values against float64 host formulas on predict()
 * outputs, with and without sample weights. f32 sums of ≤ 70 per-row values: rtol 1e-5.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniformF32 } from '../../kernels-test/harness.js';
import { initEngine, type Engine } from '../node/index.js';
import { GpuData } from './dataset.js';
import { Executor } from './executor.js';
import { Graph, GraphError, type Value } from './ir.js';
import * as ops from './ops/index.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

const ROWS = 70; // batches of 16 and a last one of 6
const IN = 5;
const OUT = 3;

function dense(g: Graph, x: Value, units: number, act: 'linear' | 'sigmoid', seed: number): Value {
  const lim = Math.sqrt(6 / (x.features + units));
  const w = g.param(`d${seed}/kernel`, [x.features, units], uniformF32(x.features * units, -lim, lim, seed));
  const b = g.param(`d${seed}/bias`, [units], uniformF32(units, -0.2, 0.2, seed + 1));
  return ops.dense(g, `d${seed}`, x, w, b, { name: act });
}

/** x → 8 sigmoid → 3 linear, mse loss; `metrics` adds metric heads. */
function regression(metrics: (g: Graph) => void): Graph {
  const g = new Graph();
  const x = g.input('x', IN);
  g.loss(dense(g, dense(g, x, 8, 'sigmoid', 10), OUT, 'linear', 20), 'mse', 'dense');
  metrics(g);
  return g;
}

describe('weighted metrics in the graph', () => {
  it('mae, mse, rmse weighted: Σ w·v / Σ w; 2 dispatches per row value, 1 for Σ w', async () => {
    const xs = uniformF32(ROWS * IN, -2, 2, 1);
    const ys = uniformF32(ROWS * OUT, -1, 3, 2);
    const ws = Float32Array.from(uniformF32(ROWS, 0, 3, 3), (v, r) => (r % 9 === 0 ? 0 : v));
    const cols = { inputs: [{ data: xs, width: IN }], targets: [{ data: ys, width: OUT }] };
    const weighted = new GpuData(engine, { ...cols, weights: { data: ws, width: 1 } });
    const plain = new GpuData(engine, cols);
    const t = new Executor(
      engine,
      regression((g) => {
        g.metric(0, 'mae');
        g.metric(0, 'mae', 'weighted_mae', { weighted: true });
        g.metric(0, 'mse', undefined, { weighted: true });
        g.metric(0, 'rmse', undefined, { weighted: true });
      }),
      { spec: { kind: 'sgd' }, learningRate: 0 },
    );
    const tb = new Executor(
      engine,
      regression((g) => g.metric(0, 'mae')),
      { spec: { kind: 'sgd' }, learningRate: 0 },
    );
    try {
      const [pred] = (await t.predict(plain, 16)) as [Float32Array];
      const abs: number[] = [];
      const sq: number[] = [];
      for (let r = 0; r < ROWS; r++) {
        let a = 0;
        let s = 0;
        for (let j = 0; j < OUT; j++) {
          const e = (pred[r * OUT + j] as number) - (ys[r * OUT + j] as number);
          a += Math.abs(e);
          s += e * e;
        }
        abs.push(a / OUT);
        sq.push(s / OUT);
      }
      const mean = (v: number[], w?: Float32Array): number => {
        let num = 0;
        let den = 0;
        v.forEach((x, r) => {
          const wr = w ? (w[r] as number) : 1;
          num += wr * x;
          den += wr;
        });
        return num / den;
      };
      const close = (a: number | undefined, b: number): void =>
        expect(Math.abs((a ?? NaN) - b)).toBeLessThanOrEqual(1e-5 * Math.abs(b));
      for (const [data, w] of [
        [weighted, ws],
        [plain, undefined],
      ] as const) {
        const ev = await t.evaluate(data, 16);
        expect(Object.keys(ev.metrics)).toEqual(['mae', 'weighted_mae', 'mse', 'rmse']);
        close(ev.metrics.mae, mean(abs));
        close(ev.metrics.weighted_mae, mean(abs, w));
        close(ev.metrics.mse, mean(sq, w));
        close(ev.metrics.rmse, Math.sqrt(mean(sq, w)));
        const tr = await t.trainEpoch(data, { batchSize: 16 });
        close(tr.metrics.weighted_mae, mean(abs, w));
        close(tr.metrics.rmse, Math.sqrt(mean(sq, w)));
      }
      // Over the same graph without weighted metrics: weighted mae is a row error and its sum
      // (2), mse and rmse share one row error and sum (2); weighted data adds the Σ w sum (1).
      for (const mode of ['evaluate', 'train'] as const) {
        const base = (d: GpuData): number => tb.plan(mode, 16, d).stats().dispatchesPerStep;
        const withW = (d: GpuData): number => t.plan(mode, 16, d).stats().dispatchesPerStep;
        expect(withW(plain)).toBe(base(plain) + 4);
        expect(withW(weighted)).toBe(base(weighted) + 5);
        expect(
          t
            .plan(mode, 16, weighted)
            .stats()
            .dispatches.filter((l) => l.startsWith('row_error_abs')),
        ).toEqual(['row_error_abs', 'row_error_abs_weighted']);
      }
    } finally {
      t.dispose();
      tb.dispose();
      weighted.dispose();
      plain.dispose();
    }
  });

  it('stat metrics on class ids are refused weighted as unweighted', () => {
    const s = new Graph();
    const x = s.input('x', IN);
    s.loss(dense(s, x, OUT, 'linear', 4), 'categorical_crossentropy', 'sparse');
    expect(() => s.metric(0, 'mae', undefined, { weighted: true })).toThrow(GraphError);
    expect(() => s.metric(0, 'auc', undefined, { weighted: true })).toThrow(/are class ids/);
    expect(s.weightedMetrics).toHaveLength(0);
  });
});
