/**
 * The float64 CPU reference of a whole graph: the forward pass, the Keras losses and metrics
 * of its heads, the batch-norm moving-statistic update, analytic backprop of the total loss
 * into every trainable parameter, and central finite differences of that loss. It is the
 * oracle the GPU training step is tested against, so every op follows the kernels' float64
 * references (src/kernels/*). Each op's own forward and backward are in its record
 * (src/graph/ops/: Op.reference, Op.referenceBackward, Op.referencePenalty); this file walks
 * the graph and adds the heads (lossReference, softmaxCrossEntropyReference,
 * correctCountReference).
 *
 * Layout: every value is [rows, features] row-major; a [in, out] kernel is row-major with row
 * i = input feature i; rows is fixed by the batch (graph.inputs[0]).
 *
 * Loss heads follow what the GPU runs: categorical cross-entropy on the output of a softmax
 * activation is the fused softmax + CE from that softmax's logits (per row logsumexp(z) − Σy·z
 * for the targets y, its gradient Σy·softmax(z) − y going straight to the logits); every other
 * head is the generic per-row loss on the output values (a 'sparse' target one-hot encoded
 * first, CE on probabilities clipped to [ε, 1 − ε] as Keras). A head's loss is the mean of its
 * per-row losses; the total is Σ weight·head loss (no regularization penalty).
 */
import { lossReference, softmaxCrossEntropyReference } from '../kernels/losses.js';
import { correctCountReference } from '../kernels/reduce.js';
import type { Graph, LossHead } from './ir.js';
import type { Param, ReferenceBackwardContext, ReferenceForwardContext, Value } from './op.js';
import { at } from './ops/util.js';

export interface ReferenceBatch {
  /** One per graph.inputs, [rows, features] row-major. */
  inputs: readonly ArrayLike<number>[];
  /** One per graph.losses: 'sparse' → class ids [rows]; 'dense' → [rows, output.features]. */
  targets: readonly ArrayLike<number>[];
}

export interface ReferenceOptions {
  /**
   * 'train': batch-norm uses batch statistics and updates moving stats; dropout active.
   * 'inference': moving stats, no dropout.
   */
  mode: 'train' | 'inference';
  /** The u32 step word the dropout masks are drawn with (src/kernels/dropout.ts). */
  step: number;
}

/** params: one Float64Array per graph.params entry, indexed by Param.id. */
export type ParamValues = Float64Array[];

export interface ReferenceForward {
  /** Every value by Value.id, [rows, features] row-major. */
  values: Map<number, Float64Array>;
  /** Per loss head: the mean over rows of the per-row loss (Keras semantics, the kernels' per-row formulas). */
  headLosses: number[];
  /** Σ weight_i · headLosses[i] */
  loss: number;
  /**
   * Per metric head: the number of right predictions (correctCountReference: 'sparse' and
   * 'dense' count rows, 'binary' counts elements). A 'dense' or 'binary' metric on a head
   * with 'sparse' targets compares with the one-hot encoding of the class ids.
   */
  correct: number[];
  /**
   * The batch-norm moving mean/variance params after this pass, by Param.id (copies; the
   * inputs are untouched). 'train': updated by the Keras 3 formula
   * moving·momentum + batch·(1 − momentum) with the biased batch variance; 'inference':
   * unchanged copies. Only batch-norm state params are present.
   */
  newState: Map<number, Float64Array>;
}

/** The forward pass plus what the backward pass needs from it. */
interface Tape {
  rows: number;
  forward: ReferenceForward;
  /** What each op kept for its backward (statistics, masks), by value. */
  kept: Map<Value, unknown>;
  /** d loss / d value contributed by the loss heads (weight/rows applied), by Value.id. */
  seeds: Map<number, Float64Array>;
}

/** The forward pass of `graph` in float64 on one batch: values, losses, metrics, new state. */
export function referenceForward(
  graph: Graph,
  params: ParamValues,
  batch: ReferenceBatch,
  options: ReferenceOptions,
): ReferenceForward {
  return run(graph, params, batch, options).forward;
}

/**
 * Analytic backprop in float64 of `loss` (no regularization penalty) w.r.t. every trainable
 * param; Map by Param.id (zeros for a trainable param no node reads).
 */
export function referenceGradients(
  graph: Graph,
  params: ParamValues,
  batch: ReferenceBatch,
  options: ReferenceOptions,
): { forward: ReferenceForward; grads: Map<number, Float64Array> } {
  const tape = run(graph, params, batch, options);
  const { rows, forward } = tape;
  const grads = new Map<number, Float64Array>();
  for (const p of graph.params) if (p.trainable) grads.set(p.id, new Float64Array(p.length));

  // d loss / d value, summed over every consumer (fan-out) and head.
  const dValues = new Map<number, Float64Array>();
  const accumulate = (v: Value, g: ArrayLike<number>): void => {
    let acc = dValues.get(v.id);
    if (!acc) {
      acc = new Float64Array(rows * v.features);
      dValues.set(v.id, acc);
    }
    for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] ?? NaN) + (g[i] ?? NaN);
  };
  const paramGrad = (p: Param, g: ArrayLike<number>): void => {
    const acc = grads.get(p.id);
    if (!acc) return; // non-trainable: no gradient kept
    for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] ?? NaN) + (g[i] ?? NaN);
  };
  for (const [id, g] of tape.seeds) accumulate(valueById(graph, id), g);

  const R = backwardContext(rows, tape.kept, forward.values, params, accumulate, paramGrad);
  // graph.values is in creation order, a topological order: walk it backwards.
  for (let k = graph.values.length - 1; k >= 0; k--) {
    const v = graph.values[k] as Value;
    const dy = dValues.get(v.id);
    if (dy) v.node.referenceBackward(R, v, dy);
  }
  return { forward, grads };
}

/**
 * Central differences of referenceForward(...).loss w.r.t. every trainable param (eps
 * default 1e-6), by Param.id. Dropout masks are fixed by options.step, so the loss is a
 * differentiable function of the params.
 */
export function finiteDifferenceGradients(
  graph: Graph,
  params: ParamValues,
  batch: ReferenceBatch,
  options: ReferenceOptions,
  eps = 1e-6,
): Map<number, Float64Array> {
  if (!(eps > 0 && Number.isFinite(eps))) {
    throw new RangeError(`finiteDifferenceGradients: eps must be a positive finite number, got ${eps}`);
  }
  checkParams(graph, params);
  const grads = new Map<number, Float64Array>();
  const work = params.map((p) => Float64Array.from(p));
  for (const p of graph.params) {
    if (!p.trainable) continue;
    const w = work[p.id] as Float64Array;
    const g = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const original = at(w, i);
      w[i] = original + eps;
      const plus = run(graph, work, batch, options).forward.loss;
      w[i] = original - eps;
      const minus = run(graph, work, batch, options).forward.loss;
      w[i] = original;
      g[i] = (plus - minus) / (2 * eps);
    }
    grads.set(p.id, g);
  }
  return grads;
}

/** Initial param values as float64 (from Param.init), indexed by Param.id. */
export function initialParams(graph: Graph): ParamValues {
  return graph.params.map((p) => Float64Array.from(p.init));
}

// ------------------------------------------------------------------ forward

function run(graph: Graph, params: ParamValues, batch: ReferenceBatch, options: ReferenceOptions): Tape {
  const what = 'reference';
  checkParams(graph, params);
  const { mode, step } = options;
  // Checked at run time for untyped callers.
  const modeName: string = mode;
  if (modeName !== 'train' && modeName !== 'inference') {
    throw new RangeError(`${what}: mode must be 'train' or 'inference', got '${modeName}'`);
  }
  if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) {
    throw new RangeError(`${what}: step must be a u32 (integer in [0, 2^32)), got ${step}`);
  }
  const rows = batchRows(graph, batch);
  const train = mode === 'train';

  const values = new Map<number, Float64Array>();
  const newState = new Map<number, Float64Array>();
  const kept = new Map<Value, unknown>();
  for (const v of graph.values) {
    for (const p of v.node.stateWrites) {
      if (!newState.has(p.id)) newState.set(p.id, Float64Array.from(paramValue(params, p)));
    }
  }
  const R: ReferenceForwardContext = {
    rows,
    train,
    step,
    input: (index) => batch.inputs[index] as ArrayLike<number>,
    value: (v) => get(values, v),
    param: (p) => paramValue(params, p),
    state: (p) => {
      const s = newState.get(p.id);
      if (!s) throw new Error(`reference: "${p.name}" is not state a step writes`);
      return s;
    },
    setState: (p, s) => void newState.set(p.id, s),
    keep: (v, data) => void kept.set(v, data),
  };
  for (const v of graph.values) values.set(v.id, v.node.reference(R, v));

  // Heads.
  const seeds = new Map<number, Float64Array>();
  const headLosses: number[] = [];
  let loss = 0;
  graph.losses.forEach((head, h) => {
    const target = batch.targets[h] as ArrayLike<number>;
    const { rowLosses, grad, gradValue } = headLoss(head, rows, values, target);
    let sum = 0;
    for (const l of rowLosses) sum += l;
    const mean = sum / rows;
    headLosses.push(mean);
    loss += head.weight * mean;
    const scale = head.weight / rows;
    let seed = seeds.get(gradValue.id);
    if (!seed) {
      seed = new Float64Array(rows * gradValue.features);
      seeds.set(gradValue.id, seed);
    }
    for (let i = 0; i < seed.length; i++) seed[i] = at(seed, i) + at(grad, i) * scale;
  });

  // Penalties of the ops (activity regularizers: (l1·Σ|a| + l2·Σa²) / rows).
  const P = backwardContext(rows, kept, values, params);
  for (const v of graph.values) loss += v.node.referencePenalty(P, v);

  const correct = graph.metrics.map((m) => {
    const head = graph.losses[m.lossIndex] as LossHead;
    const cols = m.output.features;
    const raw = batch.targets[m.lossIndex] as ArrayLike<number>;
    const labels = m.kind !== 'sparse' && head.target === 'sparse' ? oneHot(raw, rows, cols) : raw;
    return correctCountReference({ kind: m.kind, rows, cols }, get(values, m.output), labels);
  });

  return { rows, forward: { values, headLosses, loss, correct, newState }, kept, seeds };
}

/**
 * One head's per-row losses and d(row loss)/d(value) (no weight or 1/rows), with the value
 * the gradient is with respect to: the softmax's logits for the fused softmax + CE, else the
 * head's output.
 */
function headLoss(
  head: LossHead,
  rows: number,
  values: Map<number, Float64Array>,
  target: ArrayLike<number>,
): { rowLosses: Float64Array; grad: Float64Array; gradValue: Value } {
  const out = head.output;
  const cols = out.features;
  const logits = out.node.softmaxLogits;
  if (head.loss === 'categorical_crossentropy' && logits) {
    const r = softmaxCrossEntropyReference(
      { rows, classes: cols, labels: head.target, gradScale: 1 },
      get(values, logits),
      target,
    );
    return { rowLosses: r.loss, grad: r.dlogits, gradValue: logits };
  }
  const dense = head.target === 'sparse' ? oneHot(target, rows, cols) : target;
  const spec = {
    name: head.loss,
    rows,
    cols,
    gradScale: 1,
    ...(head.delta !== undefined ? { delta: head.delta } : {}),
  };
  const r = lossReference(spec, get(values, out), dense);
  return { rowLosses: r.loss, grad: r.dpred, gradValue: out };
}

/** Class ids [rows] → one-hot [rows, cols]; an id that is not an integer in [0, cols) gives a NaN row. */
function oneHot(ids: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const id = at(ids, r);
    if (Number.isInteger(id) && id >= 0 && id < cols) out[r * cols + id] = 1;
    else out.fill(NaN, r * cols, (r + 1) * cols);
  }
  return out;
}

/** The reference walker as an op's backward (and penalty) sees it. */
function backwardContext(
  rows: number,
  kept: ReadonlyMap<Value, unknown>,
  values: ReadonlyMap<number, Float64Array>,
  params: ParamValues,
  accumulate: (v: Value, g: ArrayLike<number>) => void = () => undefined,
  paramGrad: (p: Param, g: ArrayLike<number>) => void = () => undefined,
): ReferenceBackwardContext {
  return {
    rows,
    value: (v) => get(values, v),
    param: (p) => paramValue(params, p),
    kept: (v) => kept.get(v),
    accumulate,
    paramGrad,
  };
}

// ------------------------------------------------------------------ validation and access

function checkParams(graph: Graph, params: ParamValues): void {
  if (params.length !== graph.params.length) {
    throw new RangeError(
      `reference: the graph has ${graph.params.length} params, got ${params.length} value arrays`,
    );
  }
  for (const p of graph.params) {
    const got = params[p.id]?.length;
    if (got !== p.length) {
      throw new RangeError(
        `reference: param "${p.name}" [${p.shape.join(', ')}] needs ${p.length} values, got ${got ?? 'none'}`,
      );
    }
  }
}

/** Rows of the batch, after checking every input and target length against it. */
function batchRows(graph: Graph, batch: ReferenceBatch): number {
  const first = graph.inputs[0];
  if (!first) throw new RangeError('reference: the graph has no inputs');
  if (batch.inputs.length !== graph.inputs.length) {
    throw new RangeError(
      `reference: the graph has ${graph.inputs.length} inputs, the batch ${batch.inputs.length}`,
    );
  }
  const n0 = (batch.inputs[0] as ArrayLike<number>).length;
  const rows = n0 / first.features;
  if (!Number.isInteger(rows) || rows < 1) {
    throw new RangeError(
      `reference: input "${first.name}" has ${first.features} features, so its ${n0} values are not a whole number of rows (≥ 1)`,
    );
  }
  graph.inputs.forEach((v, k) => {
    const n = (batch.inputs[k] as ArrayLike<number>).length;
    if (n !== rows * v.features) {
      throw new RangeError(
        `reference: input "${v.name}" [${rows}, ${v.features}] needs ${rows * v.features} values, got ${n}`,
      );
    }
  });
  if (batch.targets.length !== graph.losses.length) {
    throw new RangeError(
      `reference: the graph has ${graph.losses.length} loss heads, the batch ${batch.targets.length} targets`,
    );
  }
  graph.losses.forEach((head, h) => {
    const n = (batch.targets[h] as ArrayLike<number>).length;
    const need = head.target === 'sparse' ? rows : rows * head.output.features;
    if (n !== need) {
      const shape = head.target === 'sparse' ? `[${rows}]` : `[${rows}, ${head.output.features}]`;
      throw new RangeError(
        `reference: loss #${h} (${head.loss} on "${head.output.name}") needs ${head.target} targets ${shape}, ${need} values, got ${n}`,
      );
    }
  });
  return rows;
}

function get(values: ReadonlyMap<number, Float64Array>, v: Value): Float64Array {
  const x = values.get(v.id);
  if (!x) throw new Error(`reference: value "${v.name}" is read before it is computed`);
  return x;
}

function paramValue(params: ParamValues, p: Param): Float64Array {
  return params[p.id] as Float64Array;
}

function valueById(graph: Graph, id: number): Value {
  const v = graph.values[id];
  if (v?.id !== id) throw new Error(`reference: no value #${id}`);
  return v;
}
