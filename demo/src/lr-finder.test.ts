/**
 * The learning-rate range test (lr-finder.ts): its rates against their closed form; every
 * recorded loss against a float64 softmax regression trained by SGD at the same rate on the
 * same batches (so each step's rate applies to that step, not a later one); divergence ends
 * it; and its suggestion on curves whose steepest point is known.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuData, initEngine, layers, optimizers, sequential, type Engine } from '../../src/node/index.js';
import { lrAt, lrRangeTest, suggestLr, type LrPoint } from './lr-finder.js';

describe('lrAt and suggestLr', () => {
  it('rises evenly in log scale from minLr to maxLr', () => {
    expect(lrAt(0, 5, 1e-4, 1)).toBe(1e-4);
    expect(lrAt(4, 5, 1e-4, 1)).toBeCloseTo(1, 12);
    expect(Math.log10(lrAt(2, 5, 1e-4, 1))).toBeCloseTo(-2, 12);
  });

  it('suggests the steepest fall per decade, and finds the minimum', () => {
    // smoothed = 2 − tanh(2(x + 3)) for x = log10(lr) ≤ −1, rising after: steepest at x = −3.
    const points: LrPoint[] = Array.from({ length: 61 }, (_, i) => {
      const x = -6 + i / 10;
      const smoothed = x <= -1 ? 2 - Math.tanh(2 * (x + 3)) : 2 - Math.tanh(4) + (x + 1) ** 2;
      return { lr: 10 ** x, loss: smoothed, smoothed };
    });
    const s = suggestLr(points);
    expect(Math.log10(s.steepest ?? NaN)).toBeCloseTo(-3, 9);
    expect(Math.log10(s.minimum ?? NaN)).toBeCloseTo(-1, 9);
    expect(s.suggested).toBe(s.steepest);
    // A curve that only rises has no descent: a tenth of its minimum's rate.
    const rising = points.map((p, i) => ({ ...p, smoothed: i }));
    expect(suggestLr(rising)).toEqual({ steepest: undefined, minimum: 1e-6, suggested: 1e-7 });
    expect(suggestLr([]).suggested).toBeUndefined();
  });
});

describe('lrRangeTest on the GPU', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  });
  afterAll(() => engine.dispose());

  const rows = 64;
  const x = Float32Array.from({ length: rows * 4 }, (_, i) => Math.sin(1.7 * i) + 0.3 * Math.cos(i * i));
  const y = Uint8Array.from({ length: rows }, (_, i) => (i * 7) % 3);

  function softmaxRegression() {
    const m = sequential({
      layers: [
        layers.dense({
          units: 3,
          activation: 'softmax',
          inputShape: [4],
          kernelInitializer: { className: 'GlorotUniform', config: { seed: 5 } },
        }),
      ],
    });
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    return m;
  }

  it("records each batch loss before its step, at that step's rate (float64 SGD reference)", async () => {
    const m = softmaxRegression();
    const data = new GpuData(engine, {
      inputs: [{ data: x, width: 4 }],
      targets: [{ data: y, width: 1 }],
      label: 'lr test',
    });
    try {
      const [k0, b0] = await m.getWeights();
      const W = Float64Array.from(k0?.data ?? []);
      const b = Float64Array.from(b0?.data ?? []);
      const batch = 8;
      const steps = 8;
      const at = (k: number) => data.subset(Array.from({ length: batch }, (_, i) => k * batch + i));
      const { points, stoppedBy } = await lrRangeTest(m, at, {
        minLr: 1e-2,
        maxLr: 5,
        steps,
        divergeFactor: 1e6,
      });
      expect(stoppedBy).toBe('end');
      expect(points.length).toBe(steps);
      // The reference: softmax regression, mean sparse CE over the batch, plain SGD.
      for (let k = 0; k < steps; k++) {
        const lr = lrAt(k, steps, 1e-2, 5);
        const gW = new Float64Array(12);
        const gb = new Float64Array(3);
        let loss = 0;
        for (let r = k * batch; r < (k + 1) * batch; r++) {
          const z = [0, 1, 2].map(
            (j) =>
              (b[j] ?? 0) + [0, 1, 2, 3].reduce((s, i) => s + (x[r * 4 + i] ?? 0) * (W[i * 3 + j] ?? 0), 0),
          );
          const mx = Math.max(...z);
          const e = z.map((v) => Math.exp(v - mx));
          const sum = e.reduce((p, q) => p + q, 0);
          const p = e.map((v) => v / sum);
          loss -= Math.log(p[y[r] ?? 0] ?? NaN) / batch;
          p.forEach((pj, j) => {
            const d = (pj - (y[r] === j ? 1 : 0)) / batch;
            gb[j] = (gb[j] ?? 0) + d;
            for (let i = 0; i < 4; i++) gW[i * 3 + j] = (gW[i * 3 + j] ?? 0) + (x[r * 4 + i] ?? 0) * d;
          });
        }
        const got = points[k];
        expect(got?.lr).toBe(lr);
        expect(Math.abs((got?.loss ?? NaN) - loss)).toBeLessThan(1e-5 * Math.max(1, loss));
        for (let i = 0; i < 12; i++) W[i] = (W[i] ?? 0) - lr * (gW[i] ?? 0);
        for (let j = 0; j < 3; j++) b[j] = (b[j] ?? 0) - lr * (gb[j] ?? 0);
      }
      // The smoothed loss is the bias-corrected moving average of the losses.
      let avg = 0;
      points.forEach((p, k) => {
        avg = 0.9 * avg + 0.1 * p.loss;
        expect(p.smoothed).toBeCloseTo(avg / (1 - 0.9 ** (k + 1)), 10);
      });
    } finally {
      data.dispose();
      await m.dispose();
    }
  });

  it('stops when the smoothed loss passes divergeFactor × its lowest', async () => {
    const m = softmaxRegression();
    const data = new GpuData(engine, { inputs: [{ data: x, width: 4 }], targets: [{ data: y, width: 1 }] });
    try {
      // Rates rising to 1e6 over 30 steps blow the loss up well before the last step.
      const { points, stoppedBy } = await lrRangeTest(
        m,
        (k) => data.subset([(k % 8) * 8, (k % 8) * 8 + 1, (k % 8) * 8 + 2]),
        {
          minLr: 1,
          maxLr: 1e6,
          steps: 30,
          beta: 0,
          divergeFactor: 4,
        },
      );
      expect(stoppedBy).toBe('diverged');
      expect(points.length).toBeLessThan(30);
      const lowest = Math.min(...points.map((p) => p.smoothed));
      expect(points.at(-1)?.smoothed).toBeGreaterThan(4 * lowest);
      await expect(lrRangeTest(m, () => data, { minLr: 1, maxLr: 0.5 })).rejects.toThrow(/0 < minLr < maxLr/);
    } finally {
      data.dispose();
      await m.dispose();
    }
  });
});
