/**
 * torch.nn for the PyTorch-style front-end: Module (subclass it and write forward), its
 * containers and layers, and the losses, with PyTorch 1.13's defaults and numerics.
 *
 *   class CustomNet extends nn.Module {
 *     layer1 = new nn.Linear(64, 128);
 *     layer2 = new nn.Linear(128, 10);
 *     forward(x: Tensor) {
 *       x = new nn.ReLU()(this.layer1(x));
 *       return new nn.Softmax(1)(this.layer2(x));
 *     }
 *   }
 *   const model = new CustomNet();
 *   const out = model(x);              // modules are callable, as in PyTorch
 *
 * Parameters are found from the module's own fields, in the order they were assigned:
 * a field holding a Parameter is a parameter, one holding a Module a submodule, so names
 * match PyTorch's state_dict ('layer1.weight', or '0.weight' in a Sequential).
 */
import type { Engine } from '../gpu/engine.js';
import { BufferSlice } from '../gpu/resources.js';
import { formatShape, sizeOf } from '../kernels/shape.js';
import type { TorchReduction, TorchLossKind } from '../kernels/torch-losses.js';
import { TORCH_IGNORE_INDEX, TORCH_REDUCTIONS } from '../kernels/torch-losses.js';
import { readOptions, type Spelled } from '../util/options.js';
import { batchNormDef, dropoutDef, linearDef, lossDef } from './defs.js';
import {
  apply,
  copyBinding,
  currentDropoutSeed,
  currentSeedEpoch,
  defaultEngine,
  dropoutStep,
  fromValues,
  hostRng,
  nextDropoutStream,
  Parameter,
  Tensor,
  tracerOf,
  type TensorLike,
} from './tensor.js';

/** Modules are callable: model(x) runs model.forward(x). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the constructor returns a callable module
export interface Module {
  (...inputs: Tensor[]): Tensor;
}

/** The base class of every layer and model (torch.nn.Module). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Module {
  /** Training mode (dropout active, batch statistics); eval() clears it. */
  declare training: boolean;

  constructor() {
    const self = ((...inputs: Tensor[]) => self.forward(...inputs)) as unknown as Module;
    // A function object, so that model(x) works; its own name and length would shadow fields.
    delete (self as unknown as { name?: string }).name;
    delete (self as unknown as { length?: number }).length;
    Object.setPrototypeOf(self, new.target.prototype);
    // This class's own fields would land on the object the constructor replaces: set here.
    // (Subclasses' fields are defined on the returned function, after this returns.)
    self.training = true;
    return self;
  }

  /** What the module computes; subclasses define it. */
  forward(..._inputs: Tensor[]): Tensor {
    throw new Error(`Module [${this.constructor.name}] is missing the required "forward" function`);
  }

  /** The submodules, by field name, in assignment order. */
  namedChildren(): [string, Module][] {
    return Object.entries(this).filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** Every parameter with its dotted name ('layer1.weight'), each once. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const walk = (m: Module, p: string) => {
      for (const [k, v] of Object.entries(m)) {
        if (v instanceof Parameter) {
          if (!seen.has(v)) out.push([`${p}${k}`, v]);
          seen.add(v);
        } else if (v instanceof Module) {
          walk(v, `${p}${k}.`);
        }
      }
    };
    walk(this, prefix);
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** State that is not a parameter (batch-norm running statistics), by dotted name. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) out.push(...v.namedBuffers(`${prefix}${k}.`));
    }
    for (const [k, t] of Object.entries(this.buffers())) out.push([`${prefix}${k}`, t]);
    return out;
  }

  /** This module's own buffers (subclasses with running state override it). */
  protected buffers(): Record<string, Tensor> {
    return {};
  }

  /** Sets training mode here and in every submodule; returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }

  /** Evaluation mode (dropout off, running statistics); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Everything lives on the GPU already: to('cuda'), cuda() and cpu() return the module. */
  to(_device?: unknown): this {
    return this;
  }

  /** Parameters and buffers by name, as tensors sharing the module's storage. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, p] of this.namedParameters()) out[k] = p.detach();
    for (const [k, b] of this.namedBuffers()) out[k] = b.detach();
    return out;
  }

  /**
   * Copies values into the parameters and buffers (strict: every key present, none extra,
   * shapes equal; PyTorch's messages). Values may be tensors, nested arrays or typed arrays.
   */
  loadStateDict(state: Readonly<Record<string, Tensor | TensorLike>>): void {
    const targets = new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()]);
    const missing = [...targets.keys()].filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !targets.has(k));
    const errors: string[] = [];
    if (missing.length)
      errors.push(`Missing key(s) in state_dict: ${missing.map((k) => `"${k}"`).join(', ')}.`);
    if (unexpected.length)
      errors.push(`Unexpected key(s) in state_dict: ${unexpected.map((k) => `"${k}"`).join(', ')}.`);
    const values = new Map<Tensor, Tensor | Float32Array>();
    for (const [k, target] of targets) {
      const v = state[k];
      if (v === undefined) continue;
      const { shape, data } = valuesOf(v, target.shape);
      if (shape.length !== target.shape.length || shape.some((d, i) => d !== target.shape[i])) {
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${formatShape(shape)} from checkpoint, ` +
            `the shape in current model is ${formatShape(target.shape)}.`,
        );
        continue;
      }
      values.set(target, data);
    }
    if (errors.length) {
      throw new Error(
        `Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`,
      );
    }
    tracerOf(engineOf(this)).flush();
    for (const [target, data] of values) writeInto(target, data);
  }

  /** The module's layers, one per line, as PyTorch prints them. */
  toString(): string {
    const kids = this.namedChildren();
    if (kids.length === 0) return `${this.constructor.name}(${this.extraRepr()})`;
    const lines = kids.map(([k, m]) => `  (${k}): ${m.toString().split('\n').join('\n  ')}`);
    return `${this.constructor.name}(\n${lines.join('\n')}\n)`;
  }

  /** The arguments shown by toString(). */
  extraRepr(): string {
    return '';
  }

  /** console.log(model) in Node prints the module's layers, as PyTorch's print(model). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function engineOf(m: Module): Engine {
  return m.parameters()[0]?.engine ?? defaultEngine();
}

function valuesOf(
  v: Tensor | TensorLike,
  like: readonly number[],
): { shape: readonly number[]; data: Tensor | Float32Array } {
  if (v instanceof Tensor) return { shape: v.shape, data: v };
  if (ArrayBuffer.isView(v)) {
    return { shape: v.length === sizeOf(like) ? like : [v.length], data: Float32Array.from(v) };
  }
  if (typeof v === 'number') return { shape: [], data: new Float32Array([v]) };
  const shape: number[] = [];
  let level: unknown = v;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return { shape, data: Float32Array.from((v as unknown[]).flat(Infinity) as number[]) };
}

/** Overwrites a tensor's values (its storage may be a slice of an optimizer's arena). */
function writeInto(target: Tensor, data: Tensor | Float32Array): void {
  const buf = target.storage.buf;
  if (data instanceof Tensor) {
    copyBinding(target.engine, data.storage.buf, buf, target.elements * 4);
    return;
  }
  const [buffer, offset] = buf instanceof BufferSlice ? [buf.buffer, buf.offset] : [buf, 0];
  target.engine.writeBuffer(buffer, offset, data);
}

// ---------------------------------------------------------------- containers

/** Modules applied in order (torch.nn.Sequential); children named '0', '1', ... */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module`);
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
  }

  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) y = m(y);
    return y;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const kids = this.children();
    const m = kids[i < 0 ? i + kids.length : i];
    if (!m) throw new RangeError(`index ${i} is out of range`);
    return m;
  }

  override get length(): number {
    return this.children().length;
  }
}

// ---------------------------------------------------------------- layers

/** U(−bound, bound) values of a shape, from the front-end's seeded generator. */
function uniform(shape: readonly number[], bound: number): Parameter {
  const rng = hostRng();
  const data = Float32Array.from({ length: sizeOf(shape) }, () => (rng.next() * 2 - 1) * bound);
  return new Parameter(fromValues(data, shape, 'float32'));
}

function checkFeatures(what: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new TypeError(`${what}: ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
}

/**
 * y = x·Wᵀ + b, W [outFeatures, inFeatures]. PyTorch's initialisation: W by
 * kaiming_uniform_(a=√5), which is U(±1/√in), and b by U(±1/√in).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  /** Linear(64, 128), or with PyTorch's keywords: Linear({ in_features: 64, out_features: 128 }). */
  constructor(inFeatures: number | Spelled<LinearOptions>, outFeatures?: number, bias = true) {
    super();
    const o: Partial<LinearOptions> =
      typeof inFeatures === 'object'
        ? readOptions<Partial<LinearOptions>>('Linear', inFeatures, ['inFeatures', 'outFeatures', 'bias'])
        : { inFeatures, outFeatures, bias };
    this.inFeatures = checkFeatures('Linear', 'in_features', o.inFeatures);
    this.outFeatures = checkFeatures('Linear', 'out_features', o.outFeatures);
    const bound = 1 / Math.sqrt(this.inFeatures);
    this.weight = uniform([this.outFeatures, this.inFeatures], bound);
    this.bias = (o.bias ?? true) ? uniform([this.outFeatures], bound) : null;
  }

  override forward(x: Tensor): Tensor {
    const input = x.shape.length === 1 ? x.reshape(1, -1) : x;
    if (input.shape.length !== 2) {
      throw new RangeError(
        `Linear(${this.inFeatures}, ${this.outFeatures}): expected an input [batch, ${this.inFeatures}] ` +
          `(or [${this.inFeatures}]), got ${formatShape(x.shape)}; more dimensions are not supported here (flatten() them)`,
      );
    }
    if (input.shape[1] !== this.inFeatures) {
      throw new RangeError(
        `mat1 and mat2 shapes cannot be multiplied (${input.shape[0]}x${input.shape[1]} and ${this.inFeatures}x${this.outFeatures})`,
      );
    }
    if (input.dtype !== 'float32')
      throw new TypeError(`Linear: expected a float32 input, got ${input.describe()}`);
    const rows = input.shape[0] as number;
    const def = linearDef(rows, this.inFeatures, this.outFeatures, this.bias !== null);
    const y = apply(def, this.bias ? [input, this.weight, this.bias] : [input, this.weight]);
    return x.shape.length === 1 ? y.reshape(this.outFeatures) : y;
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

function dimOf(what: string, dim: number | { dim: number }): number {
  const d = typeof dim === 'number' ? dim : readOptions<Partial<{ dim: number }>>(what, dim, ['dim']).dim;
  if (typeof d !== 'number' || !Number.isInteger(d))
    throw new TypeError(`${what}: dim must be an integer, got ${String(d)}`);
  return d;
}

/** Softmax along dim (the last dimension: 1 for [batch, classes]). */
export class Softmax extends Module {
  readonly dim: number;

  /** Softmax(1), or Softmax({ dim: 1 }) as PyTorch's keyword. */
  constructor(dim: number | { dim: number } = -1) {
    super();
    this.dim = dimOf('Softmax', dim);
  }

  override forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  readonly dim: number;

  /** LogSoftmax(1), or LogSoftmax({ dim: 1 }) as PyTorch's keyword. */
  constructor(dim: number | { dim: number } = -1) {
    super();
    this.dim = dimOf('LogSoftmax', dim);
  }

  override forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** Merges dimensions startDim..endDim (default 1..−1: [batch, ...] → [batch, features]). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/**
 * Zeroes each element with probability p in training mode and scales the rest by
 * 1/(1 − p); the identity in eval mode. Masks come from a counter-based generator (seeded by
 * manualSeed), so they differ from PyTorch's draws but not in distribution.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
      throw new RangeError(
        `dropout probability has to be between 0 and 1 (1 excluded here), but got ${String(p)}`,
      );
    }
  }

  override forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const stream = nextDropoutStream();
    return apply(
      dropoutDef(x.shape, this.p, currentDropoutSeed(), stream, dropoutStep(x.engine), currentSeedEpoch()),
      [x],
    );
  }

  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}

/**
 * Batch normalisation over [batch, features] (nn.BatchNorm1d): weight γ = 1, bias β = 0;
 * running_mean and running_var updated with PyTorch's momentum (default 0.1) in training
 * and used in eval mode. eps defaults to 1e-5. As in PyTorch, the batch is normalised with
 * its biased variance and running_var is updated with the unbiased one.
 */
export class BatchNorm1d extends Module {
  weight: Parameter;
  bias: Parameter;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    options: { eps?: number; momentum?: number } = {},
  ) {
    super();
    checkFeatures('BatchNorm1d', 'num_features', numFeatures);
    const o = readOptions<Partial<{ eps: unknown; momentum: unknown }>>('BatchNorm1d', options, [
      'eps',
      'momentum',
    ]);
    if (o.momentum === null) {
      throw new RangeError(
        'BatchNorm1d: momentum=None (a cumulative moving average) is not supported; give a momentum in [0, 1]',
      );
    }
    const eps = o.eps ?? 1e-5;
    const momentum = o.momentum ?? 0.1;
    if (typeof eps !== 'number' || !(eps > 0))
      throw new RangeError(`BatchNorm1d: eps must be > 0, got ${String(eps)}`);
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
      throw new RangeError(`BatchNorm1d: momentum must be in [0, 1], got ${String(momentum)}`);
    }
    this.eps = eps;
    this.momentum = momentum;
    const n = [numFeatures];
    this.weight = new Parameter(fromValues(new Float32Array(numFeatures).fill(1), n, 'float32'));
    this.bias = new Parameter(fromValues(new Float32Array(numFeatures), n, 'float32'));
    this.runningMean = fromValues(new Float32Array(numFeatures), n, 'float32');
    this.runningVar = fromValues(new Float32Array(numFeatures).fill(1), n, 'float32');
  }

  protected override buffers(): Record<string, Tensor> {
    return { running_mean: this.runningMean, running_var: this.runningVar };
  }

  override forward(x: Tensor): Tensor {
    if (x.shape.length !== 2 || x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `BatchNorm1d(${this.numFeatures}): expected input of shape [batch, ${this.numFeatures}], got ${formatShape(x.shape)}`,
      );
    }
    const rows = x.shape[0] as number;
    if (this.training && rows < 2) {
      throw new RangeError(
        `Expected more than 1 value per channel when training, got input size ${formatShape(x.shape)}`,
      );
    }
    const def = batchNormDef(rows, this.numFeatures, this.eps, this.momentum, this.training);
    return apply(def, [x, this.weight, this.bias, this.runningMean, this.runningVar]);
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=True, track_running_stats=True`;
  }
}

// ---------------------------------------------------------------- losses

interface LossOptions {
  reduction: TorchReduction;
  weight: Tensor;
  ignoreIndex: number;
}

function readLossOptions(
  what: string,
  given: unknown,
  keys: readonly (keyof LossOptions)[],
): Partial<LossOptions> {
  const o = readOptions<Partial<Record<keyof LossOptions, unknown>>>(what, given, keys);
  const r = o.reduction;
  if (r !== undefined && !(TORCH_REDUCTIONS as readonly unknown[]).includes(r)) {
    throw new RangeError(
      `${what}: ${String(r)} is not a valid value for reduction (${TORCH_REDUCTIONS.join(', ')})`,
    );
  }
  if (o.weight !== undefined && !(o.weight instanceof Tensor))
    throw new TypeError(`${what}: weight must be a Tensor`);
  if (o.ignoreIndex !== undefined && !Number.isInteger(o.ignoreIndex)) {
    throw new TypeError(`${what}: ignore_index must be an integer, got ${String(o.ignoreIndex)}`);
  }
  return o as Partial<LossOptions>;
}

/** A loss module: forward(input, target) → the loss. */
abstract class Loss extends Module {
  readonly reduction: TorchReduction;

  constructor(
    protected readonly kind: TorchLossKind,
    what: string,
    options: unknown,
    keys: readonly (keyof LossOptions)[],
  ) {
    super();
    this.options = readLossOptions(what, options, keys);
    this.reduction = this.options.reduction ?? 'mean';
  }

  protected readonly options: Partial<LossOptions>;

  override forward(input: Tensor, target: Tensor): Tensor {
    return loss(this.constructor.name, this.kind, input, target, this.reduction, this.options);
  }

  override extraRepr(): string {
    return '';
  }
}

/** The loss op: shapes and dtypes checked with PyTorch's messages. */
export function loss(
  what: string,
  kind: TorchLossKind,
  input: Tensor,
  target: Tensor,
  reduction: TorchReduction,
  options: Partial<LossOptions> = {},
): Tensor {
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) {
    throw new TypeError(`${what}: input and target must be Tensors`);
  }
  if (input.dtype !== 'float32')
    throw new TypeError(`${what}: the input must be float32, got ${input.describe()}`);
  const classes = kind === 'torch_cross_entropy' || kind === 'torch_nll';
  let rows: number;
  let cols: number;
  if (classes) {
    if (input.shape.length !== 2)
      throw new RangeError(`${what}: expected input [batch, classes], got ${formatShape(input.shape)}`);
    [rows, cols] = input.shape as [number, number];
    if (target.dtype !== 'int32' || target.shape.length !== 1 || target.shape[0] !== rows) {
      throw new RangeError(
        `${what}: expected a target of class indices, int64/int32 of shape [${rows}], got ${target.describe()}` +
          (target.dtype === 'float32' ? " (make it with { dtype: 'long' })" : ''),
      );
    }
    const w = options.weight;
    if (w && (w.shape.length !== 1 || w.shape[0] !== cols)) {
      throw new RangeError(
        `${what}: weight tensor should be defined either for all ${cols} classes or no classes but got weight tensor of shape: ${formatShape(w.shape)}`,
      );
    }
  } else {
    if (target.dtype !== 'float32')
      throw new TypeError(`${what}: the target must be float32, got ${target.describe()}`);
    if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
      throw new RangeError(
        `${what}: Using a target size (${formatShape(target.shape)}) that is different to the input size ` +
          `(${formatShape(input.shape)}) is not supported here; the shapes must be equal`,
      );
    }
    const d = input.shape;
    cols = d.length === 0 ? 1 : (d[d.length - 1] as number);
    rows = cols === 0 ? 0 : input.elements / cols;
  }
  if (rows === 0) throw new RangeError(`${what}: the input is empty (${formatShape(input.shape)})`);
  if (target.requiresGrad && kind !== 'torch_mse' && kind !== 'torch_l1') {
    throw new Error(`${what}: the derivative for 'target' is not implemented (detach() the target)`);
  }
  const ignore = classes ? (options.ignoreIndex ?? TORCH_IGNORE_INDEX) : undefined;
  const def = lossDef(kind, rows, cols, reduction, ignore, options.weight !== undefined);
  const flat = classes ? input : input.reshape(rows, cols);
  const tgt = classes ? target : target.reshape(rows, cols);
  const out = apply(def, options.weight ? [flat, tgt, options.weight] : [flat, tgt]);
  return reduction === 'none' && !classes ? out.reshape(...input.shape) : out;
}

/** A loss's options, in camelCase or PyTorch's snake_case (ignore_index). */
type Options<K extends keyof LossOptions> = Spelled<Partial<Pick<LossOptions, K>>>;

/** Binary cross-entropy on probabilities (the log clamped at −100, as PyTorch). */
export class BCELoss extends Loss {
  constructor(options: Options<'reduction'> = {}) {
    super('torch_bce', 'BCELoss', options, ['reduction']);
  }
}

/** Binary cross-entropy on logits (sigmoid inside, stable). */
export class BCEWithLogitsLoss extends Loss {
  constructor(options: Options<'reduction'> = {}) {
    super('torch_bce_with_logits', 'BCEWithLogitsLoss', options, ['reduction']);
  }
}

/** Cross-entropy of logits [batch, classes] against class ids (log_softmax + NLL). */
export class CrossEntropyLoss extends Loss {
  constructor(options: Options<'reduction' | 'weight' | 'ignoreIndex'> = {}) {
    super('torch_cross_entropy', 'CrossEntropyLoss', options, ['reduction', 'weight', 'ignoreIndex']);
  }
}

/** Negative log-likelihood of log-probabilities [batch, classes] against class ids. */
export class NLLLoss extends Loss {
  constructor(options: Options<'reduction' | 'weight' | 'ignoreIndex'> = {}) {
    super('torch_nll', 'NLLLoss', options, ['reduction', 'weight', 'ignoreIndex']);
  }
}

export class MSELoss extends Loss {
  constructor(options: Options<'reduction'> = {}) {
    super('torch_mse', 'MSELoss', options, ['reduction']);
  }
}

export class L1Loss extends Loss {
  constructor(options: Options<'reduction'> = {}) {
    super('torch_l1', 'L1Loss', options, ['reduction']);
  }
}

/** torch.nn.functional: the ops and losses as functions. */
export const functional = {
  relu: (x: Tensor) => x.relu(),
  sigmoid: (x: Tensor) => x.sigmoid(),
  tanh: (x: Tensor) => x.tanh(),
  softmax: (x: Tensor, dim: number) => x.softmax(dim),
  logSoftmax: (x: Tensor, dim: number) => x.logSoftmax(dim),
  binaryCrossEntropy: (input: Tensor, target: Tensor, options?: Options<'reduction'>) =>
    new BCELoss(options)(input, target),
  binaryCrossEntropyWithLogits: (input: Tensor, target: Tensor, options?: Options<'reduction'>) =>
    new BCEWithLogitsLoss(options)(input, target),
  crossEntropy: (input: Tensor, target: Tensor, options?: Options<'reduction' | 'weight' | 'ignoreIndex'>) =>
    new CrossEntropyLoss(options)(input, target),
  nllLoss: (input: Tensor, target: Tensor, options?: Options<'reduction' | 'weight' | 'ignoreIndex'>) =>
    new NLLLoss(options)(input, target),
  mseLoss: (input: Tensor, target: Tensor, options?: Options<'reduction'>) =>
    new MSELoss(options)(input, target),
  l1Loss: (input: Tensor, target: Tensor, options?: Options<'reduction'>) =>
    new L1Loss(options)(input, target),
};
