/**
 * The vanishing-gradients models (deep-models.ts): their structure, the norm helpers against
 * closed forms, and — on the GPU — the kernel-gradient norms of all four models on 256
 * MNIST images against float64 backpropagation (../test/deep-reference.ts), with the regime
 * the course describes for each: sigmoid + uniform(±0.5) vanishes toward the input, tanh +
 * uniform(±0.5) explodes, relu + he_uniform and residual + BN keep the gradient's size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dense, GpuData, initEngine, type Engine } from '../../src/node/index.js';
import { loadMnist } from '../../src/node/mnist.js';
import {
  buildDeepModel,
  DEEP_KINDS,
  gradientProfile,
  gradientRegime,
  kernelGradientNorms,
  l2Norm,
  type DeepKind,
  type GradientRegime,
} from './deep-models.js';
import { referenceKernelNorms } from '../test/deep-reference.js';

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
    expect(Math.log2(p.across)).toBeCloseTo(-18, 9); // layer 2 over layer 20: 0.5^18
  });

  it('gradientRegime judges the change over the whole stack, an order of magnitude either way', () => {
    const depth = 20;
    const geometric = (factor: number) =>
      gradientProfile(
        Array.from({ length: depth + 1 }, (_, i) => factor ** (depth - (i + 1))),
        depth,
      );
    // 18 steps from layer 20 back to layer 2: 0.88^18 = 0.100 and 1.137^18 = 10.1.
    expect(gradientRegime(geometric(0.87))).toBe('vanishing');
    expect(gradientRegime(geometric(0.89))).toBe('stable');
    expect(gradientRegime(geometric(1))).toBe('stable');
    expect(gradientRegime(geometric(1.13))).toBe('stable');
    expect(gradientRegime(geometric(1.14))).toBe('exploding');
    // The same factor over 4 layers (3 steps) is no regime at all.
    expect(gradientRegime(gradientProfile([9, 1, 0.5, 0.25, 0.125, 1], 5))).toBe('stable');
    expect(gradientRegime(gradientProfile([1, 1, 1], 2))).toBeUndefined();
    // A norm left out (0: an underflow) keeps the others at their own layers.
    const gap = Array.from({ length: depth + 1 }, (_, i) => 0.5 ** (depth - (i + 1)));
    gap[5] = 0;
    expect(gradientProfile(gap, depth).perLayer).toBeCloseTo(0.5, 12);
    expect(Math.log2(gradientProfile(gap, depth).across)).toBeCloseTo(-18, 9);
  });
});

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

  /** What the course says each model's gradient does at 20 × 64 (before training). */
  const expected: Record<DeepKind, GradientRegime> = {
    'sigmoid-uniform': 'vanishing', // σ′ ≤ 1/4
    'tanh-uniform': 'exploding', // n·Var(w) = 64/12 > 1, units not yet saturated
    'relu-he': 'stable', // Var(w) = 2 / fan_in
    'residual-bn': 'stable', // the identity path carries the gradient
  };

  it.each(DEEP_KINDS)(
    "%s: kernel-gradient norms match float64 backpropagation, and its regime is the course's",
    async (kind) => {
      const m = buildDeepModel(kind);
      try {
        const weights = await m.getWeights();
        const gpu = kernelGradientNorms(await m.computeGradients(probe)).map((g) => g.norm);
        const ref = referenceKernelNorms(kind, 20, weights, x, labels);
        expect(gpu.length).toBe(21);
        gpu.forEach((v, i) => {
          const e = ref[i] as number;
          expect(Math.abs(v - e)).toBeLessThanOrEqual(1e-4 * e);
        });
        const fromRef = gradientProfile(ref, 20);
        const fromGpu = gradientProfile(gpu, 20);
        expect(gradientRegime(fromRef)).toBe(expected[kind]);
        expect(gradientRegime(fromGpu)).toBe(expected[kind]);
        // The direction of the per-layer factor, from the reference: sigmoid ×0.44, tanh
        // ×1.21, relu ×1.009, residual + BN ×1.08 (4.0× over layers 20 → 2).
        const direction = { vanishing: -1, exploding: 1, stable: 0 }[expected[kind]];
        if (direction !== 0) expect(Math.sign(Math.log(fromRef.perLayer))).toBe(direction);
        else expect(Math.abs(Math.log(fromRef.across))).toBeLessThan(Math.log(5));
        expect(fromGpu.perLayer).toBeCloseTo(fromRef.perLayer, 4);
      } finally {
        await m.dispose();
      }
    },
  );
});
