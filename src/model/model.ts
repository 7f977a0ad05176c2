/**
 * Keras models: `sequential({ layers })` and the functional `model({ inputs, outputs })`,
 * with compile / fit / evaluate / predict / summary / getWeights / setWeights. A compiled
 * model is a Graph (src/graph/ir.ts) trained by an Executor (src/graph/executor.ts): the
 * layers lower themselves into the graph, the loss and metric names become its heads.
 */
import { currentEngine } from '../gpu/init.js';
import type { Engine } from '../gpu/engine.js';
import type { DispatchTiming } from '../gpu/profiler.js';
import { GpuData, type ColumnInput } from '../graph/dataset.js';
import { NonFiniteLossError, Executor, type StepLogs } from '../graph/executor.js';
import { metricKeys } from '../graph/readback.js';
import { Graph, type Param, type Value } from '../graph/ir.js';
import type { PlanStats } from '../graph/compile.js';
import {
  InputLayer,
  input as makeInput,
  SymbolicTensor,
  type Layer,
  type LayerWeight,
} from '../nn/layers.js';
import { resolveLoss, resolveMetric, suggest } from '../nn/names.js';
import { resolveOptimizer, type Optimizer } from '../nn/optimizers.js';
import { CallbackList, History, type Callback, type Logs } from './callbacks.js';
import {
  checkClassIds,
  DataError,
  perTensor,
  resolveTensors,
  sliceColumn,
  toColumn,
  type DataArg,
  type DataInput,
} from './data.js';
import { ProgressBar } from './progress.js';
import { createRng } from '../util/random.js';
import type { SaveHandler, SaveResult } from './io.js';

export interface CompileArgs {
  optimizer: string | Optimizer;
  /** One loss for every output, one per output, or by output name. */
  loss: string | readonly string[] | Readonly<Record<string, string>>;
  metrics?: readonly string[] | Readonly<Record<string, readonly string[]>>;
  lossWeights?: readonly number[] | Readonly<Record<string, number>>;
}

export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  validationSplit?: number;
  /** (x, y) host arrays, or [gpuData] / [gpuData, undefined] for a GPU dataset. */
  validationData?: readonly [DataArg | GpuData, DataArg?];
  shuffle?: boolean;
  initialEpoch?: number;
  callbacks?: readonly Callback[];
  /** 0 silent, 1 progress bar (Node) / progress events, 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Seed for the shuffles (reproducible runs). */
  seed?: number;
  /** Steps per GPU submission (default 32). */
  stepsPerSubmit?: number;
}

interface Compiled {
  optimizer: Optimizer;
  heads: {
    loss: ReturnType<typeof resolveLoss>;
    weight: number;
    metrics: ReturnType<typeof resolveMetric>[];
  }[];
}

interface Built {
  graph: Graph;
  executor: Executor;
  params: Map<LayerWeight, Param>;
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

/** Host inputs to predict() up to this size reuse one GPU dataset and its compiled step. */
const PREDICT_CACHE_BYTES = 1 << 20;

/** A prediction: values [rows, ...shape] row-major. */
export interface Prediction {
  data: Float32Array;
  shape: number[];
}

export class LayersModel {
  readonly name: string;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
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
   */
  readonly events = new EventTarget();
  private compiled: Compiled | undefined;
  private built: Built | undefined;
  /** The previous compile's graph, kept until its trained weights are copied back. */
  private stale: Built | undefined;
  /** The host version of each weight that this model's GPU copy holds. */
  private uploaded = new Map<LayerWeight, number>();
  private learningRateValue = 0;
  private busy = false;
  private predictCache: GpuData | undefined;

  constructor(args: {
    inputs: SymbolicTensor | readonly SymbolicTensor[];
    outputs: SymbolicTensor | readonly SymbolicTensor[];
    name?: string;
  }) {
    this.inputs = Array.isArray(args.inputs)
      ? [...(args.inputs as readonly SymbolicTensor[])]
      : [args.inputs as SymbolicTensor];
    this.outputs = Array.isArray(args.outputs)
      ? [...(args.outputs as readonly SymbolicTensor[])]
      : [args.outputs as SymbolicTensor];
    this.name = args.name ?? 'model';
    for (const i of this.inputs) {
      if (!(i.layer instanceof InputLayer))
        throw new TypeError(`model inputs must come from input(), got the output of "${i.layer.name}"`);
    }
    this.checkConnected();
  }

  /** Every layer, inputs first, in the order the graph runs them. */
  get layers(): Layer[] {
    const seen = new Set<Layer>();
    for (const n of this.nodeOrder()) seen.add(n.output.layer);
    return [...seen];
  }

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

  compile(args: CompileArgs): void {
    const optimizer = resolveOptimizer(args.optimizer);
    const names = this.outputs.map((o) => o.layer.name);
    const perOutput = <T>(
      v: T | readonly T[] | Readonly<Record<string, T>> | undefined,
      what: string,
      fallback?: T,
    ): T[] =>
      names.map((name, i) => {
        if (v === undefined) {
          if (fallback === undefined) throw new TypeError(`compile: no ${what} for output "${name}"`);
          return fallback;
        }
        if (Array.isArray(v)) {
          if (v.length !== names.length) {
            throw new TypeError(
              `compile: ${what} has ${v.length} entries for ${names.length} outputs (${names.join(', ')})`,
            );
          }
          return v[i] as T;
        }
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
          for (const key of Object.keys(v)) {
            if (!names.includes(key)) {
              const hint = suggest(key, names);
              throw new TypeError(
                `compile: ${what} names output "${key}", which this model does not have` +
                  `${hint ? `; did you mean "${hint}"?` : ''} Outputs: ${names.join(', ')}`,
              );
            }
          }
          const r = (v as Readonly<Record<string, T>>)[name];
          if (r === undefined) {
            if (fallback === undefined)
              throw new TypeError(`compile: ${what} has no entry for output "${name}"`);
            return fallback;
          }
          return r;
        }
        return v;
      });
    const losses = perOutput(args.loss, 'loss');
    const weights = perOutput(args.lossWeights, 'lossWeights', 1);
    const metricLists: (readonly string[])[] = Array.isArray(args.metrics)
      ? names.map(() => args.metrics as readonly string[])
      : perOutput(
          args.metrics as Readonly<Record<string, readonly string[]>> | undefined,
          'metrics',
          [] as readonly string[],
        );
    const heads = losses.map((l, i) => {
      const loss = resolveLoss(l);
      const out = this.outputs[i] as SymbolicTensor;
      const w = weights[i] as number;
      if (!Number.isFinite(w) || w < 0)
        throw new RangeError(`compile: loss weight ${w} for "${names[i]}" must be ≥ 0`);
      return {
        loss,
        weight: w,
        metrics: (metricLists[i] ?? []).map((m) => resolveMetric(m, loss, out.features)),
      };
    });
    this.compiled = { optimizer, heads };
    this.learningRateValue = optimizer.learningRate;
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
    const o = this.compiled?.optimizer;
    return o ? { className: o.className, config: o.config } : undefined;
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
    await this.syncWeights();
    return this.allWeights().map((w) => ({ name: w.name, shape: [...w.shape], data: w.values.slice() }));
  }

  /** Sets weights in getWeights() order (arrays or { data }); shapes are checked. */
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
    });
    ws.forEach((w, i) => {
      const v = values[i] as ArrayLike<number> | { data: ArrayLike<number> };
      w.values.set('data' in v && !ArrayBuffer.isView(v) ? v.data : (v as ArrayLike<number>));
      w.version++;
      w.owner = undefined; // the host copy is now the newest, for every model sharing it
    });
    if (this.built) this.upload(this.built);
    await Promise.resolve();
  }

  private allWeights(): LayerWeight[] {
    return this.layers.flatMap((l) => l.weights);
  }

  /**
   * Brings the newest values of every weight of this model to the host: from the GPU of the
   * model that last trained it (this one, or another model sharing the layer).
   */
  private async syncWeights(except?: LayersModel): Promise<void> {
    const owners = new Set<LayersModel>();
    for (const w of this.allWeights()) {
      if (w.owner instanceof LayersModel && w.owner !== except) owners.add(w.owner);
    }
    for (const m of owners) await m.pullOwn();
  }

  /** Host ← this model's GPU copy, for the weights it trained since the host was last written. */
  private async pullOwn(): Promise<void> {
    const b = this.built ?? this.stale;
    const mine = [...(b?.params ?? [])].filter(([w]) => w.owner === this);
    if (!b || mine.length === 0) {
      for (const [w] of mine) w.owner = undefined;
      return;
    }
    const values = await b.executor.readWeights();
    for (const [w, p] of mine) {
      const v = values[p.id];
      if (v) w.values.set(v);
      w.version++;
      w.owner = undefined;
      this.uploaded.set(w, w.version); // the GPU copy equals the host again
    }
  }

  /** Writes into `b`'s GPU copy every weight whose host version it does not hold yet. */
  private upload(b: Built): void {
    const byParam: Float32Array[] = [];
    let any = false;
    for (const [w, p] of b.params) {
      if (this.uploaded.get(w) === w.version) continue;
      byParam[p.id] = w.values;
      this.uploaded.set(w, w.version);
      any = true;
    }
    if (any) b.executor.writeWeights(byParam);
  }

  /**
   * Drops the compiled graph after the model's structure changed (Sequential.add after a
   * predict). Only an uncompiled model gets here, which never trained: the host copies are
   * current.
   */
  protected discardGraph(): void {
    this.built?.executor.dispose();
    this.stale?.executor.dispose();
    this.built = undefined;
    this.stale = undefined;
    this.uploaded.clear();
  }

  /** After training: this model's GPU copy is the newest for all its weights. */
  private markTrained(): void {
    for (const l of this.layers) for (const w of [...l.weights, ...l.constants]) w.owner = this;
  }

  // ------------------------------------------------------------------ summary

  /** Prints a Keras-style table of layers, output shapes, parameter counts and connections. */
  summary(print: (line: string) => void = console.log): void {
    const functional = !(this instanceof Sequential);
    // One row per layer, in graph order, with this model's calls: a shared layer lists each
    // call's output shape and inputs; calls are numbered within this model, as Keras does.
    const order = this.nodeOrder();
    const callIndex = new Map<SymbolicTensor, number>();
    const calls = new Map<Layer, { inputs: SymbolicTensor[]; output: SymbolicTensor }[]>();
    for (const n of order) {
      const list = calls.get(n.output.layer) ?? [];
      callIndex.set(n.output, list.length);
      list.push(n);
      calls.set(n.output.layer, list);
    }
    const rows = [...calls.entries()]
      .filter(([l]) => functional || !(l instanceof InputLayer))
      .map(([l, ns]) => {
        const shapes = [...new Set(ns.map((n) => `(None, ${n.output.shape.join(', ')})`))].join(', ');
        const connected = ns
          .flatMap((n) => n.inputs.map((x) => `${x.layer.name}[${callIndex.get(x) ?? 0}][0]`))
          .join(', ');
        return [`${l.name} (${l.className})`, shapes, l.countParams().toLocaleString('en-US'), connected];
      });
    const headers = ['Layer (type)', 'Output Shape', 'Param #', ...(functional ? ['Connected to'] : [])];
    const cols = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)) + 2);
    const line = (cells: readonly string[]): string =>
      cells
        .map((c, i) => c.padEnd(cols[i] ?? 0))
        .join('')
        .trimEnd();
    const width = cols.reduce((a, b) => a + b, 0);
    const total = this.countParams();
    const trainable = this.layers.reduce((s, l) => s + (l.trainable ? countTrainable(l) : 0), 0);
    print(`Model: "${this.name}"`);
    print('_'.repeat(width));
    print(line(headers));
    print('='.repeat(width));
    rows.forEach((r, i) => {
      print(line(functional ? r : r.slice(0, 3)));
      print(i === rows.length - 1 ? '='.repeat(width) : '_'.repeat(width));
    });
    print(`Total params: ${total.toLocaleString('en-US')}`);
    print(`Trainable params: ${trainable.toLocaleString('en-US')}`);
    print(`Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`);
    print('_'.repeat(width));
  }

  countParams(): number {
    return this.layers.reduce((s, l) => s + l.countParams(), 0);
  }

  // ------------------------------------------------------------------ training

  async fit(xIn: DataInput | GpuData, yIn: DataInput | undefined, args: FitArgs = {}): Promise<History> {
    return this.exclusive('fit', async () => {
      const [x, y] = await hostArgs(xIn, yIn);
      const epochs = checkInt('epochs', args.epochs ?? 1, 1);
      const batchSize = checkInt('batchSize', args.batchSize ?? 32, 1);
      const initialEpoch = checkInt('initialEpoch', args.initialEpoch ?? 0, 0);
      const verbose = args.verbose ?? 1;
      const { executor } = await this.build();
      const split = args.validationSplit ?? 0;
      if (!(split >= 0 && split < 1)) throw new RangeError(`validationSplit ${split} must be in [0, 1)`);
      const owned: GpuData[] = [];
      try {
        let train: GpuData;
        let val: GpuData | undefined;
        if (x instanceof GpuData) {
          if (split > 0)
            throw new DataError('validationSplit needs host arrays; pass validationData for a GPU dataset');
          train = x;
        } else {
          const cols = this.columns(x, y, 'fit');
          const rows = cols.rows;
          const cut = split > 0 ? Math.floor(rows * (1 - split)) : rows;
          if (split > 0 && (cut === 0 || cut === rows)) {
            throw new DataError(
              `validationSplit ${split} of ${rows} rows leaves ${cut} for training and ${rows - cut} for validation`,
            );
          }
          train = this.gpuData(cols, 0, cut, 'train');
          owned.push(train);
          if (split > 0) {
            val = this.gpuData(cols, cut, rows, 'validation');
            owned.push(val);
          }
        }
        if (args.validationData) {
          if (val) throw new TypeError('fit: pass validationSplit or validationData, not both');
          const [vx, vy] = args.validationData;
          val =
            vx instanceof GpuData
              ? vx
              : this.gpuData(this.columns(vx, vy, 'validationData'), 0, undefined, 'validation');
          if (!(vx instanceof GpuData)) owned.push(val);
        }
        const steps = Math.ceil(train.rows / batchSize);
        const history = new History();
        const cbs = new CallbackList([history, ...(args.callbacks ?? [])], this, {
          epochs,
          steps,
          samples: train.rows,
          batchSize,
          verbose,
          doValidation: val !== undefined,
        });
        const wantsBatches = cbs.wantsBatchEnd() || verbose === 1;
        this.stopTraining = false;
        await cbs.onTrainBegin();
        // One shuffle seed per epoch, drawn from the fit's seed (reproducible runs).
        const seeds = createRng(args.seed);
        const stopped = (): boolean => this.stopTraining; // set by callbacks during the loop
        const batchCallbacks: Promise<void>[] = [];
        for (let epoch = initialEpoch; epoch < epochs && !stopped(); epoch++) {
          await cbs.onEpochBegin(epoch);
          const bar = verbose === 1 ? new ProgressBar(epoch, epochs, steps) : undefined;
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
                if (p.step < steps) batchCallbacks.push(cbs.onBatchEnd(p.step - 1, l));
              },
            });
            logs = this.logsFrom(r);
            await Promise.all(batchCallbacks.splice(0)); // a failing onBatchEnd fails fit here
          } catch (e) {
            await Promise.allSettled(batchCallbacks.splice(0));
            if (e instanceof NonFiniteLossError && cbs.terminatesOnNaN()) {
              bar?.finish({ loss: NaN });
              this.stopTraining = true;
              await cbs.onEpochEnd(epoch, { loss: NaN });
              break;
            }
            throw e;
          }
          if (val) {
            const v = await executor.evaluate(val, batchSize);
            for (const [k, value] of Object.entries(this.logsFrom(v))) logs[`val_${k}`] = value;
          }
          bar?.finish(logs);
          if (verbose > 0) this.emit('epoch', { epoch, epochs, logs });
          if (verbose === 2) console.log(`Epoch ${epoch + 1}/${epochs} - ${formatLogs(logs)}`);
          await cbs.onEpochEnd(epoch, logs);
        }
        await cbs.onTrainEnd();
        return history;
      } finally {
        for (const d of owned) d.dispose();
      }
    });
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
        x instanceof GpuData ? x : this.gpuData(this.columns(x, y, 'evaluate'), 0, undefined, 'evaluate');
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
      const data = x instanceof GpuData ? x : this.predictData(this.columns(x, undefined, 'predict'));
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
        x instanceof GpuData ? x : this.gpuData(this.columns(x, y, 'trainOnBatch'), 0, undefined, 'batch');
      try {
        this.markTrained();
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
          ? x
          : this.gpuData(this.columns(x, y, 'computeGradients'), 0, undefined, 'gradients');
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
    const { saveModel } = await import('./io.js');
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
        if (mode === 'train') this.markTrained();
        return plan.profile();
      },
      encode: (steps = 1) => {
        idle('encode');
        if (mode === 'train') this.markTrained();
        plan.encode(checkInt('steps', steps, 1));
      },
    };
  }

  /** Frees the GPU memory of the compiled model (weights stay on the host). */
  async dispose(): Promise<void> {
    await this.pullOwn();
    this.predictCache?.dispose();
    this.predictCache = undefined;
    this.built?.executor.dispose();
    this.stale?.executor.dispose();
    this.built = undefined;
    this.stale = undefined;
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
    // Weights another model trained since come to the host, then into our GPU copy.
    await this.syncWeights(this);
    if (this.built) {
      this.upload(this.built);
      return this.built;
    }
    if (this.stale) {
      await this.pullOwn();
      this.stale.executor.dispose();
      this.stale = undefined;
    }
    this.uploaded.clear();
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
        if (!v) throw new Error(`internal: "${t.layer.name}" not lowered before "${n.output.layer.name}"`);
        return v;
      });
      values.set(n.output, n.output.layer.toGraph(g, xs, params));
    }
    const outputs = this.outputs.map((o) => values.get(o) as Value);
    if (!c) {
      // An uncompiled model (e.g. just loaded) can predict: a forward-only graph, no optimizer.
      const executor = new Executor(this.engine, g);
      this.built = { graph: g, executor, params, outputs };
      for (const w of params.keys()) this.uploaded.set(w, w.version);
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
    this.built = { graph: g, executor, params, outputs };
    for (const w of params.keys()) this.uploaded.set(w, w.version);
    return this.built;
  }

  /** Host columns of (x, y) for the model's inputs and loss heads, checked. */
  private columns(
    x: DataArg,
    y: DataArg | undefined,
    what: string,
  ): { inputs: ColumnInput[]; targets: ColumnInput[]; rows: number } {
    const inNames = this.inputs.map((i) => i.layer.name);
    const xs = perTensor(x, inNames, `${what}: x`).map((t, i) => {
      const inp = this.inputs[i] as SymbolicTensor;
      const col = toColumn(t, inp.features, `${what}: x${this.inputs.length > 1 ? ` "${inNames[i]}"` : ''}`);
      return { col, width: inp.features };
    });
    const rows = xs[0]?.col.rows ?? 0;
    xs.forEach(({ col }, i) => {
      if (col.rows !== rows)
        throw new DataError(
          `${what}: input "${inNames[i]}" has ${col.rows} rows, "${inNames[0]}" has ${rows}`,
        );
    });
    const inputs: ColumnInput[] = xs.map(({ col, width }) => ({ data: col.values, width }));
    if (y === undefined) return { inputs, targets: [], rows };
    const outNames = this.outputs.map((o) => o.layer.name);
    const heads = this.compiled?.heads ?? [];
    const targets = perTensor(y, outNames, `${what}: y`).map((t, i) => {
      const out = this.outputs[i] as SymbolicTensor;
      const h = heads[i];
      const sparse = h?.loss.target === 'sparse';
      const label = `${what}: y${outNames.length > 1 ? ` "${outNames[i]}"` : ''}`;
      const col = toColumn(t, sparse ? 1 : out.features, label);
      if (col.rows !== rows) throw new DataError(`${label} has ${col.rows} rows, x has ${rows}`);
      if (sparse) return checkClassIds(col, out.features, label);
      if (h?.loss.loss === 'categorical_crossentropy' && out.features > 1 && col.values.length === rows) {
        throw new DataError(
          `${label}: looks like class ids; use sparseCategoricalCrossentropy or toCategorical()`,
        );
      }
      return {
        data: col.values instanceof Float32Array ? col.values : Float32Array.from(col.values),
        width: out.features,
      };
    });
    return { inputs, targets, rows };
  }

  private gpuData(
    cols: { inputs: ColumnInput[]; targets: ColumnInput[]; rows: number },
    start: number,
    end: number | undefined,
    label: string,
  ): GpuData {
    const stop = end ?? cols.rows;
    return new GpuData(this.engine, {
      inputs: cols.inputs.map((c) => sliceColumn(c, start, stop)),
      targets: cols.targets.map((c) => sliceColumn(c, start, stop)),
      label,
    });
  }

  /**
   * The GPU copy of predict()'s host inputs. Small inputs (an app predicting one drawing at a
   * time) go into a dataset kept between calls and rewritten in place, so the step compiled for
   * it is reused: no buffers, bind groups or plan per call. Larger inputs get a dataset of
   * their own, freed after the call.
   */
  private predictData(cols: { inputs: ColumnInput[]; targets: ColumnInput[]; rows: number }): GpuData {
    const bytes = cols.inputs.reduce((s, c) => s + c.data.byteLength, 0);
    if (bytes > PREDICT_CACHE_BYTES) return this.gpuData(cols, 0, undefined, 'predict');
    if (this.predictCache?.fits(cols.inputs)) {
      this.predictCache.rewrite(cols.inputs);
      return this.predictCache;
    }
    this.predictCache?.dispose();
    this.predictCache = undefined;
    this.predictCache = this.gpuData(cols, 0, undefined, 'predict (kept)');
    return this.predictCache;
  }

  /** Keras log names: loss, accuracy (single output); loss, <out>_loss, <out>_accuracy (several). */
  private logsFrom(s: StepLogs): Logs {
    const logs: Logs = { loss: s.loss };
    const heads = this.compiled?.heads ?? [];
    const several = heads.length > 1;
    // The graph's metric heads follow the compiled heads' metrics in order (build()).
    const keys = this.built ? metricKeys(this.built.graph) : [];
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

  /** Layer calls in dependency order, from the inputs to the outputs. */
  private nodeOrder(): { inputs: SymbolicTensor[]; output: SymbolicTensor }[] {
    const order: { inputs: SymbolicTensor[]; output: SymbolicTensor }[] = [];
    const done = new Set<SymbolicTensor>();
    const visit = (t: SymbolicTensor, path: Set<SymbolicTensor>): void => {
      if (done.has(t)) return;
      if (path.has(t)) throw new TypeError(`the model's graph has a cycle at "${t.layer.name}"`);
      const node = t.layer.nodes[t.node];
      if (!node) throw new Error(`internal: "${t.layer.name}" has no call ${t.node}`);
      path.add(t);
      for (const i of node.inputs) visit(i, path);
      path.delete(t);
      done.add(t);
      order.push(node);
    };
    for (const o of this.outputs) visit(o, new Set());
    return order;
  }

  private checkConnected(): void {
    const reached = new Set(this.nodeOrder().map((n) => n.output));
    for (const n of this.nodeOrder()) {
      if (n.output.layer instanceof InputLayer && !this.inputs.includes(n.output)) {
        throw new TypeError(
          `the outputs depend on input "${n.output.layer.name}", which is not in the model's inputs`,
        );
      }
    }
    for (const i of this.inputs) {
      if (!reached.has(i)) throw new TypeError(`input "${i.layer.name}" is not connected to the outputs`);
    }
  }
}

/** x (unless a GpuData) and y with eager Tensors read back to host arrays. */
async function hostArgs(
  x: DataInput | GpuData,
  y: DataInput | undefined,
): Promise<[DataArg | GpuData, DataArg | undefined]> {
  return [
    x instanceof GpuData ? x : await resolveTensors(x),
    y === undefined ? undefined : await resolveTensors(y),
  ];
}

function countTrainable(l: Layer): number {
  return l.weights.filter((w) => w.trainable).reduce((s, w) => s + w.values.length, 0);
}

function checkInt(what: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${what} ${v} must be an integer ≥ ${min}`);
  return v;
}

export function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k}: ${v.toFixed(4)}`)
    .join(' - ');
}

/** A stack of layers: `sequential({ layers: [...] })`, `.add(layer)`. */
export class Sequential extends LayersModel {
  private readonly stack: Layer[] = [];

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
