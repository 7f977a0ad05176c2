/**
 * Keras models: `sequential({ layers })` and the functional `model({ inputs, outputs })`,
 * with compile / fit / evaluate / predict / getWeights / setWeights / save. A model is a
 * Topology (topology.ts: its layer calls, summary) that, once compiled, becomes a Graph
 * (src/graph/ir.ts) run by an Executor (src/graph/executor.ts): the layers add their ops to
 * the graph, the loss and metric names become its heads. Data goes through fit-data.ts,
 * weights between host and GPU through weights.ts.
 */
import { currentEngine } from '../gpu/init.js';
import type { Engine } from '../gpu/engine.js';
import type { DispatchTiming } from '../gpu/profiler.js';
import type { PlanStats } from '../graph/compile.js';
import { GpuData, type ColumnInput } from '../graph/dataset.js';
import { DeviceLostError } from '../gpu/errors.js';
import {
  Executor,
  NonFiniteLossError,
  type Checkpoint,
  type NamedTensor,
  type StepLogs,
} from '../graph/executor.js';
import { Graph, type Param, type Value } from '../graph/ir.js';
import {
  InputLayer,
  input as makeInput,
  type Layer,
  type LayerWeight,
  type SymbolicTensor,
} from '../nn/layers/index.js';
import { Tensor } from '../tensor/tensor.js';
import { readOptions, type Spelled } from '../util/options.js';
import { createRng } from '../util/random.js';
import { isNode } from '../util/runtime.js';
import { callbackArray, CallbackList, History, type Callback, type Logs } from './callbacks.js';
import {
  kerasLogOrder,
  readCompileArgs,
  refuseKerasOnly,
  resolveCompileArgs,
  weightedMetricKeys,
  type CompileArgs,
  type Compiled,
} from './compile-args.js';
import {
  checkGpuData,
  checkInt,
  DataError,
  checkTensorColumns,
  hostArgs,
  hostColumns,
  isTensorColumn,
  isTfjsTensor,
  resolveTensors,
  trainingData,
  uploadSlice,
  type Column,
  type DataInput,
  type DataLayout,
  type HostColumns,
} from './fit-data.js';
import { assertFiniteWeight } from './finite.js';
import { saveModel, type SaveHandler, type SaveResult } from './io.js';
import { kerasH5Bytes, kerasWeightsBytes, kerasZipBytes, type KerasCompileSettings } from '../keras/files.js';
import { keras3LegacyConfig, kerasLayerOrder } from '../keras/keras3.js';
import { resolveLoss } from '../nn/names.js';
import { kerasPathKind, writeKerasBytes, type KerasFileSource } from './keras-io.js';
import { loadKerasWeightsInto } from './keras-weights.js';
import {
  rowWeights,
  type ClassWeightInput,
  type SampleWeightInput,
  type WeightArgs,
} from './sample-weights.js';
import { FitEvents, formatLogs, ProgressBar } from './progress.js';
import { notBuiltMessage, Topology, type TopologyArgs } from './topology.js';
import { WeightSync, type GpuCopy } from './weights.js';

export type { CompileArgs };

/**
 * fit's options, in tfjs's camelCase or Keras's snake_case (`batch_size`, `validation_split`);
 * an unknown option is an error naming the closest valid one.
 */
export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  validationSplit?: number;
  /**
   * (x, y) host arrays or eager Tensors, or [gpuData] / [gpuData, undefined] for a GPU dataset;
   * a third element, Keras's (x, y, sample_weight), weights the validation loss and weighted
   * metrics (one weight per validation row).
   */
  validationData?: readonly [DataInput | GpuData, DataInput?, SampleWeightInput?];
  /**
   * Keras's validation_freq: validate every n epochs (an integer: after epochs n, 2n, ...,
   * counted from 1), or after the epochs listed (counted from 1). Default 1: every epoch.
   */
  validationFreq?: number | readonly number[];
  /** Rows per validation batch (default batchSize). */
  validationBatchSize?: number;
  shuffle?: boolean;
  initialEpoch?: number;
  /** Callbacks, or one callback. */
  callbacks?: readonly Callback[] | Callback;
  /**
   * 0 silent; 1 (or Keras's 'auto', the default) a progress bar in a terminal, else one line
   * per epoch (piped, a browser), and progress events; 2 one line per epoch.
   */
  verbose?: 0 | 1 | 2 | 'auto';
  /** Seed for the shuffles (reproducible runs). */
  seed?: number;
  /** Steps per GPU submission (default 32). */
  stepsPerSubmit?: number;
  /**
   * Keras's sample_weight: one weight (finite, ≥ 0) per row of x; each row's loss counts
   * w times (a batch's loss is Σ w·l / rows). validationSplit splits it with x and y.
   * `metrics` stay unweighted; `weightedMetrics` are weighted (as are classWeight's).
   */
  sampleWeight?: SampleWeightInput;
  /**
   * Keras's class_weight: { classId: weight }, each row weighted by its class's weight
   * (classes not listed: 1), in training only. Single-output models; not with sampleWeight.
   */
  classWeight?: ClassWeightInput;
}

/** Every fit option (camelCase), for readOptions here and in callers passing FitArgs on (tuners). */
export const FIT_KEYS: Readonly<Record<keyof FitArgs, true>> = {
  epochs: true,
  batchSize: true,
  validationSplit: true,
  validationData: true,
  validationFreq: true,
  validationBatchSize: true,
  shuffle: true,
  initialEpoch: true,
  callbacks: true,
  verbose: true,
  seed: true,
  stepsPerSubmit: true,
  sampleWeight: true,
  classWeight: true,
};

/**
 * evaluate's and testOnBatch's options. `verbose` 0 (the default here; Keras's is 'auto')
 * prints nothing, 1, 2 or 'auto' print the logs in one line once done. `returnDict` (Keras's
 * return_dict) gives the logs as a plain object instead of the list.
 */
export interface EvaluateArgs {
  batchSize?: number;
  verbose?: 0 | 1 | 2 | 'auto';
  returnDict?: boolean;
  /**
   * Keras's sample_weight: one weight (finite, ≥ 0) per row of x; the loss is Σ w·l / rows
   * per batch (as fit's) and the weighted metrics are weighted; `metrics` are not. Keras's
   * evaluate has no class_weight: pass each row's class weight here instead.
   */
  sampleWeight?: SampleWeightInput;
}

const EVALUATE_KEYS: Readonly<Record<keyof EvaluateArgs, true>> = {
  batchSize: true,
  verbose: true,
  returnDict: true,
  sampleWeight: true,
};

/** predict's and predictClasses' options (verbose 1, 2 or 'auto': one line once done). */
export interface PredictArgs {
  batchSize?: number;
  verbose?: 0 | 1 | 2 | 'auto';
}

const PREDICT_KEYS: Readonly<Record<keyof PredictArgs, true>> = { batchSize: true, verbose: true };

/** What a fit callback may call on its model between epochs (Model.betweenEpochs). */
const NESTABLE = ['predict', 'evaluate', 'testOnBatch', 'computeGradients'] as const;

/** testOnBatch's options (Keras's return_dict, and sample_weight as evaluate's). */
export interface OnBatchArgs {
  returnDict?: boolean;
  sampleWeight?: SampleWeightInput;
}

/** trainOnBatch's options: OnBatchArgs and the batch's sampleWeight or classWeight (see FitArgs). */
export interface TrainOnBatchArgs extends OnBatchArgs, WeightArgs {}

const TRAIN_ON_BATCH_KEYS: Readonly<Record<keyof TrainOnBatchArgs, true>> = {
  returnDict: true,
  sampleWeight: true,
  classWeight: true,
};

/** save's options (Keras's include_optimizer). */
export interface SaveArgs {
  includeOptimizer?: boolean;
}

const SAVE_KEYS: Readonly<Record<keyof SaveArgs, true>> = { includeOptimizer: true };

/**
 * What evaluate, testOnBatch and trainOnBatch give: the values as a list in Keras 3's order
 * (loss, the compiled metrics in compile order by name (one output), the per-output losses
 * in output order (several outputs), then the other logs sorted by name), so that
 * `const [loss, acc] = await model.evaluate(x, y)` reads as Keras's
 * `loss, acc = model.evaluate(x, y)`; and each value by name too (`result.loss`,
 * `result.accuracy`, as non-index properties). Unlike Keras, a model without metrics gives a
 * list of one value, not a bare number (`const [mse] = ...` or `.loss`).
 */
export type EvaluateResult = number[] & Logs;

/** Options that ask for Keras's return_dict (then the plain logs object is returned). */
type DictOption = { returnDict: true } | { return_dict: true };

/** Keras's verbose for evaluate/predict: 0 silent (default here), else one line once done. */
function checkVerbose(what: string, v: unknown, fallback: 0 | 1): 0 | 1 | 2 {
  if (v === undefined) return fallback;
  if (v === 'auto') return 1;
  if (v === 0 || v === 1 || v === 2) return v;
  throw new RangeError(`${what}: verbose must be 0, 1, 2 or 'auto', got ${String(v)}`);
}

/** Keras's validation_freq as a test of a 0-based epoch. */
function validationSchedule(v: FitArgs['validationFreq']): (epoch: number) => boolean {
  if (v === undefined) return () => true;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new RangeError(`fit: validationFreq ${v} must be an integer ≥ 1 (validate every n epochs)`);
    return (epoch) => (epoch + 1) % v === 0;
  }
  if (!Array.isArray(v)) {
    throw new TypeError(
      `fit: validationFreq must be an integer or a list of epochs (counted from 1), got ${typeof v}`,
    );
  }
  const list = v as readonly unknown[];
  const bad = list.find((e) => typeof e !== 'number' || !Number.isSafeInteger(e) || e < 1);
  if (bad !== undefined)
    throw new RangeError(`fit: validationFreq lists epoch ${String(bad)}; epochs are integers ≥ 1`);
  const epochs = new Set(list as readonly number[]);
  return (epoch) => epochs.has(epoch + 1);
}

/** The logs as Keras's list in this key order (see EvaluateResult), named values kept as properties. */
function listed(logs: Logs, order: readonly string[]): EvaluateResult {
  const out = order.map((k) => logs[k] as number) as EvaluateResult;
  for (const [k, v] of Object.entries(logs)) out[k] = v;
  return out;
}

/**
 * The per-sample input shape of x for a Sequential built by its first data (Keras builds
 * from the data's shape): from the shape x carries (nested arrays, { data, shape }, a
 * Tensor, a GpuData's column width). A flat array carries none: refused.
 */
function dataInputShape(x: DataInput | GpuData, what: string): number[] {
  const refuse = (why: string): Error =>
    new TypeError(
      `${what}: the model has no input shape yet and ${why}; give x a shape ({ data, shape: [rows, features] } or nested rows), ` +
        'call model.build([null, features]) first, or give the first layer an inputShape',
    );
  if (x instanceof GpuData) {
    const c = x.inputs[0];
    if (x.inputs.length !== 1 || !c) throw refuse(`the GPU dataset has ${x.inputs.length} input columns`);
    return [c.width];
  }
  let one: unknown = x;
  if (Array.isArray(one) && one.length === 1 && typeof one[0] === 'object' && !Array.isArray(one[0]))
    one = one[0];
  else if (
    typeof one === 'object' &&
    one !== null &&
    !Array.isArray(one) &&
    !ArrayBuffer.isView(one) &&
    !(one instanceof Tensor) &&
    !isTfjsTensor(one) &&
    !('data' in one)
  ) {
    const values = Object.values(one);
    if (values.length !== 1) throw refuse(`x names ${values.length} inputs`);
    one = values[0];
  }
  let shape: readonly number[] | undefined;
  if (one instanceof Tensor || isTfjsTensor(one)) shape = one.shape;
  else if (typeof one === 'object' && one !== null && 'shape' in one && Array.isArray(one.shape))
    shape = one.shape as number[];
  else if (Array.isArray(one) && Array.isArray(one[0])) {
    const dims: number[] = [];
    for (let level: unknown = one; Array.isArray(level); level = level[0]) dims.push(level.length);
    shape = dims;
  }
  if (!shape) throw refuse('x is a flat array, whose rows have no shape');
  if (shape.length < 2) throw refuse(`x has shape [${shape.join(', ')}], without a per-row shape`);
  return shape.slice(1);
}

interface Built extends GpuCopy {
  graph: Graph;
  outputs: Value[];
}

/** A model's compiled step (see LayersModel.compiledStep). */
export interface CompiledStep {
  stats(): PlanStats;
  /** Points the step at the dataset's first rows. */
  rewind(): void;
  /** One step from the first rows, timed per dispatch. */
  profile(): Promise<{ dispatches: DispatchTiming[]; totalMs: number }>;
  /** Encodes `steps` steps (not submitted), each on the next batch. */
  encode(steps?: number): void;
}

/**
 * The compiled optimizer as Keras's `model.optimizer`: its learningRate can be read and set,
 * also from a callback while fit() runs (the next GPU submission uses it).
 */
export interface ModelOptimizer {
  /** Keras's class name: 'SGD', 'RMSprop', 'Adam', 'Nadam'. */
  readonly className: string;
  /** Keras's config (learning_rate, beta_1, ...), with the current learning rate. */
  readonly config: Readonly<Record<string, number | boolean>>;
  learningRate: number;
}

/** Host inputs to predict() up to this size reuse one GPU dataset and its compiled step. */
const PREDICT_CACHE_BYTES = 1 << 20;

/** A prediction: values [rows, ...shape] row-major. */
export interface Prediction {
  data: Float32Array;
  shape: number[];
}

export class LayersModel extends Topology {
  /**
   * Set to end fit(): by a callback (EarlyStopping, TerminateOnNaN) or a page's Stop button.
   * fit() checks it between GPU submissions (every stepsPerSubmit steps, or at each batch
   * callback), so the current epoch ends early, with logs over the steps that ran.
   */
  stopTraining = false;
  /**
   * Progress events of fit() with verbose ≥ 1, for pages and apps (where there is no
   * terminal for the progress bar): 'batch' { epoch, step, steps, logs } a few times per
   * epoch, and 'epoch' { epoch, epochs, logs } at the end of each epoch (validation included).
   * The running logs are read during an epoch only if a 'batch' listener was added before it
   * began (or a terminal bar or a batch callback uses them); else its one 'batch' is its last.
   */
  readonly events = new FitEvents();
  private compiled: Compiled | undefined;
  /** compile()'s options as read (the model may be built after compile). */
  private compileArgs: CompileArgs | undefined;
  private compiledOptimizer: Compiled['optimizer'] | undefined;
  /** Each layer's `trainable` as of compile(), which the training graph follows (as Keras). */
  private trainableAtCompile: Map<Layer, boolean> | undefined;
  private warnedTrainable = false;
  private built: Built | undefined;
  /** The previous compile's graph, kept until its trained weights are copied back. */
  private stale: Built | undefined;
  /** Host ⇄ GPU of this model's weights (the previous compile's copy until it is pulled). */
  private readonly weightSync = new WeightSync(() => this.built ?? this.stale);
  private learningRateValue = 0;
  private optimizerView: ModelOptimizer | undefined;
  private busy = false;
  /**
   * fit is awaiting an epoch-level callback (onTrainBegin/End, onEpochBegin/End): the GPU is
   * idle, so the callback may call predict, evaluate, computeGradients and their OnBatch
   * forms on this model, as Keras allows (NESTABLE); one at a time, and fit waits for it.
   */
  private betweenEpochs = false;
  /**
   * The last of the calls made between epochs (each waits for the one before); it never
   * rejects (the caller of each call gets its error).
   */
  private nested: Promise<void> | undefined;
  /** What holds `busy`: 'fit', 'predict', ... */
  private running: string | undefined;
  private predictCache: GpuData | undefined;
  /**
   * What the host holds besides the weights, as of fit's last epoch end: the optimizer's state
   * and step count, and the epoch to resume from after a lost device.
   */
  private saved: { optimizer?: NamedTensor[]; steps: number; resumeEpoch: number } | undefined;
  /**
   * The optimizer state and step count the next build takes over (the executor was dropped:
   * dispose, a new engine); compile() forgets them, as it starts a new optimizer.
   */
  private carried: { optimizer?: NamedTensor[]; steps: number } | undefined;

  /** The current learning rate (set by compile, schedules and ReduceLROnPlateau). */
  get learningRate(): number {
    return this.learningRateValue;
  }

  set learningRate(lr: number) {
    if (!Number.isFinite(lr) || lr < 0)
      throw new RangeError(`learning rate ${lr} must be a finite number ≥ 0`);
    this.learningRateValue = lr;
    this.built?.executor.setLearningRate(lr);
  }

  /**
   * The compiled optimizer (undefined before compile): `model.optimizer.learningRate = 1e-4`
   * changes the rate of the following steps, as in Keras, also from a callback during fit().
   */
  get optimizer(): ModelOptimizer | undefined {
    return this.optimizerView;
  }

  /**
   * Sets the optimizer, loss(es), metrics and loss weights (either spelling: `loss_weights`).
   * A Sequential not built yet can be compiled: the losses and metrics are resolved against
   * its outputs when it is built. The layers' `trainable` flags are taken now: as in Keras,
   * changing one after compile() takes effect at the next compile().
   */
  compile(given: Spelled<CompileArgs>): void {
    const args = readCompileArgs(given);
    const compiled = resolveCompileArgs(
      args,
      this.isBuilt
        ? this.outputs.map((o) => ({ name: o.layer.name, features: o.features }))
        : // Checked now against the last layer's name; resolved again once built.
          [{ name: this.layers.at(-1)?.name ?? this.name, features: 1 }],
    );
    const { optimizer } = compiled;
    this.compileArgs = args;
    this.compiled = this.isBuilt ? compiled : undefined;
    this.compiledOptimizer = optimizer;
    this.trainableAtCompile = new Map(this.layers.map((l) => [l, l.trainable]));
    this.warnedTrainable = false;
    this.learningRateValue = optimizer.learningRate;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the view's accessors forward to the model
    const model = this;
    this.optimizerView = {
      className: optimizer.className,
      get config() {
        return { ...optimizer.config, learning_rate: model.learningRate };
      },
      get learningRate() {
        return model.learningRate;
      },
      set learningRate(lr: number) {
        model.learningRate = lr;
      },
    };
    this.saved = undefined;
    this.carried = undefined;
    this.stopTraining = false;
    // The graph is rebuilt lazily by the next fit/evaluate/predict, which first copies the
    // weights trained so far back from the old one.
    if (this.built) {
      this.stale?.executor.dispose();
      this.stale = this.built;
      this.built = undefined;
    }
  }

  get isCompiled(): boolean {
    return this.compileArgs !== undefined;
  }

  /**
   * Builds a model without input shape (a Sequential of layers without inputShape) for
   * inputs of `inputShape`: Keras's `model.build([null, 784])`, with the batch dimension
   * first (null, undefined or -1), or the per-sample shape alone (`build([784])`). A built
   * model's shape must match.
   */
  build(inputShape: readonly (number | null | undefined)[]): void {
    if (!Array.isArray(inputShape))
      throw new TypeError('build: inputShape must be an array, e.g. model.build([null, 784])');
    const dims = inputShape as readonly (number | null | undefined)[];
    const first = dims[0];
    const sample = (first === null || first === undefined || first === -1 ? dims.slice(1) : dims).map((d) => {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0) {
        throw new RangeError(
          `build: inputShape [${dims.map(String).join(', ')}] needs positive integers after the batch dimension (null)`,
        );
      }
      return d;
    });
    if (sample.length === 0) throw new RangeError('build: inputShape has no per-sample dimensions');
    if (this.isBuilt) {
      const have = (this.inputs[0] as SymbolicTensor).shape;
      if (this.inputs.length !== 1 || have.join() !== sample.join()) {
        throw new RangeError(
          `build: the model is built for inputs [null, ${have.join(', ')}], not [null, ${sample.join(', ')}]`,
        );
      }
      return;
    }
    this.buildFor(sample);
    this.resolveDeferredCompile();
  }

  /** For a Sequential built late: its layers applied to inputs of this per-sample shape. */
  protected buildFor(_shape: readonly number[]): void {
    throw new Error('internal: only a Sequential model is built late');
  }

  /** compile()'s losses and metrics resolved against the outputs of a model built after it. */
  private resolveDeferredCompile(): void {
    if (this.compileArgs && !this.compiled) {
      this.compiled = resolveCompileArgs(
        this.compileArgs,
        this.outputs.map((o) => ({ name: o.layer.name, features: o.features })),
        this.compiledOptimizer,
      );
    }
  }

  /** A model without input shape built from the first data it is given (Keras does the same). */
  private buildFromData(x: DataInput | GpuData, what: string): void {
    if (this.isBuilt) return;
    this.build([null, ...dataInputShape(x, what)]);
  }

  /**
   * compile()'s loss, metrics and loss weights as Keras's compile_config names them (snake_case
   * names, per-output settings by output name), for Keras's files; undefined when not compiled.
   */
  get kerasCompileConfig(): KerasCompileSettings | undefined {
    const a = this.compileArgs;
    if (!a) return undefined;
    const outputs = this.outputs.map((t) => t.layer.name);
    const byOutput = <T, U>(
      v: T | readonly T[] | Readonly<Record<string, T>>,
      f: (x: T) => U,
    ): U | Record<string, U> => {
      if (Array.isArray(v))
        return Object.fromEntries(outputs.map((o, i) => [o, f((v as readonly T[])[i] as T)]));
      if (typeof v === 'object' && v !== null)
        return Object.fromEntries(Object.entries(v as Record<string, T>).map(([k, x]) => [k, f(x)]));
      return f(v);
    };
    // Keras's metric names are snake_case ('categorical_accuracy'); 'AUC' and 'mae' stay as they are.
    const metric = (m: string): string =>
      /^[a-z]+[A-Z]/.test(m) ? m.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : m;
    const metrics = (list: readonly string[]): string[] => list.map(metric);
    return {
      loss: byOutput(a.loss, (l: string) => resolveLoss(l).name),
      metrics:
        a.metrics === undefined
          ? null
          : Array.isArray(a.metrics)
            ? // One list for every output: Keras reads a list per output for several outputs.
              outputs.length === 1
              ? metrics(a.metrics as readonly string[])
              : Object.fromEntries(outputs.map((o) => [o, metrics(a.metrics as readonly string[])]))
            : byOutput(a.metrics as Readonly<Record<string, readonly string[]>>, metrics),
      weightedMetrics:
        a.weightedMetrics === undefined
          ? null
          : Array.isArray(a.weightedMetrics)
            ? outputs.length === 1
              ? metrics(a.weightedMetrics as readonly string[])
              : Object.fromEntries(outputs.map((o) => [o, metrics(a.weightedMetrics as readonly string[])]))
            : byOutput(a.weightedMetrics as Readonly<Record<string, readonly string[]>>, metrics),
      lossWeights: a.lossWeights === undefined ? null : byOutput(a.lossWeights, (w: number) => w),
    };
  }

  /** The compiled optimizer's Keras class name and config (for saving). */
  get optimizerConfig(): { className: string; config: Record<string, number | boolean> } | undefined {
    const o = this.optimizerView;
    return o ? { className: o.className, config: { ...o.config } } : undefined;
  }

  /**
   * Optimizer state loaded with a model saved with includeOptimizer: applied when the model
   * is next built after compile() with the same optimizer (a mismatch is an error then).
   */
  pendingOptimizerWeights: { name: string; shape: number[]; data: Float32Array }[] | undefined;

  /** The optimizer's state tensors (iterations, moments...), after compile. */
  async getOptimizerWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]> {
    if (!this.compileArgs) throw new Error('getOptimizerWeights: the model is not compiled');
    if (!this.isBuilt) return [];
    const b = await this.buildGraph();
    return b.executor.optimizerWeights();
  }

  // ------------------------------------------------------------------ weights

  /** Every weight, in layer order (Keras order within a layer), read from the GPU if training ran. */
  async getWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]> {
    await WeightSync.toHost(this.allWeights());
    return this.allWeights().map((w) => ({ name: w.name, shape: [...w.shape], data: w.values.slice() }));
  }

  /**
   * Sets weights in getWeights() order (arrays or { data }); counts and shapes are checked,
   * and NaN/±Inf values refused (NonFiniteWeightError naming the weight), before any is set.
   */
  async setWeights(values: readonly (ArrayLike<number> | { data: ArrayLike<number> })[]): Promise<void> {
    const ws = this.allWeights();
    if (values.length !== ws.length) {
      throw new RangeError(
        `setWeights: the model has ${ws.length} weights (${ws.map((w) => w.name).join(', ')}), got ${values.length}`,
      );
    }
    ws.forEach((w, i) => {
      const v = values[i] as ArrayLike<number> | { data: ArrayLike<number> };
      const data = 'data' in v && !ArrayBuffer.isView(v) ? v.data : (v as ArrayLike<number>);
      if (data.length !== w.values.length) {
        throw new RangeError(
          `setWeights: "${w.name}" [${w.shape.join(', ')}] needs ${w.values.length} values, got ${data.length}`,
        );
      }
      assertFiniteWeight('setWeights', w.name, data);
    });
    ws.forEach((w, i) => {
      const v = values[i] as ArrayLike<number> | { data: ArrayLike<number> };
      w.values.set('data' in v && !ArrayBuffer.isView(v) ? v.data : (v as ArrayLike<number>));
    });
    WeightSync.written(ws); // the host copy is now the newest, for every model sharing it
    if (this.built) this.weightSync.upload(this.built);
    await Promise.resolve();
  }

  private allWeights(): LayerWeight[] {
    return this.layers.flatMap((l) => l.weights);
  }

  /**
   * Drops the compiled graph after the model's structure changed (Sequential.add after a
   * predict). Only an uncompiled model gets here, which never trained: the host copies are
   * current.
   */
  protected discardGraph(): void {
    this.releaseExecutors();
  }

  /** Frees the current and the previous compile's executors; the host copies stand. */
  private releaseExecutors(): void {
    this.built?.executor.dispose();
    this.stale?.executor.dispose();
    this.built = undefined;
    this.stale = undefined;
    this.weightSync.clear();
  }

  /**
   * Steps outside fit's epochs (trainOnBatch, a compiled step): no checkpoint follows them, so
   * fit's last one no longer matches the weights; a lost device then restarts the optimizer.
   */
  private trainOutsideFit(): void {
    this.markTrained();
    this.saved = undefined;
  }

  /** After training: this model's GPU copy is the newest for all its weights. */
  private markTrained(): void {
    // Weights set on the host meanwhile (layer.setWeights in a callback) reach the GPU first.
    if (this.built) this.weightSync.upload(this.built);
    this.weightSync.claim(this.layers.flatMap((l) => [...l.weights, ...l.constants]));
  }

  // ------------------------------------------------------------------ training

  /**
   * Trains on (x, y). Options in either spelling (`{ batch_size: 128, validation_split: 0.2 }`
   * or `{ batchSize: 128, validationSplit: 0.2 }`); an unknown one is an error naming the
   * closest valid one. `sampleWeight` / `classWeight` weight each row's loss as Keras's
   * sample_weight / class_weight do. A Sequential without input shape is built from x first.
   */
  async fit(
    xIn: DataInput | GpuData,
    yIn: DataInput | undefined,
    given: Spelled<FitArgs> = {},
  ): Promise<History> {
    refuseKerasOnly('fit', given);
    const args = readOptions<FitArgs>('fit', given, FIT_KEYS);
    return this.exclusive('fit', async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      const epochs = checkInt('epochs', args.epochs ?? 1, 1);
      const batchSize = checkInt('batchSize', args.batchSize ?? 32, 1);
      const validationBatch = checkInt('validationBatchSize', args.validationBatchSize ?? batchSize, 1);
      const initialEpoch = checkInt('initialEpoch', args.initialEpoch ?? 0, 0);
      const verbose = checkVerbose('fit', args.verbose, 1);
      const validateAfter = validationSchedule(args.validationFreq);
      const callbacks = callbackArray(args.callbacks);
      this.buildFromData(x, 'fit');
      const { executor } = await this.buildGraph();
      // Validation TF.js tensors are read here, asynchronously (by data(), which does not
      // block a GPU backend), before anything is uploaded; eager Tensors stay on the GPU.
      const validationData = await resolveValidation(args.validationData);
      const data = await trainingData(
        this.engine,
        this.dataLayout(),
        x,
        y,
        { ...args, ...(validationData ? { validationData } : {}) },
        'fit',
      );
      // Until the first epoch ends, a lost device leaves the weights fit started with.
      let resumeEpoch = initialEpoch;
      try {
        const { train, val } = data;
        const steps = Math.ceil(train.rows / batchSize);
        const history = new History();
        const cbs = new CallbackList([history, ...callbacks], this, {
          epochs,
          steps,
          samples: train.rows,
          batchSize,
          verbose,
          doValidation: val !== undefined,
        });
        // One shuffle seed per epoch, drawn from the fit's seed (reproducible runs); a bad
        // seed is refused here, before any callback runs. Epochs before initialEpoch draw
        // theirs too, so that a resumed fit shuffles as an uninterrupted one.
        const seeds = createRng(args.seed);
        for (let e = 0; e < initialEpoch; e++) seeds.nextU32();
        this.stopTraining = false;
        await this.betweenEpochsCall(() => cbs.onTrainBegin());
        // Batch hooks run one after the other while the GPU trains; the first failure ends
        // the epoch at the next submission and fit rejects with it.
        let batchHooks: Promise<void> = Promise.resolve();
        let batchFailure: { error: unknown } | undefined;
        const batchHook = (run: () => Promise<void>): void => {
          batchHooks = batchHooks.then(async () => {
            if (batchFailure) return;
            try {
              await run();
            } catch (error) {
              batchFailure = { error };
            } finally {
              // A hook that read the weights (getWeights, save) took them to the host; the
              // GPU trains on, so its copy is the newest again.
              this.markTrained();
            }
          });
        };
        const stopped = (): boolean => this.stopTraining || batchFailure !== undefined;
        for (let epoch = initialEpoch; epoch < epochs && !stopped(); epoch++) {
          await this.betweenEpochsCall(() => cbs.onEpochBegin(epoch));
          await cbs.onBatchBegin(0, {});
          if (stopped()) break;
          const bar = verbose === 1 ? new ProgressBar(epoch, epochs, steps) : undefined;
          // Reads during the epoch only for someone who uses them: a bar redrawn in a
          // terminal, a 'batch' listener, a batch callback (piped output prints per epoch);
          // and in a page with verbose ≥ 1, where waiting on them paces the submissions, so
          // that a Stop button (stopTraining) ends the epoch early instead of after a whole
          // epoch queued on the GPU.
          const wantsBatches =
            cbs.wantsBatches() ||
            bar?.live === true ||
            (verbose > 0 && (this.events.listens('batch') || !isNode()));
          const readEvery = wantsBatches ? Math.max(1, Math.ceil(steps / 30)) : 0;
          let logs: Logs;
          this.markTrained(); // from here on the GPU copy is the newest
          try {
            const r = await executor.trainEpoch(train, {
              batchSize,
              shouldStop: stopped,
              shuffle: args.shuffle === false ? false : seeds.nextU32(),
              ...(args.stepsPerSubmit ? { stepsPerSubmit: args.stepsPerSubmit } : {}),
              readEvery,
              onProgress: (p) => {
                const l = this.logsFrom(p);
                bar?.update(p.step, l);
                if (verbose > 0) this.emit('batch', { epoch, step: p.step, steps, logs: l });
                batchHook(() => cbs.onBatchEnd(p.step - 1, l));
                if (p.step < steps && !stopped()) batchHook(() => cbs.onBatchBegin(p.step, {}));
              },
            });
            logs = this.logsFrom(r);
          } catch (e) {
            await batchHooks;
            if (batchFailure) throw batchFailure.error;
            if (e instanceof NonFiniteLossError && cbs.terminatesOnNaN()) {
              bar?.finish({ loss: NaN });
              this.stopTraining = true;
              await this.betweenEpochsCall(() => cbs.onEpochEnd(epoch, { loss: NaN }));
              break;
            }
            throw e;
          }
          await batchHooks;
          if (batchFailure) throw batchFailure.error;
          if (val && validateAfter(epoch)) {
            const v = await executor.evaluate(val, validationBatch);
            for (const [k, value] of Object.entries(this.logsFrom(v))) logs[`val_${k}`] = value;
          }
          bar?.finish(logs);
          if (verbose > 0) this.emit('epoch', { epoch, epochs, logs });
          if (verbose === 2) console.log(`Epoch ${epoch + 1}/${epochs} - ${formatLogs(logs)}`);
          await this.betweenEpochsCall(() => cbs.onEpochEnd(epoch, logs));
          // After the epoch's callbacks (which may restore weights or change the rate): a
          // loss from here on resumes at the next epoch.
          await this.checkpoint(executor, epoch + 1);
          resumeEpoch = epoch + 1;
        }
        await this.betweenEpochsCall(() => cbs.onTrainEnd());
        return history;
      } catch (e) {
        throw this.lostDuringFit(e, executor, resumeEpoch);
      } finally {
        data.dispose();
      }
    });
  }

  /**
   * At an epoch end: the host takes what the epoch changed (weights, optimizer state, step
   * count) in one readback, so that a lost device loses at most the epoch in flight.
   */
  private async checkpoint(executor: Executor, resumeEpoch: number): Promise<void> {
    const b = this.built;
    if (!b || b.executor !== executor) return;
    const c: Checkpoint = await executor.checkpoint();
    this.markTrained(); // every weight, also those a callback read meanwhile
    this.weightSync.took(b, c.params);
    this.saved = { ...(c.optimizer ? { optimizer: c.optimizer } : {}), steps: c.steps, resumeEpoch };
  }

  /** A fit's failure on a lost device says from which epoch to resume; others pass through. */
  private lostDuringFit(e: unknown, executor: Executor, resumeEpoch: number): unknown {
    if (!executor.engine.isLost) return e;
    const lost = e instanceof DeviceLostError ? e : undefined;
    return new DeviceLostError(
      lost?.reason ?? 'unknown',
      lost?.detail ?? (e instanceof Error ? e.message : String(e)),
      resumeEpoch,
    );
  }

  /**
   * Loss and metrics over (x, y), as Keras: a list in Keras's order, `const [loss, acc] =
   * await model.evaluate(x, y)`, whose values are also named (`.loss`, `.accuracy`); with
   * `{ returnDict: true }` (`return_dict`) the plain object { loss, accuracy, ... }.
   */
  evaluate(
    xIn: DataInput | GpuData,
    yIn: DataInput | undefined,
    args: Spelled<EvaluateArgs> & DictOption,
  ): Promise<Logs>;
  evaluate(xIn: DataInput | GpuData, yIn?: DataInput, args?: Spelled<EvaluateArgs>): Promise<EvaluateResult>;
  async evaluate(
    xIn: DataInput | GpuData,
    yIn?: DataInput,
    given: Spelled<EvaluateArgs> = {},
  ): Promise<Logs | EvaluateResult> {
    return this.evaluateAs('evaluate', xIn, yIn, given, undefined);
  }

  /** evaluate and testOnBatch (`batch`: all rows as one batch). */
  private async evaluateAs(
    what: string,
    xIn: DataInput | GpuData,
    yIn: DataInput | undefined,
    given: unknown,
    oneBatch: true | undefined,
  ): Promise<Logs | EvaluateResult> {
    refuseKerasOnly(what, given);
    const args = readOptions<EvaluateArgs>(
      what,
      given,
      oneBatch ? ['returnDict', 'sampleWeight'] : (Object.keys(EVALUATE_KEYS) as (keyof EvaluateArgs)[]),
    );
    const verbose = checkVerbose(what, args.verbose, 0);
    const logs = await this.exclusive(what, async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      if (x instanceof GpuData && args.sampleWeight !== undefined) {
        throw new DataError(`${what}: sampleWeight needs x and y as arrays or Tensors, not a GpuData`);
      }
      this.buildFromData(x, what);
      const { executor } = await this.buildGraph();
      let data: GpuData;
      if (x instanceof GpuData) data = this.checked(x, what);
      else {
        const cols = await this.columns(x, y, what);
        const sampleWeight = args.sampleWeight;
        const w = rowWeights(
          sampleWeight === undefined ? {} : { sampleWeight },
          cols,
          this.dataLayout(),
          what,
        );
        data = uploadSlice(this.engine, cols, 0, cols.rows, what, w?.weights);
      }
      const batch = oneBatch ? data.rows : checkInt('batchSize', args.batchSize ?? 32, 1);
      try {
        return this.logsFrom(await executor.evaluate(data, batch));
      } finally {
        if (!(x instanceof GpuData)) data.dispose();
      }
    });
    if (verbose > 0) console.log(formatLogs(logs));
    return this.result(logs, args.returnDict);
  }

  /** Keras's return value: the list (see EvaluateResult), or the plain logs for returnDict. */
  private result(logs: Logs, returnDict: unknown): Logs | EvaluateResult {
    if (returnDict !== undefined && typeof returnDict !== 'boolean')
      throw new TypeError(`returnDict must be true or false, got ${String(returnDict)}`);
    if (returnDict === true) return logs;
    const heads = this.compiled?.heads ?? [];
    return listed(logs, kerasLogOrder(logs, heads, this.outputNames()));
  }

  /** The outputs for x: one Prediction, or one per output for a multi-output model. */
  async predict(
    xIn: DataInput | GpuData,
    given: Spelled<PredictArgs> = {},
  ): Promise<Prediction | Prediction[]> {
    refuseKerasOnly('predict', given);
    const args = readOptions<PredictArgs>('predict', given, PREDICT_KEYS);
    const verbose = checkVerbose('predict', args.verbose, 0);
    const out = await this.exclusive('predict', async () => {
      const [x] = await hostArgs(xIn, undefined);
      this.buildFromData(x, 'predict');
      const b = await this.buildGraph(true);
      const batch = checkInt('batchSize', args.batchSize ?? 32, 1);
      const data = x instanceof GpuData ? x : this.predictData(await this.columns(x, undefined, 'predict'));
      const owned = !(x instanceof GpuData) && data !== this.predictCache;
      try {
        const outs = await b.executor.predict(data, batch, b.outputs);
        const preds = outs.map((d, i) => ({
          data: d,
          shape: [data.rows, ...(this.outputs[i] as SymbolicTensor).shape],
        }));
        return preds.length === 1 ? (preds[0] as Prediction) : preds;
      } finally {
        if (owned) data.dispose();
      }
    });
    if (verbose > 0) {
      const rows = (Array.isArray(out) ? out[0] : out)?.shape[0] ?? 0;
      console.log(`predict: ${rows} row${rows === 1 ? '' : 's'}`);
    }
    return out;
  }

  /** Class ids: argmax of each row, or (one output unit) probability > 0.5. */
  async predictClasses(x: DataInput | GpuData, given: Spelled<PredictArgs> = {}): Promise<Uint32Array> {
    refuseKerasOnly('predictClasses', given);
    const args = readOptions<PredictArgs>('predictClasses', given, PREDICT_KEYS);
    if (this.isBuilt && this.outputs.length > 1) {
      throw new Error(
        `predictClasses: the model has ${this.outputs.length} outputs; use predict() and pick one`,
      );
    }
    const p = await this.predict(x, args);
    const { data, shape } = Array.isArray(p) ? (p[0] as Prediction) : p;
    const cols = shape.slice(1).reduce((a, b) => a * b, 1);
    const rows = shape[0] ?? 0;
    const out = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) {
      if (cols === 1) {
        out[r] = (data[r] ?? 0) > 0.5 ? 1 : 0;
        continue;
      }
      let best = 0;
      for (let c = 1; c < cols; c++)
        if ((data[r * cols + c] ?? -Infinity) > (data[r * cols + best] ?? -Infinity)) best = c;
      out[r] = best;
    }
    return out;
  }

  /**
   * One training step on this batch (the hand-written loop of the course). Its loss and
   * metrics as evaluate gives them: a list, also named; `{ returnDict: true }` the object.
   */
  trainOnBatch(
    xIn: DataInput | GpuData,
    yIn: DataInput | undefined,
    args: Spelled<TrainOnBatchArgs> & DictOption,
  ): Promise<Logs>;
  trainOnBatch(
    xIn: DataInput | GpuData,
    yIn?: DataInput,
    args?: Spelled<TrainOnBatchArgs>,
  ): Promise<EvaluateResult>;
  async trainOnBatch(
    xIn: DataInput | GpuData,
    yIn?: DataInput,
    given: Spelled<TrainOnBatchArgs> = {},
  ): Promise<Logs | EvaluateResult> {
    refuseKerasOnly('trainOnBatch', given);
    const args = readOptions<TrainOnBatchArgs>('trainOnBatch', given, TRAIN_ON_BATCH_KEYS);
    const logs = await this.exclusive('trainOnBatch', async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      this.buildFromData(x, 'trainOnBatch');
      const { executor } = await this.buildGraph();
      const weighted = args.sampleWeight !== undefined || args.classWeight !== undefined;
      if (x instanceof GpuData && weighted) {
        throw new DataError(
          'trainOnBatch: sampleWeight and classWeight need x and y as arrays or Tensors, not a GpuData',
        );
      }
      let data: GpuData;
      if (x instanceof GpuData) data = this.checked(x, 'trainOnBatch');
      else {
        const cols = await this.columns(x, y, 'trainOnBatch');
        const w = rowWeights(args, cols, this.dataLayout(), 'trainOnBatch');
        data = uploadSlice(this.engine, cols, 0, cols.rows, 'batch', w?.weights);
      }
      try {
        this.trainOutsideFit();
        return this.logsFrom(await executor.trainEpoch(data, { batchSize: data.rows }));
      } finally {
        if (!(x instanceof GpuData)) data.dispose();
      }
    });
    return this.result(logs, args.returnDict);
  }

  /**
   * The gradient of the training loss (the compiled losses, weighted, plus the regularization
   * penalties) with respect to each trainable weight, over (x, y) taken as one batch in
   * training mode (batch statistics, dropout on), as a GradientTape around one training step
   * would give it. Nothing changes: the weights, optimizer state and moving statistics stay
   * as they were. In getWeights() order, trainable weights only.
   */
  async computeGradients(
    xIn: DataInput | GpuData,
    yIn?: DataInput,
  ): Promise<{ name: string; shape: number[]; data: Float32Array }[]> {
    return this.exclusive('computeGradients', async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      this.buildFromData(x, 'computeGradients');
      const b = await this.buildGraph();
      const data =
        x instanceof GpuData
          ? this.checked(x, 'computeGradients')
          : this.upload(await this.columns(x, y, 'computeGradients'), 'gradients');
      try {
        const grads = await b.executor.gradients(data);
        const out: { name: string; shape: number[]; data: Float32Array }[] = [];
        for (const w of this.allWeights()) {
          const p = b.params.get(w);
          const g = p?.trainable ? grads[p.id] : undefined;
          if (g) out.push({ name: w.name, shape: [...w.shape], data: g });
        }
        return out;
      } finally {
        if (!(x instanceof GpuData)) data.dispose();
      }
    });
  }

  /** Loss and metrics of one batch, without training: as evaluate, all rows as one batch. */
  testOnBatch(
    x: DataInput | GpuData,
    y: DataInput | undefined,
    args: Spelled<OnBatchArgs> & DictOption,
  ): Promise<Logs>;
  testOnBatch(x: DataInput | GpuData, y?: DataInput, args?: Spelled<OnBatchArgs>): Promise<EvaluateResult>;
  testOnBatch(
    x: DataInput | GpuData,
    y?: DataInput,
    given: Spelled<OnBatchArgs> = {},
  ): Promise<Logs | EvaluateResult> {
    return this.evaluateAs('testOnBatch', x, y, given, true);
  }

  /**
   * Saves the model. The format follows the destination:
   * - `'x.keras'`: Keras 3's file (config, weights, compile settings and optimizer state), and
   *   `'x.h5'`: the legacy HDF5 file, both readable by Python Keras; a Node path, `file://`
   *   path, or `downloads://name.keras` in a browser;
   * - the TF.js layers format (model.json + weights.bin): `'file://dir'` in Node,
   *   `'indexeddb://name'` or `'downloads://name'` in a browser, or an IO handler.
   * Options: `{ includeOptimizer }` (`include_optimizer`; Keras files include it by default,
   * as Keras does; TF.js files do not).
   */
  async save(url: string | SaveHandler, given: Spelled<SaveArgs> = {}): Promise<SaveResult> {
    const options = readOptions<SaveArgs>('save', given, SAVE_KEYS);
    if (!this.isBuilt) throw new Error(notBuiltMessage('save'));
    const kind = typeof url === 'string' ? kerasPathKind(url) : undefined;
    if (typeof url !== 'string' || kind === undefined) return saveModel(this, url, options);
    if (kind === 'weights') {
      throw new Error(
        `save: '${url}' names a weights file; use model.saveWeights('${url}') (model.save writes .keras or .h5)`,
      );
    }
    const withOptimizer = options.includeOptimizer !== false;
    const view = withOptimizer ? this : this.withoutOptimizer();
    const bytes =
      kind === 'keras' ? await kerasZipBytes(view) : await kerasH5Bytes(view, keras3LegacyConfig(this));
    const path = await writeKerasBytes(url, bytes, 'save');
    return {
      url: path,
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        // One file holds everything: its size is given as the weights' bytes.
        modelTopologyBytes: 0,
        weightSpecsBytes: 0,
        weightDataBytes: bytes.byteLength,
      },
    };
  }

  /** This model as saving sees it, without its optimizer and compile settings. */
  private withoutOptimizer(): this {
    return Object.create(this, {
      kerasCompileConfig: { value: undefined },
      optimizerConfig: { value: undefined },
    }) as this;
  }

  /**
   * Saves the weights alone as Keras 3's `save_weights` does: `'x.weights.h5'` (a Node path,
   * `file://` path, or `downloads://name.weights.h5` in a browser), with the optimizer's state
   * when the model is compiled. Python Keras reads it with `model.load_weights`.
   */
  async saveWeights(path: string): Promise<string> {
    if (typeof path !== 'string' || kerasPathKind(path) !== 'weights') {
      throw new Error(
        `saveWeights: the file name must end in .weights.h5 (as Keras 3 requires), got ${JSON.stringify(path)}`,
      );
    }
    if (!this.isBuilt) throw new Error(notBuiltMessage('saveWeights'));
    return writeKerasBytes(path, await kerasWeightsBytes(this), 'saveWeights');
  }

  /**
   * Loads weights saved by `saveWeights` or Keras's `save_weights` (`.weights.h5`), or the
   * weights of a Keras `.h5` model file, into this model: a path (Node), URL, File/Blob or the
   * bytes. Every weight is checked (shapes, NaN/±Inf) before the first is written. A
   * compiled model also takes the optimizer state a `.weights.h5` carries (step count,
   * moments), as Keras's load_weights does, so training continues from it.
   */
  async loadWeights(source: KerasFileSource): Promise<void> {
    if (!this.isBuilt) throw new Error(notBuiltMessage('loadWeights'));
    const o = this.optimizerView;
    const state = await loadKerasWeightsInto(
      kerasLayerOrder(this),
      source,
      'loadWeights',
      o ? { className: o.className, config: o.config } : undefined,
    );
    if (state) {
      // Every weight is on the host now: the next step builds afresh and applies the state.
      this.releaseExecutors();
      this.pendingOptimizerWeights = state;
    }
  }

  /**
   * The compiled step of this model for `batchSize` rows of a GPU dataset, for benchmarks and
   * diagnostics (it is what fit / predict replay): `stats()` gives the dispatches of one step,
   * the plan's buffers and bytes and the work it declares; `profile()` runs one step from the
   * first rows and gives the GPU time of each dispatch with its FLOPs and bytes (needs the
   * 'timestamp-query' feature); `encode(steps)` records `steps` steps into the engine's
   * pending commands (submit them with `engine.submitPending()`), to time the host cost of a
   * step; each step reads the next batch, from where `rewind()` (a 16-byte queue write) put
   * the cursor: the first rows. A 'train' step that is profiled or encoded really trains the
   * model.
   */
  async compiledStep(mode: 'train' | 'predict', batchSize: number, data: GpuData): Promise<CompiledStep> {
    const batch = checkInt('batchSize', batchSize, 1);
    if (!(data instanceof GpuData))
      throw new TypeError('compiledStep: data must be a GpuData (gpuDataset())');
    if (!this.isBuilt) throw new Error(notBuiltMessage('compiledStep'));
    const b = await this.exclusive('compiledStep', () => this.buildGraph(mode === 'predict'));
    const plan = b.executor.plan(mode, batch, data, mode === 'predict' ? b.outputs : undefined);
    const idle = (what: string): void => {
      if (this.busy)
        throw new Error(`compiledStep ${what}: the model is running fit/evaluate/predict; await it first`);
    };
    const rewind = (): void => {
      idle('rewind');
      b.executor.resetCursor();
    };
    return {
      stats: () => plan.stats(),
      rewind,
      profile: () => {
        rewind();
        if (mode === 'train') this.trainOutsideFit();
        return plan.profile();
      },
      encode: (steps = 1) => {
        idle('encode');
        if (mode === 'train') this.trainOutsideFit();
        plan.encode(checkInt('steps', steps, 1));
      },
    };
  }

  /**
   * Frees the GPU memory of the compiled model (weights stay on the host). Never throws on a
   * lost device: the host keeps the weights of fit's last epoch end.
   */
  async dispose(): Promise<void> {
    await this.dropGpuCopies();
  }

  // ------------------------------------------------------------------ internals

  private emit(type: 'batch' | 'epoch', detail: Record<string, unknown>): void {
    this.events.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private async exclusive<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.busy) {
      const nestable = (NESTABLE as readonly string[]).includes(what);
      if (!nestable || !this.betweenEpochs) {
        throw new Error(
          `${what}: this model is already running fit/evaluate/predict; await it first` +
            (nestable && this.running === 'fit'
              ? ` (a fit callback may call ${what} between epochs: onEpochBegin, onEpochEnd, ` +
                'onTrainBegin, onTrainEnd; not from a batch hook, which runs while the GPU trains)'
              : ''),
        );
      }
      // Calls made between epochs run one after another, in the order made (a callback's
      // Promise.all, or a page's call that came in meanwhile); fit waits for the last.
      const before = this.nested ?? Promise.resolve();
      const call = before.then(run);
      this.nested = call.then(
        () => undefined,
        () => undefined,
      );
      return call;
    }
    this.busy = true;
    this.running = what;
    try {
      return await run();
    } finally {
      this.busy = false;
      this.running = undefined;
    }
  }

  /**
   * Runs a fit callback between epochs: while it runs, NESTABLE methods may be called on this
   * model; those it started without awaiting are waited for before fit goes on (their errors
   * reach their callers' promises, not fit).
   */
  private async betweenEpochsCall(call: () => Promise<void>): Promise<void> {
    this.betweenEpochs = true;
    try {
      await call();
    } finally {
      this.betweenEpochs = false;
      const nested = this.nested;
      this.nested = undefined;
      await nested;
    }
  }

  private get engine(): Engine {
    return currentEngine();
  }

  /** Builds the graph and the executor for the compiled model (once per compile). */
  private async buildGraph(forPredict = false): Promise<Built> {
    if (!this.compileArgs && !forPredict) {
      throw new Error(
        'the model must be compiled before fit/evaluate (call model.compile({ optimizer, loss }))',
      );
    }
    await this.leaveOldEngine();
    // Weights another model trained since come to the host, then into our GPU copy.
    await WeightSync.toHost(this.allWeights(), this.weightSync);
    if (this.built) {
      this.weightSync.upload(this.built);
      return this.built;
    }
    if (this.stale) {
      await this.weightSync.pullWeights();
      this.stale.executor.dispose();
      this.stale = undefined;
    }
    this.weightSync.clear();
    this.resolveDeferredCompile();
    const c = this.compiled;
    const g = new Graph();
    const params = new Map<LayerWeight, Param>();
    const trainable = this.trainableFlags(c !== undefined);
    for (const l of this.layers) {
      for (const w of [...l.weights, ...l.constants]) {
        const reg = w.regularizer;
        params.set(
          w,
          g.param(w.name, w.shape, w.values, {
            trainable: trainable(l) && w.trainable,
            ...(reg ? { l1: reg.l1, l2: reg.l2 } : {}),
          }),
        );
      }
    }
    const values = new Map<SymbolicTensor, Value>();
    for (const i of this.inputs) values.set(i, g.input(i.layer.name, i.features));
    for (const n of this.nodeOrder()) {
      if (n.output.layer instanceof InputLayer) continue;
      const xs = n.inputs.map((t) => {
        const v = values.get(t);
        if (!v)
          throw new Error(
            `internal: "${t.layer.name}" not added to the graph before "${n.output.layer.name}"`,
          );
        return v;
      });
      const layer = n.output.layer;
      values.set(
        n.output,
        trainable(layer) ? layer.toGraph(g, xs, params) : g.frozenLayer(() => layer.toGraph(g, xs, params)),
      );
    }
    const outputs = this.outputs.map((o) => values.get(o) as Value);
    if (!c) {
      // An uncompiled model (e.g. just loaded) can predict: a forward-only graph, no optimizer.
      const executor = new Executor(this.engine, g);
      this.built = { graph: g, executor, params, outputs };
      this.weightSync.fresh(this.built);
      return this.built;
    }
    const weightedKeys = weightedMetricKeys(c.heads, this.outputNames());
    c.heads.forEach((h, i) => {
      const out = outputs[i] as Value;
      const idx = g.loss(out, h.loss.loss, h.loss.target, { weight: h.weight });
      for (const m of h.metrics) g.metric(idx, m.kind, m.name);
      h.weightedMetrics.forEach((m, j) => g.metric(idx, m.kind, weightedKeys[i]?.[j], { weighted: true }));
    });
    const executor = new Executor(this.engine, g, {
      spec: c.optimizer.spec,
      learningRate: this.learningRateValue,
    });
    const pending = this.pendingOptimizerWeights;
    if (pending) {
      try {
        executor.setOptimizerWeights(pending);
      } catch (e) {
        executor.dispose();
        throw new Error(
          `the optimizer state saved with this model does not fit the compiled optimizer (${c.optimizer.className}): ${(e as Error).message}`,
          { cause: e },
        );
      }
      this.pendingOptimizerWeights = undefined;
    }
    const carried = this.carried;
    if (carried) {
      if (carried.optimizer) executor.setOptimizerWeights(carried.optimizer);
      executor.setSteps(carried.steps);
      this.carried = undefined;
    }
    this.built = { graph: g, executor, params, outputs };
    this.weightSync.fresh(this.built);
    return this.built;
  }

  /**
   * Whether each layer trains in the graph being built: as of compile() for a compiled model
   * (Keras: "the trainable attribute values at the time the model is compiled should be
   * preserved ... until compile is called again"), with a note once per compile when a flag
   * changed since; the current flags for a forward-only graph.
   */
  private trainableFlags(compiled: boolean): (l: Layer) => boolean {
    const at = compiled ? this.trainableAtCompile : undefined;
    if (!at) return (l) => l.trainable;
    const changed = this.layers.filter((l) => at.has(l) && at.get(l) !== l.trainable);
    if (changed.length > 0 && !this.warnedTrainable) {
      this.warnedTrainable = true;
      console.warn(
        `${this.name}: trainable changed after compile() for ${changed.map((l) => `"${l.name}"`).join(', ')}; ` +
          'as in Keras, it takes effect at the next compile()',
      );
    }
    return (l) => at.get(l) ?? l.trainable;
  }

  /**
   * After initEngine() made a new engine (the old device lost, or replaced): the GPU copies on
   * the old one are dropped, and the next build uploads the host's. From a lost device the
   * host has the weights, optimizer state and step count of fit's last epoch end; from a
   * working one they are read first.
   */
  private async leaveOldEngine(): Promise<void> {
    const engine = this.engine;
    if ([this.built, this.stale].some((b) => b && b.executor.engine !== engine)) await this.dropGpuCopies();
    else if (this.predictCache && this.predictCache.engine !== engine) this.dropPredictCache();
  }

  /**
   * Frees the GPU copies; the host keeps what the next build needs to carry on: the weights,
   * and the optimizer's state and step count (read now, or on a lost device those of fit's
   * last epoch end, which the host weights also are).
   */
  private async dropGpuCopies(): Promise<void> {
    const from = this.built?.executor;
    try {
      if (from && this.compiled && from.model.optimizer) {
        if (!from.engine.isLost)
          this.carried = { optimizer: await from.optimizerWeights(), steps: from.stepsRun };
        else if (this.saved) this.carried = { ...this.saved };
      }
      await this.weightSync.pullWeights(); // no read from a lost device: the host copy stands
    } catch (e) {
      // The device was lost during these reads: fall back to fit's last epoch end. Any other
      // failure is reported, after the GPU memory is freed all the same.
      if (!from?.engine.isLost) throw e;
      this.carried = this.saved ? { ...this.saved } : undefined;
      await this.weightSync.pullWeights();
    } finally {
      this.dropPredictCache();
      this.releaseExecutors();
    }
  }

  private dropPredictCache(): void {
    this.predictCache?.dispose();
    this.predictCache = undefined;
  }

  /** What the model's data must fit: inputs, outputs and (once compiled) the losses' targets. */
  private dataLayout(): DataLayout {
    const heads = this.compiled?.heads ?? [];
    const io = this.ioLayout();
    return {
      inputs: io.inputs,
      outputs: io.outputs.map((o, i) => {
        const h = heads[i];
        return {
          ...o,
          ...(h
            ? {
                targets: h.loss.target === 'sparse' ? ('sparse' as const) : ('dense' as const),
                loss: h.loss.loss,
              }
            : {}),
        };
      }),
    };
  }

  /**
   * Columns of (x, y) for the model's inputs and loss heads, checked: host data on the host,
   * eager Tensors on the GPU where they are.
   */
  private async columns(x: DataInput, y: DataInput | undefined, what: string): Promise<HostColumns<Column>> {
    const cols = hostColumns(this.dataLayout(), x, y, what);
    await checkTensorColumns(this.engine, cols);
    return cols;
  }

  /**
   * A GPU dataset checked against the model's inputs and losses before any step: its columns,
   * and its targets' statistics recorded at upload (class ids in range, a row named).
   */
  private checked(data: GpuData, what: string): GpuData {
    checkGpuData(data, this.dataLayout(), what);
    return data;
  }

  /** All rows of the columns on the GPU. */
  private upload(cols: HostColumns<Column>, label: string): GpuData {
    return uploadSlice(this.engine, cols, 0, cols.rows, label);
  }

  /**
   * The GPU copy of predict()'s host inputs. Small inputs (an app predicting one drawing at a
   * time) go into a dataset kept between calls and rewritten in place, so the step compiled for
   * it is reused: no buffers, bind groups or plan per call. Larger inputs get a dataset of
   * their own, freed after the call.
   */
  private predictData(cols: HostColumns<Column>): GpuData {
    const host = cols.inputs.filter((c): c is ColumnInput => !isTensorColumn(c));
    // Tensors are bound where they are: nothing to copy into a kept dataset.
    if (host.length < cols.inputs.length) return this.upload(cols, 'predict');
    const bytes = host.reduce((s, c) => s + c.data.byteLength, 0);
    if (bytes > PREDICT_CACHE_BYTES) return this.upload(cols, 'predict');
    if (this.predictCache?.fits(host)) {
      this.predictCache.rewrite(host);
      return this.predictCache;
    }
    this.predictCache?.dispose();
    this.predictCache = undefined;
    this.predictCache = this.upload(cols, 'predict (kept)');
    return this.predictCache;
  }

  /** Keras log names: loss, accuracy (single output); loss, <out>_loss, <out>_accuracy (several). */
  private logsFrom(s: StepLogs): Logs {
    const logs: Logs = { loss: s.loss };
    const heads = this.compiled?.heads ?? [];
    const several = heads.length > 1;
    // The graph's metric heads follow the compiled heads' metrics, then weighted metrics, in
    // order (build()).
    const keys = this.built?.executor.metricKeys ?? [];
    const weightedKeys = weightedMetricKeys(heads, this.outputNames());
    let k = 0;
    heads.forEach((h, i) => {
      const out = (this.outputs[i] as SymbolicTensor).layer.name;
      if (several) logs[`${out}_loss`] = s.headLosses[i] ?? NaN;
      for (const m of h.metrics) {
        const key = several ? `${out}_${m.name}` : m.name;
        logs[key] = s.metrics[keys[k++] ?? m.name] ?? NaN;
      }
      h.weightedMetrics.forEach((m, j) => {
        const key = weightedKeys[i]?.[j] ?? m.name;
        logs[key] = s.metrics[keys[k++] ?? key] ?? NaN;
      });
    });
    return logs;
  }

  /** The output layers' names (the prefixes of a multi-output model's log keys). */
  private outputNames(): string[] {
    return this.outputs.map((o) => o.layer.name);
  }
}

/** fit's validationData with its TF.js tensors read to host arrays (eager Tensors kept). */
async function resolveValidation(
  v: FitArgs['validationData'],
): Promise<readonly [DataInput | GpuData, DataInput?, SampleWeightInput?] | undefined> {
  if (!v) return undefined;
  const [vx, vy, vw] = v;
  if (vx instanceof GpuData) return v;
  const x = await resolveTensors(vx, 'validationData: x', true);
  if (vy === undefined) return [x];
  const y = await resolveTensors(vy, 'validationData: y', true);
  return vw === undefined ? [x, y] : [x, y, vw];
}

/** Keras's Sequential(layers=..., name=...) as one options object. */
export interface SequentialArgs {
  layers?: readonly Layer[];
  name?: string;
}

/**
 * A stack of layers: `sequential({ layers: [...] })`, `.add(layer)`. Without an input shape
 * on its first layer (Keras's `Sequential([Dense(n), Dense(1)])`) it is built by its first
 * data (fit, evaluate, predict, trainOnBatch, testOnBatch) or by `build([null, features])`;
 * until then it has no inputs, outputs or weights, and summary() says it is not built, as in
 * Keras. Its `layers` are the stack, without an input layer, as Keras lists them.
 */
export class Sequential extends LayersModel {
  private readonly stack: Layer[] = [];
  /** True once the stack has an input (an input shape given, or built from data). */
  private hasInput = false;

  override get sequential(): boolean {
    return true;
  }

  /**
   * Keras's Sequential(layers, name=...): `new Sequential([dense1, dense2])`, with options as
   * a second argument ({ name }), or one options object ({ layers, name }).
   */
  constructor(layersOrArgs: readonly Layer[] | SequentialArgs = {}, options: { name?: string } = {}) {
    const args = Array.isArray(layersOrArgs)
      ? {
          layers: layersOrArgs as readonly Layer[],
          ...readOptions<{ name?: string }>('sequential', options, { name: true }),
        }
      : readOptions<SequentialArgs>('sequential', layersOrArgs, { layers: true, name: true });
    const list: unknown = args.layers; // from plain JavaScript, anything
    if (list !== undefined && !Array.isArray(list))
      throw new TypeError(`sequential: layers must be an array of layers, got ${typeof list}`);
    const placeholder = makeInput({ shape: [1], name: `${args.name ?? 'sequential'}_placeholder` });
    super({ inputs: placeholder, outputs: placeholder, name: args.name ?? 'sequential' });
    for (const l of args.layers ?? []) this.add(l);
  }

  override get isBuilt(): boolean {
    return this.hasInput;
  }

  override get layers(): Layer[] {
    return this.stack.filter((l) => !(l instanceof InputLayer));
  }

  override get inputs(): SymbolicTensor[] {
    if (!this.hasInput)
      throw new Error(`Sequential model "${this.name}" has no defined inputs yet (it is not built)`);
    return super.inputs;
  }

  override get outputs(): SymbolicTensor[] {
    if (!this.hasInput)
      throw new Error(`Sequential model "${this.name}" has no defined outputs yet (it is not built)`);
    return super.outputs;
  }

  add(layer: Layer): void {
    if (this.isCompiled) throw new Error('add: the model is already compiled; add layers before compile()');
    this.discardGraph();
    if (this.stack.length === 0) {
      const shape = layer instanceof InputLayer ? layer.shape : layer.inputShape;
      this.stack.push(layer);
      if (shape) this.buildFor(shape);
      return;
    }
    if (layer instanceof InputLayer)
      throw new TypeError(
        `add: an InputLayer ("${layer.name}") can only be the first layer of a Sequential model`,
      );
    // Only the first layer's input shape sets the model's input: a later one must agree with
    // what it will be given (never silently dropped).
    const declared = layer.inputShape;
    const given = this.hasInput ? (this.outputs[0] as SymbolicTensor).shape : undefined;
    if (declared && (!given || declared.join() !== given.join())) {
      throw new TypeError(
        `add: layer "${layer.name}" declares an input shape [${declared.join(', ')}], but ` +
          (given
            ? `it follows a layer whose output has shape [${given.join(', ')}]`
            : 'only the first layer of a Sequential model sets its input shape') +
          ': give inputShape (or input_dim) to the first layer only',
      );
    }
    this.stack.push(layer);
    if (this.hasInput) this.setEndpoints(this.inputs, [layer.apply(this.outputs[0] as SymbolicTensor)]);
  }

  /** Applies the stack to an input of this per-sample shape. */
  protected override buildFor(shape: readonly number[]): void {
    const x = makeInput({ shape: [...shape], name: `${this.name}_input` });
    let out = x;
    for (const l of this.stack) if (!(l instanceof InputLayer)) out = l.apply(out);
    this.setEndpoints([x], [out]);
    this.hasInput = true;
  }
}

/** Keras's Sequential: `sequential([l1, l2])`, `sequential([l1], { name })` or `sequential({ layers, name })`. */
export function sequential(
  layersOrArgs: readonly Layer[] | SequentialArgs = {},
  options: { name?: string } = {},
): Sequential {
  return new Sequential(layersOrArgs, options);
}

export function model(args: TopologyArgs): LayersModel {
  return new LayersModel(args);
}

export { makeInput as input };
