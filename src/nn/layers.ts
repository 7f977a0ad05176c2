/**
 * Keras layers (tfjs-layers names): each layer holds its weights on the host until a model
 * is compiled, builds its part of the graph IR (src/graph/ir.ts) when the model is compiled,
 * and describes itself as Keras JSON for summary() and saving.
 *
 * Values are [batch, features] on the GPU; a layer's per-sample shape (e.g. [28, 28] before
 * Flatten) is tracked here only for summaries and checks.
 */
import type { Graph, Param, Value } from '../graph/ir.js';
import * as ops from '../graph/ops/index.js';
import { randomSeed } from '../util/random.js';
import { resolveInitializer, type Initializer, type InitializerSpec } from './initializers.js';
import { resolveActivation } from './names.js';
import { resolveRegularizer, type Regularizer, type RegularizerSpec } from './regularizers.js';

/** A tensor of the model being defined: the output of a layer, [batch, ...shape]. */
export class SymbolicTensor {
  constructor(
    /** Per-sample shape (without the batch). */
    readonly shape: readonly number[],
    readonly layer: Layer,
    /** Which output of the layer's call this is (layers are called once per node). */
    readonly node: number,
  ) {}

  get features(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get name(): string {
    return this.layer.name;
  }
}

/** A weight of a layer: values on the host, and a Param while a graph is built. */
export interface LayerWeight {
  /** "dense_1/kernel" */
  name: string;
  shape: number[];
  /** The host copy. */
  values: Float32Array;
  trainable: boolean;
  regularizer?: Regularizer;
  /** Bumped whenever the host copy changes (models re-upload a weight whose version moved). */
  version: number;
  /**
   * The model whose GPU copy is newer than the host copy (it trained the weight since), if
   * any: a model sharing the layer first pulls the values from it.
   */
  owner?: object;
}

export interface LayerArgs {
  name?: string;
  /** Per-sample input shape of the first layer of a sequential model. */
  inputShape?: number[];
  trainable?: boolean;
}

const counters = new Map<string, number>();

/** Keras-style unique layer names: dense, dense_1, dense_2, ... */
function uniqueName(base: string): string {
  const n = counters.get(base) ?? 0;
  counters.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** One call of a layer: its inputs and its output. */
export interface LayerNode {
  inputs: SymbolicTensor[];
  output: SymbolicTensor;
}

export abstract class Layer {
  readonly name: string;
  trainable: boolean;
  readonly inputShape: number[] | undefined;
  readonly weights: LayerWeight[] = [];
  /** Fixed tensors the layer's kernels need but Keras does not count as weights (BN's γ = 1 without scale). */
  readonly constants: LayerWeight[] = [];
  readonly nodes: LayerNode[] = [];
  protected built = false;
  abstract readonly className: string;

  constructor(args: LayerArgs, base: string) {
    this.name = args.name ?? uniqueName(base);
    this.trainable = args.trainable ?? true;
    this.inputShape = args.inputShape ? [...args.inputShape] : undefined;
    if (this.inputShape && !this.inputShape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new RangeError(
        `layer "${this.name}": inputShape [${this.inputShape.join(', ')}] must be positive integers`,
      );
    }
  }

  /** Calls the layer on tensors of the model being defined. */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor {
    const xs = Array.isArray(inputs)
      ? [...(inputs as readonly SymbolicTensor[])]
      : [inputs as SymbolicTensor];
    if (xs.length === 0) throw new TypeError(`layer "${this.name}": apply() needs at least one input`);
    this.checkInputs(xs.map((x) => x.shape));
    if (!this.built) {
      this.build(xs.map((x) => x.shape));
      this.built = true;
    } else {
      this.checkBuiltFor(xs.map((x) => x.shape));
    }
    const out = new SymbolicTensor(this.outputShape(xs.map((x) => x.shape)), this, this.nodes.length);
    this.nodes.push({ inputs: xs, output: out });
    return out;
  }

  /** Throws when the inputs do not suit the layer (counts, shapes). */
  protected checkInputs(shapes: readonly (readonly number[])[]): void {
    if (shapes.length !== 1)
      throw new TypeError(`layer "${this.name}" takes one input, got ${shapes.length}`);
  }

  /** A layer called again (shared) must see the shapes it was built for. */
  protected checkBuiltFor(shapes: readonly (readonly number[])[]): void {
    if (shapes.length === 0) throw new TypeError(`layer "${this.name}": called without inputs`);
  }

  /** Creates the layer's weights for its first call's input shapes (layers without weights: nothing). */
  protected build(shapes: readonly (readonly number[])[]): void {
    this.checkBuiltFor(shapes);
  }

  abstract outputShape(shapes: readonly (readonly number[])[]): number[];

  /** Adds the layer's ops to `g`; `params` maps this model's weights to graph parameters. */
  abstract toGraph(g: Graph, xs: readonly Value[], params: ReadonlyMap<LayerWeight, Param>): Value;

  /** Keras config (snake_case keys, as Keras and tfjs-layers serialize them). */
  abstract getConfig(): Record<string, unknown>;

  countParams(): number {
    return this.weights.reduce((s, w) => s + w.values.length, 0);
  }

  protected addWeight(
    suffix: string,
    shape: number[],
    init: Initializer,
    trainable: boolean,
    regularizer?: Regularizer,
  ): LayerWeight {
    const w: LayerWeight = {
      name: `${this.name}/${suffix}`,
      shape,
      // Initializers without a seed of their own get a fresh one per weight, as Keras draws.
      values: init.init(shape, randomSeed()),
      trainable,
      ...(regularizer ? { regularizer } : {}),
      version: 0,
    };
    this.weights.push(w);
    return w;
  }

  /** A fixed tensor of `value`s, not among the layer's weights. */
  protected addConstant(suffix: string, shape: number[], value: number): LayerWeight {
    const n = shape.reduce((a, b) => a * b, 1);
    const w: LayerWeight = {
      name: `${this.name}/${suffix}`,
      shape,
      values: new Float32Array(n).fill(value),
      trainable: false,
      version: 0,
    };
    this.constants.push(w);
    return w;
  }

  protected baseConfig(): Record<string, unknown> {
    return {
      name: this.name,
      trainable: this.trainable,
      ...(this.inputShape ? { batch_input_shape: [null, ...this.inputShape] } : {}),
      dtype: 'float32',
    };
  }
}

function param(w: LayerWeight, params: ReadonlyMap<LayerWeight, Param>): Param {
  const p = params.get(w);
  if (!p) throw new Error(`internal: weight "${w.name}" has no graph parameter`);
  return p;
}

// ---------------------------------------------------------------- input

export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  readonly shape: number[];
  constructor(args: { shape: number[]; name?: string }) {
    super({ name: args.name ?? uniqueName('input') }, 'input');
    if (!args.shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new RangeError(
        `input "${this.name}": shape [${args.shape.join(', ')}] must be positive integers`,
      );
    }
    this.shape = [...args.shape];
    this.built = true;
  }
  outputShape(): number[] {
    return this.shape;
  }
  toGraph(): Value {
    throw new Error('internal: the model adds an InputLayer to the graph itself');
  }
  getConfig(): Record<string, unknown> {
    return { batch_input_shape: [null, ...this.shape], dtype: 'float32', sparse: false, name: this.name };
  }
}

/** A model input: `input({ shape: [784] })`. */
export function input(args: { shape: number[]; name?: string }): SymbolicTensor {
  const layer = new InputLayer(args);
  const t = new SymbolicTensor(layer.shape, layer, 0);
  layer.nodes.push({ inputs: [], output: t });
  return t;
}

// ---------------------------------------------------------------- dense

export interface DenseArgs extends LayerArgs {
  units: number;
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: InitializerSpec;
  biasInitializer?: InitializerSpec;
  kernelRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  activityRegularizer?: RegularizerSpec;
}

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: string;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | undefined;
  readonly biasRegularizer: Regularizer | undefined;
  /** Adds (l1·Σ|y| + l2·Σy²) / batch of the layer's output to the loss (tf.keras semantics). */
  readonly activityRegularizer: Regularizer | undefined;
  kernel: LayerWeight | undefined;
  bias: LayerWeight | undefined;

  constructor(args: DenseArgs) {
    super(args, 'dense');
    if (!Number.isSafeInteger(args.units) || args.units <= 0) {
      throw new RangeError(`layer "${this.name}": units must be a positive integer, got ${args.units}`);
    }
    this.units = args.units;
    this.activation = args.activation ?? 'linear';
    resolveActivation(this.activation); // unknown names fail here, with a suggestion
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = resolveInitializer(args.kernelInitializer ?? 'glorotUniform');
    this.biasInitializer = resolveInitializer(args.biasInitializer ?? 'zeros');
    this.kernelRegularizer = resolveRegularizer(args.kernelRegularizer);
    this.biasRegularizer = resolveRegularizer(args.biasRegularizer);
    this.activityRegularizer = resolveRegularizer(args.activityRegularizer);
  }

  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    const s = shapes[0] as readonly number[];
    if (s.length !== 1) {
      throw new RangeError(
        `layer "${this.name}" (Dense) needs a flat input [batch, features], got [batch, ${s.join(', ')}]; add a Flatten layer before it`,
      );
    }
  }

  protected override build(shapes: readonly (readonly number[])[]): void {
    const inF = (shapes[0] as readonly number[])[0] as number;
    this.kernel = this.addWeight(
      'kernel',
      [inF, this.units],
      this.kernelInitializer,
      true,
      this.kernelRegularizer,
    );
    if (this.useBias)
      this.bias = this.addWeight('bias', [this.units], this.biasInitializer, true, this.biasRegularizer);
  }

  protected override checkBuiltFor(shapes: readonly (readonly number[])[]): void {
    const inF = (shapes[0] as readonly number[])[0];
    const want = this.kernel?.shape[0];
    if (inF !== want) {
      throw new RangeError(
        `layer "${this.name}" was built for inputs of ${want} features and is now called on [batch, ${inF}]`,
      );
    }
  }

  outputShape(): number[] {
    return [this.units];
  }

  toGraph(g: Graph, xs: readonly Value[], params: ReadonlyMap<LayerWeight, Param>): Value {
    const kernel = param(this.kernel as LayerWeight, params);
    const bias = this.bias ? param(this.bias, params) : undefined;
    const y = ops.dense(g, this.name, xs[0] as Value, kernel, bias, resolveActivation(this.activation));
    const act = this.activityRegularizer;
    return act ? ops.activityRegularizer(g, this.name, y, { l1: act.l1, l2: act.l2 }) : y;
  }

  getConfig(): Record<string, unknown> {
    return {
      ...this.baseConfig(),
      units: this.units,
      activation: canonicalActivation(this.activation),
      use_bias: this.useBias,
      kernel_initializer: { class_name: this.kernelInitializer.name, config: this.kernelInitializer.config },
      bias_initializer: { class_name: this.biasInitializer.name, config: this.biasInitializer.config },
      kernel_regularizer: regularizerConfig(this.kernelRegularizer),
      bias_regularizer: regularizerConfig(this.biasRegularizer),
      activity_regularizer: regularizerConfig(this.activityRegularizer),
      kernel_constraint: null,
      bias_constraint: null,
    };
  }
}

function regularizerConfig(r: Regularizer | undefined): unknown {
  return r ? { class_name: r.className, config: r.config } : null;
}

/** The Keras snake_case name of an activation given in either style. */
export function canonicalActivation(name: string): string {
  const a = resolveActivation(name);
  return a.name;
}

// ---------------------------------------------------------------- shape-only layers

export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(args: LayerArgs = {}) {
    super(args, 'flatten');
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [(shapes[0] as readonly number[]).reduce((a, b) => a * b, 1)];
  }
  toGraph(_g: Graph, xs: readonly Value[]): Value {
    return xs[0] as Value; // [batch, features] already: a view
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), data_format: 'channels_last' };
  }
}

export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: string;
  constructor(args: LayerArgs & { activation: string }) {
    super(args, 'activation');
    this.activation = args.activation;
    resolveActivation(this.activation);
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    if (this.activation === 'softmax' && (shapes[0] as readonly number[]).length !== 1) {
      throw new RangeError(`layer "${this.name}": softmax needs a flat input; add a Flatten layer before it`);
    }
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    const a = resolveActivation(this.activation);
    return a.name === 'linear' ? (xs[0] as Value) : ops.activation(g, this.name, xs[0] as Value, a);
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), activation: canonicalActivation(this.activation) };
  }
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly seed: number;
  constructor(args: LayerArgs & { rate: number; seed?: number }) {
    super(args, 'dropout');
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new RangeError(`layer "${this.name}": dropout rate ${args.rate} must be in [0, 1)`);
    }
    this.rate = args.rate;
    this.seed = args.seed ?? randomSeed() >>> 0;
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    return ops.dropout(g, this.name, xs[0] as Value, this.rate, this.seed >>> 0);
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), rate: this.rate, noise_shape: null, seed: null };
  }
}

export interface BatchNormalizationArgs extends LayerArgs {
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerSpec;
  gammaInitializer?: InitializerSpec;
  movingMeanInitializer?: InitializerSpec;
  movingVarianceInitializer?: InitializerSpec;
}

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly inits: Record<'gamma' | 'beta' | 'movingMean' | 'movingVariance', Initializer>;
  gamma: LayerWeight | undefined;
  beta: LayerWeight | undefined;
  movingMean: LayerWeight | undefined;
  movingVariance: LayerWeight | undefined;

  constructor(args: BatchNormalizationArgs = {}) {
    super(args, 'batch_normalization');
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    if (!(this.momentum >= 0 && this.momentum <= 1) || !(this.epsilon > 0)) {
      throw new RangeError(
        `layer "${this.name}": momentum ${this.momentum} must be in [0, 1] and epsilon ${this.epsilon} > 0`,
      );
    }
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.inits = {
      gamma: resolveInitializer(args.gammaInitializer ?? 'ones'),
      beta: resolveInitializer(args.betaInitializer ?? 'zeros'),
      movingMean: resolveInitializer(args.movingMeanInitializer ?? 'zeros'),
      movingVariance: resolveInitializer(args.movingVarianceInitializer ?? 'ones'),
    };
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    if ((shapes[0] as readonly number[]).length !== 1) {
      throw new RangeError(
        `layer "${this.name}" (BatchNormalization) needs a flat input; add a Flatten layer before it`,
      );
    }
  }
  protected override build(shapes: readonly (readonly number[])[]): void {
    const f = (shapes[0] as readonly number[])[0] as number;
    // Keras's weight order: gamma, beta, moving_mean, moving_variance. Without scale/center
    // γ = 1 / β = 0 are constants for the kernel, not weights (as in Keras).
    this.gamma = this.scale
      ? this.addWeight('gamma', [f], this.inits.gamma, true)
      : this.addConstant('gamma', [f], 1);
    this.beta = this.center
      ? this.addWeight('beta', [f], this.inits.beta, true)
      : this.addConstant('beta', [f], 0);
    this.movingMean = this.addWeight('moving_mean', [f], this.inits.movingMean, false);
    this.movingVariance = this.addWeight('moving_variance', [f], this.inits.movingVariance, false);
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[], params: ReadonlyMap<LayerWeight, Param>): Value {
    const get = (w: LayerWeight | undefined): Param => param(w as LayerWeight, params);
    return ops.batchNorm(
      g,
      this.name,
      xs[0] as Value,
      {
        gamma: get(this.gamma),
        beta: get(this.beta),
        movingMean: get(this.movingMean),
        movingVariance: get(this.movingVariance),
      },
      { epsilon: this.epsilon, momentum: this.momentum },
    );
  }
  getConfig(): Record<string, unknown> {
    const ic = (i: Initializer): unknown => ({ class_name: i.name, config: i.config });
    return {
      ...this.baseConfig(),
      axis: -1,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      beta_initializer: ic(this.inits.beta),
      gamma_initializer: ic(this.inits.gamma),
      moving_mean_initializer: ic(this.inits.movingMean),
      moving_variance_initializer: ic(this.inits.movingVariance),
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  }
}

abstract class Merge extends Layer {
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    if (shapes.length < 2)
      throw new TypeError(`layer "${this.name}" needs at least 2 inputs, got ${shapes.length}`);
    for (const s of shapes) {
      if (s.length !== 1) {
        throw new RangeError(
          `layer "${this.name}": inputs must be flat [batch, features], got [batch, ${s.join(', ')}]`,
        );
      }
    }
  }
}

export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  constructor(args: LayerArgs = {}) {
    super(args, 'concatenate');
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [shapes.reduce((s, x) => s + (x[0] as number), 0)];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    return ops.concat(g, this.name, xs);
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), axis: -1 };
  }
}

export class Add extends Merge {
  readonly className = 'Add';
  constructor(args: LayerArgs = {}) {
    super(args, 'add');
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    const first = shapes[0] as readonly number[];
    for (const s of shapes) {
      if (s[0] !== first[0]) {
        throw new RangeError(
          `layer "${this.name}": add needs equal shapes, got [batch, ${first[0]}] and [batch, ${s[0]}]`,
        );
      }
    }
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    return ops.add(g, this.name, xs);
  }
  getConfig(): Record<string, unknown> {
    return this.baseConfig();
  }
}

/** The layer factories: `layers.dense({ units: 10 })`. */
export const layers = {
  dense: (args: DenseArgs): Dense => new Dense(args),
  flatten: (args: LayerArgs = {}): Flatten => new Flatten(args),
  activation: (args: LayerArgs & { activation: string }): Activation => new Activation(args),
  dropout: (args: LayerArgs & { rate: number; seed?: number }): Dropout => new Dropout(args),
  batchNormalization: (args: BatchNormalizationArgs = {}): BatchNormalization => new BatchNormalization(args),
  concatenate: (args: LayerArgs = {}): Concatenate => new Concatenate(args),
  add: (args: LayerArgs = {}): Add => new Add(args),
  inputLayer: (args: { inputShape: number[]; name?: string }): InputLayer =>
    new InputLayer({ shape: args.inputShape, ...(args.name ? { name: args.name } : {}) }),
};
