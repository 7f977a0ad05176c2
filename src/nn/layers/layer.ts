/**
 * The base of the Keras layers (tfjs-layers names), the symbolic tensors models are defined
 * with, and the input layer. Each layer holds its weights on the host until a model is
 * compiled, adds its ops to the graph IR (toGraph) when the model is built, describes itself
 * as Keras JSON (getConfig) and is rebuilt from it (a static fromConfig beside getConfig,
 * found through the registry in ./index.ts).
 *
 * Values are [batch, features] on the GPU; a layer's per-sample shape (e.g. [28, 28] before
 * Flatten) is tracked here only for summaries and checks.
 */
import { currentEngine } from '../../gpu/init.js';
import type { Graph, Param, Value } from '../../graph/ir.js';
import { randomSeed } from '../../util/random.js';
import type { Initializer } from '../initializers.js';
import { resolveActivation } from '../names.js';
import type { Regularizer } from '../regularizers.js';
import { batchShape } from './config.js';

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
   * The model copy whose GPU values are newer than the host copy (it trained the weight
   * since), if any: a model sharing the layer first pulls the values from it.
   */
  owner?: WeightOwner;
}

/** A GPU copy of weights that can bring the values it trained back to the host. */
export interface WeightOwner {
  pullWeights(): Promise<void>;
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
    const name = `${this.name}/${suffix}`;
    const w: LayerWeight = {
      name,
      shape,
      // Initializers without a seed of their own get a fresh one per weight, as Keras draws.
      values: initialValues(this.name, name, shape, () => init.init(shape, randomSeed())),
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

/** "40,000,000,000 bytes (37.3 GiB)". */
function bytesText(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return `${bytes.toLocaleString('en-US')} bytes (${mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(1)} MiB`})`;
}

/** The current engine's buffer limits, if there is a usable engine. */
function deviceLimits(): { maxBuffer: number; maxBinding: number; adapter: string } | undefined {
  try {
    const e = currentEngine();
    return {
      maxBuffer: e.limits.maxBufferSize,
      maxBinding: e.limits.maxStorageBufferBindingSize,
      adapter: e.adapter.name,
    };
  } catch {
    return undefined; // no engine yet: layers can be defined before initEngine()
  }
}

/**
 * A weight's initial values from `make`, after checking its size: a weight no GPU buffer of
 * the current device could hold (over maxBufferSize), or one the host cannot allocate, is
 * refused with a RangeError naming the layer, the weight's bytes and the device's limits.
 */
function initialValues(
  layer: string,
  name: string,
  shape: readonly number[],
  make: () => Float32Array,
): Float32Array {
  const bytes = shape.reduce((a, b) => a * b, 1) * 4;
  const device = deviceLimits();
  const refuse = (why: string, cause?: unknown): RangeError =>
    new RangeError(
      `layer "${layer}": the weight "${name}" [${shape.join(', ')}] needs ${bytesText(bytes)} as float32, ${why}. ` +
        `A model's trainable weights share one GPU storage buffer of at most maxStorageBufferBindingSize` +
        (device ? ` (${bytesText(device.maxBinding)} on "${device.adapter}")` : ' (engine.limits)') +
        ': use a smaller layer (fewer units, or a smaller input to it).',
      cause === undefined ? undefined : { cause },
    );
  if (device && bytes > device.maxBuffer)
    throw refuse(`over this device's maxBufferSize of ${bytesText(device.maxBuffer)}`);
  try {
    return make();
  } catch (e) {
    // The engines' words for an array too long or an allocation that failed (V8: "Invalid
    // typed array length", "Array buffer allocation failed"); an initializer's own
    // RangeErrors (a bad seed) pass unchanged.
    if (e instanceof RangeError && /array|allocat|memory/i.test(e.message))
      throw refuse(`more than one host array can hold (${e.message})`, e);
    throw e;
  }
}

/** The graph parameter standing for a layer weight while a model is built. */
export function param(w: LayerWeight, params: ReadonlyMap<LayerWeight, Param>): Param {
  const p = params.get(w);
  if (!p) throw new Error(`internal: weight "${w.name}" has no graph parameter`);
  return p;
}

/** A regularizer as Keras serializes it, or null. */
export function regularizerConfig(r: Regularizer | undefined): unknown {
  return r ? { class_name: r.className, config: r.config } : null;
}

/** An initializer as Keras serializes it. */
export function initializerConfig(i: Initializer): unknown {
  return { class_name: i.name, config: i.config };
}

/** The Keras snake_case name of an activation given in either style. */
export function canonicalActivation(name: string): string {
  return resolveActivation(name).name;
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
  /** The input layer of a saved config: its name and batch_input_shape (Keras 3: batch_shape). */
  static fromConfig(config: Record<string, unknown>, name: string): InputLayer {
    return new InputLayer({ shape: batchShape(config, 'InputLayer') as number[], name });
  }
  /** The layer's one output: the model input it stands for. */
  output(): SymbolicTensor {
    let t = this.nodes[0]?.output;
    if (!t) {
      t = new SymbolicTensor(this.shape, this, 0);
      this.nodes.push({ inputs: [], output: t });
    }
    return t;
  }
}

/** A model input: `input({ shape: [784] })`. */
export function input(args: { shape: number[]; name?: string }): SymbolicTensor {
  return new InputLayer(args).output();
}
