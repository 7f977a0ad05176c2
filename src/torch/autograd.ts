/**
 * The PyTorch-style front-end's core: GPU storage, op records with their backward rules, the
 * dynamic graph they build, and backward() over it.
 *
 * An op (./defs.ts) is a record: its output shape, a forward that encodes its kernels into
 * given buffers, and a backward that encodes the gradient kernels of each input that needs
 * one. The same record runs eagerly (each call encodes at once), is recorded into a compiled
 * step (./trace.ts), and is replayed from there; nothing here knows which.
 */
import type { Bindable, Engine } from '../gpu/engine.js';
import { BufferSlice } from '../gpu/resources.js';
import { encodeCopyBlock } from '../kernels/pointwise.js';
import { formatShape, sizeOf } from '../kernels/shape.js';

/** Element types: float32, and int32 for class ids (PyTorch's int64 "long" targets). */
export type TorchDType = 'float32' | 'int32';

/** Where a tensor's values live. */
export interface Storage {
  readonly buf: Bindable;
  /** The buffer release() frees: null for a view, an arena slice, or a compiled step's buffer. */
  owned: GPUBuffer | null;
}

/** While a compiled step is recorded, new buffers belong to its recordings (never freed singly). */
let recordingDepth = 0;

/** Runs fn with allocations owned by the engine recording around it. */
export function whileRecording<T>(fn: () => T): T {
  recordingDepth++;
  try {
    return fn();
  } finally {
    recordingDepth--;
  }
}

export function isRecording(): boolean {
  return recordingDepth > 0;
}

/** A storage of `elements` 4-byte values (zero-filled). */
export function allocate(engine: Engine, elements: number, label: string): Storage {
  const buffer = engine.createBuffer({
    size: Math.max(4, elements * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    label,
  });
  return { buf: buffer, owned: recordingDepth > 0 ? null : buffer };
}

/** Frees what a storage owns (nothing for views and compiled buffers); safe to call twice. */
export function release(engine: Engine, s: Storage | undefined): void {
  if (!s?.owned) return;
  if (!engine.isLost) engine.releaseBuffer(s.owned);
  s.owned = null;
}

/** The rows [start, start + rows) of a row-major buffer, as a binding (offset must be aligned). */
export function sliceBinding(buf: Bindable, byteOffset: number, bytes: number, label: string): Bindable {
  if (buf instanceof BufferSlice) return new BufferSlice(buf.buffer, buf.offset + byteOffset, bytes, label);
  return new BufferSlice(buf, byteOffset, bytes, label);
}

/** What an op's forward and backward see of a tensor. */
export interface Var {
  readonly shape: readonly number[];
  readonly dtype: TorchDType;
  /** Number of elements. */
  readonly elements: number;
  readonly requiresGrad: boolean;
  readonly gradFn: Node | null;
  /** The storage; throws (naming the tensor) if it was disposed or reused by a compiled step. */
  readonly storage: Storage;
  /** Throws as `storage` does. */
  checkUsable(): void;
  describe(): string;
}

/** A leaf that collects gradients (a parameter, or a tensor made with requiresGrad). */
export interface Leaf extends Var {
  /**
   * Where backward writes this leaf's gradient: a buffer and whether to add to it (a gradient
   * kept from an earlier backward) or overwrite it. Called once a backward per leaf, before
   * its first contribution.
   */
  gradTarget(): { buf: Bindable; accumulate: boolean };
  /** Called after a backward that wrote the leaf's gradient. */
  gradWritten(): void;
}

/** Saved values of an op's forward, freed with its graph. */
export interface Saved {
  readonly buffers: Storage[];
  /** Anything else the backward needs (shapes, scalars). */
  readonly [key: string]: unknown;
}

/** What a backward rule writes its input gradients with. */
export interface GradContext {
  readonly engine: Engine;
  /** True when input i needs a gradient. */
  needs(i: number): boolean;
  /**
   * Writes input i's gradient: `write(dst, accumulate)` encodes it. Kernels that cannot add
   * pass canAccumulate false and get a temporary that is then added.
   */
  give(i: number, canAccumulate: boolean, write: (dst: Bindable, accumulate: boolean) => void): void;
  /** A temporary of `elements` f32 values, freed after the backward. */
  temp(elements: number, label: string): Bindable;
  /**
   * Input i's gradient may be handed over as `buf` itself (a buffer the op owns and will not
   * read again), saving a copy; when that is not possible it is added or copied.
   */
  giveBuffer(i: number, buf: Bindable): void;
  /**
   * When input i is the output of an activation (relu, sigmoid, tanh) that nothing else
   * uses, its activation and output: the op may write the gradient of the activation's input
   * directly, with f' applied (a matmul's gradient epilogue), through giveThrough().
   */
  throughActivation(i: number): { name: string; y: Bindable } | undefined;
  /** Writes the gradient of input i's activation input (see throughActivation); never accumulates. */
  giveThrough(i: number, write: (dst: Bindable) => void): void;
}

/** An op record: everything the front-end knows about one kind of op. */
export interface OpDef {
  /** 'matmul', 'linear', 'slice', ... */
  readonly kind: string;
  /** The attributes that make two calls the same op (with the input shapes): a trace's key. */
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype?: TorchDType;
  /**
   * A value that may change from one call to the next without changing the kernels (a
   * slice's start row): a compiled step writes it into `dyn` before each replay.
   */
  readonly dynamic?: { value: number; max: number };
  /**
   * Encodes the forward into `out`; may return buffers for the backward (allocate()d, freed
   * with the graph). `dyn` is given when the dynamic value comes from a GPU word.
   */
  forward(engine: Engine, ins: readonly Var[], out: Bindable, dyn?: Bindable): Saved | undefined;
  /** The output is the first input's storage, reinterpreted (reshape, view): no kernel. */
  readonly alias?: boolean;
  /** For relu, sigmoid and tanh: the activation a gradient epilogue can apply (see throughActivation). */
  readonly activation?: string;
  /**
   * For an op whose kernel has an epilogue (linear): the forward with the activation that
   * follows it folded in, writing this op's output (the pre-activation) and the activation's
   * output in one pass. A compiled step uses it when the activation is the only consumer.
   */
  fuseForward?(
    activation: string,
  ): (engine: Engine, ins: readonly Var[], out: Bindable, activated: Bindable) => void;
  /** Encodes the input gradients from dy (the output's gradient). Absent: no gradient flows. */
  backward?(
    ctx: GradContext,
    dy: Bindable,
    ins: readonly Var[],
    out: Bindable,
    saved: Saved | undefined,
  ): void;
}

/** A node of the dynamic graph: the op that made a tensor, its inputs and what it saved. */
export class Node {
  freed = false;
  constructor(
    readonly def: OpDef,
    readonly inputs: readonly Var[],
    readonly saved: Saved | undefined,
    /** The output's storage (a backward rule may read it). */
    readonly out: Storage,
  ) {}

  get name(): string {
    return `${capitalised(this.def.kind)}Backward`;
  }
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------- grad mode

let gradEnabled = true;

/** True unless inside noGrad(). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs fn without building the graph (torch.no_grad()): its results need no gradient and
 * keep nothing for a backward. A promise returned by fn is awaited inside: until it settles
 * no graph is built anywhere (JavaScript has no per-task state to scope it to fn alone), so
 * keep an async fn short or use a synchronous one.
 */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    gradEnabled = before;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      gradEnabled = before;
    }) as T;
  }
  gradEnabled = before;
  return result;
}

// ---------------------------------------------------------------- backward

/** Options of one backward pass. */
export interface BackwardOptions {
  /** Keep the graph's saved values for another backward (PyTorch's retain_graph). */
  retainGraph?: boolean;
}

/** Nodes reachable from root, inputs before the nodes that use them. */
function topological(root: Var): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  // Iterative post-order: deep graphs (a long loop of ops) must not overflow the JS stack.
  const stack: { node: Node; next: number }[] = [];
  const push = (v: Var) => {
    const n = v.gradFn;
    if (n && !seen.has(n)) {
      seen.add(n);
      stack.push({ node: n, next: 0 });
    }
  };
  push(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { node: Node; next: number };
    const input = top.node.inputs[top.next++];
    if (input === undefined) {
      order.push(top.node);
      stack.pop();
    } else if (input.requiresGrad) {
      push(input);
    }
  }
  return order;
}

/** Node → the tensor it made, for the gradient table (a node's output is its key). */
export type OutputOf = (node: Node) => Var;

/**
 * Backpropagates from root with the given seed gradient (same shape as root) into every leaf
 * that requires a gradient. Intermediate gradients live in temporaries freed at the end; a
 * leaf's gradient goes where leaf.gradTarget() says.
 */
export function runBackward(
  engine: Engine,
  root: Var,
  seed: Bindable,
  isLeaf: (v: Var) => v is Leaf,
  options: BackwardOptions = {},
  /** Overrides leaf.gradTarget() (a compiled backward: the modes the traced one had); no gradWritten(). */
  targetOf?: (leaf: Leaf) => { buf: Bindable; accumulate: boolean },
): Leaf[] {
  const nodes = topological(root);
  for (const n of nodes) {
    if (n.freed) {
      throw new Error(
        `Trying to backward through the graph a second time (or directly access saved tensors after ` +
          `they have already been freed): ${n.name} of ${root.describe()} was freed by an earlier ` +
          'backward(). Specify retainGraph: true in the first backward() if you need to backward twice.',
      );
    }
  }
  // Every tensor the pass reads must still be there (not disposed, not reused by a compiled
  // step): checked before anything is encoded, so a refused backward changes no gradient.
  root.checkUsable();
  for (const n of nodes) for (const v of n.inputs) v.checkUsable();
  const temps: Storage[] = [];
  const grads = new Map<Var, { buf: Bindable; written: boolean }>();
  const outputs = new Map<Node, Var>();
  const leafTargets = new Map<Leaf, { buf: Bindable; accumulate: boolean }>();
  const temp = (elements: number, label: string): Bindable => {
    const s = allocate(engine, elements, label);
    temps.push(s);
    return s.buf;
  };
  // Every node's output: the tensor whose gradFn it is, found among the inputs of later nodes.
  if (root.gradFn) outputs.set(root.gradFn, root);
  for (const n of nodes) {
    for (const v of n.inputs) if (v.gradFn) outputs.set(v.gradFn, v);
  }
  grads.set(root, { buf: seed, written: true });

  const give = (
    v: Var,
    canAccumulate: boolean,
    write: (dst: Bindable, accumulate: boolean) => void,
  ): void => {
    let target: { buf: Bindable; accumulate: boolean };
    if (isLeaf(v) && !v.gradFn) {
      const first = leafTargets.get(v);
      if (first) {
        target = { buf: first.buf, accumulate: true };
      } else {
        target = targetOf ? targetOf(v) : v.gradTarget();
        leafTargets.set(v, target);
      }
    } else {
      const g = grads.get(v);
      if (g) {
        target = { buf: g.buf, accumulate: true };
      } else {
        const buf = temp(v.elements, `grad of ${v.describe()}`);
        grads.set(v, { buf, written: true });
        target = { buf, accumulate: false };
      }
    }
    if (!target.accumulate || canAccumulate) {
      write(target.buf, target.accumulate);
      return;
    }
    const t = temp(v.elements, `grad part of ${v.describe()}`);
    write(t, false);
    addInto(engine, t, target.buf, v.elements);
  };

  // How many gradient contributions each tensor gets: an activation output used once can
  // have its gradient folded into its consumer's.
  const uses = new Map<Var, number>();
  for (const n of nodes) for (const v of n.inputs) if (v.requiresGrad) uses.set(v, (uses.get(v) ?? 0) + 1);
  const skipped = new Set<Node>();
  const adoptable = options.retainGraph !== true || targetOf !== undefined;

  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k] as Node;
    const out = outputs.get(node);
    const dy = out ? grads.get(out) : undefined;
    if (!dy || !node.def.backward || skipped.has(node)) continue;
    const ins = node.inputs;
    const through = (i: number): Node | undefined => {
      const v = ins[i];
      const act = v?.gradFn;
      if (!v || !act?.def.activation || v === root || uses.get(v) !== 1 || act.freed) return undefined;
      const x = act.inputs[0];
      return x?.requiresGrad && !grads.has(v) ? act : undefined;
    };
    const ctx: GradContext = {
      engine,
      needs: (i) => ins[i]?.requiresGrad === true,
      give: (i, canAccumulate, write) => {
        const v = ins[i];
        if (v?.requiresGrad) give(v, canAccumulate, write);
      },
      temp,
      giveBuffer: (i, buf) => {
        const v = ins[i];
        if (!v?.requiresGrad) return;
        if (adoptable && !(isLeaf(v) && !v.gradFn) && !grads.has(v)) {
          grads.set(v, { buf, written: true });
          return;
        }
        give(v, true, (dst, accumulate) => copyOrAdd(engine, buf, dst, v.elements, accumulate));
      },
      throughActivation: (i) => {
        const act = through(i);
        return act ? { name: act.def.activation as string, y: act.out.buf } : undefined;
      },
      giveThrough: (i, write) => {
        const act = through(i) as Node;
        skipped.add(act);
        give(act.inputs[0] as Var, false, (dst) => write(dst));
      },
    };
    node.def.backward(ctx, dy.buf, ins, node.out.buf, node.saved);
  }
  if (!targetOf) for (const leaf of leafTargets.keys()) leaf.gradWritten();
  if (!options.retainGraph) {
    for (const n of nodes) {
      n.freed = true;
      for (const s of n.saved?.buffers ?? []) release(engine, s);
    }
  }
  if (!isRecording()) engine.submitPending();
  for (const s of temps) release(engine, s);
  return [...leafTargets.keys()];
}

/** dst += src over n f32 values (one dispatch). */
export function addInto(engine: Engine, src: Bindable, dst: Bindable, n: number): void {
  copyOrAdd(engine, src, dst, n, true);
}

/** dst = src, or dst += src, over n f32 values (one dispatch). */
export function copyOrAdd(
  engine: Engine,
  src: Bindable,
  dst: Bindable,
  n: number,
  accumulate: boolean,
): void {
  const whole = { offset: 0, stride: n };
  encodeCopyBlock(engine, { rows: 1, cols: n, src: whole, dst: whole, accumulate }, { src, dst });
}

/** "[3, 4]" */
export function shapeText(shape: readonly number[]): string {
  return formatShape(shape);
}

/** Elements of a shape. */
export function elementsOf(shape: readonly number[]): number {
  return sizeOf(shape);
}
