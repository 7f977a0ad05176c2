/**
 * The demo's model configurations: what the Train panel and <mlp-trainer> let a user choose,
 * and the Keras-style model each one builds (784 inputs, 10 softmax outputs, sparse
 * categorical cross-entropy, accuracy).
 */
import {
  layers,
  optimizers,
  sequential,
  type Optimizer,
  type Layer,
  type Sequential,
} from '../../src/index.js';

export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'gelu', 'swish', 'linear'] as const;
export const INITIALIZERS = [
  'glorot_uniform',
  'glorot_normal',
  'he_uniform',
  'he_normal',
  'lecun_uniform',
  'lecun_normal',
  'random_uniform',
] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop', 'nadam'] as const;

export interface ModelConfig {
  /** Units of each hidden Dense layer, e.g. [128, 64]. */
  hidden: number[];
  activation: string;
  /** Keras initializer name for the hidden kernels ('random_uniform' is U(-0.05, 0.05)). */
  initializer: string;
  /** BatchNormalization after each hidden Dense. */
  batchNorm: boolean;
  /** Dropout rate after each hidden layer (0: none). */
  dropout: number;
  optimizer: string;
  learningRate: number;
  batchSize: number;
  epochs: number;
  /** Seed of the initializers and dropout masks (reproducible runs). */
  seed?: number;
}

export const DEFAULT_CONFIG: Readonly<ModelConfig> = {
  hidden: [128, 64],
  activation: 'relu',
  initializer: 'he_uniform',
  batchNorm: false,
  dropout: 0,
  optimizer: 'adam',
  learningRate: 0.001,
  batchSize: 64,
  epochs: 5,
};

/** Keras's default learning rate of each optimizer (SGD 0.01, the others 0.001). */
export function defaultLearningRate(optimizer: string): number {
  return optimizer === 'sgd' ? 0.01 : 0.001;
}

/** Checks a configuration; the message names the field. */
export function checkConfig(c: ModelConfig): void {
  const positiveInt = (v: number, what: string) => {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new RangeError(`${what} must be a positive integer, got ${v}`);
  };
  if (c.hidden.length === 0) throw new RangeError('the model needs at least one hidden layer');
  c.hidden.forEach((u, i) => positiveInt(u, `hidden layer ${i + 1}'s units`));
  positiveInt(c.batchSize, 'batch size');
  positiveInt(c.epochs, 'epochs');
  if (!(c.dropout >= 0 && c.dropout < 1))
    throw new RangeError(`dropout rate must be in [0, 1), got ${c.dropout}`);
  if (!(c.learningRate > 0 && Number.isFinite(c.learningRate))) {
    throw new RangeError(`learning rate must be a positive number, got ${c.learningRate}`);
  }
  if (!(OPTIMIZERS as readonly string[]).includes(c.optimizer)) {
    throw new RangeError(`unknown optimizer "${c.optimizer}" (${OPTIMIZERS.join(', ')})`);
  }
}

/** 'hidden: 128, 64' → [128, 64]; throws on anything that is not a list of positive integers. */
export function parseHidden(text: string): number[] {
  const parts = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const units = parts.map(Number);
  if (units.length === 0 || units.some((u) => !Number.isSafeInteger(u) || u <= 0)) {
    throw new RangeError(`hidden layers: "${text}" is not a list of positive unit counts like "128, 64"`);
  }
  return units;
}

export function makeOptimizer(name: string, learningRate: number): Optimizer {
  switch (name) {
    case 'sgd':
      return optimizers.sgd({ learningRate });
    case 'rmsprop':
      return optimizers.rmsprop({ learningRate });
    case 'nadam':
      return optimizers.nadam({ learningRate });
    case 'adam':
      return optimizers.adam({ learningRate });
    default:
      throw new RangeError(`unknown optimizer "${name}" (${OPTIMIZERS.join(', ')})`);
  }
}

/** An initializer by its Keras name ('he_uniform'; the library resolves names and class names alike), seeded. */
export function initializer(
  name: string,
  seed: number | undefined,
): { className: string; config: { seed?: number } } {
  return { className: name, config: seed === undefined ? {} : { seed } };
}

/**
 * The MLP of a configuration for `features` inputs (784: MNIST) and `classes` softmax
 * outputs, compiled (sparse categorical cross-entropy, accuracy): per hidden layer Dense
 * [→ BN → activation] [→ Dropout].
 */
export function buildModel(
  c: ModelConfig,
  shape: { features?: number; classes?: number; name?: string } = {},
): Sequential {
  checkConfig(c);
  const named = layerNamer();
  const {
    features = 784,
    classes = 10,
    name = features === 784 && classes === 10 ? 'mnist_mlp' : 'mlp',
  } = shape;
  const seed = c.seed;
  const body: Layer[] = [];
  c.hidden.forEach((units, i) => {
    const s = seed === undefined ? undefined : seed + i;
    body.push(
      layers.dense({
        name: named('dense'),
        units,
        ...(c.batchNorm ? {} : { activation: c.activation }),
        kernelInitializer: initializer(c.initializer, s),
        ...(i === 0 ? { inputShape: [features] } : {}),
      }),
    );
    // BN between the product and the nonlinearity, as the course draws it.
    if (c.batchNorm) {
      body.push(
        layers.batchNormalization({ name: named('batch_normalization') }),
        layers.activation({ name: named('activation'), activation: c.activation }),
      );
    }
    if (c.dropout > 0) {
      const rate = { name: named('dropout'), rate: c.dropout };
      body.push(layers.dropout({ ...rate, ...(s === undefined ? {} : { seed: s + 1000 }) }));
    }
  });
  const model = sequential({
    name,
    layers: [
      ...body,
      layers.dense({
        name: named('dense'),
        units: classes,
        activation: 'softmax',
        kernelInitializer: initializer('glorot_uniform', seed === undefined ? undefined : seed + 999),
      }),
    ],
  });
  model.compile({
    optimizer: makeOptimizer(c.optimizer, c.learningRate),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

/**
 * Keras's automatic layer names (dense, dense_1, ...; batch_normalization, ...) counted within
 * one model, so each model the demo builds is named as in a fresh Keras session (the course's
 * summaries), not dense_124 after a few runs. Local, not the library's clearSession(): that
 * would restart the counters of a page that embeds <mlp-trainer> and builds layers of its own.
 */
export function layerNamer(): (base: string) => string {
  const counts = new Map<string, number>();
  return (base) => {
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  };
}

/** Keras's model.summary() as text. */
export function summaryText(model: { summary(print: (line: string) => void): void }): string {
  const lines: string[] = [];
  model.summary((l) => lines.push(l));
  return lines.join('\n');
}
