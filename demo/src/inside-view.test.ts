/**
 * Inside the network (inside-view.ts): which layers' outputs are the hidden activations, the
 * log₁₀|g| bins against their definition, and a watch through a real fit: every reading
 * counts each probe value once, its first reading is the untrained model's gradient, its last
 * the trained one's, and the activations' histogram has the mean of a float64 forward pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuData, initEngine, type Engine } from '../../src/node/index.js';
import {
  activationLayers,
  InsideWatch,
  LOG_GRADIENT_BINS,
  logMagnitudeCentres,
  logMagnitudeCounts,
} from './inside-view.js';
import { buildModel, type ModelConfig } from './models.js';
import { kernels } from './weights-view.js';

const config: ModelConfig = {
  hidden: [8, 5],
  activation: 'tanh',
  initializer: 'glorot_uniform',
  batchNorm: false,
  dropout: 0,
  optimizer: 'adam',
  learningRate: 0.05,
  batchSize: 16,
  epochs: 2,
  seed: 7,
};

describe('inside-view, on the host', () => {
  it('takes each hidden Dense, or the Activation after it with batch norm; never the output layer', () => {
    const names = (c: Partial<ModelConfig>) =>
      activationLayers(buildModel({ ...config, ...c }, { features: 6, classes: 3 }).layers).map(
        (l) => l.name,
      );
    expect(names({})).toEqual(['dense', 'dense_1']);
    expect(names({ dropout: 0.2 })).toEqual(['dense', 'dense_1']);
    expect(names({ batchNorm: true })).toEqual(['activation', 'activation_1']);
    expect(names({ hidden: [4] })).toEqual(['dense']);
  });

  it('bins log10|g| in quarter decades from 1e-10 to 10, zero and tiny values first, NaN left out', () => {
    expect(LOG_GRADIENT_BINS).toBe(44);
    const centres = logMagnitudeCentres();
    expect([centres[0], centres[43]]).toEqual([-9.875, 0.875]);
    const counts = logMagnitudeCounts([0, -1e-12, 1e-10, 0.5, -0.5, 1e-3, 10, 1e5, NaN, Infinity]);
    const at = (bin: number) => counts[bin];
    // log10(0.5) = −0.301: bin ⌊(−0.301 + 10)/0.25⌋ = 38; 1e-3: exactly bin 28; 10 and 1e5: the last.
    expect([at(0), at(38), at(28), at(43)]).toEqual([3, 2, 1, 2]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(8);
  });
});

describe('InsideWatch through a fit', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  });
  afterAll(() => engine.dispose());

  const rows = 64;
  const probeRows = 16;
  const x = Float32Array.from({ length: rows * 6 }, (_, i) => Math.sin(1.3 * i) + 0.4 * Math.cos(i * i));
  const y = Uint8Array.from({ length: rows }, (_, i) => (i * 5) % 3);

  it('reads activations and gradients before training and at each epoch end, at the weights of that moment', async () => {
    const data = new GpuData(engine, { inputs: [{ data: x, width: 6 }], targets: [{ data: y, width: 1 }] });
    const probe = data.subset(
      Array.from({ length: probeRows }, (_, i) => i),
      'probe',
    );
    const make = () => {
      const m = buildModel(config, { features: 6, classes: 3 });
      m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
      return m;
    };
    const m = make();
    const watch = new InsideWatch(m, probe);
    try {
      await watch.record();
      await m.fit(data, undefined, {
        epochs: 2,
        batchSize: 16,
        shuffle: false,
        verbose: 0,
        callbacks: [watch.callback],
      });
      const acts = watch.activations();
      expect(acts.map((a) => a.name)).toEqual(['dense', 'dense_1']);
      acts.forEach((a, l) => {
        expect(a.counts).toHaveLength(3);
        for (const c of a.counts)
          expect(c.reduce((s, v) => s + v, 0)).toBe(probeRows * (config.hidden[l] ?? 0));
      });
      // The last reading's mean against a float64 forward pass of the probe with the final weights.
      const [W1, b1, W2, b2] = (await m.getWeights()).map((w) => w.data);
      const means = [0, 0];
      for (let r = 0; r < probeRows; r++) {
        const h1 = Array.from({ length: 8 }, (_, j) => {
          let s = b1?.[j] ?? NaN;
          for (let i = 0; i < 6; i++) s += (x[r * 6 + i] ?? NaN) * (W1?.[i * 8 + j] ?? NaN);
          return Math.tanh(s);
        });
        const h2 = Array.from({ length: 5 }, (_, j) => {
          let s = b2?.[j] ?? NaN;
          for (let i = 0; i < 8; i++) s += (h1[i] ?? NaN) * (W2?.[i * 5 + j] ?? NaN);
          return Math.tanh(s);
        });
        means[0] = (means[0] ?? 0) + h1.reduce((a, b) => a + b, 0) / (probeRows * 8);
        means[1] = (means[1] ?? 0) + h2.reduce((a, b) => a + b, 0) / (probeRows * 5);
      }
      acts.forEach((a, l) => {
        const last = a.counts[2] ?? [];
        const total = last.reduce((s, v) => s + v, 0);
        const mean = last.reduce((s, v, i) => s + v * (a.centres[i] ?? NaN), 0) / total;
        const width = (a.centres[1] ?? NaN) - (a.centres[0] ?? NaN);
        expect(Math.abs(mean - (means[l] ?? NaN))).toBeLessThanOrEqual(width / 2);
      });

      // Gradients: the first reading is the untrained model's (a twin with the same seed),
      // the last the trained model's, binned as logMagnitudeCounts does.
      const grads = watch.gradients();
      expect(grads.map((g) => g.name)).toEqual(['dense/kernel', 'dense_1/kernel', 'dense_2/kernel']);
      const twin = make();
      const before = kernels(await twin.computeGradients(probe));
      const after = kernels(await m.computeGradients(probe));
      grads.forEach((g, k) => {
        expect(g.counts).toHaveLength(3);
        expect(g.counts[0]).toEqual(logMagnitudeCounts(before[k]?.data ?? []));
        expect(g.counts[2]).toEqual(logMagnitudeCounts(after[k]?.data ?? []));
        expect(g.counts[0]).not.toEqual(g.counts[2]);
      });
      await twin.dispose();
    } finally {
      await watch.dispose();
      await m.dispose();
      probe.dispose();
      data.dispose();
    }
  });
});
