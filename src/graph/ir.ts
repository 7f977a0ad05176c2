/**
 * The graph IR: a model as a static DAG of ops over 2-D values [batch, features]. The batch
 * size is not part of the graph; a Plan fixes it when the graph is compiled. Shapes are
 * checked as nodes are added, so a wrong model fails where it is built, naming the layer.
 *
 * The ops are records in ./ops/ (each with its shape rule, lowering, backward rule, float64
 * reference and fusion traits; ./op.ts is their contract); the Graph only adds them
 * (apply) and holds the parameters, the inputs and the heads: a loss (with its target
 * column and weight) and metrics on a model output.
 */
import type { LossName } from '../kernels/losses.js';
import { GraphError, type Op, type Param, type Value } from './op.js';
import { InputOp } from './ops/input.js';

export { GraphError };
export type { ActivationAttrs, Op, Param, Value } from './op.js';

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

/** The kinds a weighted metric can be: every metric kind. */
export type WeightedMetricKind = MetricKind | StatMetricKind;

/**
 * A metric weighted by each row's sample weight (Keras's weighted_metrics): Σ w·v / Σ w over
 * the epoch's rows, with v the row's accuracy or error (precision / recall / f1: weighted
 * confusion counts; auc: a weighted bucket histogram). Data without weights gives every row
 * weight 1.
 */
export interface WeightedMetricHead {
  output: Value;
  lossIndex: number;
  kind: WeightedMetricKind;
  name: string;
  weighted: true;
}

/** Builds a graph: ops through apply(), parameters, inputs and heads, each checked as added. */
export class Graph {
  readonly values: Value[] = [];
  readonly params: Param[] = [];
  readonly inputs: Value[] = [];
  readonly losses: LossHead[] = [];
  /** Accuracy heads, in the order added; slot j of the counts buffer is metrics[j]. */
  readonly metrics: MetricHead[] = [];
  /** The other metrics (mae, precision, auc...), in the order added. */
  readonly statMetrics: StatMetricHead[] = [];
  /** The weighted metrics (Keras's weighted_metrics), in the order added. */
  readonly weightedMetrics: WeightedMetricHead[] = [];
  /** Every metric head in the order added: the order of the logs and of name suffixes. */
  readonly allMetrics: (MetricHead | StatMetricHead | WeightedMetricHead)[] = [];
  private nextId = 0;
  private frozenDepth = 0;

  /**
   * True while a frozen layer (Keras `layer.trainable = false`) adds its ops: a batch norm
   * added then runs in inference mode also in training steps (moving statistics, left
   * unchanged), as Keras ≥ 2.1 runs a frozen BatchNormalization.
   */
  get inFrozenLayer(): boolean {
    return this.frozenDepth > 0;
  }

  /** Runs `add` (a layer adding its ops) as a frozen layer: see inFrozenLayer. */
  frozenLayer<T>(add: () => T): T {
    this.frozenDepth++;
    try {
      return add();
    } finally {
      this.frozenDepth--;
    }
  }

  input(layer: string, features: number): Value {
    const v = this.apply(new InputOp(layer, this.inputs.length, features));
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

  /** Adds an op (built by a builder of ./ops/) and returns its value, after its shape rule. */
  apply(op: Op): Value {
    for (const x of op.inputs) this.own(x, op.layer);
    const { features, name } = op.shape();
    return this.value(op, features, name);
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
   * `weighted`: weighted by the rows' sample weights (Keras's weighted_metrics).
   */
  metric(
    lossIndex: number,
    kind: MetricKind | StatMetricKind,
    name?: string,
    options: { weighted?: boolean } = {},
  ): void {
    const stat = isStatMetricKind(kind);
    const key = name ?? (stat ? STAT_DEFAULT_NAME[kind] : 'accuracy');
    const head = stat
      ? this.statMetricHead(lossIndex, kind, key)
      : this.accuracyMetricHead(lossIndex, kind, key);
    if (options.weighted) {
      const m: WeightedMetricHead = { output: head.output, lossIndex, kind, name: key, weighted: true };
      this.weightedMetrics.push(m);
      this.allMetrics.push(m);
    } else if (stat) {
      const m: StatMetricHead = { output: head.output, lossIndex, kind, name: key };
      this.statMetrics.push(m);
      this.allMetrics.push(m);
    } else {
      const m: MetricHead = { output: head.output, lossIndex, kind, name: key };
      this.metrics.push(m);
      this.allMetrics.push(m);
    }
  }

  /** The loss head a stat metric reads, checked. */
  private statMetricHead(lossIndex: number, kind: StatMetricKind, name: string): LossHead {
    const head = this.losses[lossIndex];
    if (!head) throw new GraphError(`metric ${name}: no loss #${lossIndex}`);
    if (head.target === 'sparse') {
      throw new GraphError(
        `metric ${name}: ${kind} compares rows of ${head.output.features} values, but the targets of ` +
          `"${head.output.name}" are class ids; use one-hot targets (categorical_crossentropy)`,
      );
    }
    return head;
  }

  /** The loss head an accuracy metric reads, checked. */
  private accuracyMetricHead(lossIndex: number, kind: MetricKind, name: string): LossHead {
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
    return head;
  }

  private value(node: Op, features: number, name: string): Value {
    const v: Value = { id: this.nextId++, features, node, name };
    this.values.push(v);
    return v;
  }

  private own(x: Value, layer: string): void {
    if (this.values[x.id] !== x)
      throw new GraphError(`layer "${layer}": value "${x.name}" belongs to another graph`);
  }
}
