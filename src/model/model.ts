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
import { createRng } from '../util/random.js';
import { isNode } from '../util/runtime.js';
import { callbackArray, CallbackList, History, type Callback, type Logs } from './callbacks.js';
import { resolveCompileArgs, type CompileArgs, type Compiled } from './compile-args.js';
import {
  checkGpuData,
  checkInt,
  checkTensorColumns,
  hostArgs,
  hostColumns,
  isTensorColumn,
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
import { FitEvents, formatLogs, ProgressBar } from './progress.js';
import { Topology } from './topology.js';
import { WeightSync, type GpuCopy } from './weights.js';

export type { CompileArgs };

export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  validationSplit?: number;
  /** (x, y) host arrays or eager Tensors, or [gpuData] / [gpuData, undefined] for a GPU dataset. */
  validationData?: readonly [DataInput | GpuData, DataInput?];
  shuffle?: boolean;
  initialEpoch?: number;
  /** Callbacks, or one callback. */
  callbacks?: readonly Callback[] | Callback;
  /**
   * 0 silent; 1 a progress bar in a terminal, else one line per epoch (piped, a browser), and
   * progress events; 2 one line per epoch.
   */
  verbose?: 0 | 1 | 2;
  /** Seed for the shuffles (reproducible runs). */
  seed?: number;
  /** Steps per GPU submission (default 32). */
  stepsPerSubmit?: number;
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
  private built: Built | undefined;
  /** The previous compile's graph, kept until its trained weights are copied back. */
  private stale: Built | undefined;
  /** Host ⇄ GPU of this model's weights (the previous compile's copy until it is pulled). */
  private readonly weightSync = new WeightSync(() => this.built ?? this.stale);
  private learningRateValue = 0;
  private optimizerView: ModelOptimizer | undefined;
  private busy = false;
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

  compile(args: CompileArgs): void {
    this.compiled = resolveCompileArgs(
      args,
      this.outputs.map((o) => ({ name: o.layer.name, features: o.features })),
    );
    const { optimizer } = this.compiled;
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
    return this.compiled !== undefined;
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
    if (!this.compiled) throw new Error('getOptimizerWeights: the model is not compiled');
    const b = await this.build();
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
    this.weightSync.claim(this.layers.flatMap((l) => [...l.weights, ...l.constants]));
  }

  // ------------------------------------------------------------------ training

  async fit(xIn: DataInput | GpuData, yIn: DataInput | undefined, args: FitArgs = {}): Promise<History> {
    return this.exclusive('fit', async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      const epochs = checkInt('epochs', args.epochs ?? 1, 1);
      const batchSize = checkInt('batchSize', args.batchSize ?? 32, 1);
      const initialEpoch = checkInt('initialEpoch', args.initialEpoch ?? 0, 0);
      const verbose = args.verbose ?? 1;
      const callbacks = callbackArray(args.callbacks);
      const { executor } = await this.build();
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
        await cbs.onTrainBegin();
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
          await cbs.onEpochBegin(epoch);
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
              await cbs.onEpochEnd(epoch, { loss: NaN });
              break;
            }
            throw e;
          }
          await batchHooks;
          if (batchFailure) throw batchFailure.error;
          if (val) {
            const v = await executor.evaluate(val, batchSize);
            for (const [k, value] of Object.entries(this.logsFrom(v))) logs[`val_${k}`] = value;
          }
          bar?.finish(logs);
          if (verbose > 0) this.emit('epoch', { epoch, epochs, logs });
          if (verbose === 2) console.log(`Epoch ${epoch + 1}/${epochs} - ${formatLogs(logs)}`);
          await cbs.onEpochEnd(epoch, logs);
          // After the epoch's callbacks (which may restore weights or change the rate): a
          // loss from here on resumes at the next epoch.
          await this.checkpoint(executor, epoch + 1);
          resumeEpoch = epoch + 1;
        }
        await cbs.onTrainEnd();
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

  /** Loss and metrics over (x, y): { loss, accuracy, ... }. */
  async evaluate(
    xIn: DataInput | GpuData,
    yIn?: DataInput,
    args: { batchSize?: number } = {},
  ): Promise<Logs> {
    return this.exclusive('evaluate', async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      const { executor } = await this.build();
      const batch = checkInt('batchSize', args.batchSize ?? 32, 1);
      const data =
        x instanceof GpuData
          ? this.checked(x, 'evaluate')
          : this.upload(await this.columns(x, y, 'evaluate'), 'evaluate');
      try {
        return this.logsFrom(await executor.evaluate(data, batch));
      } finally {
        if (!(x instanceof GpuData)) data.dispose();
      }
    });
  }

  /** The outputs for x: one Prediction, or one per output for a multi-output model. */
  async predict(
    xIn: DataInput | GpuData,
    args: { batchSize?: number } = {},
  ): Promise<Prediction | Prediction[]> {
    return this.exclusive('predict', async () => {
      const [x] = await hostArgs(xIn, undefined);
      const b = await this.build(true);
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
  }

  /** Class ids: argmax of each row, or (one output unit) probability > 0.5. */
  async predictClasses(x: DataInput | GpuData, args: { batchSize?: number } = {}): Promise<Uint32Array> {
    if (this.outputs.length > 1) {
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

  /** One training step on this batch (the hand-written loop of the course). */
  async trainOnBatch(xIn: DataInput | GpuData, yIn?: DataInput): Promise<Logs> {
    return this.exclusive('trainOnBatch', async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      const { executor } = await this.build();
      const data =
        x instanceof GpuData
          ? this.checked(x, 'trainOnBatch')
          : this.upload(await this.columns(x, y, 'trainOnBatch'), 'batch');
      try {
        this.trainOutsideFit();
        return this.logsFrom(await executor.trainEpoch(data, { batchSize: data.rows }));
      } finally {
        if (!(x instanceof GpuData)) data.dispose();
      }
    });
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
      const b = await this.build();
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

  /** Loss and metrics of one batch, without training. */
  testOnBatch(x: DataInput | GpuData, y?: DataInput): Promise<Logs> {
    const rows = x instanceof GpuData ? x.rows : undefined;
    return this.evaluate(x, y, rows ? { batchSize: rows } : { batchSize: 2 ** 30 });
  }

  /**
   * Saves the model in the TF.js layers format (model.json + weights.bin): 'file://dir' in
   * Node, 'indexeddb://name' or 'downloads://name' in a browser, or an IO handler.
   */
  async save(url: string | SaveHandler, options: { includeOptimizer?: boolean } = {}): Promise<SaveResult> {
    return saveModel(this, url, options);
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
    const b = await this.exclusive('compiledStep', () => this.build(mode === 'predict'));
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
    if (this.busy)
      throw new Error(`${what}: this model is already running fit/evaluate/predict; await it first`);
    this.busy = true;
    try {
      return await run();
    } finally {
      this.busy = false;
    }
  }

  private get engine(): Engine {
    return currentEngine();
  }

  /** Builds the graph and the executor for the compiled model (once per compile). */
  private async build(forPredict = false): Promise<Built> {
    if (!this.compiled && !forPredict) {
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
    const c = this.compiled;
    const g = new Graph();
    const params = new Map<LayerWeight, Param>();
    for (const l of this.layers) {
      for (const w of [...l.weights, ...l.constants]) {
        const reg = w.regularizer;
        params.set(
          w,
          g.param(w.name, w.shape, w.values, {
            trainable: l.trainable && w.trainable,
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
      values.set(n.output, n.output.layer.toGraph(g, xs, params));
    }
    const outputs = this.outputs.map((o) => values.get(o) as Value);
    if (!c) {
      // An uncompiled model (e.g. just loaded) can predict: a forward-only graph, no optimizer.
      const executor = new Executor(this.engine, g);
      this.built = { graph: g, executor, params, outputs };
      this.weightSync.fresh(this.built);
      return this.built;
    }
    c.heads.forEach((h, i) => {
      const out = outputs[i] as Value;
      const idx = g.loss(out, h.loss.loss, h.loss.target, { weight: h.weight });
      for (const m of h.metrics) g.metric(idx, m.kind, m.name);
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
    // The graph's metric heads follow the compiled heads' metrics in order (build()).
    const keys = this.built?.executor.metricKeys ?? [];
    let k = 0;
    heads.forEach((h, i) => {
      const out = (this.outputs[i] as SymbolicTensor).layer.name;
      if (several) logs[`${out}_loss`] = s.headLosses[i] ?? NaN;
      for (const m of h.metrics) {
        const key = several ? `${out}_${m.name}` : m.name;
        logs[key] = s.metrics[keys[k++] ?? m.name] ?? NaN;
      }
    });
    return logs;
  }
}

/** fit's validationData with its TF.js tensors read to host arrays (eager Tensors kept). */
async function resolveValidation(
  v: FitArgs['validationData'],
): Promise<readonly [DataInput | GpuData, DataInput?] | undefined> {
  if (!v) return undefined;
  const [vx, vy] = v;
  if (vx instanceof GpuData) return v;
  const x = await resolveTensors(vx, 'validationData: x', true);
  return vy === undefined ? [x] : [x, await resolveTensors(vy, 'validationData: y', true)];
}

/** A stack of layers: `sequential({ layers: [...] })`, `.add(layer)`. */
export class Sequential extends LayersModel {
  private readonly stack: Layer[] = [];

  override get sequential(): boolean {
    return true;
  }

  constructor(args: { layers?: readonly Layer[]; name?: string } = {}) {
    const placeholder = makeInput({ shape: [1], name: `${args.name ?? 'sequential'}_placeholder` });
    super({ inputs: placeholder, outputs: placeholder, name: args.name ?? 'sequential' });
    for (const l of args.layers ?? []) this.add(l);
  }

  add(layer: Layer): void {
    if (this.isCompiled) throw new Error('add: the model is already compiled; add layers before compile()');
    this.discardGraph();
    if (this.stack.length === 0) {
      const shape = layer instanceof InputLayer ? layer.shape : layer.inputShape;
      if (!shape) {
        throw new TypeError(
          `the first layer of a sequential model needs inputShape (e.g. layers.dense({ units: 10, inputShape: [784] })); "${layer.name}" has none`,
        );
      }
      const x = makeInput({ shape, name: `${this.name}_input` });
      this.inputs = [x];
      this.outputs = [x];
      if (layer instanceof InputLayer) {
        this.stack.push(layer);
        return;
      }
    }
    const out = layer.apply(this.outputs[0] as SymbolicTensor);
    this.outputs = [out];
    this.stack.push(layer);
  }
}

export function sequential(args: { layers?: readonly Layer[]; name?: string } = {}): Sequential {
  return new Sequential(args);
}

export function model(args: {
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  outputs: SymbolicTensor | readonly SymbolicTensor[];
  name?: string;
}): LayersModel {
  return new LayersModel(args);
}

export { makeInput as input };
