/**
 * torch.Tensor for the PyTorch-style front-end: a GPU tensor with autograd. Ops run on the
 * GPU as they are called (or are replayed from a compiled iteration, ./trace.ts); only
 * item() and data() read back.
 *
 *   const x = torch.tensor([[1, 2], [3, 4]], { requiresGrad: true });
 *   const y = x.mul(x).sum();
 *   y.backward();
 *   await x.grad!.data();   // Float32Array [2, 4, 6, 8]
 */
import type { Bindable, Engine } from '../gpu/engine.js';
import { currentEngine } from '../gpu/init.js';
import { BufferSlice } from '../gpu/resources.js';
import { encodeAdvanceCursor } from '../kernels/gather.js';
import { encodeFill } from '../kernels/pointwise.js';
import { formatShape, sizeOf } from '../kernels/shape.js';
import { createRng, type SeededRng } from '../util/random.js';
import {
  allocate,
  copyOrAdd,
  isGradEnabled,
  Node,
  release,
  runBackward,
  type BackwardOptions,
  type Leaf,
  type OpDef,
  type Storage,
  type TorchDType,
  type Var,
} from './autograd.js';
import {
  activationDef,
  binaryDef,
  catDef,
  cloneDef,
  matmulDef,
  reduceDef,
  reshapeDef,
  scalarDef,
  setScalarSource,
  sliceDef,
  softmaxDef,
  unaryDef,
} from './defs.js';
import { Tracer, type BackwardCall, type Slot } from './trace.js';

export type { TorchDType };

/** Nested arrays of numbers, as torch.tensor() takes them. */
export interface NestedNumbers extends ReadonlyArray<number | NestedNumbers> {}
export type TensorLike =
  number | readonly number[] | NestedNumbers | Float32Array | Float64Array | Int32Array;

/** dtype names: PyTorch's (float32 / float, int64 / long, int32) and ours. */
const DTYPES: Record<string, TorchDType> = {
  float32: 'float32',
  float: 'float32',
  f32: 'float32',
  int64: 'int32',
  long: 'int32',
  int32: 'int32',
  int: 'int32',
  i32: 'int32',
};

function resolveDType(d: string): TorchDType {
  const r = DTYPES[d];
  if (!r)
    throw new TypeError(
      `torch.tensor: unknown dtype '${d}'; expected one of ${Object.keys(DTYPES).join(', ')}`,
    );
  return r;
}

let nextId = 1;

/** Frees a collected tensor's GPU storage (and its node's saved buffers). */
const collector = new FinalizationRegistry<{ engine: Engine; storages: Storage[] }>(
  ({ engine, storages }) => {
    for (const s of storages) {
      try {
        release(engine, s);
      } catch {
        // the engine went away first: nothing to free
      }
    }
  },
);

export class Tensor implements Leaf {
  readonly id = nextId++;
  readonly shape: readonly number[];
  /** Number of elements (numel()). */
  readonly elements: number;
  #storage: Storage | null;
  #requiresGrad: boolean;
  /** The op that made this tensor (null for leaves). */
  readonly gradFn: Node | null;
  /** Views keep their base alive (and fail with it). */
  readonly #base: Tensor | null;
  /**
   * A view of the whole of its base's storage (detach, reshape): it reads the base's storage
   * each time, so it follows the base into an optimizer's arena and fails when the base is
   * stale.
   */
  readonly #alias: boolean;
  /** A compiled event's output: valid until that event runs again. */
  readonly #slot: { slot: Slot; generation: number } | null;
  #grad: Tensor | null = null;
  /** zeroGrad() was called: the next backward overwrites the gradient. */
  gradZeroed = false;
  /** For a parameter in an optimizer's arena: its gradient's slice there. */
  arenaGrad: Bindable | null = null;
  /** The arena slice holds a gradient (false before the first backward). */
  arenaGradValid = false;

  constructor(
    readonly engine: Engine,
    storage: Storage,
    shape: readonly number[],
    readonly dtype: TorchDType,
    options: { requiresGrad?: boolean; gradFn?: Node | null; base?: Tensor | null; slot?: Slot } = {},
  ) {
    this.shape = Object.freeze([...shape]);
    this.elements = sizeOf(shape);
    this.#storage = storage;
    this.gradFn = options.gradFn ?? null;
    this.#requiresGrad = options.requiresGrad ?? this.gradFn !== null;
    this.#base = options.base ?? null;
    this.#alias = this.#base !== null && this.#base.#live().buf === storage.buf;
    this.#slot = options.slot ? { slot: options.slot, generation: options.slot.generation } : null;
    const storages = [storage, ...(this.gradFn?.saved?.buffers ?? [])];
    if (storages.some((s) => s.owned)) collector.register(this, { engine, storages }, this);
  }

  // ---------------------------------------------------------------- state

  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }

  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }

  /** Sets requiresGrad on a leaf (PyTorch's requires_grad_()); returns this. */
  requiresGrad_(value = true): this {
    if (this.gradFn && !value) {
      throw new Error(
        'you can only change requiresGrad flags of leaf variables. If you want to use a computed ' +
          'variable in a subgraph that does not require differentiation use detach()',
      );
    }
    if (value && this.dtype !== 'float32') {
      throw new TypeError(`only float32 tensors can require gradients; ${this.describe()} is ${this.dtype}`);
    }
    this.#requiresGrad = value;
    return this;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** The gradient backward() accumulated (leaves only), or null. */
  get grad(): Tensor | null {
    if (this.arenaGrad) {
      if (!this.arenaGradValid) return null;
      if (this.gradZeroed) {
        encodeFill(this.engine, this.arenaGrad, this.elements, 0);
        this.gradZeroed = false;
      }
      return new Tensor(this.engine, { buf: this.arenaGrad, owned: null }, this.shape, 'float32', {
        base: this,
      });
    }
    if (this.#grad && this.gradZeroed) {
      encodeFill(this.engine, this.#grad.storage.buf, this.elements, 0);
      this.gradZeroed = false;
    }
    return this.#grad;
  }

  set grad(value: Tensor | null) {
    if (value === null) {
      this.#grad = null;
      if (this.arenaGrad) this.arenaGradValid = false;
      this.gradZeroed = false;
      return;
    }
    throw new TypeError('grad can only be set to null (zeroGrad or backward fill it)');
  }

  get isDisposed(): boolean {
    return (
      this.#storage === null || (this.#base?.isDisposed ?? false) || (this.#slot?.slot.released ?? false)
    );
  }

  /** The storage, checked: not disposed, not overwritten by a later replay, engine usable. */
  get storage(): Storage {
    return this.#live();
  }

  #live(): Storage {
    if (!this.#storage || this.#base?.isDisposed) {
      throw new Error(`${this.describe()} was disposed; it cannot be used or read`);
    }
    const slot = this.#slot;
    if (slot && (slot.slot.released || slot.slot.generation !== slot.generation)) {
      throw new Error(
        `${this.describe()} came from an earlier iteration of a compiled training step (${slot.slot.label}), ` +
          `whose buffer ${slot.slot.released ? 'was freed with that compiled step' : 'that op has since reused'}. ` +
          'Read it (await t.item() / t.data()) within its iteration, or keep a copy made with noGrad(() => t.clone()).',
      );
    }
    if (this.#base && this.#alias) return this.#base.#live();
    this.engine.assertUsable();
    return this.#storage;
  }

  /** Throws (naming the tensor) if it was disposed, reused by a replay, or its engine is gone. */
  checkUsable(): void {
    this.#live();
  }

  /** Frees the GPU storage now (a view frees nothing). Safe to call twice. */
  dispose(): void {
    if (!this.#storage) return;
    // A queued replay may bind this buffer: encode it before the buffer goes.
    if (this.#storage.owned && !this.engine.isLost) tracerOf(this.engine).flush();
    collector.unregister(this);
    release(this.engine, this.#storage);
    for (const s of this.gradFn?.saved?.buffers ?? []) release(this.engine, s);
    this.#storage = null;
    this.#grad?.dispose();
    this.#grad = null;
  }

  /**
   * Moves the values into `values` (a parameter's place in an optimizer's arena) and keeps
   * them there from now on, the old storage freed; views of this tensor follow. A gradient
   * kept from before moves into `grads`, which holds the gradient from now on.
   */
  joinArena(values: BufferSlice, grads: BufferSlice): void {
    const old = this.storage;
    copyBinding(this.engine, old.buf, values, this.elements * 4);
    collector.unregister(this);
    release(this.engine, old);
    this.#storage = { buf: values, owned: null };
    const kept = this.#grad && !this.#grad.isDisposed ? this.#grad : null;
    if (kept) copyBinding(this.engine, kept.storage.buf, grads, this.elements * 4);
    this.arenaGrad = grads;
    this.arenaGradValid = kept !== null;
    if (!kept) this.gradZeroed = false;
    // The old gradient tensor stays readable for whoever holds it (freed when collected).
    this.#grad = null;
  }

  // ---------------------------------------------------------------- Leaf

  gradTarget(): { buf: Bindable; accumulate: boolean } {
    if (this.arenaGrad) return { buf: this.arenaGrad, accumulate: this.arenaGradValid && !this.gradZeroed };
    if (this.#grad && !this.#grad.isDisposed)
      return { buf: this.#grad.storage.buf, accumulate: !this.gradZeroed };
    const s = allocate(this.engine, this.elements, `grad of ${this.describe()}`);
    this.#grad = new Tensor(this.engine, s, this.shape, 'float32');
    return { buf: s.buf, accumulate: false };
  }

  gradWritten(): void {
    this.gradZeroed = false;
    if (this.arenaGrad) this.arenaGradValid = true;
  }

  // ---------------------------------------------------------------- describing

  describe(): string {
    const grad = this.gradFn
      ? `, gradFn=<${this.gradFn.name}>`
      : this.requiresGrad
        ? ', requiresGrad=true'
        : '';
    return `tensor of shape ${formatShape(this.shape)}${this.dtype === 'int32' ? ' int32' : ''}${grad}`;
  }

  toString(): string {
    return this.describe();
  }

  /** PyTorch's size(): the shape, or the size of one dimension (negative counts from the end). */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : (this.shape[normAxis(dim, this.shape.length, 'size')] as number);
  }

  dim(): number {
    return this.shape.length;
  }

  numel(): number {
    return this.elements;
  }

  // ---------------------------------------------------------------- reading

  /** The values on the host (one readback): Float32Array, or Int32Array for int32. */
  async data(): Promise<Float32Array | Int32Array> {
    const s = this.storage;
    tracerOf(this.engine).flush();
    const bytes = await readBinding(this.engine, s.buf, this.elements * 4, this.describe());
    return this.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** The value of a one-element tensor (PyTorch's item(); awaits one readback). */
  async item(): Promise<number> {
    if (this.elements !== 1) {
      throw new RangeError(
        `a Tensor with ${this.elements} elements cannot be converted to a number (item() needs one); ${this.describe()}`,
      );
    }
    return (await this.data())[0] as number;
  }

  /** The values as nested arrays (PyTorch's tolist()). */
  async tolist(): Promise<number | NestedNumbers> {
    const flat = Array.from(await this.data());
    return nest(flat, this.shape);
  }

  /** The same values without a graph (shares the storage). */
  detach(): Tensor {
    return new Tensor(this.engine, { buf: this.storage.buf, owned: null }, this.shape, this.dtype, {
      base: this,
    });
  }

  /** A copy with its own storage (keeps the graph: the gradient passes through). */
  clone(): Tensor {
    return apply(cloneDef(this.shape), [this], this.dtype);
  }

  // ---------------------------------------------------------------- autograd

  /**
   * Computes the gradient of this tensor with respect to every leaf that requires one and
   * adds it to their .grad. A tensor of more than one element needs `gradient` (d out / d
   * this, same shape), as in PyTorch.
   */
  backward(gradient?: Tensor | null, options: BackwardOptions = {}): void {
    if (!this.requiresGrad) {
      throw new Error(
        `element 0 of tensors does not require grad and does not have a gradFn: ${this.describe()}`,
      );
    }
    let seed: Bindable;
    if (gradient) {
      if (gradient.engine !== this.engine)
        throw new Error('backward(): the gradient lives on another engine');
      if (!sameShape(gradient.shape, this.shape)) {
        throw new RangeError(
          `backward(): Mismatch in shape: grad_output[0] has a shape of ${formatShape(gradient.shape)} and ` +
            `output[0] has a shape of ${formatShape(this.shape)}`,
        );
      }
      seed = gradient.storage.buf;
    } else {
      if (this.elements !== 1) {
        throw new Error(
          `grad can be implicitly created only for scalar outputs: ${this.describe()} has ${this.elements} elements; ` +
            'pass backward(gradient) with a tensor of its shape',
        );
      }
      seed = constant(this.engine, 1).storage.buf;
    }
    const engine = this.engine;
    if (!this.gradFn) {
      // A leaf's own backward: its gradient is the seed.
      tracerOf(engine).opaque(() => {
        const target = this.gradTarget();
        copyOrAdd(engine, seed, target.buf, this.elements, target.accumulate);
        this.gradWritten();
      });
      return;
    }
    const leaves = reachedLeaves(this);
    const call: BackwardCall<Tensor> = {
      root: this,
      leaves,
      run: (compiled) => {
        if (!compiled) return runBackward(engine, this, seed, isLeafTensor, options);
        const modes = compiled.modes;
        return runBackward(engine, compiled.root, seed, isLeafTensor, { retainGraph: true }, (leaf) => ({
          buf: leaf.gradTarget().buf,
          accumulate: modes.get(leaf) ?? false,
        }));
      },
      free: (written) => {
        markFreed(this);
        for (const l of written) l.gradWritten();
      },
    };
    if (gradient || options.retainGraph || [...leaves.keys()].some((l) => !l.arenaGrad)) {
      // Not compilable: run eagerly, and the iteration is not learned.
      tracerOf(engine).opaque(() => {
        call.run();
      });
      return;
    }
    tracerOf(engine).backward(call);
  }

  // ---------------------------------------------------------------- ops

  add(other: Tensor | number): Tensor {
    return binary('add', this, other);
  }

  sub(other: Tensor | number): Tensor {
    return binary('sub', this, other);
  }

  mul(other: Tensor | number): Tensor {
    return binary('mul', this, other);
  }

  div(other: Tensor | number): Tensor {
    return binary('div', this, other);
  }

  neg(): Tensor {
    return apply(unaryDef('neg', this.shape), [this]);
  }

  exp(): Tensor {
    return apply(unaryDef('exp', this.shape), [this]);
  }

  log(): Tensor {
    return apply(unaryDef('log', this.shape), [this]);
  }

  relu(): Tensor {
    return apply(activationDef('relu', this.shape), [this]);
  }

  sigmoid(): Tensor {
    return apply(activationDef('sigmoid', this.shape), [this]);
  }

  tanh(): Tensor {
    return apply(activationDef('tanh', this.shape), [this]);
  }

  /** Softmax along `dim` (the last axis only, as an MLP's outputs need). */
  softmax(dim: number): Tensor {
    return apply(softmaxDef(this.shape, false), [lastAxis(this, dim, 'softmax')]);
  }

  logSoftmax(dim: number): Tensor {
    return apply(softmaxDef(this.shape, true), [lastAxis(this, dim, 'log_softmax')]);
  }

  /** x ** exponent for a number exponent (PyTorch's pow with a scalar). */
  pow(exponent: number): Tensor {
    if (typeof exponent !== 'number' || !Number.isFinite(exponent)) {
      throw new TypeError(`pow(): the exponent must be a finite number, got ${String(exponent)}`);
    }
    return apply(scalarDef('pow', this.shape, exponent), [requireFloat(this, 'pow')]);
  }

  /** Values clipped to [min, max]; either bound may be omitted (null or undefined). */
  clamp(min?: number | null, max?: number | null): Tensor {
    if ((min === undefined || min === null) && (max === undefined || max === null)) {
      throw new TypeError("clamp(): at least one of 'min' or 'max' must not be None");
    }
    const lo = min ?? -Infinity;
    const hi = max ?? Infinity;
    if (Number.isNaN(lo) || Number.isNaN(hi)) throw new RangeError('clamp(): the bounds must not be NaN');
    return apply(scalarDef('clamp', this.shape, lo, hi), [requireFloat(this, 'clamp')]);
  }

  /** Sum of all elements, or over `dim` (keepdim keeps it as size 1). */
  sum(dim?: number | null, keepdim = false): Tensor {
    return reduce(this, false, dim, keepdim);
  }

  mean(dim?: number | null, keepdim = false): Tensor {
    return reduce(this, true, dim, keepdim);
  }

  /** The matrix product of two 2-D tensors (PyTorch's @ / matmul / mm). */
  matmul(other: Tensor): Tensor {
    const a = requireFloat(this, 'matmul');
    const b = requireFloat(other, 'matmul');
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new RangeError(
        `matmul(): both arguments must be 2-D here; got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
      );
    }
    const [m, k] = a.shape as [number, number];
    const [k2, n] = b.shape as [number, number];
    if (k !== k2) {
      throw new RangeError(`mat1 and mat2 shapes cannot be multiplied (${m}x${k} and ${k2}x${n})`);
    }
    return apply(matmulDef(m, k, n), [a, b]);
  }

  mm(other: Tensor): Tensor {
    return this.matmul(other);
  }

  /**
   * The elements [start, end) along `dim` (default 0): the deck's X[i:i+batch_size]. Like
   * Python slicing, end past the size is clipped. A start that changes from one iteration
   * to the next does not stop a compiled loop from replaying.
   */
  slice(start: number, end?: number, dim = 0): Tensor {
    const axis = normAxis(dim, this.shape.length, 'slice');
    const d = this.shape[axis] as number;
    const s = clampIndex(start, d);
    const e = Math.max(s, clampIndex(end ?? d, d));
    if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
      throw new TypeError(`slice(): start and end must be integers, got ${start} and ${String(end)}`);
    }
    const dynamic = !this.requiresGrad;
    return apply(sliceDef(this.shape, axis, s, e, dynamic), [this], this.dtype);
  }

  /** The same values with another shape (one dimension may be −1). No copy. */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    const dims = inferShape(shape.flat(), this.elements, this.shape);
    if (sameShape(dims, this.shape)) return this;
    return apply(reshapeDef(this.shape, dims), [this], this.dtype);
  }

  view(...shape: (number | readonly number[])[]): Tensor {
    return this.reshape(...shape);
  }

  /** Dimensions startDim..endDim merged into one (torch.flatten; nn.Flatten uses startDim 1). */
  flatten(startDim = 0, endDim = -1): Tensor {
    const r = this.shape.length;
    if (r === 0) return this.reshape(1);
    const s = normAxis(startDim, r, 'flatten');
    const e = normAxis(endDim, r, 'flatten');
    const merged = sizeOf(this.shape.slice(s, e + 1));
    return this.reshape([...this.shape.slice(0, s), merged, ...this.shape.slice(e + 1)]);
  }
}

/** A tensor a Module registers as its parameter (requiresGrad by default). */
export class Parameter extends Tensor {
  /**
   * A parameter holding a copy of t's values (t, and any view of t, stay as they are: the
   * parameter's own storage moves into an optimizer's arena later).
   */
  constructor(t: Tensor, requiresGrad = true) {
    const storage = allocate(t.engine, t.elements, `parameter ${formatShape(t.shape)}`);
    copyBinding(t.engine, t.storage.buf, storage.buf, t.elements * 4);
    super(t.engine, storage, t.shape, t.dtype, { requiresGrad });
  }

  override describe(): string {
    return `Parameter of shape ${formatShape(this.shape)}`;
  }
}

function isLeafTensor(v: Var): v is Leaf {
  return v instanceof Tensor && v.gradFn === null;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function normAxis(dim: number, rank: number, what: string): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new RangeError(
      `${what}(): Dimension out of range (expected to be in range of [${-r}, ${r - 1}], but got ${dim})`,
    );
  }
  return dim < 0 ? dim + r : dim;
}

function clampIndex(i: number, d: number): number {
  const j = i < 0 ? i + d : i;
  return Math.min(Math.max(j, 0), d);
}

function inferShape(dims: number[], size: number, from: readonly number[]): number[] {
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1) throw new RangeError('reshape(): only one dimension can be inferred');
  for (const d of dims) {
    if (!Number.isInteger(d) || d < -1) throw new RangeError(`reshape(): invalid shape dimension ${d}`);
  }
  const known = dims.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const out = dims.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (sizeOf(out) !== size || out.some((d) => !Number.isInteger(d))) {
    throw new RangeError(
      `shape '${formatShape(dims)}' is invalid for input of size ${size} (shape ${formatShape(from)})`,
    );
  }
  return out;
}

function requireFloat(t: Tensor, what: string): Tensor {
  if (t.dtype !== 'float32')
    throw new TypeError(`${what}(): needs float32 tensors; ${t.describe()} is ${t.dtype}`);
  return t;
}

function lastAxis(t: Tensor, dim: number, what: string): Tensor {
  requireFloat(t, what);
  const axis = normAxis(dim, t.shape.length, what);
  if (axis !== t.shape.length - 1) {
    throw new RangeError(`${what}(dim=${dim}): only the last dimension is supported here; ${t.describe()}`);
  }
  return t;
}

/** numpy broadcasting with PyTorch's message for a mismatch. */
function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i}: ` +
          `shapes ${formatShape(a)} and ${formatShape(b)}`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

function binary(op: 'add' | 'sub' | 'mul' | 'div', a: Tensor, other: Tensor | number): Tensor {
  const b = typeof other === 'number' ? scalar(a.engine, other) : other;
  if (!(b instanceof Tensor)) throw new TypeError(`${op}(): the other operand must be a Tensor or a number`);
  requireFloat(a, op);
  requireFloat(b, op);
  const shape = broadcast(a.shape, b.shape);
  return apply(binaryDef(op, a.shape, b.shape, shape), [a, b]);
}

function reduce(t: Tensor, mean: boolean, dim: number | null | undefined, keepdim: boolean): Tensor {
  requireFloat(t, mean ? 'mean' : 'sum');
  if (dim === undefined || dim === null) {
    return apply(reduceDef(mean, t.shape, null, keepdim ? t.shape.map(() => 1) : []), [t]);
  }
  const axis = normAxis(dim, t.shape.length, mean ? 'mean' : 'sum');
  const shape = keepdim ? t.shape.map((d, i) => (i === axis ? 1 : d)) : t.shape.filter((_, i) => i !== axis);
  return apply(reduceDef(mean, t.shape, axis, shape), [t]);
}

/** Leaves reached from root, each with whether its gradient will be added to (else overwritten). */
function reachedLeaves(root: Tensor): Map<Tensor, boolean> {
  const leaves = new Map<Tensor, boolean>();
  const seen = new Set<Node>();
  const stack: Var[] = [root];
  while (stack.length > 0) {
    const v = stack.pop() as Var;
    if (!v.requiresGrad) continue;
    if (v.gradFn) {
      if (seen.has(v.gradFn)) continue;
      seen.add(v.gradFn);
      stack.push(...v.gradFn.inputs);
    } else if (v instanceof Tensor && !leaves.has(v)) {
      const acc = v.arenaGrad ? v.arenaGradValid && !v.gradZeroed : v.grad !== null && !v.gradZeroed;
      leaves.set(v, acc);
    }
  }
  return leaves;
}

function markFreed(root: Tensor): void {
  const stack: Var[] = [root];
  const seen = new Set<Node>();
  while (stack.length > 0) {
    const v = stack.pop() as Var;
    const n = v.gradFn;
    if (!n || seen.has(n)) continue;
    seen.add(n);
    n.freed = true;
    stack.push(...n.inputs);
  }
}

// ---------------------------------------------------------------- running ops

const tracers = new WeakMap<Engine, Tracer<Tensor>>();

/** The engine's tracer (compiled iterations, replay). */
export function tracerOf(engine: Engine): Tracer<Tensor> {
  let t = tracers.get(engine);
  if (!t) {
    t = new Tracer<Tensor>(engine, {
      execute: (def, inputs, needsGrad, dyn, out) => execute(def, inputs, needsGrad, dyn, out),
      replayed: (def, inputs, out, node, slot) =>
        new Tensor(engine, out, def.shape, def.dtype ?? dtypeOf(def, inputs), { gradFn: node, slot }),
      feed: (like) => {
        // The compiled step owns the buffer (and frees it); the tensor does not.
        const storage = allocate(engine, like.elements, `torch feed ${formatShape(like.shape)}`);
        const tensor = new Tensor(engine, { buf: storage.buf, owned: null }, like.shape, like.dtype, {
          requiresGrad: like.requiresGrad,
        });
        return { tensor, storage };
      },
      idOf: (t) => t.id,
      isParameter: (t) => t instanceof Parameter,
    });
    tracers.set(engine, t);
  }
  return t;
}

function dtypeOf(def: OpDef, inputs: readonly Tensor[]): TorchDType {
  return def.alias || def.kind === 'slice' ? (inputs[0]?.dtype ?? 'float32') : 'float32';
}

/** Runs an op eagerly: the output's storage, the forward's kernels, the graph node. */
function execute(
  def: OpDef,
  inputs: readonly Tensor[],
  needsGrad: boolean,
  dyn?: Bindable,
  given?: Storage,
): Tensor {
  const engine = (inputs[0] as Tensor).engine;
  const first = inputs[0] as Tensor;
  const out: Storage =
    given ??
    (def.alias
      ? { buf: first.storage.buf, owned: null }
      : allocate(engine, sizeOf(def.shape), `torch ${def.kind}`));
  const saved = def.forward(engine, inputs, out.buf, dyn);
  const node = needsGrad ? new Node(def, inputs, saved, out) : null;
  if (!node) for (const s of saved?.buffers ?? []) release(engine, s);
  return new Tensor(engine, out, def.shape, def.dtype ?? dtypeOf(def, inputs), {
    gradFn: node,
    base: def.alias ? first : null,
  });
}

/** Calls an op: checks the engines, decides whether it builds a graph, runs it through the tracer. */
export function apply(def: OpDef, inputs: readonly Tensor[], dtype?: TorchDType): Tensor {
  const first = inputs[0];
  if (!first) throw new Error(`${def.kind}(): no inputs`);
  for (const t of inputs) {
    if (t.engine.isLost) {
      throw new Error(
        `${def.kind}(): ${t.describe()} lives on an engine that was disposed (or whose device was lost); ` +
          'make the model and its tensors again after initEngine()',
      );
    }
    t.checkUsable(); // disposed or stale: the error names the tensor
  }
  for (const t of inputs) {
    if (t.engine !== first.engine)
      throw new Error(`${def.kind}(): ${first.describe()} and ${t.describe()} live on different engines`);
  }
  const needsGrad = isGradEnabled() && def.backward !== undefined && inputs.some((t) => t.requiresGrad);
  const d = dtype && dtype !== (def.dtype ?? 'float32') ? { ...def, dtype } : def;
  return tracerOf(first.engine).op(d, inputs, needsGrad);
}

// ---------------------------------------------------------------- constants

const scalarCache = new WeakMap<Engine, { internal: Map<number, Tensor>; user: Map<number, Tensor> }>();

/** Number operands cached per engine; past these, an operand gets a tensor of its own (freed with it). */
const MAX_CACHED_SCALARS = 256;

function scalarTensor(engine: Engine, value: number, owned: boolean): Tensor {
  const buffer = engine.createBufferWithData(
    new Float32Array([value, 0, 0, 0]),
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    `torch scalar ${value}`,
  );
  return new Tensor(engine, { buf: buffer, owned: owned ? buffer : null }, [], 'float32');
}

function scalarCaches(engine: Engine): { internal: Map<number, Tensor>; user: Map<number, Tensor> } {
  let caches = scalarCache.get(engine);
  if (!caches) {
    caches = { internal: new Map(), user: new Map() };
    scalarCache.set(engine, caches);
  }
  return caches;
}

/**
 * A constant the library itself binds (backward's seed 1, a mean's 1/n, −1): always cached,
 * so compiled steps can bind it for good (a finite set per model).
 */
export function constant(engine: Engine, value: number): Tensor {
  const { internal } = scalarCaches(engine);
  const key = Math.fround(value);
  let t = internal.get(key);
  if (!t || t.isDisposed) {
    t = scalarTensor(engine, key, false);
    internal.set(key, t);
  }
  return t;
}

/**
 * A one-element tensor for a number operand (x.mul(2)): cached up to a bound, so a loop's
 * constants are the same tensors each iteration; past it a tensor of its own, which a
 * compiled step treats as an input fed anew each iteration.
 */
export function scalar(engine: Engine, value: number): Tensor {
  const { user } = scalarCaches(engine);
  const key = Math.fround(value);
  const cached = user.get(key);
  if (cached && !cached.isDisposed) return cached;
  if (user.size >= MAX_CACHED_SCALARS) return scalarTensor(engine, key, true);
  const t = scalarTensor(engine, key, false);
  user.set(key, t);
  return t;
}

setScalarSource((engine, value) => constant(engine, value).storage.buf);

// ---------------------------------------------------------------- creation

let defaultDevice: Engine | null = null;

/**
 * torch.set_default_device: where tensors and modules are made when no engine is given
 * (null: the engine of the last initEngine()).
 */
export function setDefaultDevice(engine: Engine | null): void {
  defaultDevice = engine;
}

/** The engine new tensors and parameters go to. */
export function defaultEngine(): Engine {
  if (defaultDevice && !defaultDevice.isLost) return defaultDevice;
  return currentEngine();
}

export interface TensorOptions {
  dtype?: string;
  requiresGrad?: boolean;
  /** Default: the engine of the last initEngine(). */
  engine?: Engine;
}

/** torch.tensor(data): a copy of nested arrays, a number or a typed array on the GPU. */
export function tensor(data: TensorLike, options: TensorOptions = {}): Tensor {
  const { values, shape } = flatten(data);
  const dtype = options.dtype
    ? resolveDType(options.dtype)
    : data instanceof Int32Array
      ? 'int32'
      : 'float32';
  return fromValues(values, shape, dtype, options);
}

/** A tensor of `shape` from flat values (a typed array or numbers). */
export function fromValues(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: TorchDType,
  options: TensorOptions = {},
): Tensor {
  const engine = options.engine ?? defaultEngine();
  const n = sizeOf(shape);
  if (values.length !== n) {
    throw new RangeError(
      `torch.tensor: shape ${formatShape(shape)} holds ${n} values but ${values.length} were given`,
    );
  }
  let host: Float32Array | Int32Array;
  if (dtype === 'int32') {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new RangeError(`torch.tensor: value ${v} at index ${i} is not an int32`);
      }
    }
    host = Int32Array.from(values);
  } else {
    host = Float32Array.from(values);
  }
  const padded = new Uint8Array(Math.max(4, host.byteLength));
  padded.set(new Uint8Array(host.buffer, host.byteOffset, host.byteLength));
  const buffer = engine.createBufferWithData(
    padded,
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    `torch tensor ${formatShape(shape)}`,
  );
  const t = new Tensor(engine, { buf: buffer, owned: buffer }, shape, dtype);
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function flatten(data: TensorLike): { values: ArrayLike<number>; shape: number[] } {
  if (typeof data === 'number') return { values: [data], shape: [] };
  if (ArrayBuffer.isView(data)) return { values: data, shape: [data.length] };
  if (!Array.isArray(data))
    throw new TypeError('torch.tensor: data must be a number, nested arrays or a typed array');
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const flat: unknown[] = (data as unknown[]).flat(Infinity);
  if (flat.length !== sizeOf(shape) || flat.some((v) => typeof v !== 'number')) {
    throw new RangeError(
      `torch.tensor: nested arrays must be rectangular arrays of numbers (first row shape ${formatShape(shape)})`,
    );
  }
  return { values: flat as number[], shape };
}

function nest(flat: number[], shape: readonly number[]): number | NestedNumbers {
  if (shape.length === 0) return flat[0] as number;
  const [d, ...rest] = shape as [number, ...number[]];
  const step = sizeOf(rest);
  return Array.from({ length: d }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), rest));
}

/** A size as PyTorch takes it: dimensions as arguments (zeros(2, 3)) or one list (zeros([2, 3])), options last. */
export type SizeArgs = number[] | [readonly number[], TensorOptions?] | [...number[], TensorOptions];

function sizeArgs(what: string, args: readonly unknown[]): { shape: number[]; options: TensorOptions } {
  const last = args[args.length - 1];
  const hasOptions = typeof last === 'object' && last !== null && !Array.isArray(last);
  const options = (hasOptions ? last : {}) as TensorOptions;
  const dims = hasOptions ? args.slice(0, -1) : args;
  const shape = (dims.length === 1 && Array.isArray(dims[0]) ? dims[0] : dims) as unknown[];
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new TypeError(`${what}(): sizes must be non-negative integers, got ${String(d)}`);
    }
  }
  return { shape: shape as number[], options };
}

function filled(what: string, args: readonly unknown[], value: (rng: SeededRng) => number): Tensor {
  const { shape, options } = sizeArgs(what, args);
  const dtype = options.dtype ? resolveDType(options.dtype) : 'float32';
  if (dtype === 'int32' && (what === 'rand' || what === 'randn')) {
    throw new TypeError(
      `${what}(): random values are float32; dtype '${options.dtype}' is not supported here`,
    );
  }
  const data = Float32Array.from({ length: sizeOf(shape) }, () => value(rng));
  return fromValues(data, shape, dtype, options);
}

/** torch.zeros(2, 3) or zeros([2, 3], { requiresGrad: true }). */
export function zeros(...args: SizeArgs): Tensor {
  return filled('zeros', args, () => 0);
}

export function ones(...args: SizeArgs): Tensor {
  return filled('ones', args, () => 1);
}

/** Uniform [0, 1) values from the generator manualSeed() seeds. */
export function rand(...args: SizeArgs): Tensor {
  return filled('rand', args, (r) => r.next());
}

/** Standard normal values from the generator manualSeed() seeds. */
export function randn(...args: SizeArgs): Tensor {
  return filled('randn', args, (r) => r.normal());
}

/**
 * torch.autograd.Variable, kept for old code such as the deck's: the tensor itself (since
 * PyTorch 0.4 a Variable is a Tensor), requiring a gradient when asked.
 */
export function Variable(
  t: Tensor,
  options: { requiresGrad?: boolean; requires_grad?: boolean } = {},
): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError('Variable(): expected a Tensor');
  if (options.requiresGrad ?? options.requires_grad) t.requiresGrad_(true);
  return t;
}

// ---------------------------------------------------------------- random

let rng: SeededRng = createRng();
let dropoutSeed = rng.nextU32();

let seedEpoch = 0;
let dropoutStreams = 0;

/**
 * torch.manual_seed: seeds initialisation (Linear), rand / randn and dropout masks (the
 * same seed gives the same masks again from here).
 */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed))
    throw new TypeError(`manualSeed(): the seed must be an integer, got ${seed}`);
  rng = createRng(seed);
  dropoutSeed = rng.nextU32();
  dropoutStreams = 0;
  seedEpoch++;
}

/** manualSeed() calls so far (a dropout recorded before a reseed is not replayed after it). */
export function currentSeedEpoch(): number {
  return seedEpoch;
}

/** The stream of the next eager dropout call (masks differ per call and per step). */
export function nextDropoutStream(): number {
  const s = dropoutStreams;
  dropoutStreams = (dropoutStreams + 1) % 2 ** 20;
  return s;
}

/** The front-end's host generator (initialisation). */
export function hostRng(): SeededRng {
  return rng;
}

export function currentDropoutSeed(): number {
  return dropoutSeed;
}

/** torch.cat: tensors of equal shapes but along `dim`, joined along it. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (!first) throw new RangeError('cat(): expected a non-empty list of Tensors');
  const r = first.shape.length;
  const axis = normAxis(dim, r, 'cat');
  for (const [i, t] of tensors.entries()) {
    requireFloat(t, 'cat');
    const ok = t.shape.length === r && t.shape.every((d, k) => k === axis || d === first.shape[k]);
    if (!ok) {
      throw new RangeError(
        `cat(): Sizes of tensors must match except in dimension ${axis}. Expected ${formatShape(first.shape)} ` +
          `(any size ${axis}) but got ${formatShape(t.shape)} for tensor number ${i} in the list`,
      );
    }
  }
  const shape = first.shape.map((d, k) =>
    k === axis ? tensors.reduce((s, t) => s + (t.shape[k] as number), 0) : d,
  );
  return apply(
    catDef(
      tensors.map((t) => t.shape),
      axis,
      shape,
    ),
    tensors,
  );
}

// ---------------------------------------------------------------- the RNG step word

const rngState = new WeakMap<Engine, { buffer: GPUBuffer; epoch: number }>();

/** The engine's dropout step word (u32 word 0), advanced once per training iteration. */
export function dropoutStep(engine: Engine): GPUBuffer {
  let state = rngState.get(engine);
  if (!state) {
    const buffer = engine.createBuffer({
      size: 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      label: 'torch dropout step',
    });
    state = { buffer, epoch: seedEpoch };
    rngState.set(engine, state);
  } else if (state.epoch !== seedEpoch) {
    // manualSeed() since the last dropout: the step starts again from 0.
    tracerOf(engine).flush();
    engine.writeBuffer(state.buffer, 0, new Uint32Array(4));
    state.epoch = seedEpoch;
  }
  return state.buffer;
}

/** Advances the dropout step (eagerly, or into the recording of a compiled step). */
export function advanceDropoutStep(engine: Engine): void {
  const state = rngState.get(engine);
  if (state) encodeAdvanceCursor(engine, state.buffer, 1);
}

/** Copies `bytes` from one binding to another (ordered with the pending commands). */
export function copyBinding(engine: Engine, src: Bindable, dst: Bindable, bytes: number): void {
  const [sb, so] = src instanceof BufferSlice ? [src.buffer, src.offset] : [src, 0];
  const [db, dO] = dst instanceof BufferSlice ? [dst.buffer, dst.offset] : [dst, 0];
  const size = Math.ceil(bytes / 4) * 4;
  if (sb !== db) {
    engine.copy(sb, db, size, so, dO);
    return;
  }
  if (so === dO) return; // the values are already there
  // WebGPU copies between two buffers only: through a temporary (e.g. two parameters of one arena).
  const temp = engine.createBuffer({
    size,
    usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    label: 'torch copy',
  });
  engine.copy(sb, temp, size, so, 0);
  engine.copy(temp, db, size, 0, dO);
  engine.releaseBuffer(temp, true);
}

/** Reads `bytes` of a binding (a whole buffer or a slice) to the host. */
async function readBinding(
  engine: Engine,
  buf: Bindable,
  bytes: number,
  label: string,
): Promise<ArrayBuffer> {
  if (!(buf instanceof BufferSlice)) return engine.read(buf, bytes, label);
  return engine.read(buf.buffer, bytes, label, buf.offset);
}
