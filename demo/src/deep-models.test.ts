/**
 * The vanishing-gradients models (deep-models.ts): their structure, the norm helpers against
 * closed forms, and — on the GPU — the kernel-gradient norms of the sequential models on 256
 * MNIST images against a float64 backpropagation written out here, with the pattern the
 * course describes: sigmoid + uniform(±0.5) vanishes toward the input, relu + he_uniform
 * stays flat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dense, GpuData, initEngine, type Engine } from '../../src/node/index.js';
import { loadMnist } from '../../src/node/mnist.js';
import {
  buildDeepModel,
  DEEP_KINDS,
  gradientProfile,
  kernelGradientNorms,
  l2Norm,
  type DeepKind,
} from './deep-models.js';

describe('deep models: structure', () => {
  it.each(DEEP_KINDS)('%s has 20 hidden Dense layers of 64 units and a 10-unit output', (kind) => {
    const m = buildDeepModel(kind);
    const dense = m.layers.filter((l): l is Dense => l instanceof Dense);
    expect(dense.length).toBe(21);
    expect(dense.map((d) => d.kernel?.shape)).toEqual([
      [784, 64],
      ...Array.from({ length: 19 }, () => [64, 64]),
      [64, 10],
    ]);
    expect(dense.at(-1)?.activation).toBe('softmax');
    const classes = m.layers.map((l) => l.className);
    const count = (c: string) => classes.filter((x) => x === c).length;
    // One BN before each block's Dense, and one before the output.
    expect(count('BatchNormalization')).toBe(kind === 'residual-bn' ? 20 : 0);
    expect(count('Add')).toBe(kind === 'residual-bn' ? 19 : 0);
  });

  it('draws the tanh kernels from U(-0.5, 0.5) and the relu ones from he_uniform', () => {
    const tanh = buildDeepModel('tanh-uniform').layers.filter((l): l is Dense => l instanceof Dense);
    const k = tanh[1]?.kernel?.values ?? new Float32Array();
    expect(Math.min(...k)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...k)).toBeLessThan(0.5);
    // 4,096 draws of U(-0.5, 0.5): variance 1/12 within a few percent.
    const variance = k.reduce((s, v) => s + v * v, 0) / k.length;
    expect(variance).toBeCloseTo(1 / 12, 2);
    const relu = buildDeepModel('relu-he').layers.filter((l): l is Dense => l instanceof Dense);
    const limit = Math.sqrt(6 / 64); // he_uniform: U(±√(6 / fan_in))
    const r = relu[1]?.kernel?.values ?? new Float32Array();
    expect(Math.max(...r.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...r.map(Math.abs))).toBeGreaterThan(0.95 * limit);
  });

  it('rejects a depth or width that is not a positive integer', () => {
    expect(() => buildDeepModel('relu-he', { depth: 0 })).toThrow(/depth/);
    expect(() => buildDeepModel('relu-he', { units: 2.5 })).toThrow(/units/);
  });
});

describe('deep models: norm helpers', () => {
  it('l2Norm of (3, 4) is 5', () => {
    expect(l2Norm([3, 4])).toBe(5);
  });

  it('kernelGradientNorms keeps the 2-D kernels, numbered from the input', () => {
    const g = (name: string, shape: number[], v: number) => ({
      name,
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v),
    });
    const norms = kernelGradientNorms([
      g('dense/kernel', [2, 2], 1),
      g('dense/bias', [2], 7),
      g('batch_normalization/gamma', [2], 7),
      g('dense_1/kernel', [2, 1], 3),
    ]);
    expect(norms).toEqual([
      { layer: 1, name: 'dense/kernel', norm: 2 },
      { layer: 2, name: 'dense_1/kernel', norm: Math.sqrt(18) },
    ]);
  });

  it('gradientProfile recovers a geometric profile over layers 2..depth', () => {
    const depth = 20;
    // norm of layer l = 3 · 0.5^(depth − l): halves at each layer going back to the input;
    // layer 1 and the output are off the line and must be ignored.
    const norms = Array.from({ length: depth + 1 }, (_, i) => 3 * 0.5 ** (depth - (i + 1)));
    norms[0] = 1e6;
    norms[depth] = 1e-6;
    const p = gradientProfile(norms, depth);
    expect(p.perLayer).toBeCloseTo(0.5, 12);
    expect(p.spread).toBeCloseTo(2 ** 18, 6);
  });
});

/**
 * Float64 kernel-gradient norms of a sequential deep model (Dense layers, `act` on the hidden
 * ones, softmax output) for mean sparse categorical cross-entropy over the batch.
 */
function referenceKernelNorms(
  weights: { shape: number[]; data: Float32Array }[],
  x: Float64Array,
  labels: Uint8Array,
  act: 'tanh' | 'sigmoid' | 'relu',
): number[] {
  const n = labels.length;
  const f = (z: number) =>
    act === 'tanh' ? Math.tanh(z) : act === 'sigmoid' ? 1 / (1 + Math.exp(-z)) : Math.max(0, z);
  // f'(z) from the activation's output a (relu: from z > 0, i.e. a > 0).
  const df = (a: number) => (act === 'tanh' ? 1 - a * a : act === 'sigmoid' ? a * (1 - a) : a > 0 ? 1 : 0);
  const layers = weights.length / 2;
  const inputs: { h: Float64Array; width: number }[] = [];
  let h = x;
  let width = x.length / n;
  for (let l = 0; l < layers; l++) {
    const k = weights[2 * l] as { shape: number[]; data: Float32Array };
    const b = (weights[2 * l + 1] as { data: Float32Array }).data;
    const out = k.shape[1] as number;
    inputs.push({ h, width });
    const a = new Float64Array(n * out);
    for (let r = 0; r < n; r++) {
      const z = Float64Array.from(b);
      for (let i = 0; i < width; i++) {
        const v = h[r * width + i] as number;
        if (v !== 0)
          for (let j = 0; j < out; j++) z[j] = (z[j] as number) + v * (k.data[i * out + j] as number);
      }
      if (l === layers - 1) {
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const s = e.reduce((p, q) => p + q, 0);
        for (let j = 0; j < out; j++) a[r * out + j] = (e[j] as number) / s;
      } else for (let j = 0; j < out; j++) a[r * out + j] = f(z[j] as number);
    }
    h = a;
    width = out;
  }
  // δ of the output logits: (softmax − one-hot) / n.
  let delta = new Float64Array(n * 10);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < 10; j++)
      delta[r * 10 + j] = ((h[r * 10 + j] as number) - (labels[r] === j ? 1 : 0)) / n;
  }
  const norms: number[] = [];
  for (let l = layers - 1; l >= 0; l--) {
    const { h: hin, width: w } = inputs[l] as { h: Float64Array; width: number };
    const k = (weights[2 * l] as { data: Float32Array }).data;
    const out = (weights[2 * l] as { shape: number[] }).shape[1] as number;
    const g = new Float64Array(w * out);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < w; i++) {
        const v = hin[r * w + i] as number;
        if (v !== 0)
          for (let j = 0; j < out; j++)
            g[i * out + j] = (g[i * out + j] as number) + v * (delta[r * out + j] as number);
      }
    }
    norms[l] = l2Norm(g);
    if (l > 0) {
      const next = new Float64Array(n * w);
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < w; i++) {
          let s = 0;
          for (let j = 0; j < out; j++) s += (k[i * out + j] as number) * (delta[r * out + j] as number);
          next[r * w + i] = s * df(hin[r * w + i] as number);
        }
      }
      delta = next;
    }
  }
  return norms;
}

describe('deep models: gradient norms on the GPU', () => {
  let engine: Engine;
  let probe: GpuData;
  let x: Float64Array;
  let labels: Uint8Array;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
    const mnist = await loadMnist({ trainRows: 256, testRows: 1 });
    labels = mnist.train.labels;
    x = Float64Array.from(mnist.train.images, (v) => v / 255);
    probe = new GpuData(engine, {
      inputs: [{ data: mnist.train.images, width: 784, scale: 1 / 255 }],
      targets: [{ data: labels, width: 1 }],
      label: 'probe',
    });
  });
  afterAll(() => {
    probe.dispose();
    engine.dispose();
  });

  const cases: {
    label: string;
    kind: DeepKind;
    saturating: 'tanh' | 'sigmoid';
    act: 'tanh' | 'sigmoid' | 'relu';
  }[] = [
    { label: 'tanh + uniform(±0.5)', kind: 'tanh-uniform', saturating: 'tanh', act: 'tanh' },
    { label: 'sigmoid + uniform(±0.5)', kind: 'tanh-uniform', saturating: 'sigmoid', act: 'sigmoid' },
    { label: 'relu + he_uniform', kind: 'relu-he', saturating: 'tanh', act: 'relu' },
  ];

  /** The float64 norms of a fresh model (host weights: no GPU needed). */
  async function reference(c: (typeof cases)[number]): Promise<number[]> {
    const m = buildDeepModel(c.kind, { saturating: c.saturating });
    return referenceKernelNorms(await m.getWeights(), x, labels, c.act);
  }

  it.each(cases)('$label: kernel-gradient norms match float64 backpropagation', async (c) => {
    const m = buildDeepModel(c.kind, { saturating: c.saturating });
    try {
      const weights = await m.getWeights();
      const gpu = kernelGradientNorms(await m.computeGradients(probe)).map((g) => g.norm);
      const ref = referenceKernelNorms(weights, x, labels, c.act);
      expect(gpu.length).toBe(21);
      gpu.forEach((v, i) => {
        const e = ref[i] as number;
        expect(Math.abs(v - e)).toBeLessThanOrEqual(1e-4 * e);
      });
    } finally {
      await m.dispose();
    }
  });

  it("shows the course's pattern: sigmoid vanishes toward the input, relu + he_uniform stays flat", async () => {
    const [tanh, sigmoid, relu] = await Promise.all(
      cases.map(async (c) => gradientProfile(await reference(c), 20)),
    );
    // σ' ≤ 1/4: the norm shrinks by more than half at each layer back toward the input.
    expect(sigmoid?.perLayer).toBeLessThan(0.5);
    expect(sigmoid?.spread).toBeGreaterThan(1e5);
    // tanh with uniform(±0.5) weights (n·Var(w) = 64/12): a steady factor per layer too.
    expect(tanh?.spread).toBeGreaterThan(10);
    expect(relu?.spread).toBeLessThan(3);
    expect(Math.abs(Math.log(relu?.perLayer ?? NaN))).toBeLessThan(0.05);
  });

  it('residual + BN gives a finite gradient for each of its 21 Dense kernels', async () => {
    const m = buildDeepModel('residual-bn');
    try {
      const norms = kernelGradientNorms(await m.computeGradients(probe));
      expect(norms.length).toBe(21);
      for (const n of norms) {
        expect(Number.isFinite(n.norm)).toBe(true);
        expect(n.norm).toBeGreaterThan(0);
      }
    } finally {
      await m.dispose();
    }
  });
});
