/**
 * Keras callbacks: History, EarlyStopping, ModelCheckpoint, LearningRateScheduler (with the
 * course's time-based and step-drop schedules), ReduceLROnPlateau, TerminateOnNaN, CSVLogger,
 * and custom callbacks (any object with onEpochBegin/onEpochEnd/onBatchEnd/...). Asking for
 * batch logs (onBatchEnd) makes fit() read the running loss every few steps; without it the
 * executor reads once per epoch.
 *
 * The built-in callbacks follow Keras 3 (keras/src/callbacks/): options in Keras's snake_case
 * or tfjs's camelCase, the same decisions (which epoch stops, which weights are restored,
 * when a checkpoint is written) and, with verbose 1, the same console lines. Keras 2's 'acc'
 * names the 'accuracy' metric and back, in monitors and in History.
 */
import { suggest } from '../nn/names.js';
import { readOptions, snakeCase, type Spelled } from '../util/options.js';
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
  /** Weights only (ModelCheckpoint's saveWeightsOnly); a model without it refuses that option. */
  saveWeights?(url: string): Promise<unknown>;
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

/**
 * The other spelling of an accuracy log key, Keras 2's 'acc' for Keras 3's 'accuracy' and back
 * ('val_acc' ↔ 'val_accuracy', 'out_acc' ↔ 'out_accuracy' for an output named out); undefined
 * for any other key (binary_accuracy has no short form).
 */
export function metricAlias(key: string): string | undefined {
  const kinds =
    /(^|_)(binary|categorical|sparse_categorical|top_k_categorical|sparse_top_k_categorical)_acc(uracy)?$/;
  if (kinds.test(key)) return undefined;
  if (/(^|_)acc$/.test(key)) return `${key.slice(0, -3)}accuracy`;
  if (/(^|_)accuracy$/.test(key)) return `${key.slice(0, -8)}acc`;
  return undefined;
}

/** logs[key], or the value under its other accuracy spelling (metricAlias). */
export function logValue(logs: Logs | undefined, key: string): number | undefined {
  if (!logs) return undefined;
  const v = logs[key];
  if (v !== undefined) return v;
  const alias = metricAlias(key);
  return alias === undefined ? undefined : logs[alias];
}

/**
 * fit()'s return value: `history.history.loss[epoch]`, `history.epoch`, `history.params`.
 * Accuracy keys are readable in both spellings (history.history.val_acc when the metric was
 * 'accuracy', val_accuracy when it was 'acc'); the other spelling is a non-enumerable getter,
 * so printing or iterating shows the keys Keras would.
 */
export class History extends BaseCallback {
  readonly history: Record<string, number[]> = {};
  readonly epoch: number[] = [];
  onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    const h = this.history;
    for (const [k, v] of Object.entries(logs)) {
      // A key logged for real replaces an alias getter of the same name.
      if (Object.getOwnPropertyDescriptor(h, k)?.get) Reflect.deleteProperty(h, k);
      (h[k] ??= []).push(v);
      const alias = metricAlias(k);
      if (alias !== undefined && !Object.prototype.hasOwnProperty.call(h, alias)) {
        Object.defineProperty(h, alias, { get: () => h[k], enumerable: false, configurable: true });
      }
    }
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

// ------------------------------------------------------------------ monitors and messages

type Mode = 'auto' | 'min' | 'max';
const MODES: readonly Mode[] = ['auto', 'min', 'max'];

/** Keras's console output (io_utils.print_msg): one line on stdout. */
function print(line: string): void {
  console.log(line);
}

/**
 * Python's repr of a float, as Keras's messages print one ("setting learning rate to 1e-05"):
 * the shortest round-trip digits, '.0' on whole numbers, an exponent of two digits or more
 * below 1e-4 and from 1e16.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa = '', exp = '0'] = x.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = String(x); // positional for these exponents
  return s.includes('.') ? s : `${s}.0`;
}

/**
 * Python's f'{x:.{digits}f}' ('inf', 'nan' for those). toFixed rounds an exact tie away from
 * zero (0.625 → '0.63'); Python rounds it to even ('0.62'), so ties are found on the exact
 * decimal expansion (toFixed(100) is exact for a double's short expansions) and rounded so.
 */
function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return pyFloat(x);
  if (Math.abs(x) >= 1e21) return x.toFixed(digits);
  const full = Math.abs(x).toFixed(100);
  const dot = full.indexOf('.');
  if (!/^50*$/.test(full.slice(dot + 1 + digits))) return x.toFixed(digits);
  const kept = full.slice(0, digits === 0 ? dot : dot + 1 + digits);
  // An even last digit stays; an odd one rounds up in magnitude, as toFixed does.
  return Number(kept.at(-1)) % 2 === 0 ? `${x < 0 ? '-' : ''}${kept}` : x.toFixed(digits);
}

/** Python's f'{x:.{digits}e}': '3.46e-01'. */
function pyExponent(x: number, digits: number): string {
  if (!Number.isFinite(x)) return pyFloat(x);
  const [m = '', e = '0'] = x.toExponential(digits).split('e');
  const n = Number(e);
  return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
}

/**
 * Keras 3's direction for mode 'auto' (MonitorCallback): a loss is minimised, a metric goes
 * the way Keras's metric of that name does (accuracies, AUC, precision, recall, F1 up; errors
 * and cross-entropies down); undefined when the name says neither.
 */
function autoDirection(monitor: string): 'min' | 'max' | undefined {
  const name = monitor.startsWith('val_') ? monitor.slice(4) : monitor;
  if (name === 'loss' || name.endsWith('_loss')) return 'min';
  if (
    /(^|_)(acc|accuracy|auc|precision|recall|f1|f1_score|fbeta_score|r2_score|cosine_similarity|iou)$/.test(
      name,
    )
  )
    return 'max';
  if (/(^|_)(mae|mse|rmse|mape|msle|error|hinge|crossentropy|divergence|kld|poisson|logcosh)$/.test(name))
    return 'min';
  return undefined;
}

/** An option's name for messages, in both spellings where they differ. */
function optionName(name: string): string {
  const snake = snakeCase(name);
  return snake === name ? name : `${name} (${snake})`;
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : String(v);
}

function checkInt(who: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`${who}: ${optionName(name)} must be an integer ≥ ${min}, got ${describeValue(v)}`);
  }
  return v;
}

function checkNumber(who: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`${who}: ${optionName(name)} must be a finite number, got ${describeValue(v)}`);
  }
  return v;
}

function checkBool(who: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') {
    throw new TypeError(`${who}: ${optionName(name)} must be true or false, got ${describeValue(v)}`);
  }
  return v;
}

/** Keras's verbose: 0 (silent) or 1 (a line per action); 2 and booleans are taken too. */
function checkVerbose(who: string, v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  return checkInt(who, 'verbose', v, 0);
}

function checkMode(who: string, v: unknown): Mode {
  if (!MODES.includes(v as Mode)) {
    throw new RangeError(`${who}: mode must be 'auto', 'min' or 'max', got ${describeValue(v)}`);
  }
  return v as Mode;
}

function checkMonitor(who: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') {
    throw new TypeError(`${who}: monitor must be a log key such as 'val_loss', got ${describeValue(v)}`);
  }
  return v;
}

/**
 * The quantity a callback watches: its direction and Keras's improvement test, and its value
 * in an epoch's logs ('val_acc' also finds 'val_accuracy').
 *
 * A monitor that is not logged is an error, where Keras warns and goes on: Keras's EarlyStopping
 * then never stops (the course's `EarlyStopping(monitor='val_acc')` with `epochs=10000` trains
 * all 10000 epochs) and ModelCheckpoint saves every epoch, each time after a warning that is
 * easy to miss. Epochs that cannot have the value are not errors: an epoch without validation
 * (for a 'val_' monitor) and the partial logs of an epoch that a stop ended (TerminateOnNaN).
 */
class Monitor {
  readonly max: boolean;
  constructor(
    private readonly who: string,
    readonly key: string,
    mode: Mode,
    private readonly minDelta: number,
  ) {
    const direction = mode === 'auto' ? autoDirection(key) : mode;
    if (direction === undefined) {
      throw new Error(
        `${who}: cannot tell whether monitor '${key}' should be minimised or maximised; ` +
          `pass mode: 'min' or mode: 'max'`,
      );
    }
    this.max = direction === 'max';
  }

  /** Keras's _is_improvement: beyond `reference` by more than minDelta; no reference yet: true. */
  improves(value: number, reference: number | undefined): boolean {
    if (reference === undefined) return true;
    return this.max ? value - this.minDelta > reference : value + this.minDelta < reference;
  }

  /** A 'val_' monitor in a fit without validation data can never be read: say so before training. */
  checkParams(params: TrainParams | undefined): void {
    if (params && !params.doValidation && this.key.startsWith('val_')) {
      throw new Error(
        `${this.who}: monitor '${this.key}' is a validation metric, but this fit has no validation ` +
          `data; pass validationData or validationSplit to fit, or monitor '${this.key.slice(4)}'`,
      );
    }
  }

  /** The value in `logs`; undefined for an epoch that cannot have it (see the class comment). */
  read(logs: Logs | undefined, model: TrainingModel | undefined): number | undefined {
    const value = logValue(logs, this.key);
    if (value !== undefined) return value;
    const keys = Object.keys(logs ?? {});
    if (model?.stopTraining) return undefined;
    if (this.key.startsWith('val_') && !keys.some((k) => k.startsWith('val_'))) return undefined;
    const guess = suggest(this.key, keys);
    throw new Error(
      `${this.who}: monitor '${this.key}' is not in the logs (${keys.join(', ')})` +
        (guess === undefined ? '' : `; did you mean '${guess}'?`) +
        ' Compile the model with the metric to monitor it.',
    );
  }
}

// ------------------------------------------------------------------ EarlyStopping

export interface EarlyStoppingArgs {
  /** The log key to watch (default 'val_loss'); 'val_acc' finds 'val_accuracy' and back. */
  monitor?: string;
  /** A change of at most this much is no improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** 1: print "Epoch N: early stopping" and the restore line, as Keras (default 0). */
  verbose?: number | boolean;
  /** 'auto' (default): losses and errors down, accuracies up, as Keras 3. */
  mode?: Mode;
  /** Training stops unless the monitor beats this value within `patience` epochs. */
  baseline?: number;
  /** At the end of training, set the weights of the best epoch (even when all epochs ran). */
  restoreBestWeights?: boolean;
  /** Epochs to train before watching (a warm-up; default 0). */
  startFromEpoch?: number;
}

const EARLY_STOPPING_KEYS: Record<keyof EarlyStoppingArgs, true> = {
  monitor: true,
  minDelta: true,
  patience: true,
  verbose: true,
  mode: true,
  baseline: true,
  restoreBestWeights: true,
  startFromEpoch: true,
};

/**
 * Stops training when `monitor` has not improved for `patience` epochs, as Keras 3's
 * EarlyStopping: each epoch from startFromEpoch on adds one to a wait count, which an
 * improvement on the best value (and on `baseline`, if given) resets; any other epoch (after
 * the first) stops training once the count reaches `patience`. With restoreBestWeights the
 * weights of the best epoch are set when training ends, however it ended.
 */
export class EarlyStopping extends BaseCallback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly verbose: number;
  readonly mode: Mode;
  readonly baseline: number | undefined;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  private readonly watch: Monitor;
  /** The best value seen in this fit (undefined before the first). */
  best: number | undefined;
  private wait = 0;
  private bestWeights: Float32Array[] | undefined;
  /** The epoch (0-based) at which it stopped training; 0 if it did not. */
  stoppedEpoch = 0;
  /** The epoch (0-based) of the best value. */
  bestEpoch = 0;

  constructor(args?: Spelled<EarlyStoppingArgs>) {
    super();
    const who = 'EarlyStopping';
    const o = readOptions<EarlyStoppingArgs>(who, args, EARLY_STOPPING_KEYS);
    this.monitor = checkMonitor(who, o.monitor ?? 'val_loss');
    this.minDelta = Math.abs(checkNumber(who, 'minDelta', o.minDelta ?? 0));
    this.patience = checkInt(who, 'patience', o.patience ?? 0, 0);
    this.verbose = checkVerbose(who, o.verbose ?? 0);
    this.mode = checkMode(who, o.mode ?? 'auto');
    this.baseline = o.baseline === undefined ? undefined : checkNumber(who, 'baseline', o.baseline);
    this.restoreBestWeights = checkBool(who, 'restoreBestWeights', o.restoreBestWeights ?? false);
    this.startFromEpoch = checkInt(who, 'startFromEpoch', o.startFromEpoch ?? 0, 0);
    this.watch = new Monitor(who, this.monitor, this.mode, this.minDelta);
  }

  onTrainBegin(): void {
    // Reusable across fits, as Keras.
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = undefined;
    this.bestWeights = undefined;
    this.bestEpoch = 0;
    this.watch.checkParams(this.params);
  }

  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const current = this.watch.read(logs, this.model);
    if (current === undefined || epoch < this.startFromEpoch) return;
    this.wait++;
    if (this.watch.improves(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = (await this.target.getWeights()).map((w) => w.data);
      // The wait restarts only on beating both the best so far and the baseline; as in
      // Keras 3's code, an improving epoch never stops training, even below the baseline
      // (the wait keeps counting, so the first epoch that does not improve may stop it).
      if (this.baseline === undefined || this.watch.improves(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.target.stopTraining = true;
    }
  }

  async onTrainEnd(): Promise<void> {
    if (this.stoppedEpoch > 0 && this.verbose > 0) print(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights) {
      if (this.verbose > 0)
        print(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      await this.target.setWeights(this.bestWeights);
    }
  }
}

// ------------------------------------------------------------------ ModelCheckpoint

export interface ModelCheckpointOptions {
  /** The log key compared with saveBestOnly (default 'val_loss'). */
  monitor?: string;
  /** 1: a line per epoch, as Keras ("Epoch 3: val_loss improved from ..."). */
  verbose?: number | boolean;
  /** Save only when `monitor` improves on the best so far. */
  saveBestOnly?: boolean;
  /** Save the weights only (model.saveWeights); the default saves the whole model. */
  saveWeightsOnly?: boolean;
  mode?: Mode;
  /** 'epoch' (the only choice here: fit reports batches only every few steps). */
  saveFreq?: 'epoch';
  /** The value to beat before the first save (saveBestOnly). */
  initialValueThreshold?: number;
}

export interface ModelCheckpointArgs extends ModelCheckpointOptions {
  /** Where to save; may hold Keras's placeholders: 'ck-{epoch:02d}-{val_loss:.2f}'. */
  filepath: string;
}

const CHECKPOINT_OPTION_KEYS: Record<keyof ModelCheckpointOptions, true> = {
  monitor: true,
  verbose: true,
  saveBestOnly: true,
  saveWeightsOnly: true,
  mode: true,
  saveFreq: true,
  initialValueThreshold: true,
};
const CHECKPOINT_KEYS: Record<keyof ModelCheckpointArgs, true> = {
  filepath: true,
  ...CHECKPOINT_OPTION_KEYS,
};

/**
 * Saves the model at the end of each epoch, or only when `monitor` improves (saveBestOnly),
 * as Keras 3's ModelCheckpoint: `new ModelCheckpoint('best_model.h5', { monitor: 'val_loss',
 * save_best_only: true, verbose: 1 })` or the options form with `filepath`. A plain path is
 * saved with file:// (Node); 'indexeddb://...' and other schemes go to model.save as given.
 */
export class ModelCheckpoint extends BaseCallback {
  readonly filepath: string;
  readonly monitor: string;
  readonly verbose: number;
  readonly saveBestOnly: boolean;
  readonly saveWeightsOnly: boolean;
  readonly mode: Mode;
  private readonly watch: Monitor | undefined;
  /** The best value so far (initialValueThreshold at first; kept across fits, as Keras). */
  best: number | undefined;
  /** Epochs (0-based) at which the model was saved. */
  readonly saved: number[] = [];

  constructor(filepath: string, options?: Spelled<ModelCheckpointOptions>);
  constructor(args: Spelled<ModelCheckpointArgs>);
  constructor(first: string | Spelled<ModelCheckpointArgs>, options?: Spelled<ModelCheckpointOptions>) {
    super();
    const who = 'ModelCheckpoint';
    let o: ModelCheckpointOptions;
    let filepath: unknown;
    if (typeof first === 'string') {
      o = readOptions<ModelCheckpointOptions>(who, options, CHECKPOINT_OPTION_KEYS);
      filepath = first;
    } else {
      if (options !== undefined) {
        throw new TypeError(
          `${who}: give the options once: ModelCheckpoint(filepath, options) or ModelCheckpoint({ filepath, ... })`,
        );
      }
      const all = readOptions<ModelCheckpointArgs>(who, first, CHECKPOINT_KEYS);
      filepath = all.filepath;
      o = all;
    }
    if (typeof filepath !== 'string' || filepath === '') {
      throw new TypeError(
        `${who}: filepath must be a non-empty string such as 'best_model.h5', got ${describeValue(filepath)}`,
      );
    }
    this.filepath = filepath;
    this.monitor = checkMonitor(who, o.monitor ?? 'val_loss');
    this.verbose = checkVerbose(who, o.verbose ?? 0);
    this.saveBestOnly = checkBool(who, 'saveBestOnly', o.saveBestOnly ?? false);
    this.saveWeightsOnly = checkBool(who, 'saveWeightsOnly', o.saveWeightsOnly ?? false);
    // Keras 3: weights-only checkpoints are .weights.h5 files, whole models .keras or .h5 (or here, TF.js URLs).
    if (this.saveWeightsOnly && !/\.weights\.h5$/i.test(filepath)) {
      throw new TypeError(
        `${who}: with saveWeightsOnly the filepath must end in .weights.h5 (as Keras 3 requires), got "${filepath}"`,
      );
    }
    if (!this.saveWeightsOnly && /\.weights\.h5$/i.test(filepath)) {
      throw new TypeError(
        `${who}: "${filepath}" is a weights file name; pass saveWeightsOnly: true, or end it in .keras or .h5`,
      );
    }
    this.mode = checkMode(who, o.mode ?? 'auto');
    const saveFreq: unknown = o.saveFreq; // Keras also takes a batch count
    if (saveFreq !== undefined && saveFreq !== 'epoch') {
      throw new RangeError(
        `${who}: saveFreq ${describeValue(saveFreq)} is not supported; checkpoints are saved at epoch ends ('epoch')`,
      );
    }
    this.best =
      o.initialValueThreshold === undefined
        ? undefined
        : checkNumber(who, 'initialValueThreshold', o.initialValueThreshold);
    this.watch = this.saveBestOnly ? new Monitor(who, this.monitor, this.mode, 0) : undefined;
  }

  onTrainBegin(): void {
    this.watch?.checkParams(this.params);
    if (this.saveWeightsOnly && typeof this.target.saveWeights !== 'function') {
      throw new Error(
        'ModelCheckpoint: saveWeightsOnly needs model.saveWeights(), which this model does not have; ' +
          'leave saveWeightsOnly out to save the whole model',
      );
    }
  }

  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const path = this.path(epoch, logs);
    if (path === undefined) return;
    if (this.watch) {
      const current = this.watch.read(logs, this.model);
      if (current === undefined) return;
      const best = this.best === undefined ? 'None' : pyFixed(this.best, 5);
      if (!this.watch.improves(current, this.best)) {
        if (this.verbose > 0) print(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${best}`);
        return;
      }
      if (this.verbose > 0) {
        print(
          `Epoch ${epoch + 1}: ${this.monitor} improved from ${best} to ${pyFixed(current, 5)}, ` +
            `saving model to ${path}`,
        );
      }
      this.best = current;
    } else if (this.verbose > 0) {
      print(`Epoch ${epoch + 1}: saving model to ${path}`);
    }
    const url = hasScheme(path) ? path : `file://${path}`;
    const model = this.target;
    if (this.saveWeightsOnly && model.saveWeights) await model.saveWeights(url);
    else await model.save(url);
    this.saved.push(epoch);
    if (this.verbose > 0) print(`Epoch ${epoch + 1}: finished saving model to ${path}`);
  }

  /**
   * The filepath with Keras's placeholders filled ({epoch} is 1-based, as Keras): Python's
   * format specs 0-padding, width, precision and d / f / e. A placeholder not in the logs is
   * an error (Keras: KeyError), except in the partial logs of an epoch a stop ended.
   */
  private path(epoch: number, logs: Logs | undefined): string | undefined {
    let missing: string | undefined;
    const path = this.filepath.replace(
      /\{(\w+)(?::([^{}]*))?\}/g,
      (m, key: string, spec: string | undefined) => {
        const value = key === 'epoch' ? epoch + 1 : logValue(logs, key);
        if (value === undefined) {
          missing ??= key;
          return m;
        }
        return formatSpec(value, spec ?? '', key === 'epoch', this.filepath);
      },
    );
    if (missing === undefined) return path;
    if (this.model?.stopTraining) return undefined;
    throw new Error(
      `ModelCheckpoint: filepath "${this.filepath}" names {${missing}}, which is not in the logs ` +
        `(${Object.keys(logs ?? {}).join(', ')}); placeholders are {epoch} and the log keys`,
    );
  }
}

/** `value` as Python's format(value, spec) for the specs filepaths use ('02d', '.2f', '.3e'). */
function formatSpec(value: number, spec: string, integer: boolean, filepath: string): string {
  const m = /^(0?)(\d*)(?:\.(\d+))?([dfe]?)$/.exec(spec);
  if (!m) {
    throw new RangeError(
      `ModelCheckpoint: format ':${spec}' in "${filepath}" is not supported; use forms such as {epoch:02d}, {val_loss:.2f}, {loss:.3e}`,
    );
  }
  const [, zero = '', width = '', digits, type = ''] = m;
  const precision = digits === undefined ? 6 : Number(digits);
  let text: string;
  if (type === 'd') text = String(Math.round(value));
  else if (type === 'f') text = pyFixed(value, precision);
  else if (type === 'e') text = pyExponent(value, precision);
  else if (digits !== undefined) text = pyFixed(value, precision);
  else text = integer ? String(value) : pyFloat(value);
  const w = Number(width || 0);
  // Python's 0-padding goes after the sign: format(-3, '04d') is '-003'.
  if (zero && text.startsWith('-')) return `-${text.slice(1).padStart(w - 1, '0')}`;
  return text.padStart(w, zero ? '0' : ' ');
}

/** 'file://x', 'indexeddb://x', 'http://x'...: a save destination that names its scheme. */
function hasScheme(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}

// ------------------------------------------------------------------ learning rate

export interface LearningRateSchedulerOptions {
  /** 1: print "Epoch N: LearningRateScheduler setting learning rate to 0.05." as Keras. */
  verbose?: number | boolean;
}

const SCHEDULER_KEYS: Record<keyof LearningRateSchedulerOptions, true> = { verbose: true };

/**
 * lr = schedule(epoch, lr) at the start of each epoch (epoch 0-based, lr the current rate), as
 * Keras: `new LearningRateScheduler(stepDecay(0.1, 0.5, 10), { verbose: 1 })` (or verbose as
 * the second argument, as Keras's positional form).
 */
export class LearningRateScheduler extends BaseCallback {
  readonly verbose: number;
  constructor(
    private readonly schedule: (epoch: number, lr: number) => number,
    options?: number | boolean | Spelled<LearningRateSchedulerOptions>,
  ) {
    super();
    const who = 'LearningRateScheduler';
    if (typeof schedule !== 'function') {
      throw new TypeError(
        `${who}: schedule must be a function (epoch, lr) => lr, got ${describeValue(schedule)}`,
      );
    }
    const o =
      typeof options === 'number' || typeof options === 'boolean'
        ? { verbose: options }
        : readOptions<LearningRateSchedulerOptions>(who, options, SCHEDULER_KEYS);
    this.verbose = checkVerbose(who, o.verbose ?? 0);
  }
  onEpochBegin(epoch: number): void {
    const lr = this.schedule(epoch, this.target.learningRate);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0)
      throw new RangeError(`LearningRateScheduler: schedule(${epoch}) gave ${describeValue(lr)}`);
    this.target.learningRate = lr;
    if (this.verbose > 0)
      print(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${pyFloat(lr)}.`);
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

export interface ReduceLROnPlateauArgs {
  monitor?: string;
  /** new lr = lr · factor, in (0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement before a reduction (default 10). */
  patience?: number;
  /** 1: print "Epoch N: ReduceLROnPlateau reducing learning rate to ..." as Keras. */
  verbose?: number | boolean;
  mode?: Mode;
  /** A change of at most this much is no improvement (default 1e-4). */
  minDelta?: number;
  /** Epochs after a reduction during which no wait is counted (default 0). */
  cooldown?: number;
  /** The learning rate's floor (default 0). */
  minLr?: number;
}

const PLATEAU_KEYS: Record<keyof ReduceLROnPlateauArgs, true> = {
  monitor: true,
  factor: true,
  patience: true,
  verbose: true,
  mode: true,
  minDelta: true,
  cooldown: true,
  minLr: true,
};

/** Multiplies the learning rate by `factor` when `monitor` stalls for `patience` epochs (Keras 3). */
export class ReduceLROnPlateau extends BaseCallback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly verbose: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  readonly mode: Mode;
  private readonly watch: Monitor;
  private best: number | undefined;
  private wait = 0;
  private cooldownLeft = 0;

  constructor(args?: Spelled<ReduceLROnPlateauArgs>) {
    super();
    const who = 'ReduceLROnPlateau';
    const o = readOptions<ReduceLROnPlateauArgs>(who, args, PLATEAU_KEYS);
    this.monitor = checkMonitor(who, o.monitor ?? 'val_loss');
    this.factor = checkNumber(who, 'factor', o.factor ?? 0.1);
    if (!(this.factor > 0 && this.factor < 1))
      throw new RangeError(`${who}: factor ${this.factor} must be in (0, 1)`);
    this.patience = checkInt(who, 'patience', o.patience ?? 10, 0);
    this.verbose = checkVerbose(who, o.verbose ?? 0);
    this.mode = checkMode(who, o.mode ?? 'auto');
    this.minDelta = Math.abs(checkNumber(who, 'minDelta', o.minDelta ?? 1e-4));
    this.cooldown = checkInt(who, 'cooldown', o.cooldown ?? 0, 0);
    this.minLr = checkNumber(who, 'minLr', o.minLr ?? 0);
    if (this.minLr < 0) throw new RangeError(`${who}: ${optionName('minLr')} must be ≥ 0, got ${this.minLr}`);
    this.watch = new Monitor(who, this.monitor, this.mode, this.minDelta);
  }

  onTrainBegin(): void {
    this.best = undefined;
    this.wait = 0;
    this.cooldownLeft = 0;
    this.watch.checkParams(this.params);
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    const current = this.watch.read(logs, this.model);
    if (current === undefined) return;
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.wait = 0;
    }
    if (this.watch.improves(current, this.best)) {
      this.best = current;
      this.wait = 0;
      return;
    }
    if (this.cooldownLeft > 0) return;
    this.wait++;
    if (this.wait < this.patience) return;
    const lr = this.target.learningRate;
    // Keras compares with the float32 floor (its rates are float32 variables).
    if (!(lr > Math.fround(this.minLr))) return;
    const next = Math.max(lr * this.factor, this.minLr);
    this.target.learningRate = next;
    if (this.verbose > 0)
      print(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${pyFloat(next)}.`);
    this.cooldownLeft = this.cooldown;
    this.wait = 0;
  }
}

/**
 * Ends training when the loss becomes NaN/Inf, or an update writes a NaN/Inf weight or
 * optimizer state value (an overflow with a finite loss). Without it fit() throws
 * NonFiniteLossError; either way the weights and optimizer state are those before the
 * failing step.
 */
export class TerminateOnNaN extends BaseCallback {}

export interface CSVLoggerOptions {
  /** Between values (default ','). */
  separator?: string;
  /** Add to an existing file (its header kept) instead of replacing it. */
  append?: boolean;
}

const CSV_KEYS: Record<keyof CSVLoggerOptions, true> = { separator: true, append: true };
const CSV_NEEDS_NODE = 'CSVLogger writes files and needs Node; in a browser use a custom onEpochEnd callback';

/**
 * One CSV row per epoch (Node only), as Keras: `epoch` (0-based), then the first epoch's log
 * keys in sorted order; values as Python writes them, NA for a key an epoch lacks.
 */
export class CSVLogger extends BaseCallback {
  readonly separator: string;
  readonly append: boolean;
  private keys: string[] | undefined;
  private header = true;
  constructor(
    readonly filename: string,
    options?: Spelled<CSVLoggerOptions>,
  ) {
    super();
    const who = 'CSVLogger';
    if (typeof filename !== 'string' || filename === '') {
      throw new TypeError(
        `${who}: filename must be a non-empty string such as 'training.log', got ${describeValue(filename)}`,
      );
    }
    const o = readOptions<CSVLoggerOptions>(who, options, CSV_KEYS);
    if (o.separator !== undefined && (typeof o.separator !== 'string' || o.separator === '')) {
      throw new TypeError(`${who}: separator must be a non-empty string, got ${describeValue(o.separator)}`);
    }
    this.separator = o.separator ?? ',';
    this.append = checkBool(who, 'append', o.append ?? false);
  }
  async onTrainBegin(): Promise<void> {
    const fs = hostFs(CSV_NEEDS_NODE);
    this.keys = undefined;
    this.header = true;
    if (!this.append) {
      await fs.writeFile(this.filename, '');
      return;
    }
    // Keras writes the header only into an empty (or new) file.
    try {
      this.header = (await fs.readFile(this.filename)).length === 0;
    } catch {
      this.header = true;
    }
  }
  async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    const fs = hostFs(CSV_NEEDS_NODE);
    const sep = this.separator;
    let text = '';
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      if (this.header) text += ['epoch', ...this.keys].join(sep) + '\n';
    }
    const value = (k: string): string => {
      const v = logs[k];
      return v === undefined ? 'NA' : pyFloat(v);
    };
    text += [String(epoch), ...this.keys.map(value)].join(sep) + '\n';
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

interface ModelCheckpointFactory {
  (filepath: string, options?: Spelled<ModelCheckpointOptions>): ModelCheckpoint;
  (args: Spelled<ModelCheckpointArgs>): ModelCheckpoint;
}

const modelCheckpoint: ModelCheckpointFactory = (
  first: string | Spelled<ModelCheckpointArgs>,
  options?: Spelled<ModelCheckpointOptions>,
) => new (ModelCheckpoint as new (f: typeof first, o?: typeof options) => ModelCheckpoint)(first, options);

/** tfjs's factory spellings: callbacks.earlyStopping({ ... }), callbacks.modelCheckpoint('best.h5', { ... }). */
export const callbacks = {
  earlyStopping: (args?: Spelled<EarlyStoppingArgs>) => new EarlyStopping(args),
  modelCheckpoint,
  learningRateScheduler: (
    schedule: (epoch: number, lr: number) => number,
    options?: number | boolean | Spelled<LearningRateSchedulerOptions>,
  ) => new LearningRateScheduler(schedule, options),
  reduceLROnPlateau: (args?: Spelled<ReduceLROnPlateauArgs>) => new ReduceLROnPlateau(args),
  terminateOnNaN: () => new TerminateOnNaN(),
  csvLogger: (filename: string, options?: Spelled<CSVLoggerOptions>) => new CSVLogger(filename, options),
  timeBasedDecay,
  stepDecay,
};
