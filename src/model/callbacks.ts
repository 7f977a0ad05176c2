/**
 * Keras callbacks: History, EarlyStopping, ModelCheckpoint, LearningRateScheduler (with the
 * course's time-based and step-drop schedules), ReduceLROnPlateau, TerminateOnNaN, CSVLogger,
 * and custom callbacks (any object with onEpochBegin/onEpochEnd/onBatchEnd/...). Asking for
 * batch logs (onBatchEnd) makes fit() read the running loss every few steps; without it the
 * executor reads once per epoch.
 */
import { suggest } from '../nn/names.js';
import { hostFs } from './host-fs.js';

export type Logs = Record<string, number>;

/**
 * What a callback may use of the model being trained (a LayersModel; callbacks are typed
 * against this much, so they do not depend on the model class).
 */
export interface TrainingModel {
  /** Set to end fit() after the current submission (EarlyStopping, TerminateOnNaN). */
  stopTraining: boolean;
  /** The optimizer's learning rate; setting it takes effect at the next step. */
  learningRate: number;
  getWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]>;
  setWeights(values: readonly (ArrayLike<number> | { data: ArrayLike<number> })[]): Promise<void>;
  save(url: string): Promise<unknown>;
}

export interface TrainParams {
  epochs: number;
  steps: number;
  samples: number;
  batchSize: number;
  verbose: number;
  doValidation: boolean;
}

/** Hooks a callback may implement; every one may return a promise, which fit() awaits. */
export interface Callback {
  setModel?(model: TrainingModel): void;
  setParams?(params: TrainParams): void;
  onTrainBegin?(logs?: Logs): unknown;
  onTrainEnd?(logs?: Logs): unknown;
  onEpochBegin?(epoch: number, logs?: Logs): unknown;
  onEpochEnd?(epoch: number, logs?: Logs): unknown;
  /**
   * Called with the running epoch logs every few steps (not every step: about 30 times per
   * epoch, when fit() reads the running loss), with the index of the last batch read.
   */
  onBatchEnd?(batch: number, logs?: Logs): unknown;
  /**
   * Called before the first batch of each epoch, then after each onBatchEnd(b) for batch
   * b + 1: the same few points of the epoch (the GPU may already be running batch b + 1).
   */
  onBatchBegin?(batch: number, logs?: Logs): unknown;
}

/** The hooks fit() calls, and the two setters: anything else named like a hook is a mistake. */
const HOOKS = [
  'setModel',
  'setParams',
  'onTrainBegin',
  'onTrainEnd',
  'onEpochBegin',
  'onEpochEnd',
  'onBatchBegin',
  'onBatchEnd',
] as const;

/**
 * Hook names fit() does not call, with what to use: Keras's train-batch names, and hooks of
 * evaluate/predict (which take no callbacks here) and tfjs's onYield.
 */
const OTHER_HOOKS: Record<string, string> = {
  ontrainbatchbegin: "did you mean 'onBatchBegin'?",
  ontrainbatchend: "did you mean 'onBatchEnd'?",
  onyield: 'fit() yields to the page between GPU submissions by itself; use onBatchEnd.',
};
for (const stage of ['test', 'predict'])
  for (const at of ['begin', 'end', 'batchbegin', 'batchend'])
    OTHER_HOOKS[`on${stage}${at}`] = 'evaluate and predict take no callbacks.';

/**
 * What to say of a method named `name` on a callback, if it looks like a hook fit() would not
 * call: Keras's snake_case names, another capitalization, a typo of a hook, or a hook of
 * evaluate/predict. Methods of a callback's own (onImprovement) are its business.
 */
function misnamedHook(name: string): string | undefined {
  if ((HOOKS as readonly string[]).includes(name)) return undefined;
  const key = name.toLowerCase().replace(/_/g, '');
  const other = OTHER_HOOKS[key];
  if (other !== undefined) return other;
  const hook = HOOKS.find((h) => h.toLowerCase() === key) ?? suggest(name, HOOKS);
  if (hook) return `did you mean '${hook}'?`;
  return name.startsWith('on_') ? '' : undefined;
}

/** Every function-valued property of `c`, own or inherited (not Object's). */
function methodNames(c: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = c; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const k of Object.getOwnPropertyNames(o)) {
      // Descriptors, not c[k]: a getter (BaseCallback.target) must not run here.
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (k !== 'constructor' && typeof d?.value === 'function') names.add(k);
    }
  }
  return [...names];
}

/**
 * fit()'s `callbacks` option: an array of callbacks, or one callback (a convenience). Each
 * must be an object; a method named like a hook that fit() would never call (Keras's
 * 'on_epoch_end', a typo such as 'onEpochEnds', evaluate's 'onTestEnd') is an error naming
 * the hook to use.
 */
export function callbackArray(arg: unknown): Callback[] {
  if (arg === undefined || arg === null) return [];
  const list: unknown[] = Array.isArray(arg) ? arg : [arg];
  list.forEach((c, i) => {
    const where = Array.isArray(arg) ? `callbacks[${i}]` : 'callbacks';
    if (typeof c !== 'object' || c === null) {
      throw new TypeError(
        `fit: ${where} must be a callback object (e.g. { onEpochEnd(epoch, logs) { ... } } or ` +
          `callbacks.earlyStopping()), got ${c === null ? 'null' : typeof c}`,
      );
    }
    for (const name of methodNames(c)) {
      const hint = misnamedHook(name);
      if (hint === undefined) continue;
      throw new TypeError(
        `fit: ${where} has a method '${name}' that fit() never calls${hint ? `; ${hint}` : '.'} ` +
          `Hooks: ${HOOKS.slice(2).join(', ')}`,
      );
    }
  });
  return list as Callback[];
}

/** Base class with the model and the training parameters set by fit(). */
export class BaseCallback implements Callback {
  model: TrainingModel | undefined;
  params: TrainParams | undefined;
  setModel(model: TrainingModel): void {
    this.model = model;
  }
  setParams(params: TrainParams): void {
    this.params = params;
  }
  protected get target(): TrainingModel {
    if (!this.model) throw new Error(`${this.constructor.name} used outside fit()`);
    return this.model;
  }
}

/** fit()'s return value: `history.history.loss[epoch]`, `history.epoch`, `history.params`. */
export class History extends BaseCallback {
  readonly history: Record<string, number[]> = {};
  readonly epoch: number[] = [];
  onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
}

export class CallbackList {
  constructor(
    private readonly list: readonly Callback[],
    model: TrainingModel,
    params: TrainParams,
  ) {
    for (const c of list) {
      c.setModel?.(model);
      c.setParams?.(params);
    }
  }
  terminatesOnNaN(): boolean {
    return this.list.some((c) => c instanceof TerminateOnNaN);
  }
  async onTrainBegin(): Promise<void> {
    for (const c of this.list) await c.onTrainBegin?.({});
  }
  async onTrainEnd(): Promise<void> {
    for (const c of this.list) await c.onTrainEnd?.({});
  }
  async onEpochBegin(epoch: number): Promise<void> {
    for (const c of this.list) await c.onEpochBegin?.(epoch, {});
  }
  async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.list) await c.onEpochEnd?.(epoch, { ...logs });
  }
  wantsBatches(): boolean {
    return this.list.some((c) => typeof c.onBatchEnd === 'function' || typeof c.onBatchBegin === 'function');
  }
  /**
   * Run during the epoch from the executor's progress reads (a GPU window may be in
   * flight), one after the other (fit() chains them; a failure ends the epoch).
   */
  async onBatchBegin(batch: number, logs: Logs): Promise<void> {
    for (const c of this.list) await c.onBatchBegin?.(batch, { ...logs });
  }
  async onBatchEnd(batch: number, logs: Logs): Promise<void> {
    for (const c of this.list) await c.onBatchEnd?.(batch, { ...logs });
  }
}

type Mode = 'auto' | 'min' | 'max';

/** min for losses and errors, max for accuracies (Keras's 'auto'). */
function better(mode: Mode, monitor: string): (a: number, b: number, delta: number) => boolean {
  const max = mode === 'max' || (mode === 'auto' && /acc|auc|precision|recall|f1/.test(monitor));
  return max ? (a, b, d) => a - d > b : (a, b, d) => a + d < b;
}

function monitored(logs: Logs | undefined, monitor: string, who: string): number | undefined {
  const v = logs?.[monitor];
  if (v === undefined) {
    console.warn(`${who}: "${monitor}" is not in the logs (${Object.keys(logs ?? {}).join(', ')}); skipping`);
  }
  return v;
}

export interface EarlyStoppingArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: Mode;
  baseline?: number;
  restoreBestWeights?: boolean;
}

/** Stops when `monitor` has not improved by minDelta for `patience` epochs. */
export class EarlyStopping extends BaseCallback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly mode: Mode;
  readonly restoreBestWeights: boolean;
  readonly baseline: number | undefined;
  private best = NaN;
  private wait = 0;
  private bestWeights: Float32Array[] | undefined;
  stoppedEpoch = 0;
  bestEpoch = 0;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    this.minDelta = Math.abs(args.minDelta ?? 0);
    this.patience = args.patience ?? 0;
    this.mode = args.mode ?? 'auto';
    this.restoreBestWeights = args.restoreBestWeights ?? false;
    if (!Number.isSafeInteger(this.patience) || this.patience < 0) {
      throw new RangeError(`EarlyStopping: patience ${this.patience} must be an integer ≥ 0`);
    }
    this.baseline = args.baseline;
    if (args.baseline !== undefined) this.best = args.baseline;
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.bestWeights = undefined;
    this.best = this.baseline ?? NaN;
    this.bestEpoch = 0;
  }

  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const v = monitored(logs, this.monitor, 'EarlyStopping');
    if (v === undefined) return;
    if (Number.isNaN(this.best) || better(this.mode, this.monitor)(v, this.best, this.minDelta)) {
      this.best = v;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = (await this.target.getWeights()).map((w) => w.data);
      return;
    }
    this.wait++;
    // Keras: stop once `patience` epochs in a row brought no improvement.
    if (this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      this.target.stopTraining = true;
      if (this.restoreBestWeights && this.bestWeights) await this.target.setWeights(this.bestWeights);
    }
  }
}

/** Saves the model after each epoch, or only when `monitor` improves (saveBestOnly). */
export class ModelCheckpoint extends BaseCallback {
  readonly filepath: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  readonly mode: Mode;
  private best = NaN;
  /** Epochs at which the model was saved. */
  readonly saved: number[] = [];

  constructor(args: { filepath: string; monitor?: string; saveBestOnly?: boolean; mode?: Mode }) {
    super();
    this.filepath = args.filepath;
    this.monitor = args.monitor ?? 'val_loss';
    this.saveBestOnly = args.saveBestOnly ?? false;
    this.mode = args.mode ?? 'auto';
  }

  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.saveBestOnly) {
      const v = monitored(logs, this.monitor, 'ModelCheckpoint');
      if (v === undefined) return;
      if (!Number.isNaN(this.best) && !better(this.mode, this.monitor)(v, this.best, 0)) return;
      this.best = v;
    }
    // Keras's placeholders: {epoch}, {epoch:02d}, {val_loss:.2f}, ...
    const path = this.filepath.replace(
      /\{(\w+)(?::(0?)(\d*)(?:\.(\d+))?([df]))?\}/g,
      (m, key: string, zero: string, width: string, digits: string | undefined, kind: string | undefined) => {
        const value = key === 'epoch' ? epoch + 1 : logs?.[key];
        if (value === undefined) return m;
        const text =
          kind === 'f' || digits !== undefined
            ? value.toFixed(Number(digits ?? 6))
            : String(Math.round(value));
        return text.padStart(Number(width || 0), zero ? '0' : ' ');
      },
    );
    await this.target.save(hasScheme(path) ? path : `file://${path}`);
    this.saved.push(epoch);
  }
}

/** 'file://x', 'indexeddb://x', 'http://x'...: a save destination that names its scheme. */
function hasScheme(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}

/** lr = schedule(epoch, lr) at the start of each epoch. */
export class LearningRateScheduler extends BaseCallback {
  constructor(
    private readonly schedule: (epoch: number, lr: number) => number,
    private readonly verbose = 0,
  ) {
    super();
  }
  onEpochBegin(epoch: number): void {
    const lr = this.schedule(epoch, this.target.learningRate);
    if (!Number.isFinite(lr) || lr < 0)
      throw new RangeError(`LearningRateScheduler: schedule(${epoch}) gave ${lr}`);
    this.target.learningRate = lr;
    if (this.verbose > 0)
      console.log(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }
}

/** The course's time-based decay: lr0 / (1 + decay · epoch). */
export function timeBasedDecay(lr0: number, decay: number): (epoch: number) => number {
  return (epoch) => lr0 / (1 + decay * epoch);
}

/** The course's step drop: lr0 · drop^floor((1 + epoch) / epochsDrop). */
export function stepDecay(lr0: number, drop: number, epochsDrop: number): (epoch: number) => number {
  return (epoch) => lr0 * drop ** Math.floor((1 + epoch) / epochsDrop);
}

/** Multiplies the learning rate by `factor` when `monitor` stalls for `patience` epochs. */
export class ReduceLROnPlateau extends BaseCallback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  readonly mode: Mode;
  private best = NaN;
  private wait = 0;
  private cooldownLeft = 0;

  constructor(
    args: {
      monitor?: string;
      factor?: number;
      patience?: number;
      minDelta?: number;
      cooldown?: number;
      minLr?: number;
      mode?: Mode;
    } = {},
  ) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    this.factor = args.factor ?? 0.1;
    if (!(this.factor > 0 && this.factor < 1))
      throw new RangeError(`ReduceLROnPlateau: factor ${this.factor} must be in (0, 1)`);
    this.patience = args.patience ?? 10;
    this.minDelta = args.minDelta ?? 1e-4;
    this.cooldown = args.cooldown ?? 0;
    this.minLr = args.minLr ?? 0;
    this.mode = args.mode ?? 'auto';
  }

  onTrainBegin(): void {
    this.best = NaN;
    this.wait = 0;
    this.cooldownLeft = 0;
  }

  onEpochEnd(_epoch: number, logs?: Logs): void {
    const v = monitored(logs, this.monitor, 'ReduceLROnPlateau');
    if (v === undefined) return;
    if (this.cooldownLeft > 0) this.cooldownLeft--;
    if (Number.isNaN(this.best) || better(this.mode, this.monitor)(v, this.best, this.minDelta)) {
      this.best = v;
      this.wait = 0;
      return;
    }
    if (this.cooldownLeft > 0) return;
    this.wait++;
    if (this.wait >= this.patience) {
      const lr = this.target.learningRate;
      if (lr > this.minLr) this.target.learningRate = Math.max(lr * this.factor, this.minLr);
      this.cooldownLeft = this.cooldown;
      this.wait = 0;
    }
  }
}

/**
 * Ends training when the loss becomes NaN/Inf, or an update writes a NaN/Inf weight or
 * optimizer state value (an overflow with a finite loss). Without it fit() throws
 * NonFiniteLossError; either way the weights and optimizer state are those before the
 * failing step.
 */
export class TerminateOnNaN extends BaseCallback {}

/** Appends one CSV row per epoch (Node only): epoch, then the logs in sorted order. */
export class CSVLogger extends BaseCallback {
  private keys: string[] | undefined;
  constructor(
    readonly filename: string,
    readonly options: { separator?: string; append?: boolean } = {},
  ) {
    super();
  }
  async onTrainBegin(): Promise<void> {
    const fs = hostFs('CSVLogger writes files and needs Node; in a browser use a custom onEpochEnd callback');
    this.keys = undefined;
    if (!this.options.append) await fs.writeFile(this.filename, '');
  }
  async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    const fs = hostFs('CSVLogger writes files and needs Node; in a browser use a custom onEpochEnd callback');
    const sep = this.options.separator ?? ',';
    let text = '';
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      text += ['epoch', ...this.keys].join(sep) + '\n';
    }
    text += [String(epoch), ...this.keys.map((k) => String(logs[k] ?? ''))].join(sep) + '\n';
    await fs.appendFile(this.filename, text);
  }
}

/** tfjs-layers' name for a callback built from hooks. */
export class CustomCallback extends BaseCallback {
  constructor(hooks: Callback) {
    super();
    Object.assign(this, hooks);
  }
}

export const callbacks = {
  earlyStopping: (args?: EarlyStoppingArgs) => new EarlyStopping(args),
  modelCheckpoint: (args: ConstructorParameters<typeof ModelCheckpoint>[0]) => new ModelCheckpoint(args),
  learningRateScheduler: (schedule: (epoch: number, lr: number) => number, verbose?: number) =>
    new LearningRateScheduler(schedule, verbose),
  reduceLROnPlateau: (args?: ConstructorParameters<typeof ReduceLROnPlateau>[0]) =>
    new ReduceLROnPlateau(args),
  terminateOnNaN: () => new TerminateOnNaN(),
  csvLogger: (filename: string, options?: { separator?: string; append?: boolean }) =>
    new CSVLogger(filename, options),
  timeBasedDecay,
  stepDecay,
};
