/**
 * compile({ metrics }) with the regression and binary metrics, end to end: history keys as
 * Keras writes them, and evaluate() against Keras's formulas computed on the host from
 * predict() outputs of the same model over the same rows (same batch size, so the same
 * kernels produce the same bits):
 *  - mae, mse, rmse: f32 sums over 50 rows of per-row means, rtol 1e-5;
 *  - precision, recall, f1_score: from TP/FP/FN counted on the host, which must equal the
 *    GPU's exactly, so the values agree to float64 rounding (1e-12);
 *  - auc: Keras's AUC (200 thresholds i/199 with −1e-7 and 1 + 1e-7, ROC, trapezoids
 *    'interpolation') by explicit threshold comparisons on the host, vs the GPU's buckets:
 *    1e-12 (they differ only for a prediction within an f32 rounding of some i/199).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniformF32 } from '../../kernels-test/harness.js';
import { seededDense } from '../../kernels-test/models.js';
import { initEngine, type Engine } from '../node/index.js';
import { layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import { sequential, type Prediction } from './model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

const ROWS = 50;
const BATCH = 16; // 3 full batches and one of 2

function rowsOf(flat: Float32Array, width: number): number[][] {
  return Array.from({ length: flat.length / width }, (_, r) =>
    Array.from(flat.subarray(r * width, (r + 1) * width)),
  );
}

function counts(pred: ArrayLike<number>, y: ArrayLike<number>, threshold: number) {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < y.length; i++) {
    const on = (pred[i] as number) > threshold;
    const pos = y[i] !== 0;
    if (on && pos) c.tp++;
    else if (on) c.fp++;
    else if (pos) c.fn++;
    else c.tn++;
  }
  return c;
}

describe('compile metrics end to end', () => {
  it("['mae', 'mse', 'rmse'] on a regression model: history keys and evaluate() = host formulas", async () => {
    const m = sequential({
      layers: [layers.dense({ units: 8, activation: 'tanh', inputShape: [4] }), layers.dense({ units: 2 })],
    });
    m.compile({
      optimizer: optimizers.adam({ learningRate: 0.01 }),
      loss: 'mse',
      metrics: ['mae', 'mse', 'rmse'],
    });
    const xs = uniformF32(ROWS * 4, -2, 2, 1);
    const ys = uniformF32(ROWS * 2, -1, 1, 2);
    const x = rowsOf(xs, 4);
    const y = rowsOf(ys, 2);
    const h = await m.fit(x, y, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0 });
    expect(Object.keys(h.history).sort()).toEqual(['loss', 'mae', 'mse', 'rmse']);
    expect(h.history.rmse?.[1]).toBeCloseTo(Math.sqrt(h.history.mse?.[1] ?? NaN), 12);
    const pred = ((await m.predict(x, { batchSize: BATCH })) as Prediction).data;
    let abs = 0;
    let sq = 0;
    for (let r = 0; r < ROWS; r++) {
      let a = 0;
      let s = 0;
      for (let j = 0; j < 2; j++) {
        const e = (pred[r * 2 + j] as number) - (ys[r * 2 + j] as number);
        a += Math.abs(e);
        s += e * e;
      }
      abs += a / 2;
      sq += s / 2;
    }
    const want = { mae: abs / ROWS, mse: sq / ROWS, rmse: Math.sqrt(sq / ROWS) };
    const ev = await m.evaluate(x, y, { batchSize: BATCH });
    for (const k of ['mae', 'mse', 'rmse'] as const) {
      expect(Math.abs((ev[k] ?? NaN) - want[k]), k).toBeLessThanOrEqual(1e-5 * want[k]);
    }
  });

  it("['precision', 'recall', 'f1', 'auc'] on a two-unit sigmoid model: Keras's formulas", async () => {
    const m = sequential({
      layers: [seededDense(6, 'tanh', 21, { inputShape: [3] }), seededDense(2, 'sigmoid', 22)],
    });
    m.compile({
      optimizer: 'adam',
      loss: 'binary_crossentropy',
      metrics: ['accuracy', 'precision', 'recall', 'f1', 'auc'],
    });
    const xs = uniformF32(ROWS * 3, -2, 2, 3);
    // Labels correlated with the inputs, plus noise, so the model is neither right nor wrong.
    const noise = uniformF32(ROWS * 2, -1, 1, 4);
    const ys = Float32Array.from({ length: ROWS * 2 }, (_, i) => {
      const r = Math.floor(i / 2);
      const s = (xs[r * 3 + (i % 2)] as number) + (noise[i] as number);
      return s > 0 ? 1 : 0;
    });
    const x = rowsOf(xs, 3);
    const y = rowsOf(ys, 2);
    const h = await m.fit(x, y, { epochs: 10, batchSize: BATCH, shuffle: false, verbose: 0 });
    expect(Object.keys(h.history).sort()).toEqual([
      'accuracy',
      'auc',
      'f1_score',
      'loss',
      'precision',
      'recall',
    ]);
    const pred = ((await m.predict(x, { batchSize: BATCH })) as Prediction).data;
    const c = counts(pred, ys, Math.fround(0.5));
    expect(c.tp + c.fp).toBeGreaterThan(0);
    const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
    const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
    const p = c.tp / (c.tp + c.fp + 1e-7);
    const r = c.tp / (c.tp + c.fn + 1e-7);
    const f1 = (2 * p * r) / (p + r + 1e-7);
    const thresholds = [-1e-7, ...Array.from({ length: 198 }, (_, i) => (i + 1) / 199), 1 + 1e-7];
    const curve = thresholds.map((t) => {
      const k = counts(pred, ys, Math.fround(t));
      return { tpr: k.tp / (k.tp + k.fn || 1), fpr: k.fp / (k.fp + k.tn || 1) };
    });
    let auc = 0;
    for (let i = 0; i < 199; i++) {
      const [a, b] = [curve[i], curve[i + 1]] as [{ tpr: number; fpr: number }, { tpr: number; fpr: number }];
      auc += (a.fpr - b.fpr) * ((a.tpr + b.tpr) / 2);
    }
    const ev = await m.evaluate(x, y, { batchSize: BATCH });
    const want: Record<string, number> = { precision, recall, f1_score: f1, auc };
    for (const [k, v] of Object.entries(want)) {
      expect(Math.abs((ev[k] ?? NaN) - v), k).toBeLessThanOrEqual(1e-12);
    }
    expect(auc).toBeGreaterThan(0.6); // seeded; it learned something, so the curve is not trivial
  });
});
