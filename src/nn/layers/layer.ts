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
import { readOptions, type Spelled } from '../../util/options.js';
import { checkDtype, resolveInputShape, withPositional, type LayerArgs, type NotSupported } from './args.js';
import { batchShape } from './config.js';

export type { LayerArgs } from './args.js';

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

const counters = new Map<string, number>();

/**
 * Restarts the automatic layer names, as Keras's `keras.backend.clear_session()` does: the
 * next Dense is `dense` again, then `dense_1`, ... Layers and models made before keep their
 * names (two models may then both have a `dense`; names are unique within a model as long as
 * its layers were made after the same call). Nothing else is reset: GPU engines, models and
 * their weights are untouched.
 */
export function clearSession(): void {
  counters.clear();
}

/** Keras-style unique layer names: dense, dense_1, dense_2, ... (since the last clearSession). */
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

  /**
   * `args` as the subclass read them (readLayerArgs: camelCase, unknown keys refused); the
   * input shape may come as inputShape, batchInputShape or inputDim.
   */
  constructor(args: LayerArgs, base: string) {
    this.name = args.name ?? uniqueName(base);
    this.trainable = args.trainable ?? true;
    this.inputShape = resolveInputShape(`layer "${this.name}"`, args);
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
    const out = new SymbolicTensor(this.computeOutputShape(xs.map((x) => x.shape)), this, this.nodes.length);
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

  /** The per-sample output shape for per-sample input shapes (tfjs's computeOutputShape). */
  abstract computeOutputShape(shapes: readonly (readonly number[])[]): number[];

  /**
   * Keras's `layer.output_shape`: [null, ...per-sample shape] of the layer's output (e.g.
   * [null, 300]). An Error before the layer is built (called on an input), as in Keras.
   */
  get outputShape(): (number | null)[] {
    const out = this.nodes[0]?.output;
    if (!out) {
      throw new Error(
        `layer "${this.name}" has never been called and thus has no defined output shape; ` +
          'add it to a model with an input shape (or call apply()) first',
      );
    }
    return [null, ...out.shape];
  }

  /**
   * Keras's `layer.output`: the symbolic tensor of the layer's call in a model, e.g. to build
   * a model of another's inner outputs, `model({ inputs: m.inputs, outputs:
   * m.layers.map((l) => l.output) })`, which shares its weights. An Error for a layer never
   * called, or called more than once (as Keras: which call would it be?).
   */
  get output(): SymbolicTensor {
    return this.onlyNode('output').output;
  }

  /** Keras's `layer.input`: the symbolic tensor(s) of the layer's call (one, or a list for merges). */
  get input(): SymbolicTensor | SymbolicTensor[] {
    const inputs = this.onlyNode('input').inputs;
    return inputs.length === 1 && inputs[0] ? inputs[0] : [...inputs];
  }

  private onlyNode(what: 'input' | 'output'): LayerNode {
    const [node, ...more] = this.nodes;
    if (!node) {
      throw new Error(
        `layer "${this.name}" has never been called, so it has no ${what}; add it to a model with an ` +
          'input shape (or call apply()) first',
      );
    }
    if (more.length > 0) {
      throw new Error(
        `layer "${this.name}" has been called ${this.nodes.length} times, so it has ${this.nodes.length} ` +
          `${what}s; take the one you mean from the symbolic tensor apply() returned`,
      );
    }
    return node;
  }

  /** Whether the layer has its weights (it was called on an input). */
  get isBuilt(): boolean {
    return this.built;
  }

  /** Adds the layer's ops to `g`; `params` maps this model's weights to graph parameters. */
  abstract toGraph(g: Graph, xs: readonly Value[], params: ReadonlyMap<LayerWeight, Param>): Value;

  /** Keras config (snake_case keys, as Keras and tfjs-layers serialize them). */
  abstract getConfig(): Record<string, unknown>;

  /** The number of values in the layer's weights (trainable or not), as Keras counts them. */
  countParams(): number {
    return this.weights.reduce((s, w) => s + w.values.length, 0);
  }

  /**
   * Keras's `layer.get_weights()`: the layer's weights in Keras order (Dense: kernel
   * [in, units], bias [units]) with the values the model has now, read back from the GPU
   * copy of whichever model trained them (the WeightOwner of each weight), as
   * model.getWeights() does. Copies: changing them changes nothing.
   */
  async getWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]> {
    const owners = new Set<WeightOwner>();
    for (const w of this.weights) if (w.owner) owners.add(w.owner);
    for (const o of owners) await o.pullWeights();
    return this.weights.map((w) => ({ name: w.name, shape: [...w.shape], data: w.values.slice() }));
  }

  /**
   * Keras's `layer.set_weights(values)`: values in getWeights() order, as arrays or
   * { data, shape? }. Counts, lengths, shapes (when given) and finiteness are checked for all
   * before any is set. The host copies become the newest for every model using the layer: a
   * model uploads them to its GPU copy before it next runs (fit, evaluate, predict).
   */
  async setWeights(
    values: readonly (ArrayLike<number> | { data: ArrayLike<number>; shape?: readonly number[] })[],
  ): Promise<void> {
    const what = `layer "${this.name}": setWeights`;
    if (!Array.isArray(values)) throw new TypeError(`${what}: values must be a list, one per weight`);
    const ws = this.weights;
    if (values.length !== ws.length) {
      throw new RangeError(
        `${what}: the layer has ${ws.length} weights (${ws.map((w) => `${w.name} [${w.shape.join(', ')}]`).join(', ') || 'none: it is not built or has no weights'}), got ${values.length}`,
      );
    }
    const data = ws.map((w, i) => weightData(what, w, values[i]));
    ws.forEach((w, i) => {
      w.values.set(data[i] as ArrayLike<number>);
      // The host copy is now the newest, for every model sharing the layer (as the model's
      // setWeights marks it): a model re-uploads a weight whose version moved.
      w.version++;
      w.owner = undefined;
    });
    await Promise.resolve();
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

/** One setWeights value checked against its weight: length, shape if given, finite. */
function weightData(what: string, w: LayerWeight, v: unknown): ArrayLike<number> {
  const isData = typeof v === 'object' && v !== null && 'data' in v && !ArrayBuffer.isView(v);
  const given: unknown = isData ? v.data : v;
  if (
    typeof given !== 'object' ||
    given === null ||
    !('length' in given) ||
    typeof given.length !== 'number'
  ) {
    throw new TypeError(`${what}: "${w.name}" needs an array of numbers, got ${String(given)}`);
  }
  const data = given as ArrayLike<number>;
  const shape = isData && 'shape' in v ? v.shape : undefined;
  if (shape !== undefined && JSON.stringify(shape) !== JSON.stringify(w.shape)) {
    throw new RangeError(
      `${what}: "${w.name}" has shape [${w.shape.join(', ')}], got values of shape ${JSON.stringify(shape)}`,
    );
  }
  if (data.length !== w.values.length) {
    throw new RangeError(
      `${what}: "${w.name}" [${w.shape.join(', ')}] needs ${w.values.length} values, got ${data.length}`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(
        `${what}: weight "${w.name}" has ${String(data[i])} at index ${i} (of ${data.length} values); ` +
          'weights must be finite. Nothing was changed.',
      );
    }
  }
  return data;
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

/** InputLayer's options: Keras 3's shape / batch_shape, Keras 2's input_shape / batch_input_shape. */
export interface InputLayerArgs {
  shape?: readonly number[];
  inputShape?: readonly number[];
  batchShape?: readonly (number | null)[];
  batchInputShape?: readonly (number | null)[];
  name?: string;
  dtype?: 'float32';
}

const INPUT_KEYS: Readonly<Record<keyof InputLayerArgs, true>> = {
  shape: true,
  inputShape: true,
  batchShape: true,
  batchInputShape: true,
  name: true,
  dtype: true,
};

/** InputLayer / input() options Keras has and this library does not. */
const INPUT_NOT_SUPPORTED: Readonly<Record<string, NotSupported>> = {
  batchSize: { hint: 'models here take any batch size; give the batch size to fit()' },
  sparse: { ok: [false] },
  ragged: { ok: [false] },
  optional: { ok: [false] },
  inputTensor: {},
  tensor: {},
};

/** The per-sample shape of InputLayer / input() options, read in either spelling. */
function readInputShape(what: string, given: unknown): { shape: number[]; name?: string } {
  const valid = [...Object.keys(INPUT_KEYS), ...Object.keys(INPUT_NOT_SUPPORTED)];
  const o = readOptions<Record<string, unknown>>(what, given, valid);
  for (const [key, rule] of Object.entries(INPUT_NOT_SUPPORTED)) {
    const v = o[key];
    if (v === undefined || v === null || (rule.ok ?? []).includes(v)) continue;
    throw new TypeError(
      `${what}: option '${key}' (${JSON.stringify(v)}) is not supported by this library` +
        (rule.hint ? `; ${rule.hint}` : ''),
    );
  }
  checkDtype(what, o.dtype);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) {
    throw new TypeError(`${what}: name must be a non-empty string, got ${JSON.stringify(o.name)}`);
  }
  // shape and inputShape are the same thing here (Keras 3 renamed it); so are the batch forms.
  if (
    o.shape !== undefined &&
    o.inputShape !== undefined &&
    JSON.stringify(o.shape) !== JSON.stringify(o.inputShape)
  ) {
    throw new RangeError(
      `${what}: shape and inputShape disagree (${JSON.stringify(o.shape)} and ${JSON.stringify(o.inputShape)}); give one of them`,
    );
  }
  if (o.batchShape !== undefined && o.batchInputShape !== undefined) {
    throw new RangeError(`${what}: batchShape and batchInputShape are the same option; give one of them`);
  }
  const shape = resolveInputShape(
    what,
    { inputShape: o.shape ?? o.inputShape, batchInputShape: o.batchShape ?? o.batchInputShape },
    {
      inputShape: o.shape !== undefined ? 'shape' : 'inputShape',
      batchInputShape: o.batchShape !== undefined ? 'batchShape' : 'batchInputShape',
    },
  );
  if (!shape) throw new TypeError(`${what}: needs a shape (e.g. { shape: [784] })`);
  return { shape, ...(typeof o.name === 'string' ? { name: o.name } : {}) };
}

export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  readonly shape: number[];
  /** { shape } (Keras 3), { inputShape } (Keras 2, tfjs) or the batch forms [null, ...]. */
  constructor(args: Spelled<InputLayerArgs>) {
    const { shape, name } = readInputShape('layers.inputLayer', args);
    super({ name: name ?? uniqueName('input') }, 'input');
    this.shape = shape;
    this.built = true;
  }
  computeOutputShape(): number[] {
    return this.shape;
  }
  override get outputShape(): (number | null)[] {
    return [null, ...this.shape];
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
  /** Keras's InputLayer.input: the same tensor as its output. */
  override get input(): SymbolicTensor {
    return this.output;
  }
  /** The layer's one output: the model input it stands for (made on first use). */
  override get output(): SymbolicTensor {
    let t = this.nodes[0]?.output;
    if (!t) {
      t = new SymbolicTensor(this.shape, this, 0);
      this.nodes.push({ inputs: [], output: t });
    }
    return t;
  }
}

/**
 * A model input: `input({ shape: [784] })`, or Keras's positional shape `input([784])`,
 * `input([5], { name: 'wide_input' })`.
 */
export function input(
  shapeOrArgs: readonly number[] | Spelled<InputLayerArgs>,
  args?: Spelled<Omit<InputLayerArgs, 'shape'>>,
): SymbolicTensor {
  const options = Array.isArray(shapeOrArgs)
    ? withPositional('input', 'shape', shapeOrArgs, args)
    : shapeOrArgs;
  if (!Array.isArray(shapeOrArgs) && args !== undefined) {
    throw new TypeError('input: give the options once: input({ shape, name }) or input(shape, { name })');
  }
  const { shape, name } = readInputShape('input', options);
  return new InputLayer({ shape, ...(name ? { name } : {}) }).output;
}
