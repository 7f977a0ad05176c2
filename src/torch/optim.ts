/**
 * torch.optim for the PyTorch-style front-end: SGD, Adam, AdamW and RMSprop with PyTorch
 * 1.13's rules and defaults, and lr_scheduler's StepLR and ExponentialLR.
 *
 * An optimizer takes its parameters into one flat arena (values, gradients, state), as the
 * Keras-style models keep theirs, so one dispatch of the fused update kernel (the torch_*
 * kinds of src/kernels/optim.ts) steps every parameter. The parameters keep working as
 * tensors: their storage becomes their slice of the arena, and .grad reads the gradient's.
 */
import type { Engine } from '../gpu/engine.js';
import { BufferSlice } from '../gpu/resources.js';
import {
  createOptimizerHyper,
  createSegmentTable,
  encodeOptimizerAdvance,
  encodeOptimizerUpdate,
  optimizerStateSlots,
  planArena,
  writeOptimizerLearningRate,
  type ArenaSegment,
  type TorchOptimizerSpec,
} from '../kernels/optim.js';
import { encodeFill } from '../kernels/pointwise.js';
import { readOptions } from '../util/options.js';
import type { Leaf } from './autograd.js';
import { advanceDropoutStep, Parameter, tracerOf } from './tensor.js';
import type { TracedOptimizer } from './trace.js';

/** A parameter group: its parameters and the hyper-parameters a scheduler may change (lr). */
export interface ParamGroup {
  params: Parameter[];
  lr: number;
  /** The rest, as given (read only after construction). */
  readonly [option: string]: unknown;
}

let nextOptimizerId = 1;

/** Frees a collected optimizer's arenas. */
const arenas = new FinalizationRegistry<{ engine: Engine; buffers: GPUBuffer[] }>(({ engine, buffers }) => {
  if (engine.isLost) return;
  for (const b of buffers) engine.releaseBuffer(b, true);
});
const adopted = new WeakMap<Parameter, Optimizer>();

/** What every optimizer shares: the arena, zeroGrad(), step(). */
export abstract class Optimizer implements TracedOptimizer {
  readonly id = nextOptimizerId++;
  readonly paramGroups: [ParamGroup];
  /** The rule and its hyper-parameters, as the update kernel takes them. */
  readonly spec: TorchOptimizerSpec;
  readonly engine: Engine;
  private readonly params: Parameter[];
  private readonly segments: ArenaSegment[];
  private readonly totalLength: number;
  private readonly values: GPUBuffer;
  private readonly grads: GPUBuffer;
  private readonly state: GPUBuffer[];
  private readonly hyper: GPUBuffer;
  private readonly table: GPUBuffer;
  private writtenLr: number;
  /** step() calls so far. */
  steps = 0;

  protected constructor(
    what: string,
    params: Iterable<Parameter>,
    lr: number,
    spec: TorchOptimizerSpec,
    extra: Record<string, unknown>,
  ) {
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error(`${what}: optimizer got an empty parameter list`);
    const unique: Parameter[] = [];
    for (const [i, p] of list.entries()) {
      if (!(p instanceof Parameter)) {
        throw new TypeError(
          `${what}: parameter ${i} is not a Parameter (pass model.parameters()), got ${String(p)}`,
        );
      }
      if (!p.requiresGrad) throw new Error(`${what}: parameter ${i} (${p.describe()}) does not require grad`);
      const owner = adopted.get(p);
      if (owner) {
        throw new Error(
          `${what}: parameter ${i} (${p.describe()}) already belongs to another optimizer (${owner.constructor.name} #${owner.id}); one optimizer per parameter is supported`,
        );
      }
      if (!unique.includes(p)) unique.push(p);
    }
    const engine = (unique[0] as Parameter).engine;
    for (const p of unique) {
      if (p.engine !== engine) throw new Error(`${what}: the parameters live on different engines`);
      p.checkUsable(); // a disposed parameter or engine is named here
    }
    this.engine = engine;
    this.spec = spec;
    this.params = unique;
    const { segments, totalLength } = planArena(unique.map((p) => ({ length: p.elements })));
    this.segments = segments;
    this.totalLength = totalLength;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const arena = (label: string) =>
      engine.createBuffer({ size: totalLength * 4, usage, label: `${what} ${label}` });
    this.values = arena('parameters');
    this.grads = arena('gradients');
    this.state = Array.from({ length: optimizerStateSlots(spec) }, (_, k) => arena(`state ${k}`));
    this.hyper = createOptimizerHyper(engine, spec, lr);
    this.table = createSegmentTable(engine, segments, totalLength);
    // Compiled iterations that bound the parameters' buffers, which are about to move.
    tracerOf(engine).forget(unique.map((p) => p.id));
    unique.forEach((p, k) => {
      const s = segments[k] as ArenaSegment;
      const bytes = Math.max(4, s.length * 4);
      p.joinArena(
        new BufferSlice(this.values, s.offset * 4, bytes, `${what} param ${k}`),
        new BufferSlice(this.grads, s.offset * 4, bytes, `${what} grad ${k}`),
      );
      adopted.set(p, this);
    });
    // The arenas go when the optimizer does (its parameters keep it alive while they live).
    arenas.register(this, {
      engine,
      buffers: [this.values, this.grads, ...this.state, this.hyper, this.table],
    });
    this.writtenLr = lr;
    this.paramGroups = [{ params: unique, lr, ...extra }];
  }

  /**
   * Clears the gradients (PyTorch 1.13's default, set_to_none=False: they read as zeros and
   * the next backward overwrites them). With setToNone the gradients read as null until the
   * next backward; step() still updates such parameters with a zero gradient.
   */
  zeroGrad(setToNone = false): void {
    for (const p of this.params) {
      if (setToNone) p.grad = null;
      else if (p.arenaGradValid) p.gradZeroed = true;
    }
    tracerOf(this.engine).zero(this);
  }

  /** One update of every parameter from its gradient (one fused kernel). */
  step(): void {
    const group = this.paramGroups[0];
    if (typeof group.lr !== 'number' || !Number.isFinite(group.lr) || group.lr < 0) {
      throw new RangeError(`Invalid learning rate: ${String(group.lr)}`);
    }
    if (group.lr !== this.writtenLr) {
      tracerOf(this.engine).flush();
      writeOptimizerLearningRate(this.engine, this.hyper, group.lr);
      this.writtenLr = group.lr;
    }
    tracerOf(this.engine).step(this);
  }

  // ---------------------------------------------------------------- TracedOptimizer

  zeroedParams(): Leaf[] {
    return this.params.filter((p) => p.gradZeroed || !p.arenaGradValid);
  }

  encodeStep(zeroFill: readonly Leaf[]): void {
    const e = this.engine;
    for (const leaf of zeroFill) encodeFill(e, leaf.gradTarget().buf, leaf.elements, 0);
    encodeOptimizerAdvance(e, this.spec, this.hyper);
    encodeOptimizerUpdate(
      e,
      this.spec,
      this.segments,
      {
        params: this.values,
        grads: this.grads,
        state: this.state,
        hyper: this.hyper,
        segmentTable: this.table,
      },
      this.totalLength,
    );
    advanceDropoutStep(e);
  }

  afterStep(): void {
    this.steps++;
    for (const p of this.params) {
      if (p.gradZeroed || !p.arenaGradValid) {
        // The step cleared it: it now holds zeros.
        p.gradZeroed = false;
        p.arenaGradValid = true;
      }
    }
  }

  toString(): string {
    const g = this.paramGroups[0];
    const opts = Object.entries(g)
      .filter(([k]) => k !== 'params')
      .map(([k, v]) => `    ${k}: ${Array.isArray(v) ? `(${v.join(', ')})` : String(v)}`);
    return `${this.constructor.name} (\nParameter Group 0\n${opts.join('\n')}\n)`;
  }
}

function checkNumber(
  what: string,
  name: string,
  v: unknown,
  min: number,
  max = Infinity,
  maxOpen = false,
): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (maxOpen && v === max)) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}${maxOpen ? ')' : ']'}`;
    throw new RangeError(`${what}: Invalid ${name} value: ${String(v)} (must be ${range})`);
  }
  return v;
}

function checkFlag(what: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${what}: ${name} must be true or false, got ${String(v)}`);
  return v;
}

function checkLr(what: string, lr: unknown): number {
  return checkNumber(what, 'learning rate', lr, 0);
}

/** Options as a second argument: an object, or PyTorch's positional lr as a number. */
function optionsOf(given: unknown): unknown {
  return typeof given === 'number' ? { lr: given } : given;
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** torch.optim.SGD: lr is required, as in PyTorch 1.13. */
export class SGD extends Optimizer {
  constructor(params: Iterable<Parameter>, options: SGDOptions | number) {
    const o = readOptions<Partial<Record<keyof SGDOptions, unknown>>>('SGD', optionsOf(options), [
      'lr',
      'momentum',
      'dampening',
      'nesterov',
      'weightDecay',
    ]);
    if (o.lr === undefined) throw new TypeError('SGD: lr is a required argument (e.g. { lr: 0.01 })');
    const lr = checkLr('SGD', o.lr);
    const momentum = checkNumber('SGD', 'momentum', o.momentum ?? 0, 0);
    const dampening = checkNumber('SGD', 'dampening', o.dampening ?? 0, -Infinity);
    const weightDecay = checkNumber('SGD', 'weight_decay', o.weightDecay ?? 0, 0);
    const nesterov = checkFlag('SGD', 'nesterov', o.nesterov);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
    super(
      'SGD',
      params,
      lr,
      { kind: 'torch_sgd', momentum, dampening, nesterov, weightDecay },
      { momentum, dampening, nesterov, weightDecay },
    );
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

function adamSpec(
  what: string,
  options: unknown,
  decoupled: boolean,
): { lr: number; spec: TorchOptimizerSpec; extra: Record<string, unknown> } {
  const o = readOptions<Partial<Record<keyof AdamOptions, unknown>>>(what, optionsOf(options), [
    'lr',
    'betas',
    'eps',
    'weightDecay',
    'amsgrad',
  ]);
  const lr = checkLr(what, o.lr ?? 1e-3);
  const betas: unknown = o.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2)
    throw new TypeError(`${what}: betas must be a pair [beta1, beta2]`);
  const [beta1, beta2] = [0, 1].map((i) => {
    const b: unknown = betas[i];
    if (typeof b !== 'number' || !(b >= 0 && b < 1)) {
      throw new RangeError(`${what}: Invalid beta parameter at index ${i}: ${String(b)} (must be in [0, 1))`);
    }
    return b;
  }) as [number, number];
  const epsilon = checkNumber(what, 'epsilon', o.eps ?? 1e-8, 0);
  const weightDecay = checkNumber(what, 'weight_decay', o.weightDecay ?? (decoupled ? 1e-2 : 0), 0);
  const amsgrad = checkFlag(what, 'amsgrad', o.amsgrad);
  return {
    lr,
    spec: { kind: 'torch_adam', beta1, beta2, epsilon, amsgrad, weightDecay, decoupled },
    extra: { betas: [beta1, beta2], eps: epsilon, weightDecay, amsgrad },
  };
}

/** torch.optim.Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8 added after the bias correction). */
export class Adam extends Optimizer {
  constructor(params: Iterable<Parameter>, options: AdamOptions | number = {}) {
    const { lr, spec, extra } = adamSpec('Adam', options, false);
    super('Adam', params, lr, spec, extra);
  }
}

/** torch.optim.AdamW: decoupled weight decay, default 1e-2. */
export class AdamW extends Optimizer {
  constructor(params: Iterable<Parameter>, options: AdamOptions | number = {}) {
    const { lr, spec, extra } = adamSpec('AdamW', options, true);
    super('AdamW', params, lr, spec, extra);
  }
}

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
}

/** torch.optim.RMSprop (lr 1e-2, alpha 0.99, eps 1e-8 outside the root). */
export class RMSprop extends Optimizer {
  constructor(params: Iterable<Parameter>, options: RMSpropOptions | number = {}) {
    const o = readOptions<Partial<Record<keyof RMSpropOptions, unknown>>>('RMSprop', optionsOf(options), [
      'lr',
      'alpha',
      'eps',
      'weightDecay',
      'momentum',
      'centered',
    ]);
    const lr = checkLr('RMSprop', o.lr ?? 1e-2);
    const alpha = checkNumber('RMSprop', 'alpha', o.alpha ?? 0.99, 0);
    const epsilon = checkNumber('RMSprop', 'epsilon', o.eps ?? 1e-8, 0);
    const momentum = checkNumber('RMSprop', 'momentum', o.momentum ?? 0, 0);
    const weightDecay = checkNumber('RMSprop', 'weight_decay', o.weightDecay ?? 0, 0);
    const centered = checkFlag('RMSprop', 'centered', o.centered);
    super(
      'RMSprop',
      params,
      lr,
      { kind: 'torch_rmsprop', alpha, epsilon, momentum, centered, weightDecay },
      {
        alpha,
        eps: epsilon,
        weightDecay,
        momentum,
        centered,
      },
    );
  }
}

// ---------------------------------------------------------------- schedulers

/** What schedulers share: the epoch count and the lr they set (PyTorch's chainable form). */
abstract class LRScheduler {
  lastEpoch = 0;
  protected lastLr: number[];
  readonly baseLrs: number[];

  constructor(protected readonly optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer))
      throw new TypeError(`${this.constructor.name}: ${String(optimizer)} is not an Optimizer`);
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.lastLr = [...this.baseLrs];
  }

  /** The lr of each group after one more epoch. */
  protected abstract next(lr: number): number;

  /** Advances one epoch and sets the optimizer's lr. */
  step(): void {
    this.lastEpoch++;
    for (const g of this.optimizer.paramGroups) g.lr = this.next(g.lr);
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }
}

/** lr × gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    const o = readOptions<Partial<Record<'stepSize' | 'gamma', unknown>>>('StepLR', options, [
      'stepSize',
      'gamma',
    ]);
    if (typeof o.stepSize !== 'number' || !Number.isInteger(o.stepSize) || o.stepSize < 1) {
      throw new RangeError(`StepLR: step_size must be a positive integer, got ${String(o.stepSize)}`);
    }
    this.stepSize = o.stepSize;
    this.gamma = checkNumber('StepLR', 'gamma', o.gamma ?? 0.1, 0);
  }

  protected next(lr: number): number {
    return this.lastEpoch % this.stepSize === 0 ? lr * this.gamma : lr;
  }
}

/** lr × gamma every epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { gamma: number }) {
    super(optimizer);
    const o = readOptions<Partial<Record<'gamma', unknown>>>('ExponentialLR', options, ['gamma']);
    if (o.gamma === undefined) throw new TypeError('ExponentialLR: gamma is required');
    this.gamma = checkNumber('ExponentialLR', 'gamma', o.gamma, 0);
  }

  protected next(lr: number): number {
    return lr * this.gamma;
  }
}

/** torch.optim.lr_scheduler. */
export const lrScheduler = { StepLR, ExponentialLR };
