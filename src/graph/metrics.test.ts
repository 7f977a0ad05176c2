/**
 * mae / mse / rmse, precision / recall / f1 and auc accumulated on the GPU over an epoch,
 * against Keras's formulas computed on the host from predict() outputs of the same weights:
 *  - counts (TP, FP, FN; AUC's per-threshold TP/FP) must match exactly, so precision, recall
 *    and f1 agree to float64 rounding (1e-12);
 *  - AUC on the host uses Keras's explicit thresholds (i/199, −1e-7, 1 + 1e-7) compared
 *    with `p > t`, not the GPU's buckets: they agree unless a prediction sits within an f32
 *    rounding of i/199, which random predictions do not; tolerance 1e-12;
 *  - mae / mse sums are f32 sums over ≤ 100 rows of per-row means: rtol 1e-5.
 * Also: a training epoch at learning rate 0 reports the same metrics as evaluate, the
 * dispatches each metric adds, shared accumulators, and the errors for class-id targets.
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

// ------------------------------------------------------------ host formulas (Keras)

function hostRegression(pred: Float32Array, y: Float32Array, rows: number, cols: number) {
  let abs = 0;
  let sq = 0;
  for (let r = 0; r < rows; r++) {
    let a = 0;
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = (pred[r * cols + j] as number) - (y[r * cols + j] as number);
      a += Math.abs(e);
      s += e * e;
    }
    abs += a / cols;
    sq += s / cols;
  }
  return { mae: abs / rows, mse: sq / rows, rmse: Math.sqrt(sq / rows) };
}

/** tp, fp, fn at each threshold with Keras's `pred > threshold`, label positive when ≠ 0. */
function hostCounts(pred: Float32Array, y: Float32Array, threshold: number) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < pred.length; i++) {
    const on = (pred[i] as number) > threshold;
    const pos = y[i] !== 0;
    if (on && pos) tp++;
    else if (on) fp++;
    else if (pos) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn };
}

function hostBinary(pred: Float32Array, y: Float32Array) {
  const { tp, fp, fn } = hostCounts(pred, y, Math.fround(0.5));
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  // Keras 3 FBetaScore (β = 1, micro average): ε = 1e-7 in each denominator.
  const eps = 1e-7;
  const p = tp / (tp + fp + eps);
  const r = tp / (tp + fn + eps);
  const f1 = (2 * p * r) / (p + r + eps);
  // Keras AUC: thresholds [−ε, 1/199, ..., 198/199, 1 + ε] (float32), ROC, interpolation.
  const T = 200;
  const thresholds = [-1e-7, ...Array.from({ length: T - 2 }, (_, i) => (i + 1) / (T - 1)), 1 + 1e-7];
  const tpr: number[] = [];
  const fpr: number[] = [];
  for (const t of thresholds) {
    const c = hostCounts(pred, y, Math.fround(t));
    tpr.push(c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn));
    fpr.push(c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn));
  }
  let auc = 0;
  for (let i = 0; i < T - 1; i++)
    auc +=
      ((fpr[i] as number) - (fpr[i + 1] as number)) * (((tpr[i] as number) + (tpr[i + 1] as number)) / 2);
  return { precision, recall, f1_score: f1, auc, tp, fp, fn };
}

// ------------------------------------------------------------ models

function dense(
  g: Graph,
  x: Value,
  units: number,
  act: 'linear' | 'sigmoid' | 'softmax',
  seed: number,
): Value {
  const lim = Math.sqrt(6 / (x.features + units));
  const w = g.param(`d${seed}/kernel`, [x.features, units], uniformF32(x.features * units, -lim, lim, seed));
  const b = g.param(`d${seed}/bias`, [units], uniformF32(units, -0.2, 0.2, seed + 1));
  return ops.dense(g, `d${seed}`, x, w, b, { name: act });
}

function binaryLabels(n: number, seed: number): Float32Array {
  return Float32Array.from(uniformF32(n, 0, 1, seed), (v) => (v < 0.45 ? 1 : 0));
}

describe('regression metrics: mae, mse, rmse', () => {
  it('evaluate and a learning-rate-0 epoch match the host formulas on predict() outputs', async () => {
    const rows = 70; // batches of 16 and a last one of 6
    const g = new Graph();
    const x = g.input('x', 5);
    const h = dense(g, x, 8, 'sigmoid', 10);
    const out = dense(g, h, 3, 'linear', 20);
    g.loss(out, 'mse', 'dense');
    g.metric(0, 'mae');
    g.metric(0, 'mse');
    g.metric(0, 'rmse', 'root_mean_squared_error');
    g.metric(0, 'mae'); // a second one: key mae_2, same accumulator
    const xs = uniformF32(rows * 5, -2, 2, 1);
    const ys = uniformF32(rows * 3, -1, 3, 2);
    const data = new GpuData(engine, { inputs: [{ data: xs, width: 5 }], targets: [{ data: ys, width: 3 }] });
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    try {
      const [pred] = await t.predict(data, 16);
      const want = hostRegression(pred as Float32Array, ys, rows, 3);
      const ev = await t.evaluate(data, 16);
      expect(Object.keys(ev.metrics)).toEqual(['mae', 'mse', 'root_mean_squared_error', 'mae_2']);
      const close = (a: number | undefined, b: number): void =>
        expect(Math.abs((a ?? NaN) - b)).toBeLessThanOrEqual(1e-5 * Math.abs(b));
      close(ev.metrics.mae, want.mae);
      close(ev.metrics.mae_2, want.mae);
      close(ev.metrics.mse, want.mse);
      close(ev.metrics.root_mean_squared_error, want.rmse);
      // The mse loss is the same quantity (by another kernel).
      close(ev.loss, want.mse);
      // rmse is √(epoch mse), not the mean of per-batch rmse.
      expect(ev.metrics.root_mean_squared_error).toBe(Math.sqrt(ev.metrics.mse ?? NaN));
      const tr = await t.trainEpoch(data, { batchSize: 16 });
      for (const k of ['mae', 'mse', 'root_mean_squared_error'] as const)
        close(tr.metrics[k], want[k === 'root_mean_squared_error' ? 'rmse' : k]);
      // A second epoch starts from zero again.
      const tr2 = await t.trainEpoch(data, { batchSize: 16 });
      close(tr2.metrics.mae, want.mae);
      // mae: row error + its sum; mse and rmse share one row error + sum.
      const base = new Graph();
      const bx = base.input('x', 5);
      base.loss(dense(base, dense(base, bx, 8, 'sigmoid', 10), 3, 'linear', 20), 'mse', 'dense');
      const tb = new Executor(engine, base, { spec: { kind: 'sgd' }, learningRate: 0 });
      try {
        const without = tb.plan('evaluate', 16, data).stats().dispatchesPerStep;
        expect(t.plan('evaluate', 16, data).stats().dispatchesPerStep).toBe(without + 4);
        expect(t.plan('train', 16, data).stats().dispatchesPerStep).toBe(
          tb.plan('train', 16, data).stats().dispatchesPerStep + 4,
        );
      } finally {
        tb.dispose();
      }
    } finally {
      t.dispose();
      data.dispose();
    }
  });
});

describe('binary metrics: precision, recall, f1, auc', () => {
  it('three sigmoid units (multi-label, micro-averaged): exact counts vs the host formulas', async () => {
    const rows = 100;
    const g = new Graph();
    const x = g.input('x', 4);
    const out = dense(g, dense(g, x, 6, 'sigmoid', 30), 3, 'sigmoid', 40);
    g.loss(out, 'binary_crossentropy', 'dense');
    g.metric(0, 'binary', 'binary_accuracy');
    g.metric(0, 'precision');
    g.metric(0, 'recall');
    g.metric(0, 'f1');
    g.metric(0, 'auc');
    const xs = uniformF32(rows * 4, -3, 3, 5);
    const ys = binaryLabels(rows * 3, 6);
    const data = new GpuData(engine, { inputs: [{ data: xs, width: 4 }], targets: [{ data: ys, width: 3 }] });
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    try {
      const [pred] = await t.predict(data, 32);
      const want = hostBinary(pred as Float32Array, ys);
      // Not degenerate: both kinds of error occur and the AUC is not trivial.
      expect(want.fp).toBeGreaterThan(0);
      expect(want.fn).toBeGreaterThan(0);
      expect(want.auc).toBeGreaterThan(0.05);
      expect(want.auc).toBeLessThan(0.95);
      const ev = await t.evaluate(data, 32);
      expect(Object.keys(ev.metrics)).toEqual(['binary_accuracy', 'precision', 'recall', 'f1_score', 'auc']);
      for (const k of ['precision', 'recall', 'f1_score', 'auc'] as const)
        expect(Math.abs((ev.metrics[k] ?? NaN) - want[k]), k).toBeLessThanOrEqual(1e-12);
      // Exact: precision·(TP+FP) recovers TP.
      expect(Math.round((ev.metrics.precision ?? NaN) * (want.tp + want.fp))).toBe(want.tp);
      const tr = await t.trainEpoch(data, { batchSize: 32 });
      for (const k of ['precision', 'recall', 'f1_score', 'auc'] as const)
        expect(Math.abs((tr.metrics[k] ?? NaN) - want[k]), `train ${k}`).toBeLessThanOrEqual(1e-12);
      // precision, recall and f1 share one confusion count; auc adds one histogram.
      const base = new Graph();
      const bx = base.input('x', 4);
      base.loss(
        dense(base, dense(base, bx, 6, 'sigmoid', 30), 3, 'sigmoid', 40),
        'binary_crossentropy',
        'dense',
      );
      base.metric(0, 'binary', 'binary_accuracy');
      const tb = new Executor(engine, base);
      try {
        expect(t.plan('evaluate', 32, data).stats().dispatchesPerStep).toBe(
          tb.plan('evaluate', 32, data).stats().dispatchesPerStep + 2,
        );
      } finally {
        tb.dispose();
      }
    } finally {
      t.dispose();
      data.dispose();
    }
  });

  it('softmax fused into categorical cross-entropy: the metrics read the probabilities', async () => {
    const rows = 60;
    const g = new Graph();
    const x = g.input('x', 4);
    const out = dense(g, x, 3, 'softmax', 50);
    g.loss(out, 'categorical_crossentropy', 'dense');
    g.metric(0, 'dense', 'accuracy');
    g.metric(0, 'precision');
    g.metric(0, 'auc');
    g.metric(0, 'mse');
    const xs = uniformF32(rows * 4, -3, 3, 7);
    const cls = uniformF32(rows, 0, 3, 8);
    const ys = new Float32Array(rows * 3);
    cls.forEach((c, r) => (ys[r * 3 + Math.min(2, Math.floor(c))] = 1));
    const data = new GpuData(engine, { inputs: [{ data: xs, width: 4 }], targets: [{ data: ys, width: 3 }] });
    const t = new Executor(engine, g, { spec: { kind: 'sgd' }, learningRate: 0 });
    try {
      expect(t.plan('evaluate', 20, data).lowered.fused.softmaxLogits.size).toBe(1);
      const [pred] = await t.predict(data, 20);
      const want = {
        ...hostBinary(pred as Float32Array, ys),
        ...hostRegression(pred as Float32Array, ys, rows, 3),
      };
      const ev = await t.evaluate(data, 20);
      expect(Math.abs((ev.metrics.precision ?? NaN) - want.precision)).toBeLessThanOrEqual(1e-12);
      expect(Math.abs((ev.metrics.auc ?? NaN) - want.auc)).toBeLessThanOrEqual(1e-12);
      expect(Math.abs((ev.metrics.mse ?? NaN) - want.mse)).toBeLessThanOrEqual(1e-5 * want.mse);
    } finally {
      t.dispose();
      data.dispose();
    }
  });

  it('class-id targets are refused with the reason', () => {
    const g = new Graph();
    const out = dense(g, g.input('x', 2), 3, 'softmax', 60);
    g.loss(out, 'categorical_crossentropy', 'sparse');
    for (const k of ['mae', 'precision', 'auc'] as const) expect(() => g.metric(0, k)).toThrow(GraphError);
    expect(() => g.metric(0, 'auc')).toThrow(/targets of "d60\/softmax" are class ids/);
  });
});
