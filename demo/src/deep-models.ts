/**
 * The course's vanishing-gradients experiment: four deep MLPs on MNIST (784 inputs, 10
 * softmax outputs, sparse categorical cross-entropy, accuracy), each with `depth` hidden
 * Dense layers of `units` units:
 *
 *   sigmoid-uniform  Dense(sigmoid), kernels RandomUniform(−0.5, 0.5): σ′ ≤ 1/4 shrinks the
 *                 gradient at every layer back toward the input (vanishing);
 *   tanh-uniform  Dense(tanh), kernels RandomUniform(−0.5, 0.5): the course's shallow-network
 *                 setup, which at 20 × 64 grows the gradient toward the input (n·Var(w) = 64/12
 *                 > 1: exploding) until units saturate;
 *   relu-he       Dense(relu), kernels he_uniform;
 *   residual-bn   functional: h = relu(Dense(x)) maps 784 → units, then depth − 1
 *                 pre-activation blocks h ← h + Dense(relu(BN(h))) at that width (depth
 *                 Dense layers in all), then relu(BN(h)) before the output (ResNet v2's
 *                 order: the identity path carries h unchanged, and the last BN brings the
 *                 sum of the blocks back to unit scale; with relu(BN(Dense(h))) added
 *                 instead, h grows with every block and the first logits are ~10× too large:
 *                 a starting loss near 7 instead of ln 10). BN momentum 0.9: Keras's 0.99
 *                 averages over ~100 steps, and these runs are a few dozen to a few hundred
 *                 steps, so validation (inference mode, moving statistics) would measure a
 *                 model normalised by statistics still near their initial 0 and 1.
 *
 * The output Dense (glorot_uniform, Keras's default) is the same in all four, so only the
 * hidden stack differs. Browser-safe (the demo's Vanishing gradients tab) and Node-safe.
 */
import { input, layers, model, sequential, type Layer, type LayersModel } from '../../src/index.js';
import { layerNamer, makeOptimizer } from './models.js';

export const DEEP_KINDS = ['sigmoid-uniform', 'tanh-uniform', 'relu-he', 'residual-bn'] as const;
export type DeepKind = (typeof DEEP_KINDS)[number];

/** What the demo shows for each model: a short label and a colour. */
export const DEEP_MODEL_INFO: Readonly<Record<DeepKind, { label: string; color: string }>> = {
  'sigmoid-uniform': { label: 'sigmoid, uniform(±0.5)', color: '#9467bd' },
  'tanh-uniform': { label: 'tanh, uniform(±0.5)', color: '#d62728' },
  'relu-he': { label: 'relu, he_uniform', color: '#1f77b4' },
  'residual-bn': { label: 'residual + BN', color: '#2ca02c' },
};

/** One line on how the model of `kind` is built. */
export function describeDeepModel(kind: DeepKind, depth = 20): string {
  switch (kind) {
    case 'sigmoid-uniform':
    case 'tanh-uniform':
      return `Dense(${kind === 'tanh-uniform' ? 'tanh' : 'sigmoid'}) ×${depth}, kernels RandomUniform(−0.5, 0.5)`;
    case 'relu-he':
      return `Dense(relu) ×${depth}, kernels he_uniform`;
    case 'residual-bn':
      return `relu(Dense) 784 → units, then h ← h + Dense(relu(BN(h))) ×${depth - 1}, relu(BN(h)); he_uniform`;
  }
}

export interface DeepModelOptions {
  /** Hidden Dense layers (default 20). */
  depth?: number;
  /** Units of each hidden layer (default 64). */
  units?: number;
  /** Seed of the kernel initializers (default 1). */
  seed?: number;
  /** 'adam' (default) or 'sgd', 'rmsprop', 'nadam'. */
  optimizer?: string;
  /** Default: Keras's for the optimizer (SGD 0.01, the others 0.001). */
  learningRate?: number;
}

/** The experiment's model of `kind`, compiled (sparse categorical cross-entropy, accuracy). */
export function buildDeepModel(kind: DeepKind, options: DeepModelOptions = {}): LayersModel {
  const depth = options.depth ?? 20;
  const units = options.units ?? 64;
  const seed = options.seed ?? 1;
  const optimizer = options.optimizer ?? 'adam';
  for (const [what, v] of [
    ['depth', depth],
    ['units', units],
  ] as const) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new RangeError(`${what} must be a positive integer, got ${v}`);
  }
  const learningRate = options.learningRate ?? (optimizer === 'sgd' ? 0.01 : 0.001);
  const named = layerNamer(); // dense, dense_1, ... within this model
  const output = (): Layer =>
    layers.dense({
      name: named('dense'),
      units: 10,
      activation: 'softmax',
      kernelInitializer: { className: 'GlorotUniform', config: { seed: seed + 999 } },
    });
  let m: LayersModel;
  if (kind === 'residual-bn') {
    const heUniform = (i: number) => ({ className: 'HeUniform', config: { seed: seed + i } });
    const x = input({ shape: [784], name: 'pixels' });
    const dense = (i: number, activation?: 'relu') =>
      layers.dense({ name: named('dense'), units, activation, kernelInitializer: heUniform(i) });
    let h = dense(0, 'relu').apply(x);
    const bnRelu = (t: typeof h) =>
      layers
        .activation({ name: named('activation'), activation: 'relu' })
        .apply(layers.batchNormalization({ name: named('batch_normalization'), momentum: 0.9 }).apply(t));
    for (let i = 1; i < depth; i++) {
      // Block i: f(h) = relu(BN(h))·W + b, added to its input (the identity shortcut).
      const f = dense(i).apply(bnRelu(h));
      h = layers.add({ name: named('add') }).apply([h, f]);
    }
    h = bnRelu(h);
    m = model({ inputs: x, outputs: output().apply(h), name: 'residual_bn' });
  } else {
    const uniform = kind !== 'relu-he';
    const hidden = Array.from({ length: depth }, (_, i) =>
      layers.dense({
        name: named('dense'),
        units,
        activation: kind === 'tanh-uniform' ? 'tanh' : kind === 'sigmoid-uniform' ? 'sigmoid' : 'relu',
        kernelInitializer: uniform
          ? { className: 'RandomUniform', config: { minval: -0.5, maxval: 0.5, seed: seed + i } }
          : { className: 'HeUniform', config: { seed: seed + i } },
        ...(i === 0 ? { inputShape: [784] } : {}),
      }),
    );
    m = sequential({ layers: [...hidden, output()], name: kind.replace('-', '_') });
  }
  m.compile({
    optimizer: makeOptimizer(optimizer, learningRate),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return m;
}

/** A weight's gradient as LayersModel.computeGradients gives it. */
export interface WeightGradient {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Euclidean norm of `v`, accumulated in float64. */
export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    s += x * x;
  }
  return Math.sqrt(s);
}

/**
 * The L2 norm of each Dense kernel's gradient, numbered 1.. from the input in the order
 * computeGradients gives them (layer order): 1..depth are the hidden layers, depth + 1 the output.
 * Kernels are the 2-D weights named ".../kernel" (BN's gamma/beta and biases are left out).
 */
export function kernelGradientNorms(
  grads: readonly WeightGradient[],
): { layer: number; name: string; norm: number }[] {
  return grads
    .filter((g) => g.shape.length === 2 && g.name.endsWith('/kernel'))
    .map((g, i) => ({ layer: i + 1, name: g.name, norm: l2Norm(g.data) }));
}

/**
 * How a model's kernel-gradient norms change across the hidden layers that share a shape
 * (2..depth; layer 1 has 784 input rows, so its norm is larger for that reason alone):
 * `spread` is max/min, `perLayer` the least-squares factor by which the norm grows per
 * layer going back toward the input (> 1: larger near the input; < 1: vanishing there),
 * and `across` that factor over the whole span, the fitted norm of layer 2 over layer depth's.
 */
export function gradientProfile(
  norms: readonly number[],
  depth: number,
): { spread: number; perLayer: number; across: number } {
  // Each usable norm with its own layer number, so that a norm left out (0 after an
  // underflow, or not finite) does not shift the others along the fit.
  const layers = norms
    .slice(1, depth)
    .map((n, i) => ({ layer: i + 2, n }))
    .filter(({ n }) => n > 0 && Number.isFinite(n));
  if (layers.length < 2) return { spread: NaN, perLayer: NaN, across: NaN };
  const hidden = layers.map(({ n }) => n);
  const spread = Math.max(...hidden) / Math.min(...hidden);
  // log(norm) against the layer number: the slope per layer toward the output.
  const xs = layers.map(({ layer }) => layer);
  const ys = hidden.map((n) => Math.log(n));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * ((ys[i] as number) - my);
    sxx += (x - mx) ** 2;
  });
  const slope = -sxy / sxx;
  return { spread, perLayer: Math.exp(slope), across: Math.exp(slope * (depth - 2)) };
}

/** What a model's gradient does going back toward the input. */
export type GradientRegime = 'vanishing' | 'exploding' | 'stable';

/**
 * How far (either way) the fitted norm may change from the last hidden layer to layer 2
 * (gradientProfile's `across`) for gradientRegime to call it stable: an order of magnitude.
 * The label judges the whole stack, not the factor per layer, as training does: ×1.08 per
 * layer is ×4 over 20 layers (stable), and ×0.5 per layer only ×0.25 over 4 (stable too).
 */
export const REGIME_RATIO = 10;

/** The regime of a gradient profile; undefined while it is unknown (NaN). */
export function gradientRegime(profile: { across: number }): GradientRegime | undefined {
  const { across } = profile;
  if (!Number.isFinite(across) || across <= 0) return undefined;
  if (across < 1 / REGIME_RATIO) return 'vanishing';
  return across > REGIME_RATIO ? 'exploding' : 'stable';
}
