/**
 * <mlp-trainer>: the Train panel, and a web component another app can drop in. A form for
 * the MLP (hidden layers, activation, initializer, batch-norm, dropout) and its training
 * (optimizer, learning rate, batch size, epochs, rows), Start / Stop, live loss and accuracy
 * curves (running values every few batches, train and validation per epoch), samples/s, the
 * final validation and test accuracy, and the model summary. Attributes and properties are
 * listed on the class; README's "Embedding the trainer" section documents them.
 *
 * Over 700 lines on purpose: this is one Lit element whose properties, lifecycle, run loop
 * and templates refer to each other throughout; what stands alone already lives beside it
 * (trainer-form.ts, trainer-data.ts, trainer-run.ts, trainer-styles.ts, chart.ts).
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import {
  EarlyStopping,
  LabelError,
  NonFiniteLossError,
  permutation,
  type Engine,
  type GpuData,
  type History,
  type LayersModel,
  type Logs,
} from '../../src/index.js';
import './chart.js';
import './model-diagram.js';
import type { ChartSeries } from './chart.js';
import {
  ACTIVATIONS,
  defaultLearningRate,
  INITIALIZERS,
  OPTIMIZERS,
  summaryText,
  type ModelConfig,
} from './models.js';
import { fmt, panelStyles, pct, sci } from './styles.js';
import { trainerStyles } from './trainer-styles.js';
import { download, historyCsv } from './export.js';
import { lrRangeTest, type LrPoint, type LrSuggestion } from './lr-finder.js';
import { EpochHistograms, kernels, type KernelEpochs } from './weights-view.js';
import { InsideWatch, PROBE_ROWS } from './inside-view.js';
import { TrainerDatasets, type TrainerData } from './trainer-data.js';
import { earlierSeries, rememberRun, RunMonitor, type EarlierRun, type Progress } from './trainer-run.js';
import {
  baseForm,
  CONFIG_KEY,
  FORM_FIELDS,
  defaultsFor,
  fieldErrors,
  LR_SCHEDULES,
  OVERFIT_PRESET,
  parseForm,
  parseSchedule,
  type FormAttributes,
  type LrSchedule,
  type FormField,
  type FormValues,
} from './trainer-form.js';
import {
  architecture,
  buildMlp,
  EARLY_STOPPING_PATIENCE,
  scheduleHint,
  trainCallbacks,
} from './trainer-model.js';
import { pageWebGPU, type WebGPUStatus } from './webgpu.js';

export type { TrainerData, TrainerSplit } from './trainer-data.js';

/** One training job at a time across panels (the demo's DemoState is one). */
export interface TrainerLock {
  exclusive<T>(who: string, job: () => Promise<T>): Promise<T>;
  /** Who holds the lock now, if the lock says (DemoState does, and fires 'busy' on changes). */
  readonly busy?: string | undefined;
  addEventListener?(type: 'busy', listener: () => void): void;
  removeEventListener?(type: 'busy', listener: () => void): void;
}

export interface MlpEpochDetail {
  epoch: number;
  logs: Logs;
}

export interface MlpErrorDetail {
  error: unknown;
}

export interface MlpTrainedDetail {
  model: LayersModel;
  description: string;
  history: History;
}

type Phase = 'starting' | 'idle' | 'loading' | 'training' | 'evaluating' | 'done' | 'stopped' | 'error';

interface Results {
  valAccuracy?: number;
  valLoss?: number;
  testAccuracy?: number;
  testLoss?: number;
}

const WHO = 'The Train panel';
/** Batches of the learning-rate range test. */
const LR_TEST_STEPS = 100;

export class MlpTrainer extends LitElement {
  static override properties = {
    hiddenLayers: { type: String, attribute: 'hidden-layers' },
    activation: { type: String },
    initializer: { type: String },
    batchNorm: { type: Boolean, attribute: 'batch-norm' },
    earlyStopping: { type: Boolean, attribute: 'early-stopping' },
    lrSchedule: { type: String, attribute: 'lr-schedule' },
    lrDecay: { type: Number, attribute: 'lr-decay' },
    lrDrop: { type: Number, attribute: 'lr-drop' },
    lrEpochsDrop: { type: Number, attribute: 'lr-epochs-drop' },
    dropout: { type: Number },
    optimizer: { type: String },
    learningRate: { type: Number, attribute: 'learning-rate' },
    batchSize: { type: Number, attribute: 'batch-size' },
    epochs: { type: Number },
    trainRows: { type: Number, attribute: 'train-rows' },
    mnistUrl: { type: String, attribute: 'mnist-url' },
    hideForm: { type: Boolean, attribute: 'hide-form', reflect: true },
    autostart: { type: Boolean },
    config: { attribute: false },
    engine: { attribute: false },
    lock: { attribute: false },
    data: { attribute: false },
    edits: { state: true },
    phase: { state: true },
    failure: { state: true },
    ownEngine: { state: true },
    progress: { state: true },
    results: { state: true },
    lossSeries: { state: true },
    accuracySeries: { state: true },
    earlier: { state: true },
    lrTest: { state: true },
    weightEpochs: { state: true },
    insideEpochs: { state: true },
    summary: { state: true },
    summaryError: { state: true },
    diagramBuild: { state: true },
    runError: { state: true },
    otherBusy: { state: true },
    now: { state: true },
  };

  static override styles = [panelStyles, trainerStyles];

  // Attributes (see the README's table).
  declare hiddenLayers: string | undefined;
  declare activation: string | undefined;
  declare initializer: string | undefined;
  declare batchNorm: boolean;
  declare earlyStopping: boolean;
  declare lrSchedule: string | undefined;
  declare lrDecay: number | undefined;
  declare lrDrop: number | undefined;
  declare lrEpochsDrop: number | undefined;
  declare dropout: number | undefined;
  declare optimizer: string | undefined;
  declare learningRate: number | undefined;
  declare batchSize: number | undefined;
  declare epochs: number | undefined;
  declare trainRows: number | undefined;
  declare mnistUrl: string | undefined;
  declare hideForm: boolean;
  declare autostart: boolean;
  /** Model configuration merged over the attributes. */
  declare config: Partial<ModelConfig>;
  /** The engine to train on; without one the element starts WebGPU itself. */
  declare engine: Engine | undefined;
  /** Shared with other panels so that one trains at a time. */
  declare lock: TrainerLock | undefined;
  /** An app's own data instead of MNIST. */
  declare data: TrainerData | undefined;

  declare private edits: Partial<FormValues>;
  declare private phase: Phase;
  /** Why WebGPU could not start (only when the element started it). */
  declare private failure: Extract<WebGPUStatus, { ok: false }> | undefined;
  declare private ownEngine: Engine | undefined;
  declare private progress: Progress | undefined;
  declare private results: Results;
  declare private lossSeries: ChartSeries[];
  declare private accuracySeries: ChartSeries[];
  /** Earlier runs of this page, newest first, drawn faded under the current one. */
  declare private earlier: EarlierRun[];
  /** Each Dense kernel's weight histogram per epoch of the current run (0: before training). */
  declare private weightEpochs: KernelEpochs[];
  /** Each hidden layer's activations and each kernel's log₁₀|gradient| per epoch (inside-view.ts). */
  declare private insideEpochs: { activations: KernelEpochs[]; gradients: KernelEpochs[]; error?: string };
  /** The chart series of each KernelEpochs shown (epochSeries). */
  private readonly seriesOf = new WeakMap<KernelEpochs, ChartSeries[]>();
  /** The learning-rate range test's points so far, and its suggestion once it ends. */
  declare private lrTest: { points: LrPoint[]; suggestion?: LrSuggestion; status: string } | undefined;
  declare private summary: string;
  declare private summaryError: string | undefined;
  /** Builds the model the summary shows, for the diagram (model-diagram.ts draws it when opened). */
  declare private diagramBuild: (() => LayersModel) | undefined;
  declare private runError: string | undefined;
  declare private otherBusy: string | undefined;
  declare private now: number;

  private trainedModel: LayersModel | undefined;
  private trainedHistory: History | undefined;
  /** The last finished run, kept as an earlier one when the next starts. */
  private lastRun: EarlierRun | undefined;
  private runsKept = 0;
  /** What `running` is doing. */
  private runningWhat: 'train' | 'lr' = 'train';
  /** The model fit() is training now (never handed out yet). */
  private training: LayersModel | undefined;
  private running: Promise<void> | undefined;
  private stopRequested = false;
  private lrTyped = false;
  private autostarted = false;
  private startedAt = 0;
  private summaryKey = '';
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  private watchedLock: TrainerLock | undefined;
  private readonly datasets = new TrainerDatasets();

  constructor() {
    super();
    this.hiddenLayers = undefined;
    this.activation = undefined;
    this.initializer = undefined;
    this.batchNorm = false;
    this.earlyStopping = false;
    this.lrSchedule = undefined;
    this.lrDecay = undefined;
    this.lrDrop = undefined;
    this.lrEpochsDrop = undefined;
    this.dropout = undefined;
    this.optimizer = undefined;
    this.learningRate = undefined;
    this.batchSize = undefined;
    this.epochs = undefined;
    this.trainRows = undefined;
    this.mnistUrl = undefined;
    this.hideForm = false;
    this.autostart = false;
    this.config = {};
    this.engine = undefined;
    this.lock = undefined;
    this.data = undefined;
    this.edits = {};
    this.phase = 'starting';
    this.failure = undefined;
    this.ownEngine = undefined;
    this.progress = undefined;
    this.results = {};
    this.lossSeries = [];
    this.accuracySeries = [];
    this.earlier = [];
    this.lrTest = undefined;
    this.weightEpochs = [];
    this.insideEpochs = { activations: [], gradients: [] };
    this.summary = '';
    this.summaryError = undefined;
    this.runError = undefined;
    this.otherBusy = undefined;
    this.now = 0;
  }

  /** The model of the last run that finished at least one epoch (handed out with mlp-trained). */
  get model(): LayersModel | undefined {
    return this.trainedModel;
  }

  /** That run's History (history.history.loss, val_accuracy, ...). */
  get history(): History | undefined {
    return this.trainedHistory;
  }

  /** Trains with the form's configuration; resolves when the run ends (errors are shown in #error). */
  start(): Promise<void> {
    return this.launch('train');
  }

  /**
   * The learning-rate range test on a fresh model of the form's configuration (lr-finder.ts):
   * 100 batches at rates rising from 1e-6 to 1, the loss of each drawn against its rate, and a
   * suggested rate (Use it puts it in the form). Stop ends it.
   */
  findLearningRate(): Promise<void> {
    return this.launch('lr');
  }

  private launch(what: 'train' | 'lr'): Promise<void> {
    // One job at a time: asking for the other kind while one runs is an error, not a wait.
    if (this.running && this.runningWhat !== what) {
      const busy = this.runningWhat === 'lr' ? 'the learning-rate range test' : 'training';
      return Promise.reject(new Error(`${WHO} is running ${busy}; wait for it or stop it first`));
    }
    if (!this.running) this.runningWhat = what;
    this.running ??= this.run(what).finally(() => {
      this.running = undefined;
      this.requestUpdate();
    });
    this.requestUpdate();
    return this.running;
  }

  /** Stops training between GPU submissions (the epoch's validation and the test evaluation still run). */
  stop(): void {
    if (!this.running) return;
    this.stopRequested = true;
    if (this.training) this.training.stopTraining = true;
    this.requestUpdate();
  }

  // ------------------------------------------------------------------ lifecycle

  override connectedCallback(): void {
    super.connectedCallback();
    this.watchLock(this.lock);
    // Properties bound in the same template as the element are set by now or in a moment:
    // start WebGPU only if none came.
    void Promise.resolve().then(() => this.resolveEngine());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.watchLock(undefined);
    clearTimeout(this.summaryTimer);
    this.summaryKey = '';
    if (!this.running) this.datasets.dispose();
  }

  /** A method, not a field read, so that TypeScript does not narrow it across the awaits. */
  private stopping(): boolean {
    return this.stopRequested;
  }

  private get activeEngine(): Engine | undefined {
    return this.engine ?? this.ownEngine;
  }

  private get fallback(): boolean {
    return this.activeEngine?.adapter.isFallback ?? false;
  }

  /** The given engine, else the page's current one, else one this element starts. */
  private async resolveEngine(): Promise<Engine | undefined> {
    if (this.activeEngine) return this.activeEngine;
    const status = await pageWebGPU();
    if (this.engine) return this.engine;
    if (status.ok) {
      this.ownEngine = status.engine;
      return status.engine;
    }
    this.failure = status;
    return undefined;
  }

  private readonly onLockBusy = (): void => {
    const busy = this.watchedLock?.busy;
    this.otherBusy = busy !== undefined && busy !== WHO ? busy : undefined;
  };

  private watchLock(lock: TrainerLock | undefined): void {
    if (this.watchedLock === lock) return;
    this.watchedLock?.removeEventListener?.('busy', this.onLockBusy);
    this.watchedLock = lock;
    lock?.addEventListener?.('busy', this.onLockBusy);
    this.onLockBusy();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('lock') && this.isConnected) this.watchLock(this.lock);
    // An attribute or .config set now overrides what the user typed in that field.
    let edits = this.edits;
    const drop = (field: FormField) => {
      if (field in edits) edits = Object.fromEntries(Object.entries(edits).filter(([k]) => k !== field));
      if (field === 'learningRate') this.lrTyped = false;
    };
    for (const f of FORM_FIELDS) if (changed.has(f)) drop(f);
    if (changed.has('config')) {
      for (const f of FORM_FIELDS) {
        const key = CONFIG_KEY[f];
        if (key && key in this.config) drop(f);
      }
    }
    if (edits !== this.edits) this.edits = edits;
    if (this.phase === 'starting' && this.activeEngine) this.phase = 'idle';
    this.scheduleSummary();
  }

  override updated(): void {
    if (this.autostart && !this.autostarted && this.activeEngine && this.isConnected) {
      this.autostarted = true;
      void this.start();
    }
  }

  // ------------------------------------------------------------------ form

  private get form(): FormValues {
    const attrs: FormAttributes = {
      hiddenLayers: this.hiddenLayers,
      activation: this.activation,
      initializer: this.initializer,
      batchNorm: this.batchNorm,
      dropout: this.numberAttribute(this.dropout, 'dropout'),
      optimizer: this.optimizer,
      learningRate: this.numberAttribute(this.learningRate, 'learning-rate'),
      batchSize: this.numberAttribute(this.batchSize, 'batch-size'),
      epochs: this.numberAttribute(this.epochs, 'epochs'),
      trainRows: this.numberAttribute(this.trainRows, 'train-rows'),
      earlyStopping: this.earlyStopping,
      lrSchedule: this.lrSchedule,
      lrDecay: this.numberAttribute(this.lrDecay, 'lr-decay'),
      lrDrop: this.numberAttribute(this.lrDrop, 'lr-drop'),
      lrEpochsDrop: this.numberAttribute(this.lrEpochsDrop, 'lr-epochs-drop'),
    };
    return { ...baseForm(attrs, this.config, this.fallback), ...this.edits };
  }

  /** A number attribute's text when it is not a number ("abc" rather than NaN in the message). */
  private numberAttribute(v: number | undefined, attribute: string): number | string | undefined {
    return v !== undefined && Number.isNaN(v) ? (this.getAttribute(attribute) ?? 'NaN') : v;
  }

  private parsed(): { config: ModelConfig; trainRows: number; schedule: LrSchedule } {
    const f = this.form;
    return { ...parseForm(f, this.config.seed, this.data !== undefined), schedule: parseSchedule(f) };
  }

  private edit(field: FormField, value: string | boolean): void {
    const edits: Partial<FormValues> = { ...this.edits, [field]: value };
    if (field === 'learningRate') this.lrTyped = true;
    // Switching the optimizer takes Keras's default learning rate for it, unless one was typed.
    if (field === 'optimizer' && !this.lrTyped)
      edits.learningRate = String(defaultLearningRate(String(value)));
    this.edits = edits;
    this.runError = undefined;
    if (this.phase === 'error') this.phase = 'idle';
  }

  /** Fills the form with OVERFIT_PRESET (the user presses Start). */
  private overfit(): void {
    this.edits = { ...this.edits, ...OVERFIT_PRESET };
    this.lrTyped = true;
    this.runError = undefined;
    if (this.phase === 'error') this.phase = 'idle';
  }

  /** Drops the earlier runs' faded curves (the current run's stay). */
  private forgetEarlierRuns(): void {
    this.earlier = [];
    this.lossSeries = this.lossSeries.filter((x) => !x.faded);
    this.accuracySeries = this.accuracySeries.filter((x) => !x.faded);
  }

  private downloadHistory(): void {
    const h = this.trainedHistory;
    if (h) download('history.csv', historyCsv(h.epoch, h.history), 'text/csv');
  }

  /** The error of the form's current values, if any. */
  private get configError(): string | undefined {
    try {
      this.parsed();
    } catch (e) {
      return message(e);
    }
    return this.summaryError;
  }

  /**
   * Rebuilds the summary shortly after the architecture changes: a model built only to print
   * it (host weights, no GPU memory), disposed at once.
   */
  private scheduleSummary(): void {
    if (this.training || !this.isConnected) return;
    let config: ModelConfig;
    try {
      config = this.parsed().config;
    } catch {
      return; // configError shows why
    }
    const { features, classes } = this.shape();
    const key = JSON.stringify([
      config.hidden,
      config.activation,
      config.initializer,
      config.batchNorm,
      config.dropout,
      features,
      classes,
    ]);
    if (key === this.summaryKey) return;
    this.summaryKey = key;
    clearTimeout(this.summaryTimer);
    this.summaryTimer = setTimeout(() => {
      try {
        const model = buildMlp(config, features, classes);
        this.summary = summaryText(model);
        this.summaryError = undefined;
        this.diagramBuild = () => buildMlp(config, features, classes);
        void model.dispose();
      } catch (e) {
        this.summary = '';
        this.summaryError = message(e);
      }
    }, 100);
  }

  private shape(): { features: number; classes: number } {
    return this.data
      ? { features: this.data.features, classes: this.data.classes }
      : { features: 784, classes: 10 };
  }

  // ------------------------------------------------------------------ training

  private async run(what: 'train' | 'lr'): Promise<void> {
    this.runError = undefined;
    const engine = await this.resolveEngine();
    if (!engine) return; // #no-webgpu says why
    let parsed: { config: ModelConfig; trainRows: number; schedule: LrSchedule };
    try {
      parsed = this.parsed();
    } catch (e) {
      this.runError = message(e);
      return;
    }
    const earlyStopping = this.form.earlyStopping; // taken at Start, as the other settings
    const job = () =>
      what === 'lr'
        ? this.rangeTest(engine, parsed.config, parsed.trainRows)
        : this.train(engine, parsed.config, parsed.trainRows, earlyStopping, parsed.schedule);
    try {
      await (this.lock ? this.lock.exclusive(WHO, job) : job());
    } catch (e) {
      this.fail(e);
    }
  }

  private async train(
    engine: Engine,
    config: ModelConfig,
    trainRows: number,
    earlyStopping: boolean,
    schedule: LrSchedule,
  ): Promise<void> {
    this.stopRequested = false;
    this.phase = 'loading';
    this.results = {};
    this.progress = undefined;
    if (this.lastRun) this.earlier = rememberRun(this.earlier, this.lastRun);
    this.lastRun = undefined;
    this.weightEpochs = [];
    this.insideEpochs = { activations: [], gradients: [] };
    this.lossSeries = earlierSeries(this.earlier, 'loss');
    this.accuracySeries = earlierSeries(this.earlier, 'accuracy');
    this.startedAt = performance.now();
    this.now = this.startedAt;
    const clock = setInterval(() => (this.now = performance.now()), 500);
    let model: LayersModel | undefined;
    let handedOut = false;
    let probe: GpuData | undefined;
    let watch: InsideWatch | undefined;
    try {
      const source = { data: this.data, mnistUrl: this.mnistUrl || undefined };
      const sets = await this.datasets.get(engine, source, trainRows, defaultsFor(this.fallback).testRows);
      if (this.stopping()) {
        this.phase = 'stopped';
        return;
      }
      const { features, classes } = sets;
      const m = buildMlp(config, features, classes);
      model = m;
      this.training = m;
      this.summary = summaryText(m);
      const monitor = new RunMonitor(
        sets.train.rows,
        config.batchSize,
        config.epochs,
        () => {
          if (this.stopRequested) m.stopTraining = true; // fit() clears it when it begins
          this.progress = monitor.progress;
          this.lossSeries = [...monitor.lossSeries(), ...earlierSeries(this.earlier, 'loss')];
          this.accuracySeries = [...monitor.accuracySeries(), ...earlierSeries(this.earlier, 'accuracy')];
        },
        (epoch, logs) =>
          this.dispatchEvent(
            new CustomEvent<MlpEpochDetail>('mlp-epoch', {
              detail: { epoch, logs },
              bubbles: true,
              composed: true,
            }),
          ),
      );
      monitor.watch(m);
      // The kernels before training and after each epoch (read back at the epoch's end, when
      // the GPU has finished it), binned for the weights chart.
      const weightCounts = new EpochHistograms();
      weightCounts.add(kernels(await m.getWeights()));
      this.weightEpochs = weightCounts.histograms();
      // Activations and gradients on the first validation rows, read at the same moments (the
      // library lets an epoch-end callback call predict and computeGradients).
      probe = sets.validation.subset(
        Array.from({ length: Math.min(PROBE_ROWS, sets.validation.rows) }, (_, i) => i),
        'inside-the-network probe',
      );
      const inside = new InsideWatch(m, probe);
      watch = inside;
      // A reading that fails (a non-finite loss on the probe, say) says so in its card and
      // ends the readings; the training goes on.
      const readInside = async (): Promise<void> => {
        if (this.insideEpochs.error !== undefined) return;
        try {
          await inside.record();
          this.insideEpochs = { activations: inside.activations(), gradients: inside.gradients() };
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          this.insideEpochs = {
            ...this.insideEpochs,
            error: `Reading activations and gradients failed: ${why}`,
          };
        }
      };
      await readInside();
      const weightWatch = {
        onEpochEnd: async () => {
          weightCounts.add(kernels(await m.getWeights()));
          this.weightEpochs = weightCounts.histograms();
          await readInside();
        },
      };
      this.progress = monitor.progress;
      this.phase = 'training';
      const callbacks = trainCallbacks(earlyStopping, schedule, config.learningRate);
      const history = await m.fit(sets.train, undefined, {
        epochs: config.epochs,
        batchSize: config.batchSize,
        validationData: [sets.validation],
        verbose: 1,
        callbacks: [monitor.callback, weightWatch, ...callbacks],
        ...(config.seed === undefined ? {} : { seed: config.seed }),
      });
      const epochsRun = history.epoch.length;
      if (epochsRun === 0) {
        this.phase = 'stopped';
        return;
      }
      const h = history.history;
      // Early stopping kept the best epoch's weights: show that epoch's validation values,
      // the ones the model (and the test evaluation below) has.
      const stop = callbacks.find((c) => c instanceof EarlyStopping);
      const kept = stop && stop.stoppedEpoch > 0 ? stop.bestEpoch : epochsRun - 1;
      const results: Results = { valAccuracy: h.val_accuracy?.[kept], valLoss: h.val_loss?.[kept] };
      this.results = results;
      if (sets.test) {
        this.phase = 'evaluating';
        const t = await m.evaluate(sets.test, undefined, { batchSize: config.batchSize });
        this.results = { ...results, testAccuracy: t.accuracy, testLoss: t.loss };
      }
      const stopped = this.stopping() && epochsRun < config.epochs;
      const description =
        `trained: ${architecture(config, features, classes)}, ${config.optimizer} ${config.learningRate}, ` +
        `batch ${config.batchSize}, ${epochsRun} epoch${epochsRun === 1 ? '' : 's'}${stopped ? ' (stopped)' : ''}` +
        `${kept < epochsRun - 1 ? ` (early stopping: weights of epoch ${kept + 1})` : ''} on ${sets.label}`;
      this.trainedModel = m;
      this.trainedHistory = history;
      this.lastRun = {
        number: ++this.runsKept,
        label: `${architecture(config, features, classes)}, ${config.optimizer} ${config.learningRate}, batch ${config.batchSize}`,
        ...monitor.validationCurves(),
      };
      handedOut = true;
      this.phase = stopped ? 'stopped' : 'done';
      this.dispatchEvent(
        new CustomEvent<MlpTrainedDetail>('mlp-trained', {
          detail: { model: m, description, history },
          bubbles: true,
          composed: true,
        }),
      );
    } finally {
      clearInterval(clock);
      this.now = performance.now();
      this.training = undefined;
      await watch?.dispose().catch((e: unknown) => console.warn('disposing the activations model failed', e));
      probe?.dispose();
      // A model never handed out is ours to free; a handed-out one belongs to the app now.
      if (model && !handedOut) await model.dispose();
      if (!this.isConnected) this.datasets.dispose();
    }
  }

  private async rangeTest(engine: Engine, config: ModelConfig, trainRows: number): Promise<void> {
    this.stopRequested = false;
    this.lrTest = { points: [], status: 'Loading the data…' };
    const views: GpuData[] = [];
    let model: LayersModel | undefined;
    try {
      const source = { data: this.data, mnistUrl: this.mnistUrl || undefined };
      const sets = await this.datasets.get(engine, source, trainRows, defaultsFor(this.fallback).testRows);
      const m = buildMlp(config, sets.features, sets.classes);
      model = m;
      // LR_TEST_STEPS batches of the form's size, in a seeded shuffle of the training rows
      // (round again if they run out): zero-copy views of the rows already on the GPU.
      const rows = sets.train.rows;
      const order = permutation(rows, config.seed ?? 1);
      const batch = (k: number): GpuData => {
        const view = sets.train.subset(
          Array.from(
            { length: config.batchSize },
            (_, i) => order[(k * config.batchSize + i) % rows] as number,
          ),
          `lr range test batch ${k}`,
        );
        views.push(view);
        return view;
      };
      this.lrTest = {
        points: [],
        status: `${LR_TEST_STEPS} batches of ${config.batchSize}, learning rate 1e-6 → 1…`,
      };
      const result = await lrRangeTest(
        m,
        batch,
        { steps: LR_TEST_STEPS, minLr: 1e-6, maxLr: 1 },
        (p) => {
          this.lrTest = { ...(this.lrTest ?? { status: '' }), points: [...(this.lrTest?.points ?? []), p] };
        },
        () => this.stopRequested,
      );
      const ended =
        result.stoppedBy === 'diverged'
          ? `stopped where the loss diverged (${fmt(result.points.at(-1)?.lr, 2)})`
          : result.stoppedBy === 'stopped'
            ? 'stopped'
            : 'done';
      this.lrTest = {
        points: result.points,
        suggestion: result.suggestion,
        status: `${result.points.length} batches, ${ended}.`,
      };
    } catch (e) {
      this.lrTest = { points: this.lrTest.points, status: `The range test failed: ${message(e)}` };
      throw e;
    } finally {
      for (const v of views) v.dispose();
      await model?.dispose();
    }
  }

  private fail(e: unknown): void {
    // A run that failed says so; a lock held by another panel leaves the last run's state.
    if (this.phase === 'loading' || this.phase === 'training' || this.phase === 'evaluating')
      this.phase = 'error';
    this.runError =
      e instanceof NonFiniteLossError
        ? `Training stopped: ${e.message} Try a lower learning rate, batch normalization or another initializer.`
        : e instanceof LabelError
          ? `The labels do not fit the model: ${e.message}`
          : message(e);
    this.dispatchEvent(
      new CustomEvent<MlpErrorDetail>('mlp-error', { detail: { error: e }, bubbles: true, composed: true }),
    );
  }

  // ------------------------------------------------------------------ rendering

  override render() {
    if (this.failure) {
      return html`<section class="no-webgpu" id="no-webgpu" role="alert" data-reason=${this.failure.reason}>
        <h2>${this.failure.title}</h2>
        <p>${this.failure.detail}</p>
      </section>`;
    }
    const custom = this.data !== undefined;
    // Checked once a render: the form shows each error, the run card enables Start by them.
    const errors = fieldErrors(this.form, custom);
    return html`
      ${
        this.hideForm
          ? nothing
          : html`<h2>Train an MLP on ${custom ? 'your data' : 'MNIST'}</h2>
              <p class="lead">
                Choose the layers and the optimizer, press Start, and watch the loss and accuracy: the light
                line is the running mean over the epoch so far, the points are each epoch's training and
                validation values. The last 10% of the training rows validate (Keras's
                <code>validation_split</code>)${
                  custom ? '' : html`; at the end the model is evaluated on the MNIST test set`
                }.
              </p>`
      }
      <div class="layout">
        ${this.hideForm ? nothing : this.renderForm(errors)}
        <div class="main">
          ${this.renderRun(errors)}
          <div class="charts" part="charts">
            <mlp-chart
              exportparts="plot: chart-plot, buttons: chart-buttons"
              id="loss-chart"
              class="card"
              heading="Loss"
              x-label="epoch"
              y-label="cross-entropy"
              .series=${this.lossSeries}
            ></mlp-chart>
            <mlp-chart
              exportparts="plot: chart-plot, buttons: chart-buttons"
              id="accuracy-chart"
              class="card"
              heading="Accuracy"
              x-label="epoch"
              y-label="accuracy"
              y-max="1"
              .series=${this.accuracySeries}
            ></mlp-chart>
          </div>
          ${
            this.earlier.length === 0
              ? nothing
              : html`<p class="note" id="earlier-runs">
                  Faded: the validation curves of earlier runs
                  (${this.earlier.map((r) => `run ${r.number}`).join(', ')}), to compare.
                  <button
                    type="button"
                    class="secondary"
                    id="forget-runs"
                    @click=${() => this.forgetEarlierRuns()}
                  >
                    Forget them
                  </button>
                </p>`
          }
          ${this.lrTest ? this.renderLrTest(this.lrTest) : nothing} ${this.renderEpochHistograms()}
          ${
            this.hideForm
              ? nothing
              : html`<div class="card">
                  <h3>Model</h3>
                  <pre id="summary">${this.summary}</pre>
                  <mlp-model-diagram .build=${this.diagramBuild}></mlp-model-diagram>
                </div>`
          }
        </div>
      </div>
    `;
  }

  /** Each kernel's weights, each hidden layer's activations and each kernel's gradient per epoch. */
  private renderEpochHistograms() {
    const { activations, gradients, error } = this.insideEpochs;
    return html`${
      error
        ? html`<div class="card" id="inside-error"><p class="error" role="alert">${error}</p></div>`
        : nothing
    }
    ${this.epochCard(
      'weight-epochs',
      'Weights per epoch',
      this.weightEpochs,
      'weight',
      `Each Dense kernel's weights, read back at the end of every epoch: how far training moves them from
      their initial distribution (dashed), the last epoch solid, the ones between faded.`,
    )}
    ${this.epochCard(
      'activation-epochs',
      'Activations per epoch',
      activations,
      'activation',
      `Each hidden layer's outputs on the first ${PROBE_ROWS} validation rows, before training and after each
      epoch: saturated units pile up at the ends of tanh and sigmoid, dead relu units at 0.`,
    )}
    ${this.epochCard(
      'gradient-epochs',
      'Gradients per epoch',
      gradients,
      'log₁₀ |∂loss/∂w|',
      `The gradient of each Dense kernel on the same rows, on a log scale (10⁻¹⁰ and below, zero included, in
      the first bin: MNIST's blank border pixels give their weights no gradient at all). A layer whose
      gradients sit decades to the left of the others' learns that much more slowly.`,
    )}`;
  }

  /** One card of per-epoch histograms: the latest solid, before training dashed, the rest faded. */
  private epochCard(id: string, heading: string, items: KernelEpochs[], xLabel: string, hint: string) {
    if (items.length === 0) return nothing;
    return html`<div class="card" id=${id}>
      <h3>${heading}</h3>
      <div class="charts">
        ${items.map((k) => {
          const series = this.epochSeries(k);
          return html`<mlp-chart
            data-kernel=${k.name}
            heading=${k.name}
            x-label=${xLabel}
            y-label="count"
            .series=${series}
          ></mlp-chart>`;
        })}
      </div>
      <p class="hint">${hint}</p>
    </div>`;
  }

  /**
   * One array's histograms as chart series, made once per KernelEpochs (a new one comes each
   * epoch): the trainer re-renders twice a second while it trains, and a chart given a new
   * series array redraws.
   */
  private epochSeries(k: KernelEpochs): ChartSeries[] {
    const known = this.seriesOf.get(k);
    if (known) return known;
    const last = k.counts.length - 1;
    const series: ChartSeries[] = k.counts.map((counts, e) => ({
      label: e === 0 ? 'before training' : `epoch ${e}`,
      points: counts.map((y, i) => ({ x: k.centres[i] ?? NaN, y })),
      color: e === 0 ? '#7f7f7f' : 'var(--mlp-color-train, #1f77b4)',
      dashed: e === 0,
      faded: e !== 0 && e !== last,
      thin: e !== last,
    }));
    this.seriesOf.set(k, series);
    return series;
  }

  /** The range test's curve (loss against a log-scale learning rate), its suggestion and Use it. */
  private renderLrTest(t: { points: LrPoint[]; suggestion?: LrSuggestion; status: string }) {
    const sg = t.suggestion;
    const at = sg?.suggested === undefined ? undefined : t.points.find((p) => p.lr === sg.suggested);
    const series: ChartSeries[] = [
      ...(at && sg?.suggested !== undefined
        ? [
            {
              label: `suggested ${sci(sg.suggested, 2)}`,
              points: [{ x: at.lr, y: at.smoothed }],
              color: '#d62728',
              marker: true,
            },
          ]
        : []),
      {
        label: 'loss (smoothed)',
        points: t.points.map((p) => ({ x: p.lr, y: p.smoothed })),
        color: '#1f77b4',
      },
      {
        label: 'loss per batch',
        points: t.points.map((p) => ({ x: p.lr, y: p.loss })),
        color: '#9ecae1',
        thin: true,
      },
    ];
    const use = sg?.suggested === undefined ? undefined : Number(sg.suggested.toPrecision(2));
    return html`<div class="card" id="lr-test">
      <mlp-chart
        id="lr-chart"
        heading="Learning-rate range test"
        x-label="learning rate (log scale)"
        y-label="loss"
        log-x
        .series=${series}
      ></mlp-chart>
      <p class="status" id="lr-status">${t.status}</p>
      ${
        use === undefined
          ? nothing
          : html`<p id="lr-suggestion" data-value=${String(use)}>
              Steepest fall of the loss at <b>${sci(sg?.steepest, 2)}</b>; lowest loss at
              ${sci(sg?.minimum, 2)}. Suggested learning rate: <b>${sci(use, 2)}</b>
              <button
                type="button"
                class="secondary"
                id="lr-use"
                aria-label=${`Use learning rate ${use}`}
                ?disabled=${this.running !== undefined}
                @click=${() => this.edit('learningRate', String(use))}
              >
                Use it
              </button>
            </p>`
      }
      <p class="hint">
        A fresh model of the form's configuration takes one step per batch while its learning rate rises from
        1e-6 to 1. Too small a rate barely moves the loss, too large a one makes it explode; a good rate lies
        where it falls fastest, about a decade below the lowest point.
      </p>
    </div>`;
  }

  private renderForm(errors: Partial<Record<FormField, string>>) {
    const f = this.form;
    const busy = this.running !== undefined;
    const custom = this.data !== undefined;
    // A field's error sits under it, and the field says so (aria-invalid, aria-describedby).
    const text = (field: FormField, id: string, label: string, mode: 'numeric' | 'decimal' | 'text') => {
      const error = errors[field];
      return html`<label for=${id}>${label}</label>
        <input
          id=${id}
          type="text"
          inputmode=${mode}
          autocomplete="off"
          spellcheck="false"
          aria-invalid=${error ? 'true' : 'false'}
          aria-describedby=${ifDefined(error ? `${id}-error` : undefined)}
          .value=${String(f[field])}
          ?disabled=${busy}
          @input=${(e: Event) => this.edit(field, (e.target as HTMLInputElement).value)}
        />
        ${error ? html`<p class="field-error" id=${`${id}-error`}>${error}</p>` : nothing}`;
    };
    const select = (
      field: FormField,
      id: string,
      label: string,
      options: readonly string[],
      hint?: string,
    ) => {
      const value = String(f[field]);
      const all = options.includes(value) ? options : [...options, value];
      const error = errors[field];
      const described = [error ? `${id}-error` : '', hint ?? ''].filter((x) => x !== '').join(' ');
      return html`<label for=${id}>${label}</label>
        <select
          id=${id}
          aria-invalid=${error ? 'true' : 'false'}
          aria-describedby=${ifDefined(described || undefined)}
          ?disabled=${busy}
          @change=${(e: Event) => this.edit(field, (e.target as HTMLSelectElement).value)}
        >
          ${all.map((o) => html`<option .value=${o} ?selected=${o === value}>${o}</option>`)}
        </select>
        ${error ? html`<p class="field-error" id=${`${id}-error`}>${error}</p>` : nothing}`;
    };
    const d = defaultsFor(true);
    const engine = this.activeEngine;
    return html`<form class="card config" id="config" part="form" @submit=${(e: Event) => e.preventDefault()}>
      ${text('hiddenLayers', 'hidden-layers', 'Hidden layers', 'text')}
      <p class="hint">Units per hidden Dense layer, e.g. 128, 64</p>
      ${select('activation', 'activation', 'Activation', ACTIVATIONS)}
      ${select('initializer', 'initializer', 'Initializer', INITIALIZERS)}
      <label for="batch-norm">Batch-norm</label>
      <input
        id="batch-norm"
        type="checkbox"
        .checked=${f.batchNorm}
        ?disabled=${busy}
        @change=${(e: Event) => this.edit('batchNorm', (e.target as HTMLInputElement).checked)}
      />
      ${text('dropout', 'dropout', 'Dropout rate', 'decimal')}
      ${select('optimizer', 'optimizer', 'Optimizer', OPTIMIZERS)}
      ${text('learningRate', 'learning-rate', 'Learning rate', 'decimal')}
      ${text('batchSize', 'batch-size', 'Batch size', 'numeric')}
      ${text('epochs', 'epochs', 'Epochs', 'numeric')}
      ${custom ? nothing : text('trainRows', 'train-rows', 'Training rows', 'numeric')}
      <label for="early-stopping">Early stopping</label>
      <input
        id="early-stopping"
        type="checkbox"
        aria-describedby="early-stopping-hint"
        .checked=${f.earlyStopping}
        ?disabled=${busy}
        @change=${(e: Event) => this.edit('earlyStopping', (e.target as HTMLInputElement).checked)}
      />
      <p class="hint" id="early-stopping-hint">
        Stops when val_loss has not improved for ${EARLY_STOPPING_PATIENCE} epochs and restores the best
        epoch's weights
      </p>
      ${select('lrSchedule', 'lr-schedule', 'LR schedule', LR_SCHEDULES, 'lr-schedule-hint')}
      <p class="hint" id="lr-schedule-hint">${scheduleHint(f.lrSchedule)}</p>
      ${f.lrSchedule === 'time' ? text('lrDecay', 'lr-decay', 'Decay', 'decimal') : nothing}
      ${
        f.lrSchedule === 'step'
          ? html`${text('lrDrop', 'lr-drop', 'Drop', 'decimal')}
            ${text('lrEpochsDrop', 'lr-epochs-drop', 'Epochs per drop', 'numeric')}`
          : nothing
      }
      ${
        engine?.adapter.isFallback
          ? html`<p class="note" id="fallback-note" style="grid-column: 1 / -1">
              Software adapter detected (${engine.adapter.name}): WebGPU runs on the CPU here, many times
              slower than on a GPU, so the defaults are small:
              ${custom ? '' : `${fmt(d.trainRows)} training rows, `}${d.epochs}
              epochs${custom ? '' : `, ${fmt(d.testRows)} test images`}. Raise them if you can wait.
            </p>`
          : nothing
      }
    </form>`;
  }

  private renderRun(errors: Partial<Record<FormField, string>>) {
    const training = this.running !== undefined;
    // Start waits for every field to be valid. Each error is shown beside its field, and here
    // only where the form is hidden (hide-form: a bad attribute must still say why).
    const valid = Object.keys(errors).length === 0;
    const error = this.runError ?? (valid || this.hideForm ? this.configError : undefined);
    const r = this.results;
    const canStart = valid && !training && !this.otherBusy && this.activeEngine !== undefined;
    return html`<div class="card" part="run">
      <div class="run">
        <div class="buttons">
          <button id="start" part="start" ?disabled=${!canStart} @click=${() => void this.start()}>
            Start
          </button>
          <button
            id="lr-find"
            class="secondary"
            title="A learning-rate range test: 100 batches at rates from 1e-6 to 1"
            ?disabled=${!canStart}
            @click=${() => void this.findLearningRate()}
          >
            Find a learning rate
          </button>
          <button
            id="stop"
            class="secondary"
            ?disabled=${!training || this.stopRequested}
            @click=${() => this.stop()}
          >
            Stop
          </button>
          ${
            this.hideForm
              ? nothing
              : html`<button
                    id="overfit"
                    class="secondary"
                    title="Few rows, many units, many epochs: watch the validation loss rise"
                    ?disabled=${training}
                    @click=${() => this.overfit()}
                  >
                    Overfit me
                  </button>
                  <button
                    id="history-csv"
                    class="secondary"
                    title="The last run's history (Keras CSVLogger's columns)"
                    ?disabled=${training || !this.trainedHistory}
                    @click=${() => this.downloadHistory()}
                  >
                    History CSV
                  </button>`
          }
        </div>
        ${this.renderStatus()}
      </div>
      <dl class="results">
        <div>
          <dt>validation accuracy</dt>
          <dd id="val-accuracy" data-value=${r.valAccuracy ?? nothing}>${pct(r.valAccuracy)}</dd>
        </div>
        <div>
          <dt>validation loss</dt>
          <dd id="val-loss" data-value=${r.valLoss ?? nothing}>${fmt(r.valLoss)}</dd>
        </div>
        ${
          this.data
            ? nothing
            : html`<div>
                  <dt>test accuracy</dt>
                  <dd id="test-accuracy" data-value=${r.testAccuracy ?? nothing}>${pct(r.testAccuracy)}</dd>
                </div>
                <div>
                  <dt>test loss</dt>
                  <dd id="test-loss" data-value=${r.testLoss ?? nothing}>${fmt(r.testLoss)}</dd>
                </div>`
        }
      </dl>
      ${
        this.otherBusy && !training
          ? html`<p class="note" id="busy">
              ${this.otherBusy} is training; Start is available again when it ends.
            </p>`
          : nothing
      }
      <p id="error" class="error" role="alert" ?hidden=${!error}>${error ?? ''}</p>
    </div>`;
  }

  private renderStatus() {
    const engine = this.activeEngine;
    const p = this.progress;
    const adapter = engine
      ? html`<span id="adapter"
          >${engine.adapter.name}${engine.adapter.isFallback ? ' (software)' : ''}</span
        >`
      : nothing;
    const elapsed = this.startedAt > 0 ? `${((this.now - this.startedAt) / 1000).toFixed(1)} s` : undefined;
    const rate = p?.epochRate ?? p?.running;
    const parts: unknown[] = [];
    switch (this.phase) {
      case 'starting':
        parts.push('Starting WebGPU…');
        break;
      case 'idle':
        parts.push('Ready');
        break;
      case 'loading':
        parts.push(this.data ? 'Uploading the data…' : 'Loading MNIST and uploading it to the GPU…');
        break;
      case 'evaluating':
        parts.push('Evaluating on the test set…');
        break;
      case 'error':
        parts.push('Failed (see below)');
        break;
      case 'training':
      case 'done':
      case 'stopped': {
        const head =
          this.phase === 'training' ? 'Epoch' : this.phase === 'done' ? 'Done: epoch' : 'Stopped: epoch';
        if (p) parts.push(html`${head} <b id="epoch">${p.epoch}/${p.epochs}</b>`);
        else parts.push(this.phase === 'stopped' ? 'Stopped' : 'Done');
        if (p?.running !== undefined && this.phase === 'training') {
          parts.push(html`${fmt(p.running, 3)} samples/s now`);
        }
        if (p?.epochRate !== undefined) parts.push(html`${fmt(p.epochRate, 3)} samples/s last epoch`);
        if (this.phase === 'training' && p?.running === undefined && p?.epoch === 1) {
          parts.push('compiling the GPU pipelines…');
        }
        break;
      }
    }
    if (elapsed && this.phase !== 'idle') parts.push(html`<span id="elapsed">${elapsed}</span>`);
    if (engine) parts.push(adapter);
    return html`<p
      class="status"
      id="status"
      data-state=${this.phase}
      data-epoch=${p?.epoch ?? nothing}
      data-samples-per-second=${rate ?? nothing}
    >
      ${parts.map((part, i) => html`${i > 0 ? ' · ' : ''}${part}`)}
    </p>`;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

if (!customElements.get('mlp-trainer')) customElements.define('mlp-trainer', MlpTrainer);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-trainer': MlpTrainer;
  }
  interface HTMLElementEventMap {
    'mlp-epoch': CustomEvent<MlpEpochDetail>;
    'mlp-trained': CustomEvent<MlpTrainedDetail>;
    'mlp-error': CustomEvent<MlpErrorDetail>;
  }
}
