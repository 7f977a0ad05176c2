/**
 * The Playground tab's model and training run: a small MLP on a 2-D dataset's features
 * (playground-data.ts), one sigmoid output for the class, binary cross-entropy and SGD as
 * TensorFlow Playground trains; the data, the test points and the boundary's grid stay on
 * the GPU, and between short bursts of training the grid is predicted (the decision
 * boundary) and each hidden unit's output over it is computed from the weights.
 * Browser-safe and Node-safe.
 */
import {
  GpuData,
  layers,
  optimizers,
  sequential,
  type Engine,
  type LayersModel,
  type Logs,
} from '../../src/index.js';
import { layerNamer } from './models.js';
import {
  DATASETS,
  FEATURE_IDS,
  featureRows,
  gridPoints,
  makeDataset,
  splitTrainTest,
  type DatasetKind,
  type FeatureId,
  type PointSet,
} from './playground-data.js';

export const PLAYGROUND_ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'linear'] as const;
export type PlaygroundActivation = (typeof PLAYGROUND_ACTIVATIONS)[number];
export const REGULARIZATIONS = ['none', 'l1', 'l2'] as const;
export type Regularization = (typeof REGULARIZATIONS)[number];

export interface PlaygroundSettings {
  dataset: DatasetKind;
  /** Points in all (train + test). */
  points: number;
  /** Standard deviation of the noise, as a fraction of the data's radius (0..0.5). */
  noise: number;
  /** The share of the points trained on (the rest are the test points). */
  trainFraction: number;
  features: FeatureId[];
  /** Units of each hidden layer ([] for none: logistic regression on the features). */
  hidden: number[];
  activation: PlaygroundActivation;
  regularization: Regularization;
  /** The L1 or L2 factor on every kernel (Keras's l1(rate) / l2(rate)). */
  regularizationRate: number;
  learningRate: number;
  batchSize: number;
  /** Seeds the data, the split, the initial weights and the shuffles. */
  seed: number;
}

/** TensorFlow Playground's defaults: circles, no noise, half for training, x₁ and x₂, 4 + 2 tanh units, SGD 0.03, batch 10. */
export const PLAYGROUND_DEFAULTS: Readonly<PlaygroundSettings> = {
  dataset: 'circles',
  points: 500,
  noise: 0,
  trainFraction: 0.5,
  features: ['x1', 'x2'],
  hidden: [4, 2],
  activation: 'tanh',
  regularization: 'none',
  regularizationRate: 0,
  learningRate: 0.03,
  batchSize: 10,
  seed: 1,
};

/** Most units in one hidden layer, and most hidden layers (a playground, not a benchmark). */
export const MAX_UNITS = 8;
export const MAX_LAYERS = 6;

/** "4, 2" → [4, 2]; "" → [] (no hidden layer). */
export function parseHidden(text: string): number[] {
  const t = text.trim();
  if (t === '') return [];
  return t.split(',').map((part, i) => {
    const v = Number(part.trim());
    if (part.trim() === '' || !Number.isSafeInteger(v) || v < 1 || v > MAX_UNITS) {
      throw new RangeError(
        `hidden layers: "${part.trim()}" (layer ${i + 1}) must be a whole number of units from 1 to ${MAX_UNITS}`,
      );
    }
    return v;
  });
}

/** Checks settings, naming the first one out of range. */
export function checkPlaygroundSettings(s: PlaygroundSettings): void {
  const fail = (msg: string) => {
    throw new RangeError(msg);
  };
  if (!DATASETS.includes(s.dataset)) fail(`unknown dataset "${s.dataset}"`);
  if (!Number.isSafeInteger(s.points) || s.points < 20 || s.points > 5000)
    fail(`points must be a whole number from 20 to 5,000, got ${s.points}`);
  if (!(s.noise >= 0 && s.noise <= 0.5)) fail(`noise must be from 0 to 0.5, got ${s.noise}`);
  if (!(s.trainFraction >= 0.1 && s.trainFraction <= 0.9))
    fail(`the training share must be from 10% to 90%, got ${s.trainFraction}`);
  if (s.features.length === 0) fail('choose at least one input feature');
  for (const f of s.features) if (!FEATURE_IDS.includes(f)) fail(`unknown feature "${f}"`);
  if (s.hidden.length > MAX_LAYERS) fail(`at most ${MAX_LAYERS} hidden layers, got ${s.hidden.length}`);
  s.hidden.forEach((u, i) => {
    if (!Number.isSafeInteger(u) || u < 1 || u > MAX_UNITS)
      fail(`hidden layer ${i + 1} must have 1 to ${MAX_UNITS} units, got ${u}`);
  });
  if (!PLAYGROUND_ACTIVATIONS.includes(s.activation)) fail(`unknown activation "${s.activation}"`);
  if (!REGULARIZATIONS.includes(s.regularization)) fail(`unknown regularization "${s.regularization}"`);
  if (!(s.regularizationRate >= 0 && Number.isFinite(s.regularizationRate)))
    fail(`the regularization rate must be ≥ 0, got ${s.regularizationRate}`);
  if (!(s.learningRate > 0 && Number.isFinite(s.learningRate)))
    fail(`the learning rate must be > 0, got ${s.learningRate}`);
  if (!Number.isSafeInteger(s.batchSize) || s.batchSize < 1 || s.batchSize > 1000)
    fail(`the batch size must be a whole number from 1 to 1,000, got ${s.batchSize}`);
}

/** The compiled model for `s`: Dense hidden layers, Dense(1, sigmoid), binary cross-entropy, SGD. */
export function buildPlaygroundModel(s: PlaygroundSettings): LayersModel {
  checkPlaygroundSettings(s);
  const named = layerNamer();
  const regularizer =
    s.regularization === 'none' || s.regularizationRate === 0
      ? undefined
      : s.regularization === 'l1'
        ? { l1: s.regularizationRate }
        : { l2: s.regularizationRate };
  const dense = (units: number, activation: string, i: number) =>
    layers.dense({
      name: named('dense'),
      units,
      activation,
      kernelInitializer: { className: 'GlorotUniform', config: { seed: s.seed * 100 + i } },
      ...(regularizer ? { kernelRegularizer: regularizer } : {}),
      ...(i === 0 ? { inputShape: [s.features.length] } : {}),
    });
  const m = sequential({
    layers: [...s.hidden.map((u, i) => dense(u, s.activation, i)), dense(1, 'sigmoid', s.hidden.length)],
    name: 'playground',
  });
  m.compile({
    optimizer: optimizers.sgd({ learningRate: s.learningRate }),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
  });
  return m;
}

function upload(engine: Engine, set: PointSet, features: readonly FeatureId[], label: string): GpuData {
  return new GpuData(engine, {
    inputs: [{ data: featureRows(set.xy, features), width: features.length }],
    targets: [{ data: Float32Array.from(set.labels), width: 1 }],
    label,
  });
}

/** One unit's output over the grid, and the range it spans. */
export interface UnitMap {
  values: Float32Array;
  min: number;
  max: number;
}

/**
 * One Playground run: the dataset, its model and the GPU data. trainEpochs() continues the
 * training; boundary() and hiddenUnits() read what the model does over the grid.
 */
export class PlaygroundRun {
  readonly settings: Readonly<PlaygroundSettings>;
  readonly train: PointSet;
  readonly test: PointSet;
  readonly model: LayersModel;
  /** Cells per side of the boundary's grid. */
  readonly resolution: number;
  /** The grid's points, row-major [resolution², 2], from the top row (gridPoints). */
  readonly grid: Float32Array;
  /** Epochs trained so far. */
  epoch = 0;
  private readonly trainData: GpuData;
  private readonly testData: GpuData;
  private readonly gridData: GpuData;

  constructor(engine: Engine, settings: PlaygroundSettings, resolution = 40) {
    this.model = buildPlaygroundModel(settings); // checks the settings first
    this.settings = { ...settings, features: [...settings.features], hidden: [...settings.hidden] };
    const all = makeDataset(settings.dataset, settings.points, settings.noise, settings.seed);
    ({ train: this.train, test: this.test } = splitTrainTest(all, settings.trainFraction, settings.seed));
    this.resolution = resolution;
    this.grid = gridPoints(resolution);
    const made: GpuData[] = [];
    try {
      made.push(upload(engine, this.train, settings.features, 'playground train'));
      made.push(upload(engine, this.test, settings.features, 'playground test'));
      made.push(
        new GpuData(engine, {
          inputs: [{ data: featureRows(this.grid, settings.features), width: settings.features.length }],
          label: 'playground grid',
        }),
      );
    } catch (e) {
      for (const d of made) d.dispose();
      void this.model.dispose();
      throw e;
    }
    [this.trainData, this.testData, this.gridData] = made as [GpuData, GpuData, GpuData];
  }

  /** Trains `epochs` more epochs; the last epoch's logs (loss, accuracy, val_loss, val_accuracy on the test points). */
  async trainEpochs(epochs: number): Promise<Logs> {
    let last: Logs = {};
    const history = await this.model.fit(this.trainData, undefined, {
      epochs: this.epoch + epochs,
      initialEpoch: this.epoch,
      batchSize: this.settings.batchSize,
      validationData: [this.testData, undefined],
      seed: this.settings.seed * 1000 + this.epoch,
      verbose: 0,
    });
    const h = history.history;
    const done = h.loss?.length ?? 0;
    this.epoch += done;
    for (const [k, v] of Object.entries(h))
      if (v.length > 0) last = { ...last, [k]: v[v.length - 1] as number };
    return last;
  }

  /** The model's probability of class 1 at each grid cell (model.predict on the GPU). */
  async boundary(): Promise<Float32Array> {
    const p = await this.model.predict(this.gridData);
    return (Array.isArray(p) ? (p[0] as (typeof p)[number]) : p).data;
  }

  /** The class predictions of `set` ('train' or 'test') at 0.5, counted right, over its size. */
  async accuracy(set: 'train' | 'test'): Promise<number> {
    const data = set === 'train' ? this.trainData : this.testData;
    const labels = (set === 'train' ? this.train : this.test).labels;
    const p = await this.model.predict(data);
    const probs = (Array.isArray(p) ? (p[0] as (typeof p)[number]) : p).data;
    let right = 0;
    labels.forEach((l, i) => (right += Number((probs[i] as number) >= 0.5) === l ? 1 : 0));
    return right / labels.length;
  }

  /**
   * Each hidden unit's output over the grid, layer by layer, computed on the host from the
   * model's current weights (a few hundred numbers read back) in float64.
   */
  async hiddenUnits(): Promise<UnitMap[][]> {
    const weights = await this.model.getWeights();
    const features = this.settings.features.length;
    let h = Float64Array.from(featureRows(this.grid, this.settings.features));
    let width = features;
    const cells = this.grid.length / 2;
    const act = activation(this.settings.activation);
    const out: UnitMap[][] = [];
    for (let l = 0; l < this.settings.hidden.length; l++) {
      const k = weights[2 * l]?.data;
      const b = weights[2 * l + 1]?.data;
      const units = this.settings.hidden[l] as number;
      if (!k || !b) throw new Error(`hiddenUnits: no weights for hidden layer ${l + 1}`);
      const next = new Float64Array(cells * units);
      for (let c = 0; c < cells; c++) {
        for (let u = 0; u < units; u++) {
          let z = b[u] as number;
          for (let i = 0; i < width; i++) z += (h[c * width + i] as number) * (k[i * units + u] as number);
          next[c * units + u] = act(z);
        }
      }
      out.push(
        Array.from({ length: units }, (_, u) => {
          const values = new Float32Array(cells);
          let min = Infinity;
          let max = -Infinity;
          for (let c = 0; c < cells; c++) {
            values[c] = next[c * units + u] as number;
            min = Math.min(min, values[c] as number);
            max = Math.max(max, values[c] as number);
          }
          return { values, min, max };
        }),
      );
      h = next;
      width = units;
    }
    return out;
  }

  /** Frees the GPU data and the model. */
  async dispose(): Promise<void> {
    this.trainData.dispose();
    this.testData.dispose();
    this.gridData.dispose();
    await this.model.dispose();
  }
}

function activation(name: PlaygroundActivation): (z: number) => number {
  switch (name) {
    case 'tanh':
      return Math.tanh;
    case 'relu':
      return (z) => Math.max(0, z);
    case 'sigmoid':
      return (z) => 1 / (1 + Math.exp(-z));
    case 'linear':
      return (z) => z;
  }
}
