/**
 * The graph IR: a model as a static DAG of ops over 2-D values [batch, features]. The batch
 * size is not part of the graph; a Plan fixes it when the graph is compiled. Shapes are
 * checked as nodes are added, so a wrong model fails where it is built, naming the layer.
 *
 * Ops (each one's forward and backward rules live in ./ops.ts):
 *   input        a model input, gathered from a dataset column
 *   matmul       x · W                    (W a [in, out] parameter)
 *   biasAdd      x + b                    (b a [out] parameter)
 *   activation   f(x), any Keras activation or softmax (row-wise)
 *   batchNorm    Keras BatchNormalization (γ, β trainable; moving mean/variance state)
 *   dropout      inverted dropout, a counter-based mask per (seed, stream, step, element)
 *   concat       [x1 | x2 | ...] along features
 *   add          x1 + x2 + ...            (residual connections)
 *   activityReg  identity; adds (l1·Σ|x| + l2·Σx²) / batch to the loss (tf.keras's activity
 *                regularizer, made batch-size independent)
 * Heads: a loss (with its target column and weight) and metrics on a model output.
 */
import { ACTIVATIONS, type ActivationSpec } from '../../shaders/activations.js';
import type { LossName } from '../kernels/losses.js';

/** A per-sample width: every value is [batch, features]. */
export interface Value {
  readonly id: number;
  readonly features: number;
  readonly node: Node;
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

export type ActivationOp = ActivationSpec | { name: 'softmax' };

export type Node =
  | { op: 'input'; layer: string; inputIndex: number }
  | { op: 'matmul'; layer: string; x: Value; w: Param }
  | { op: 'biasAdd'; layer: string; x: Value; b: Param }
  | { op: 'activation'; layer: string; x: Value; activation: ActivationOp }
  | {
      op: 'batchNorm';
      layer: string;
      x: Value;
      gamma: Param;
      beta: Param;
      movingMean: Param;
      movingVariance: Param;
      epsilon: number;
      momentum: number;
    }
  | { op: 'dropout'; layer: string; x: Value; rate: number; seed: number; stream: number }
  | { op: 'concat'; layer: string; xs: readonly Value[] }
  | { op: 'add'; layer: string; xs: readonly Value[] }
  | { op: 'activityReg'; layer: string; x: Value; l1: number; l2: number };

export type OpName = Node['op'];

/**
 * How a target column is read: 'sparse' class ids [batch] (u32), 'dense' rows of `features`
 * f32 values (one-hot, probabilities or regression targets).
 */
export type TargetKind = 'sparse' | 'dense';

/** Keras losses on a model output. */
export interface LossHead {
  output: Value;
  loss: LossName;
  target: TargetKind;
  /** Keras loss weight (default 1). */
  weight: number;
  /** huber's δ. */
  delta?: number;
}

/** Accuracy flavours: argmax vs class id, argmax vs argmax, or thresholded element-wise. */
export type MetricKind = 'sparse' | 'dense' | 'binary';

/**
 * The other Keras metrics, on dense targets ([batch, units] f32):
 *  - 'mae', 'mse', 'rmse': regression; per sample the mean over units of |p − t| or
 *    (p − t)², averaged over the epoch's samples (rmse: the square root of that mse, as
 *    Keras's RootMeanSquaredError);
 *  - 'precision', 'recall', 'f1': over every unit of every sample, a prediction > 0.5 is
 *    positive and a label ≠ 0 is (Keras's defaults, micro-averaged over units);
 *  - 'auc': Keras's AUC (ROC, 200 thresholds, interpolation).
 */
export type StatMetricKind = 'mae' | 'mse' | 'rmse' | 'precision' | 'recall' | 'f1' | 'auc';

export const STAT_METRIC_KINDS: readonly StatMetricKind[] = [
  'mae',
  'mse',
  'rmse',
  'precision',
  'recall',
  'f1',
  'auc',
];

export function isStatMetricKind(kind: string): kind is StatMetricKind {
  return (STAT_METRIC_KINDS as readonly string[]).includes(kind);
}

/** Keras's history key for each kind when no name is given. */
const STAT_DEFAULT_NAME: Record<StatMetricKind, string> = {
  mae: 'mae',
  mse: 'mse',
  rmse: 'rmse',
  precision: 'precision',
  recall: 'recall',
  f1: 'f1_score',
  auc: 'auc',
};

export interface MetricHead {
  output: Value;
  /** Which output's target the metric compares with (the index into Graph.losses). */
  lossIndex: number;
  /** Accuracy flavour: argmax vs class id, argmax vs argmax, or thresholded elementwise. */
  kind: MetricKind;
  name: string;
}

/** A metric head of a StatMetricKind (kept apart from the accuracy heads of Graph.metrics). */
export interface StatMetricHead {
  output: Value;
  lossIndex: number;
  kind: StatMetricKind;
  name: string;
}

export class GraphError extends Error {
  override name = 'GraphError';
}

/** Builds a graph; every add* method checks shapes and returns the new value. */
export class Graph {
  readonly values: Value[] = [];
  readonly params: Param[] = [];
  readonly inputs: Value[] = [];
  readonly losses: LossHead[] = [];
  /** Accuracy heads, in the order added; slot j of the counts buffer is metrics[j]. */
  readonly metrics: MetricHead[] = [];
  /** The other metrics (mae, precision, auc...), in the order added. */
  readonly statMetrics: StatMetricHead[] = [];
  /** Every metric head in the order added: the order of the logs and of name suffixes. */
  readonly allMetrics: (MetricHead | StatMetricHead)[] = [];
  private nextId = 0;

  input(layer: string, features: number): Value {
    checkWidth(layer, features);
    const v = this.value({ op: 'input', layer, inputIndex: this.inputs.length }, features, layer);
    this.inputs.push(v);
    return v;
  }

  /** A parameter; `init` may be a function of the element count (an initializer). */
  param(
    name: string,
    shape: readonly number[],
    init: Float32Array | ((length: number) => Float32Array),
    options: { trainable?: boolean; l1?: number; l2?: number } = {},
  ): Param {
    const length = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new GraphError(`parameter "${name}": shape [${shape.join(', ')}] must be positive integers`);
    }
    if (this.params.some((p) => p.name === name)) {
      throw new GraphError(`parameter "${name}" is defined twice`);
    }
    const values = typeof init === 'function' ? init(length) : init;
    if (values.length !== length) {
      throw new GraphError(
        `parameter "${name}" [${shape.join(', ')}] needs ${length} initial values, got ${values.length}`,
      );
    }
    for (const [k, v] of [
      ['l1', options.l1 ?? 0],
      ['l2', options.l2 ?? 0],
    ] as const) {
      if (!Number.isFinite(v) || v < 0)
        throw new GraphError(`parameter "${name}": ${k} must be ≥ 0, got ${v}`);
    }
    const p: Param = {
      id: this.params.length,
      name,
      shape: [...shape],
      length,
      trainable: options.trainable ?? true,
      l1: options.l1 ?? 0,
      l2: options.l2 ?? 0,
      init: Float32Array.from(values),
    };
    this.params.push(p);
    return p;
  }

  matmul(layer: string, x: Value, w: Param): Value {
    this.own(x, layer);
    const [rows, cols] = w.shape;
    if (w.shape.length !== 2 || rows !== x.features || cols === undefined) {
      throw new GraphError(
        `layer "${layer}": input "${x.name}" has shape [batch, ${x.features}] but the kernel ` +
          `"${w.name}" is [${w.shape.join(', ')}]; it needs [${x.features}, units]`,
      );
    }
    return this.value({ op: 'matmul', layer, x, w }, cols, `${layer}/matmul`);
  }

  biasAdd(layer: string, x: Value, b: Param): Value {
    this.own(x, layer);
    if (b.shape.length !== 1 || b.length !== x.features) {
      throw new GraphError(
        `layer "${layer}": bias "${b.name}" is [${b.shape.join(', ')}] but the value "${x.name}" ` +
          `has shape [batch, ${x.features}]`,
      );
    }
    return this.value({ op: 'biasAdd', layer, x, b }, x.features, `${layer}/bias`);
  }

  activation(layer: string, x: Value, activation: ActivationOp): Value {
    this.own(x, layer);
    const names: readonly string[] = [...ACTIVATIONS, 'softmax'];
    if (!names.includes(activation.name)) {
      throw new GraphError(
        `layer "${layer}": unknown activation '${activation.name}'; expected one of ${names.join(', ')}`,
      );
    }
    if ('alpha' in activation && activation.alpha !== undefined && !Number.isFinite(activation.alpha)) {
      throw new GraphError(`layer "${layer}": activation alpha ${activation.alpha} must be a finite number`);
    }
    return this.value({ op: 'activation', layer, x, activation }, x.features, `${layer}/${activation.name}`);
  }

  /** A Dense layer: matmul, then bias (optional), then activation (unless linear). */
  dense(
    layer: string,
    x: Value,
    kernel: Param,
    bias: Param | undefined,
    activation: ActivationOp = { name: 'linear' },
  ): Value {
    let y = this.matmul(layer, x, kernel);
    if (bias) y = this.biasAdd(layer, y, bias);
    return activation.name === 'linear' ? y : this.activation(layer, y, activation);
  }

  batchNorm(
    layer: string,
    x: Value,
    p: { gamma: Param; beta: Param; movingMean: Param; movingVariance: Param },
    options: { epsilon: number; momentum: number },
  ): Value {
    this.own(x, layer);
    for (const [k, param] of Object.entries(p)) {
      if (param.length !== x.features || param.shape.length !== 1) {
        throw new GraphError(
          `layer "${layer}": ${k} "${param.name}" is [${param.shape.join(', ')}] but the input ` +
            `"${x.name}" has ${x.features} features`,
        );
      }
    }
    if (p.movingMean.trainable || p.movingVariance.trainable) {
      throw new GraphError(`layer "${layer}": moving statistics must be non-trainable parameters`);
    }
    if (!(options.epsilon > 0) || !(options.momentum >= 0 && options.momentum <= 1)) {
      throw new GraphError(
        `layer "${layer}": epsilon ${options.epsilon} must be > 0 and momentum ${options.momentum} in [0, 1]`,
      );
    }
    return this.value({ op: 'batchNorm', layer, x, ...p, ...options }, x.features, `${layer}/bn`);
  }

  dropout(layer: string, x: Value, rate: number, seed: number): Value {
    this.own(x, layer);
    if (!(rate >= 0 && rate < 1))
      throw new GraphError(`layer "${layer}": dropout rate ${rate} must be in [0, 1)`);
    if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32) {
      throw new GraphError(`layer "${layer}": dropout seed ${seed} must be an integer in [0, 2^32)`);
    }
    const stream = this.values.filter((v) => v.node.op === 'dropout').length;
    return this.value({ op: 'dropout', layer, x, rate, seed, stream }, x.features, `${layer}/dropout`);
  }

  concat(layer: string, xs: readonly Value[]): Value {
    if (xs.length < 2)
      throw new GraphError(`layer "${layer}": concatenate needs at least 2 inputs, got ${xs.length}`);
    for (const x of xs) this.own(x, layer);
    const features = xs.reduce((s, x) => s + x.features, 0);
    return this.value({ op: 'concat', layer, xs: [...xs] }, features, `${layer}/concat`);
  }

  add(layer: string, xs: readonly Value[]): Value {
    if (xs.length < 2)
      throw new GraphError(`layer "${layer}": add needs at least 2 inputs, got ${xs.length}`);
    for (const x of xs) this.own(x, layer);
    const first = xs[0] as Value;
    for (const x of xs) {
      if (x.features !== first.features) {
        throw new GraphError(
          `layer "${layer}": add needs equal shapes, got "${first.name}" [batch, ${first.features}] ` +
            `and "${x.name}" [batch, ${x.features}]`,
        );
      }
    }
    return this.value({ op: 'add', layer, xs: [...xs] }, first.features, `${layer}/add`);
  }

  /** A Keras activity regularizer on `x`: the identity, with its penalty added to the loss. */
  activityRegularizer(layer: string, x: Value, factors: { l1?: number; l2?: number }): Value {
    this.own(x, layer);
    const l1 = factors.l1 ?? 0;
    const l2 = factors.l2 ?? 0;
    if (!(Number.isFinite(l1) && l1 >= 0 && Number.isFinite(l2) && l2 >= 0)) {
      throw new GraphError(
        `layer "${layer}": activity regularizer l1 ${l1} and l2 ${l2} must be finite and ≥ 0`,
      );
    }
    return this.value({ op: 'activityReg', layer, x, l1, l2 }, x.features, `${layer}/activity`);
  }

  /**
   * A loss on `output`. 'sparse' targets are class ids (one per row, < output.features);
   * 'dense' targets have output.features values per row.
   */
  loss(
    output: Value,
    loss: LossName,
    target: TargetKind,
    options: { weight?: number; delta?: number } = {},
  ): number {
    this.own(output, `loss ${loss}`);
    if (target === 'sparse' && loss !== 'categorical_crossentropy') {
      throw new GraphError(
        `loss ${loss} on "${output.name}": sparse (class id) targets need categorical cross-entropy`,
      );
    }
    if (options.delta !== undefined && !(Number.isFinite(options.delta) && options.delta > 0)) {
      throw new GraphError(
        `loss ${loss} on "${output.name}": delta ${options.delta} must be a finite number > 0`,
      );
    }
    const weight = options.weight ?? 1;
    if (!Number.isFinite(weight) || weight < 0) {
      throw new GraphError(`loss ${loss} on "${output.name}": weight ${weight} must be a finite number ≥ 0`);
    }
    this.losses.push({
      output,
      loss,
      target,
      weight,
      ...(options.delta !== undefined ? { delta: options.delta } : {}),
    });
    return this.losses.length - 1;
  }

  /**
   * A metric on loss head `lossIndex`'s output and targets. `name` is the history key
   * (default 'accuracy', or Keras's name for the other kinds: 'mae', 'f1_score', ...).
   */
  metric(lossIndex: number, kind: MetricKind | StatMetricKind, name?: string): void {
    if (isStatMetricKind(kind)) {
      this.statMetric(lossIndex, kind, name ?? STAT_DEFAULT_NAME[kind]);
      return;
    }
    this.accuracyMetric(lossIndex, kind, name ?? 'accuracy');
  }

  private statMetric(lossIndex: number, kind: StatMetricKind, name: string): void {
    const head = this.losses[lossIndex];
    if (!head) throw new GraphError(`metric ${name}: no loss #${lossIndex}`);
    if (head.target === 'sparse') {
      throw new GraphError(
        `metric ${name}: ${kind} compares rows of ${head.output.features} values, but the targets of ` +
          `"${head.output.name}" are class ids; use one-hot targets (categorical_crossentropy)`,
      );
    }
    const m: StatMetricHead = { output: head.output, lossIndex, kind, name };
    this.statMetrics.push(m);
    this.allMetrics.push(m);
  }

  private accuracyMetric(lossIndex: number, kind: MetricKind, name: string): void {
    const head = this.losses[lossIndex];
    if (!head) throw new GraphError(`metric ${name}: no loss #${lossIndex}`);
    if (!['sparse', 'dense', 'binary'].includes(kind)) {
      throw new GraphError(`metric ${name}: unknown kind '${kind}'`);
    }
    if (kind === 'binary' && head.target === 'sparse') {
      throw new GraphError(
        `metric ${name}: binary accuracy needs one value per output unit, not class ids, on "${head.output.name}"`,
      );
    }
    if (kind === 'sparse' && head.target !== 'sparse') {
      throw new GraphError(`metric ${name}: sparse accuracy needs class-id targets on "${head.output.name}"`);
    }
    const m: MetricHead = { output: head.output, lossIndex, kind, name };
    this.metrics.push(m);
    this.allMetrics.push(m);
  }

  /** Values that feed another value (not inputs of losses or metrics). */
  consumers(v: Value): Node[] {
    return this.values.map((u) => u.node).filter((n) => nodeInputs(n).includes(v));
  }

  private value(node: Node, features: number, name: string): Value {
    const v: Value = { id: this.nextId++, features, node, name };
    this.values.push(v);
    return v;
  }

  private own(x: Value, layer: string): void {
    if (this.values[x.id] !== x)
      throw new GraphError(`layer "${layer}": value "${x.name}" belongs to another graph`);
  }
}

function checkWidth(layer: string, features: number): void {
  if (!Number.isSafeInteger(features) || features <= 0) {
    throw new GraphError(`input "${layer}": features must be a positive integer, got ${features}`);
  }
}

/** The values a node reads. */
export function nodeInputs(n: Node): readonly Value[] {
  switch (n.op) {
    case 'input':
      return [];
    case 'concat':
    case 'add':
      return n.xs;
    default:
      return [n.x];
  }
}

/** The parameters a node reads. */
export function nodeParams(n: Node): readonly Param[] {
  switch (n.op) {
    case 'matmul':
      return [n.w];
    case 'biasAdd':
      return [n.b];
    case 'batchNorm':
      return [n.gamma, n.beta, n.movingMean, n.movingVariance];
    default:
      return [];
  }
}
