/**
 * The executor: runs compiled plans over a GPU dataset.
 *
 * An epoch uploads one permutation, then encodes windows of `stepsPerSubmit` steps, each
 * window one command buffer: a guarded snapshot of the weights (skipped by the GPU once a
 * loss went non-finite), then the same recorded step replayed. The GPU advances the batch
 * cursor, the step counter and the optimizer's step; loss sums and right-prediction counts
 * accumulate on the GPU and are read once per epoch, or every `readEvery` steps through a
 * ring of staging buffers without waiting for them (progress displays, callbacks). A last
 * partial batch runs its own plan compiled for the remaining rows, so every sample is used
 * once and the loss is averaged over the real rows, as Keras does.
 *
 * A non-finite loss, or a NaN/±Inf the optimizer writes into a parameter or its state (an
 * overflow whose loss is still finite: inputs near the f32 limit, a huge learning rate), is
 * recorded by the GPU with its step; at the next readback the weights, optimizer state and
 * moving statistics are restored to the snapshot of that window (the GPU skips the snapshots
 * after a recorded step) and the steps before the failing one are replayed, so the model is
 * left as it was just before the failing step, and a NonFiniteLossError names the step and
 * what went non-finite.
 */
import type { Engine, Recording } from '../gpu/engine.js';
import { writeCursor } from '../kernels/gather.js';
import { labelOutOfRange } from '../kernels/losses.js';
import {
  optimizerStateNames,
  OPTIMIZER_HYPER_BYTES,
  parseOptimizerHyper,
  readOptimizerHyper,
  writeOptimizerLearningRate,
  writeOptimizerProgress,
  type OptimizerHyper,
  type OptimizerSettings,
} from '../kernels/optim.js';
import { BAD_WHAT, encodeGuardedCopy, STATUS, writeStatus } from '../kernels/step.js';
import { loadTuning, pendingTunes, tunePending } from '../kernels/tune.js';
import { createRng, iota } from '../util/random.js';
import { ModelArenas } from './arenas.js';
import { compilePlan, type Plan } from './compile.js';
import type { GpuData } from './dataset.js';
import type { Graph } from './ir.js';
import type { Mode, Value } from './op.js';
import { metricKeys, Readback, stepLogs, type RawLogs, type StepLogs } from './readback.js';

export type { StepLogs };

export interface EpochOptions {
  batchSize: number;
  /** Shuffle the rows: a seed (u32) for a reproducible order, true for a random one. */
  shuffle?: boolean | number;
  /** Steps per command buffer (default 32). */
  stepsPerSubmit?: number;
  /** Also read the running loss and metrics every this many steps (default: once per epoch). */
  readEvery?: number;
  onProgress?: (logs: StepLogs) => void;
  /**
   * Asked before each submission: true ends the epoch there (Keras's stop_training checked
   * between batches); the logs then cover the steps that ran.
   */
  shouldStop?: () => boolean;
}

/** A tensor by name: getWeights(), optimizerWeights(). */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What Executor.checkpoint() reads back. */
export interface Checkpoint {
  /** By Param.id: the values training writes (undefined for frozen tensors). */
  params: (Float32Array | undefined)[];
  /** The optimizer's state tensors (optimizerWeights()), for a model with an optimizer. */
  optimizer?: NamedTensor[];
  /** Training steps run (the dropout masks' step word). */
  steps: number;
}

/**
 * A training step went non-finite: its loss (`what` 'loss'), or, with a finite loss, a
 * parameter or optimizer state value the update wrote ('weights': an overflow).
 */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(
    /** Index of the failing step since the model was created (0-based). */
    readonly step: number,
    /** Its index within the epoch. */
    readonly epochStep: number,
    message: string,
    /** What became NaN or ±Inf first at that step: the loss, or a weight or optimizer state value. */
    readonly what: 'loss' | 'weights' = 'loss',
  ) {
    super(message);
  }
}

export class LabelError extends Error {
  override name = 'LabelError';
}

export class Executor {
  readonly model: ModelArenas;
  private readonly plans = new Map<string, Plan>();
  /** Plans replaced after autotuning changed a choice (tunePlans), freed with the executor. */
  private readonly retired: Plan[] = [];
  private snapshot: Recording | undefined;
  private readonly readback: Readback;
  /** The history key of each metric head (Graph.allMetrics order), named once. */
  readonly metricKeys: readonly string[];
  /** Host mirror of status[STEPS]: training steps run since the model was created. */
  private steps = 0;
  private busy: string | undefined;
  /** Datasets this executor has plans for, with the removal of its dispose hook on each. */
  private readonly watched = new Map<GpuData, () => void>();
  private disposed = false;
  /** The rate set last by setLearningRate (undefined: the one the optimizer was built with). */
  private learningRate: number | undefined;

  constructor(
    readonly engine: Engine,
    readonly graph: Graph,
    optimizer?: OptimizerSettings,
  ) {
    this.model = new ModelArenas(engine, graph, optimizer);
    this.metricKeys = metricKeys(graph);
    try {
      this.readback = new Readback(engine, this.model);
    } catch (e) {
      this.model.dispose();
      throw e;
    }
  }

  /** The plan for (mode, batch, data), compiled on first use and kept. */
  plan(mode: Mode, batch: number, data: GpuData, outputs?: readonly Value[]): Plan {
    this.assertUsable();
    if (data.isDisposed) throw new Error('this dataset was disposed');
    for (const v of outputs ?? []) {
      if (!this.graph.values.includes(v))
        throw new Error(`output "${v.name}" is not a value of this model's graph`);
    }
    const key = `${mode}/${batch}/${dataId(data)}/${(outputs ?? []).map((v) => v.id).join(',')}`;
    let plan = this.plans.get(key);
    if (!plan) {
      if (!this.watched.has(data))
        this.watched.set(
          data,
          data.onDispose(() => this.forgetData(data)),
        );
      plan = compilePlan(this.engine, this.model, { mode, batch, data, ...(outputs ? { outputs } : {}) });
      if (mode === 'train') {
        plan.onSteps = (n) => {
          this.steps += n;
        };
      }
      this.plans.set(key, plan);
    }
    return plan;
  }

  /**
   * Matmul autotuning (engine.profile.tune, src/kernels/tune.ts) before an epoch's plans run:
   * the device's cached choices are read first (modes 'cached' and 'on'); in mode 'on' the
   * products `compile` noted without a choice are timed, and if a choice differs from the
   * default every plan is compiled again on its next use. Choices are per engine; plans
   * compiled before the cache was read (evaluate or predict before any fit) keep the default.
   */
  private async tunePlans(compile: () => void): Promise<void> {
    const mode = this.engine.profile.tune;
    if (mode === 'off') return;
    await loadTuning(this.engine);
    compile();
    if (mode !== 'on' || pendingTunes(this.engine).length === 0) return;
    const { changed } = await tunePending(this.engine);
    if (!changed) return;
    // Compiled again on next use; the old ones are kept until dispose(), since a
    // compiledStep() taken before may still replay them (they stay valid, untuned).
    this.retired.push(...this.plans.values());
    this.plans.clear();
  }

  /** Frees the plans bound to a dataset that is being disposed. */
  private forgetData(data: GpuData): void {
    for (const [key, plan] of this.plans) {
      if (plan.options.data !== data) continue;
      plan.dispose();
      this.plans.delete(key);
    }
    this.model.forget(data.bindings);
    this.watched.delete(data);
  }

  /** Marks the executor busy for the duration of `run` (epochs, evaluate, predict). */
  private async exclusive<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.assertUsable();
    if (this.busy) {
      throw new Error(
        `${what}: this model is busy with ${this.busy}; wait for it to finish ` +
          '(e.g. evaluate after trainEpoch resolves, not from its onProgress callback)',
      );
    }
    this.busy = what;
    try {
      return await run();
    } finally {
      this.busy = undefined;
    }
  }

  /** Runs one epoch of training; resolves with its mean loss and metrics. */
  trainEpoch(data: GpuData, options: EpochOptions): Promise<StepLogs> {
    return this.exclusive('trainEpoch', () => this.runEpoch(data, options));
  }

  private async runEpoch(data: GpuData, options: EpochOptions): Promise<StepLogs> {
    const batch = checkBatch(options.batchSize);
    const perSubmit = checkCount('stepsPerSubmit', options.stepsPerSubmit ?? 32, 1);
    const readEvery = checkCount('readEvery', options.readEvery ?? 0, 0);
    const full = Math.floor(data.rows / batch);
    const rem = data.rows % batch;
    const weighted = data.weights !== undefined;
    await this.tunePlans(() => {
      if (full > 0) this.plan('train', batch, data);
      if (rem > 0) this.plan('train', rem, data);
    });
    const fullPlan = full > 0 ? this.plan('train', batch, data) : undefined;
    const remPlan = rem > 0 ? this.plan('train', rem, data) : undefined;
    const snapshot = this.snapshotRecording();
    data.setPermutation(permutation(data.rows, options.shuffle));
    this.resetEpoch();
    const epochStart = this.steps;
    let progress: Promise<void> = Promise.resolve();
    let callbackError: unknown;
    let done = 0;
    let nextRead = readEvery > 0 ? readEvery : Infinity;
    let stopped = false;
    while (done < full) {
      if (done > 0 && options.shouldStop?.()) {
        stopped = true;
        break;
      }
      const n = Math.min(perSubmit, full - done, nextRead - done);
      fullPlan?.encode(n, snapshot);
      this.engine.submitPending();
      done += n;
      if (done === nextRead) {
        nextRead += readEvery;
        if (options.onProgress && done < full + (rem > 0 ? 1 : 0)) {
          const at = done;
          // The copies are encoded before the next window; only a full ring waits here.
          const started = this.readback.start(await this.readback.nextSlot());
          // Delivered in step order. A failure seen here is reported (and undone) by the
          // epoch's final read; a callback's own error is rethrown after it.
          const logs = this.readLogs(at, at * batch, weighted, undefined, started);
          logs.catch(() => undefined);
          progress = progress.then(() =>
            logs.then(
              (l) => {
                try {
                  options.onProgress?.(l);
                } catch (e) {
                  callbackError ??= e;
                }
              },
              () => undefined,
            ),
          );
        }
      }
    }
    if (!stopped) remPlan?.encode(1, snapshot);
    const steps = stopped ? done : full + (rem > 0 ? 1 : 0);
    await progress;
    const logs = await this.readLogs(steps, stopped ? done * batch : data.rows, weighted, {
      epochStart,
      batch,
      data,
      fullPlan,
    });
    if (callbackError !== undefined) {
      throw callbackError instanceof Error
        ? callbackError
        : new Error(`onProgress threw ${String(callbackError)}`);
    }
    options.onProgress?.(logs);
    return logs;
  }

  /**
   * The gradients of the loss over all rows of `data` as one batch (training mode: batch
   * statistics, dropout), by Param.id for the trainable parameters, with nothing changed:
   * one training step runs, its gradients are read, and the snapshot taken before it (the
   * weights, optimizer state, moving statistics and step) is put back.
   */
  gradients(data: GpuData): Promise<(Float32Array | undefined)[]> {
    return this.exclusive('gradients', async () => {
      if (!this.model.optimizer) throw new Error('gradients: the model has no optimizer (compile it first)');
      const before = this.steps;
      try {
        await this.runEpoch(data, { batchSize: data.rows, shuffle: false });
      } catch (e) {
        // The throwaway update overflowed (a huge learning rate) while the loss, and so the
        // gradients, stayed finite: readLogs undid the step, the gradients are still there.
        if (e instanceof NonFiniteLossError && e.what === 'weights') {
          this.putBackSnapshot(before);
          return this.model.readGrads();
        }
        // A non-finite loss was undone by readLogs (steps is back at `before`). A LabelError
        // where the class ids become one-hot rows (no fused softmax: a bad id gives a zero
        // row and a finite loss) leaves the step applied: undo it. Only if the step was
        // encoded: until then the backup holds an older snapshot.
        if (this.steps !== before) this.putBackSnapshot(before);
        throw e;
      }
      // The step's window began with a snapshot of everything it changes: put it back first,
      // so that the regularization terms are taken at the weights the gradient was.
      this.putBackSnapshot(before);
      return this.model.readGrads();
    });
  }

  /** Loss and metrics over all rows of `data` (batch-norm in inference mode, no dropout). */
  evaluate(data: GpuData, batchSize: number): Promise<StepLogs> {
    return this.exclusive('evaluate', () => this.runEvaluate(data, batchSize));
  }

  private async runEvaluate(data: GpuData, batchSize: number): Promise<StepLogs> {
    const batch = checkBatch(batchSize);
    const full = Math.floor(data.rows / batch);
    const rem = data.rows % batch;
    data.setPermutation();
    this.resetEpoch();
    if (full > 0) this.plan('evaluate', batch, data).encode(full);
    if (rem > 0) this.plan('evaluate', rem, data).encode(1);
    return this.readLogs(full + (rem > 0 ? 1 : 0), data.rows, data.weights !== undefined);
  }

  /** The model's outputs (default: each loss head's) for every row of `data`, [rows, features] each. */
  predict(data: GpuData, batchSize: number, outputs?: readonly Value[]): Promise<Float32Array[]> {
    return this.exclusive('predict', () => this.runPredict(data, batchSize, outputs));
  }

  private async runPredict(
    data: GpuData,
    batchSize: number,
    outputs?: readonly Value[],
  ): Promise<Float32Array[]> {
    const batch = checkBatch(batchSize);
    const outs = outputs ?? [...new Set(this.graph.losses.map((h) => h.output))];
    if (outs.length === 0)
      throw new Error('predict: the model has no outputs (no loss heads and none given)');
    const full = Math.floor(data.rows / batch);
    const rem = data.rows % batch;
    data.setPermutation();
    this.resetEpoch();
    // Copy targets only (not bound to a kernel), so only maxBufferSize limits them.
    const results: GPUBuffer[] = [];
    try {
      outs.forEach((v, i) =>
        results.push(
          this.engine.createBuffer({
            size: data.rows * v.features * 4,
            usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
            label: `predict output ${i}`,
          }),
        ),
      );
      const run = (plan: Plan, rows: number, row0: number): void => {
        plan.encode(1);
        outs.forEach((v, i) =>
          this.engine.copy(
            plan.output(i),
            results[i] as GPUBuffer,
            rows * v.features * 4,
            0,
            row0 * v.features * 4,
          ),
        );
      };
      for (let s = 0; s < full; s++) {
        run(this.plan('predict', batch, data, outs), batch, s * batch);
        if ((s + 1) % 64 === 0) this.engine.submitPending();
      }
      if (rem > 0) run(this.plan('predict', rem, data, outs), rem, full * batch);
      return await Promise.all(
        outs.map(
          async (v, i) =>
            new Float32Array(
              await this.engine.read(results[i] as GPUBuffer, data.rows * v.features * 4, 'predict'),
            ),
        ),
      );
    } finally {
      for (const r of results) this.engine.releaseBuffer(r);
    }
  }

  /**
   * Points the GPU batch cursor at the start of the permutation, for running a plan's
   * encode() or profile() directly after an epoch.
   */
  resetCursor(): void {
    this.assertUsable();
    if (this.busy) throw new Error(`resetCursor: this model is busy with ${this.busy}`);
    writeCursor(this.engine, this.model.cursor);
  }

  /**
   * Sets the optimizer's learning rate for the following steps: one 4-byte queue write, no
   * plan is recompiled. Allowed during an epoch (a callback's schedule, Keras's
   * LearningRateScheduler or a batch callback): queue writes are ordered with submissions, so
   * the windows already submitted keep the old rate and the next one uses the new. A NaN
   * rollback replays at the rates the steps ran with, then keeps the rate set last.
   */
  setLearningRate(learningRate: number): void {
    this.assertUsable();
    if (!this.model.hyper) throw new Error('setLearningRate: this model has no optimizer');
    if (!Number.isFinite(learningRate) || learningRate < 0) {
      throw new RangeError(`learning rate ${learningRate} must be a finite number ≥ 0`);
    }
    writeOptimizerLearningRate(this.engine, this.model.hyper, learningRate);
    this.learningRate = learningRate;
  }

  /** The optimizer's learning rate, step count and Nadam momentum product, read from the GPU. */
  async optimizerState(): Promise<OptimizerHyper> {
    this.assertUsable();
    if (!this.model.hyper) throw new Error('optimizerState: this model has no optimizer');
    return readOptimizerHyper(this.engine, this.model.hyper);
  }

  /** Resident GPU bytes: the model, every compiled plan, and the readback ring. */
  memory(): { modelBytes: number; planBytes: number; ringBytes: number; plans: number } {
    let planBytes = 0;
    for (const p of this.plans.values()) planBytes += p.stats().bytes;
    return {
      modelBytes: this.model.bytes,
      planBytes,
      ringBytes: this.readback.bytes,
      plans: this.plans.size,
    };
  }

  /**
   * The optimizer's state as named tensors: 'iterations' (the step count), 'u_product'
   * (Nadam), then for each state slot (optimizerStateNames: e.g. Adam's m, v) one tensor per
   * trainable parameter, named '<param>/<slot>'.
   */
  async optimizerWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]> {
    this.assertUsable();
    const m = this.model;
    const opt = m.optimizer;
    if (!opt || !m.hyper) throw new Error('optimizerWeights: this model has no optimizer');
    const h = await readOptimizerHyper(this.engine, m.hyper);
    const arenas: Float32Array[] = [];
    for (const buffer of m.optState)
      arenas.push(new Float32Array(await this.engine.read(buffer, m.totalLength * 4, 'optimizer state')));
    return this.namedOptimizerState(h, arenas);
  }

  /** The optimizer's state tensors (optimizerWeights order) from its hyper words and arenas. */
  private namedOptimizerState(h: OptimizerHyper, arenas: readonly Float32Array[]): NamedTensor[] {
    const m = this.model;
    const spec = m.optimizer?.spec;
    const out: NamedTensor[] = [{ name: 'iterations', shape: [], data: Float32Array.of(h.step) }];
    if (spec?.kind === 'nadam') out.push({ name: 'u_product', shape: [], data: Float32Array.of(h.uProduct) });
    const names = spec ? optimizerStateNames(spec) : [];
    arenas.forEach((arena, k) =>
      m.trainable.forEach((p, i) => {
        const off = m.segments[i]?.offset ?? 0;
        out.push({
          name: `${p.name}/${names[k] ?? k}`,
          shape: [...p.shape],
          data: arena.slice(off, off + p.length),
        });
      }),
    );
    return out;
  }

  /**
   * What training changed, read back in one readback (more only for a model near the device's
   * largest buffer; the staging is freed after the call): the
   * parameters (by Param.id: the trainable ones and the moving statistics; frozen ones are
   * left undefined, the host has them), the optimizer's state as optimizerWeights() names it,
   * and the step count. fit() takes one at every epoch end, so that a lost device loses at
   * most the epoch in flight; it costs one round trip and (2 + optimizer slots) × the
   * parameter arena in bytes.
   */
  async checkpoint(): Promise<Checkpoint> {
    this.assertUsable();
    const m = this.model;
    const bytes = m.totalLength * 4;
    const sources = [
      { buffer: m.params, size: bytes },
      { buffer: m.state, size: m.stateLength * 4 },
      ...(m.hyper ? [{ buffer: m.hyper, size: OPTIMIZER_HYPER_BYTES }] : []),
      ...m.optState.map((buffer) => ({ buffer, size: bytes })),
    ];
    // As few readbacks as the device's largest buffer allows (one, unless the model is near
    // that size); staging made for the call and freed after it, so it holds no memory between
    // epochs.
    const raw = new Uint8Array(sources.reduce((n, src) => n + src.size, 0));
    let at = 0;
    for (const group of packBySize(sources, this.engine.limits.maxBufferSize)) {
      const size = group.reduce((n, src) => n + src.size, 0);
      const staging = this.engine.createBuffer({
        size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: 'checkpoint staging',
      });
      try {
        raw.set(new Uint8Array(await this.engine.readInto(staging, group, 'checkpoint')), at);
        staging.unmap();
      } finally {
        this.engine.releaseBuffer(staging);
      }
      at += size;
    }
    const f32 = (offset: number, words: number): Float32Array => new Float32Array(raw.buffer, offset, words);
    const params = f32(0, m.totalLength);
    const state = f32(bytes, m.stateLength);
    const values: (Float32Array | undefined)[] = [];
    for (const p of this.graph.params) {
      const { buffer, offset } = m.location(p);
      const from = buffer === m.params ? params : buffer === m.state ? state : undefined;
      values[p.id] = from?.slice(offset, offset + p.length);
    }
    let optimizer: NamedTensor[] | undefined;
    if (m.hyper && m.optimizer) {
      const h0 = bytes + m.stateLength * 4;
      const hyper = parseOptimizerHyper(raw.buffer.slice(h0, h0 + OPTIMIZER_HYPER_BYTES));
      const arenas = m.optState.map((_, k) => f32(h0 + OPTIMIZER_HYPER_BYTES + k * bytes, m.totalLength));
      optimizer = this.namedOptimizerState(hyper, arenas);
    }
    return { params: values, ...(optimizer ? { optimizer } : {}), steps: this.steps };
  }

  /**
   * Sets the step counter (the dropout masks' step word) after a rebuild from a checkpoint,
   * so that a resumed run draws the masks an uninterrupted one would.
   */
  setSteps(steps: number): void {
    this.assertUsable();
    if (this.busy) throw new Error(`setSteps: this model is busy with ${this.busy}`);
    writeStatus(this.engine, this.model.status, steps);
    this.steps = steps;
  }

  /** Restores state saved by optimizerWeights() (same optimizer kind and parameters). */
  setOptimizerWeights(
    weights: readonly { name: string; shape?: readonly number[]; data: ArrayLike<number> }[],
  ): void {
    this.assertUsable();
    if (this.busy) throw new Error(`setOptimizerWeights: this model is busy with ${this.busy}`);
    const m = this.model;
    const opt = m.optimizer;
    if (!opt || !m.hyper) throw new Error('setOptimizerWeights: this model has no optimizer');
    const byName = new Map(weights.map((w) => [w.name, w]));
    const scalar = (name: string): number => {
      const w = byName.get(name);
      if (!w || w.data.length !== 1) throw new Error(`optimizer state: "${name}" (one value) is missing`);
      return w.data[0] as number;
    };
    const step = scalar('iterations');
    const uProduct = opt.spec.kind === 'nadam' ? scalar('u_product') : 1;
    const names = optimizerStateNames(opt.spec);
    const arenas = m.optState.map(() => new Float32Array(m.totalLength));
    names.forEach((slot, k) =>
      m.trainable.forEach((p, i) => {
        const w = byName.get(`${p.name}/${slot}`);
        if (!w) {
          throw new Error(
            `optimizer state: "${p.name}/${slot}" is missing (saved by another optimizer than ${opt.spec.kind}?)`,
          );
        }
        if (w.data.length !== p.length) {
          throw new Error(
            `optimizer state: "${p.name}/${slot}" has ${w.data.length} values, needs ${p.length}`,
          );
        }
        arenas[k]?.set(w.data, m.segments[i]?.offset ?? 0);
      }),
    );
    const expected = 1 + (opt.spec.kind === 'nadam' ? 1 : 0) + names.length * m.trainable.length;
    if (weights.length !== expected) {
      throw new Error(
        `optimizer state: ${weights.length} tensors given, ${opt.spec.kind} here has ${expected}`,
      );
    }
    arenas.forEach((a, k) => this.engine.writeBuffer(m.optState[k] as GPUBuffer, 0, a));
    // Keep the learning rate on the GPU; restore the step (bias correction) and Nadam's product.
    writeOptimizerProgress(this.engine, m.hyper, { step: step >>> 0, uProduct });
  }

  /** Every parameter's current values, by Param.id. */
  readWeights(): Promise<Float32Array[]> {
    this.assertUsable();
    return this.model.readParams();
  }

  writeWeights(values: readonly (ArrayLike<number> | undefined)[]): void {
    this.assertUsable();
    if (this.busy) throw new Error(`writeWeights: this model is busy with ${this.busy}`);
    this.model.writeParams(values);
  }

  /** Training steps run since the model was created (the dropout masks' step word). */
  get stepsRun(): number {
    return this.steps;
  }

  /** Frees every GPU buffer of the model and its plans. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of [...this.plans.values(), ...this.retired]) p.dispose();
    this.plans.clear();
    this.retired.length = 0;
    for (const unhook of this.watched.values()) unhook();
    this.watched.clear();
    this.snapshot?.release();
    this.readback.dispose();
    this.model.dispose();
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('this model was disposed');
    this.engine.assertUsable();
  }

  /** Guarded copies of everything a failing step would corrupt, recorded once. */
  private snapshotRecording(): Recording {
    if (this.snapshot) return this.snapshot;
    const m = this.model;
    const status = m.status;
    this.snapshot = this.engine.record('snapshot', () => {
      const copy = (src: GPUBuffer, dst: GPUBuffer, words: number, mark = false): void =>
        encodeGuardedCopy(this.engine, words, { src, dst, status }, mark);
      // The mark goes last, after every copy has read status[BAD_STEP].
      m.optState.forEach((s, i) => copy(s, m.backup.optState[i] as GPUBuffer, m.totalLength));
      copy(m.state, m.backup.state, m.stateLength);
      if (m.hyper && m.backup.hyper) copy(m.hyper, m.backup.hyper, OPTIMIZER_HYPER_BYTES / 4);
      copy(m.params, m.backup.params, m.totalLength, true);
    });
    return this.snapshot;
  }

  private resetEpoch(): void {
    const m = this.model;
    const { sums, counts } = m.accumulatorWords;
    const zero = new Uint32Array(Math.max(4, sums, counts));
    writeCursor(this.engine, m.cursor);
    this.engine.writeBuffer(m.lossSums, 0, zero.subarray(0, sums));
    this.engine.writeBuffer(m.counts, 0, zero.subarray(0, counts));
    this.engine.writeBuffer(m.labelFlags, 0, new Uint32Array(4));
    this.engine.writeBuffer(m.labelErrors, 0, new Uint32Array(4));
    writeStatus(this.engine, m.status, this.steps);
  }

  /** `weighted`: the data carries sample weights (the weighted metrics divide by their sum). */
  private async readLogs(
    step: number,
    samples: number,
    weighted: boolean,
    restore?: { epochStart: number; batch: number; data: GpuData; fullPlan: Plan | undefined },
    started?: Promise<RawLogs>,
  ): Promise<StepLogs> {
    const raw = await (started ?? this.readback.read());
    const bad = raw.status[STATUS.BAD_STEP] ?? 0;
    if (bad !== 0 || raw.labelErrors > 0 || labelOutOfRange(raw.flags)) {
      const failing = bad > 0 ? bad - 1 : undefined;
      const restored =
        restore && failing !== undefined ? await this.restoreBefore(failing, raw.status, restore) : false;
      const where =
        failing !== undefined
          ? ` at step ${failing - (restore?.epochStart ?? 0)} of the epoch (step ${failing} overall)`
          : '';
      const state = restored
        ? ' The weights and optimizer state were restored to their values before that step.'
        : '';
      if (raw.labelErrors > 0 || labelOutOfRange(raw.flags)) {
        throw new LabelError(
          `${raw.labelErrors > 0 ? raw.labelErrors : 'some'} target label(s) are not valid class ids ` +
            `(an integer in [0, classes) for each loss head)${where}.${state}`,
        );
      }
      // A NaN loss makes NaN gradients, so the update flags the same step: the loss is the cause
      // whenever its bit is set; the update's bit alone is an overflow with a finite loss.
      const badWhat = raw.status[STATUS.BAD_WHAT] ?? 0;
      const what = badWhat === BAD_WHAT.WRITE ? 'weights' : 'loss';
      throw new NonFiniteLossError(
        failing ?? -1,
        (failing ?? 0) - (restore?.epochStart ?? 0),
        what === 'loss'
          ? `the loss became NaN or infinite${where}.${state}`
          : `a weight or optimizer state value became NaN or infinite${where}, with a finite loss ` +
              `(an overflow: inputs too large or a learning rate too high?).${state}`,
        what,
      );
    }
    return stepLogs(this.model, this.metricKeys, raw, step, samples, weighted);
  }

  /**
   * Copies the snapshot (weights, optimizer state, moving statistics, optimizer step) back
   * over the live buffers and sets the step counters to `step`.
   */
  private putBackSnapshot(step: number): void {
    const m = this.model;
    const bytes = m.totalLength * 4;
    m.optState.forEach((s, i) => this.engine.copy(m.backup.optState[i] as GPUBuffer, s, bytes));
    this.engine.copy(m.backup.state, m.state, m.stateLength * 4);
    if (m.hyper && m.backup.hyper) this.engine.copy(m.backup.hyper, m.hyper, OPTIMIZER_HYPER_BYTES);
    this.engine.copy(m.backup.params, m.params, bytes);
    writeStatus(this.engine, m.status, step);
    this.steps = step;
  }

  /**
   * Puts back the snapshot taken at the start of the failing window and replays the steps
   * between it and the failing step (same permutation, same dropout steps).
   */
  private async restoreBefore(
    failing: number,
    status: Uint32Array,
    r: { epochStart: number; batch: number; fullPlan: Plan | undefined },
  ): Promise<boolean> {
    const m = this.model;
    const from = status[STATUS.BACKUP_STEP] ?? r.epochStart;
    if (from > failing || from < r.epochStart) return false;
    this.putBackSnapshot(from);
    writeCursor(this.engine, m.cursor, (from - r.epochStart) * r.batch);
    if (failing > from) r.fullPlan?.encode(failing - from);
    // The replay ran at the rate of the snapshot's window, as the steps first did; from here
    // on the rate set last holds (a callback may have changed it since that window).
    if (this.learningRate !== undefined && m.hyper)
      writeOptimizerLearningRate(this.engine, m.hyper, this.learningRate);
    this.steps = failing;
    await this.engine.flush();
    return true;
  }
}

const dataIds = new WeakMap<GpuData, number>();
let nextDataId = 0;
function dataId(d: GpuData): number {
  let id = dataIds.get(d);
  if (id === undefined) {
    id = nextDataId++;
    dataIds.set(d, id);
  }
  return id;
}

function checkCount(what: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${what} ${v} must be an integer ≥ ${min}`);
  return v;
}

/**
 * Consecutive runs of `items` whose sizes add up to at most `limit` each (an item larger than
 * the limit alone).
 */
function packBySize<T extends { size: number }>(items: readonly T[], limit: number): T[][] {
  const groups: T[][] = [];
  let sum = Infinity;
  for (const item of items) {
    if (sum + item.size > limit) {
      groups.push([]);
      sum = 0;
    }
    groups[groups.length - 1]?.push(item);
    sum += item.size;
  }
  return groups;
}

function checkBatch(b: number): number {
  if (!Number.isSafeInteger(b) || b <= 0) throw new RangeError(`batchSize ${b} must be a positive integer`);
  return b;
}

/**
 * The order of an epoch's rows: as they are (no shuffle), or shuffled by src/util/random.ts
 * from a seed (a reproducible order) or from a fresh one (`true`).
 */
export function permutation(rows: number, shuffle: boolean | number | undefined): Uint32Array {
  const p = iota(rows);
  if (shuffle === undefined || shuffle === false) return p;
  return createRng(typeof shuffle === 'number' ? shuffle : undefined).shuffle(p);
}
