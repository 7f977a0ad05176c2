/**
 * What every graph op is: the values and parameters of the IR, and the contract an op record
 * keeps (./ops/). An op knows its shape rule, its forward lowering into kernel calls, its
 * backward rule, its float64 reference forward and backward, and its fusion traits; the
 * walkers (ir.ts builds, fusion.ts groups, lowering.ts and reference.ts run) only call these
 * methods and never switch over op kinds.
 *
 * Every value is 2-D [batch, features], row-major; the batch size is not part of the graph
 * (a compiled Plan fixes it).
 */
import type { ActivationSpec } from '../../shaders/activations.js';
import type { Call, VBuf } from './liveness.js';

/** What a compiled step does: train (forward, loss, backward, update), evaluate, predict. */
export type Mode = 'train' | 'evaluate' | 'predict';

/** A per-sample width: every value is [batch, features]. */
export interface Value {
  readonly id: number;
  readonly features: number;
  readonly node: Op;
  /** "dense_1/relu", used in labels and errors. */
  readonly name: string;
}

/**
 * A tensor owned by the model: trainable weights (updated by the optimizer, in the
 * parameter arena) or non-trainable state (batch-norm moving statistics).
 */
export interface Param {
  readonly id: number;
  /** "dense_1/kernel" */
  readonly name: string;
  readonly shape: readonly number[];
  readonly length: number;
  readonly trainable: boolean;
  /** Keras regularizer factors: the penalty l1·Σ|w| + l2·Σw² adds its gradient. */
  readonly l1: number;
  readonly l2: number;
  /** Initial values, row-major (a [in, out] kernel: row i = input feature i). */
  init: Float32Array;
}

export class GraphError extends Error {
  override name = 'GraphError';
}

/** Softmax (row-wise) beside the element-wise Keras activations. */
export type ActivationAttrs = ActivationSpec | { name: 'softmax' };

/**
 * One kernel's worth of the graph (fusion.ts): a head op and, for an op with an epilogue
 * (matmul), the bias and activation folded into it. `out` is the value the group stores.
 */
export interface Group {
  readonly node: Op;
  /** The head op's own value (for a matmul: its product, before the epilogue). */
  readonly head: Value;
  readonly bias?: Param;
  /** { name: 'linear' } when no activation was folded in. */
  readonly activation: ActivationSpec;
  readonly out: Value;
}

/** What an op contributes when a preceding op's epilogue absorbs it. */
export type EpilogueStage = { bias: Param } | { activation: ActivationSpec };

/** The fixed buffers a step reads and writes (owned by the model's arenas). */
export interface LowerEnv {
  /** A trainable weight's slice of the parameter arena, or a state tensor's slice. */
  param(p: Param): VBuf;
  /** A trainable weight's slice of the gradient arena. */
  grad(p: Param): VBuf;
  /** u32 status words (kernels/step.ts STATUS): word STEPS is the dropout step. */
  status: VBuf;
  /** f32 loss sums, one slot per loss head (then MetricLayout's sums). */
  lossSums: VBuf;
  /** u32 right-prediction counts, one slot per metric head (then MetricLayout's counts). */
  counts: VBuf;
  /** u32 [1]: bit 0 set when a sparse label was out of range. */
  labelFlags: VBuf;
  /** The lossSums slot of regularization penalties (weights and activity), if any. */
  penaltySlot?: number;
}

/** What an op's lowering may ask of the lowering walker (lowering.ts). */
export interface LowerContext {
  readonly rows: number;
  readonly mode: Mode;
  readonly env: LowerEnv;
  /** A temporary of `features` f32 values per row of the batch. */
  temp(features: number, label: string): VBuf;
  /** A temporary of `bytes` bytes (rounded up to 16). */
  tempBytes(bytes: number, label: string): VBuf;
  /** Appends a kernel call; undefined entries of reads/writes are dropped. */
  emit(
    label: string,
    reads: (VBuf | undefined)[],
    writes: (VBuf | undefined)[],
    encode: Call['encode'],
  ): void;
  /** The buffer holding a value computed earlier in the step. */
  buf(v: Value): VBuf;
  /** Records where a value lives (a new temporary, or an input's buffer for a view). */
  define(v: Value, b: VBuf): void;
  /** A buffer an op keeps from its forward for its backward (pre-activations, statistics). */
  keep(v: Value, b: VBuf): void;
  kept(v: Value): VBuf | undefined;
  /** The group that produces v. */
  producer(v: Value): Group | undefined;
  /** True when the step needs d loss / d v (training, and a trainable parameter upstream). */
  needsGrad(v: Value): boolean;
  /** How many gradient contributions v will receive (consumers and loss heads). */
  gradUses(v: Value): number;
  /**
   * Adds a gradient contribution to v. `write(dst, accumulate)` encodes it; kernels without
   * an accumulate mode pass canAccumulate false and get a temporary that is then added.
   */
  contribute(v: Value, canAccumulate: boolean, write: (dst: VBuf, accumulate: boolean) => void): void;
  /** A gradient passed through unchanged (add, biasAdd): aliased when it is v's only one. */
  passThrough(v: Value, dy: VBuf): void;
  /** Writes or accumulates a trainable parameter's gradient (nothing for a frozen one). */
  paramGrad(p: Param, write: (dst: VBuf, accumulate: boolean) => void): void;
  /**
   * Both parameters trained, and their next paramGrad() both writes or both accumulate: one
   * kernel may then write the two gradients (a dense layer's dW and db in one pass).
   */
  gradsWrittenAlike(p: Param, q: Param): boolean;
  /**
   * Where a parameter's gradient goes for a kernel that cannot accumulate: its arena slice, or
   * a temporary that finish() adds to it (a shared layer), or scratch for a frozen one.
   */
  paramGradTarget(p: Param, label: string): { buf: VBuf; finish(): void };
  /**
   * Marks v's gradient as already multiplied by its producer's activation derivative (a
   * matmul's gradient epilogue did it), so the producer does not apply it again.
   */
  markActivationApplied(v: Value): void;
  activationApplied(v: Value): boolean;
}

/** What an op's float64 reference forward may ask of the reference walker (reference.ts). */
export interface ReferenceForwardContext {
  readonly rows: number;
  /** Batch statistics and dropout (training) or moving statistics and identity (inference). */
  readonly train: boolean;
  /** The u32 step word dropout masks are drawn with. */
  readonly step: number;
  /** Graph input `index` of the batch, [rows, features]. */
  input(index: number): ArrayLike<number>;
  value(v: Value): Float64Array;
  param(p: Param): Float64Array;
  /** A state parameter's current values (updated in graph order during a training pass). */
  state(p: Param): Float64Array;
  setState(p: Param, values: Float64Array): void;
  /** Something the op's backward needs from its forward (statistics, a mask). */
  keep(v: Value, data: unknown): void;
}

/** What an op's float64 reference backward may ask of the reference walker. */
export interface ReferenceBackwardContext {
  readonly rows: number;
  value(v: Value): Float64Array;
  param(p: Param): Float64Array;
  kept(v: Value): unknown;
  /** Adds g to d loss / d v. */
  accumulate(v: Value, g: ArrayLike<number>): void;
  /** Adds g to a trainable parameter's gradient (ignored for non-trainable ones). */
  paramGrad(p: Param, g: ArrayLike<number>): void;
}

/**
 * An op record. A subclass per op (one file per op family in ./ops/) holds the node's
 * inputs and attributes and implements every rule; the defaults below are those of an op
 * without parameters, state, penalty or fusion.
 */
export abstract class Op {
  /** The op's name in labels and errors: 'matmul', 'batchNorm', ... */
  abstract readonly kind: string;

  constructor(
    /** The Keras layer that added the op (labels and errors). */
    readonly layer: string,
  ) {}

  /** The values the op reads. */
  abstract get inputs(): readonly Value[];

  /** The parameters whose gradients the op's backward writes (if they are trainable). */
  get gradParams(): readonly Param[] {
    return [];
  }

  /** Non-trainable parameters a training step writes (batch-norm moving statistics). */
  get stateWrites(): readonly Param[] {
    return [];
  }

  /** True when the op adds a regularization penalty to the loss (activity regularizers). */
  get penalized(): boolean {
    return false;
  }

  /**
   * The shape rule: checks the inputs and attributes (a GraphError naming the layer) and
   * gives the width of the result and its name ("dense_1/relu").
   */
  abstract shape(): { features: number; name: string };

  // ---------------------------------------------------------------- fusion traits

  /** True for an op whose kernel has an epilogue (matmul): it absorbs a bias, then an activation. */
  get hasEpilogue(): boolean {
    return false;
  }

  /** What this op adds to a preceding epilogue when that epilogue absorbs it. */
  get epilogueStage(): EpilogueStage | undefined {
    return undefined;
  }

  /** For a softmax: its logits (a categorical cross-entropy on it runs the fused kernel). */
  get softmaxLogits(): Value | undefined {
    return undefined;
  }

  // ---------------------------------------------------------------- lowering

  /** Emits the forward kernel calls of group `g` (whose head is this op) and defines g.out. */
  abstract lower(L: LowerContext, g: Group): void;

  /** Emits the backward calls, given d loss / d g.out; by default no gradient flows. */
  lowerBackward(_L: LowerContext, _g: Group, _dy: VBuf): void {
    return;
  }

  // ---------------------------------------------------------------- float64 reference

  /** The op's result in float64, [rows, out.features]. */
  abstract reference(R: ReferenceForwardContext, out: Value): Float64Array;

  /** Backpropagates dy = d loss / d out into the inputs and parameters. */
  referenceBackward(_R: ReferenceBackwardContext, _out: Value, _dy: Float64Array): void {
    return;
  }

  /** The penalty the op adds to the loss of one batch (activity regularizers). */
  referencePenalty(_R: ReferenceBackwardContext, _out: Value): number {
    return 0;
  }
}

/** An op reading one value, with its attributes (most ops: `attrs` holds the rest). */
export abstract class UnaryOp<A> extends Op {
  constructor(
    layer: string,
    readonly x: Value,
    readonly attrs: A,
  ) {
    super(layer);
  }

  get inputs(): readonly Value[] {
    return [this.x];
  }
}
