/**
 * The Tuner base shared by grid, random and Hyperband search (Keras Tuner's Tuner + Oracle):
 * discovers the search space with one build, puts the data on the GPU once, then asks the
 * searcher for trials one at a time, builds and trains each (callbacks such as EarlyStopping
 * honoured), scores it by the best epoch of the objective and frees its GPU memory. The
 * compiled kernels are shared by all trials through the engine's pipeline cache (keyed by the
 * WGSL text), so only the first trial of each shape compiles shaders.
 *
 * Weights stay on the host only for the best `keepModels` trials (for getBestModels) and for
 * the trials a later Hyperband round continues. A trial that fails (a NaN loss, a build that
 * throws, a model that does not fit the data) is recorded with its reason and the search
 * goes on; mistakes in the search itself (the objective missing from the logs, a
 * hyperparameter defined twice differently, a lost device) end it.
 *
 * With directory / projectName, each finished trial is saved with the searcher's state
 * (store.ts), which is taken between trials: a search killed mid-trial resumes from the state
 * before that trial's plan was drawn, so the same plan is drawn and run again.
 */
import { currentEngine } from '../gpu/init.js';
import { DeviceLostError } from '../gpu/errors.js';
import type { GpuData } from '../graph/dataset.js';
import { callbackArray, type Callback, type Logs } from '../model/callbacks.js';
import { trainingData, type DataInput, type TrainingData } from '../model/fit-data.js';
import { FIT_KEYS, LayersModel, type FitArgs } from '../model/model.js';
import { readOptions, type Spelled } from '../util/options.js';
import { randomSeed, type Rng } from '../util/random.js';
import {
  gridOf,
  HyperParameterError,
  HyperParameters,
  sampleValue,
  SearchSpace,
  type HpDefinition,
  type HpValue,
  type HpValues,
} from './hyperparameters.js';
import {
  better,
  bestEpoch,
  objectiveLog,
  objectiveValue,
  ObjectiveError,
  resolveObjective,
  type Objective,
  type ObjectiveSpec,
} from './objective.js';
import {
  encodeWeights,
  FORMAT,
  idList,
  jsonEncode,
  openTunerStore,
  ORACLE_FILE,
  projectOf,
  readProject,
  resumableRng,
  spaceDifferences,
  trialFile,
  weightsFile,
  type OracleFile,
  type ResumableRng,
  type TunerStore,
} from './store.js';

/** The user's model builder: reads hyperparameters from `hp`, returns a compiled model. */
export type BuildFn = (hp: HyperParameters) => LayersModel;

/** Keras Tuner's HyperModel: an object whose build(hp) returns a compiled model. */
export interface HyperModel {
  build(hp: HyperParameters): LayersModel;
}

/** What a tuner searches over: a build(hp) function or a HyperModel. */
export type Hypermodel = BuildFn | HyperModel;

export type TrialStatus = 'completed' | 'failed';

export interface Trial {
  /** 0, 1, ... in the order the trials ran. */
  id: number;
  /**
   * Every hyperparameter value the build read (fixed and conditional ones included; names it
   * did not ask for are left out). A build that threw: the values it was given.
   */
  hyperparameters: HpValues;
  status: TrialStatus;
  /** The best epoch value of the objective; undefined for a failed trial. */
  score: number | undefined;
  /** fit()'s epoch number (from 0, counting from initialEpoch) of that value. */
  bestEpoch: number | undefined;
  /** Epochs trained in this trial (fewer than asked when EarlyStopping ended it). */
  epochs: number;
  /** The epoch fit started from (Hyperband continuations). */
  initialEpoch: number;
  /** fit()'s logs, one value per epoch trained in this trial. */
  history: Record<string, number[]>;
  seconds: number;
  /** Why a failed trial failed. */
  error?: string;
  /** Hyperband: the bracket and round, and the trial whose weights this one continued. */
  bracket?: number;
  round?: number;
  parent?: number;
}

/** What a searcher asks the tuner to run next. */
export interface TrialPlan {
  values: HpValues;
  /** fit()'s epochs (the total to reach); default the search's epochs. */
  epochs?: number;
  initialEpoch?: number;
  /** Weights to start from (getWeights() order). */
  weights?: readonly Float32Array[];
  bracket?: number;
  round?: number;
  parent?: number;
}

export interface TunerOptions {
  /** A log name (direction inferred: losses and errors min, accuracy/AUC/precision/recall/F1 max) or { name, direction }. */
  objective: ObjectiveSpec;
  /** Seeds the searcher's draws (random, Hyperband). */
  seed?: number;
  /** How many of the best trials keep their weights on the host for getBestModels (default 1). */
  keepModels?: number;
  /** 1 (default): a line per trial and the searcher's plan; 0: silent. */
  verbose?: 0 | 1;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
  /**
   * Keras Tuner's directory / project_name: with either given, the project
   * `<directory>/<projectName>` (defaults '.' and 'untitled_project', Keras Tuner's) holds the
   * trials, the searcher's state and the kept weights, saved after every trial and when the
   * search ends or is stopped: files in Node (oracle.json, trial_<id>.json, weights_<n>.bin),
   * IndexedDB in a browser. A tuner made later on the same project resumes it: reload() (or
   * search(), which reloads first) reads it back, finished trials are not run again and count
   * toward maxTrials, and a trial cut off by a crash or by stop() runs again. The saved
   * generator continues, so an interrupted search runs the same trials as an uninterrupted one. Reloading
   * a project of another searcher, objective or search space is an error.
   *
   * With neither given nothing is written (Keras Tuner writes to ./untitled_project by default).
   */
  directory?: string;
  projectName?: string;
  /** Keras Tuner's overwrite (default false): true deletes the project before the search instead of resuming it. */
  overwrite?: boolean;
}

/** The keys of TunerOptions (readOptions' list). */
const TUNER_KEYS: Readonly<Record<keyof TunerOptions, true>> = {
  objective: true,
  seed: true,
  keepModels: true,
  verbose: true,
  print: true,
  directory: true,
  projectName: true,
  overwrite: true,
};

/** Keras Tuner's constructor options that this library does not have, and why. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  executionsPerTrial: 'each trial trains one model (Keras Tuner averages several)',
  hyperparameters: 'the space is what build(hp) asks for; fix a value with hp.fixed in build',
  tuneNewEntries: 'the space is what build(hp) asks for',
  allowNewEntries: 'the space is what build(hp) asks for',
  maxRetriesPerTrial: 'a failed trial is recorded with its reason and the search goes on',
  maxConsecutiveFailedTrials: 'a failed trial is recorded with its reason and the search goes on',
  distributionStrategy: 'one GPU trains one trial at a time',
  maxModelSize: 'no model size limit is checked',
  optimizer: 'build(hp) compiles the model with its optimizer',
  loss: 'build(hp) compiles the model with its loss',
  metrics: 'build(hp) compiles the model with its metrics',
  logger: 'trials are reported on tuner.events',
  tunerId: 'one tuner runs in one process',
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A count argument given positionally or as Keras's keyword ({ num_trials: 1 }). */
function readCount(what: string, key: string, given: unknown, dflt: number): number {
  const v: unknown = isPlainObject(given)
    ? readOptions<Record<string, unknown>>(what, given, [key])[key]
    : given;
  const n = v ?? dflt;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${what}: ${key} must be an integer ≥ 0, got ${String(n)}`);
  return n;
}

/** Detail of the 'trial' events on tuner.events. */
export interface TrialEventDetail {
  trial: Trial;
  /** 0-based position of the trial in this search. */
  index: number;
  /** How many trials the searcher plans at most (undefined when it cannot tell). */
  total: number | undefined;
}

/** The search's progress as a project file records it (Tuner.projectPoint()). */
interface ProjectPoint {
  trials: number;
  space: HpDefinition[];
  rng: ReturnType<ResumableRng['state']>;
  seen: number;
  searcher: Record<string, unknown>;
}

/** Most draws tried when looking for a configuration not tried yet in a large space. */
const MAX_COLLISIONS = 1000;
/** Spaces up to this many configurations are listed to draw among the untried ones. */
const LIST_LIMIT = 10_000;

export abstract class Tuner {
  readonly objective: Objective;
  readonly space = new SearchSpace();
  readonly trials: Trial[] = [];
  /** 'trial' CustomEvents with a TrialEventDetail, as each trial ends. */
  readonly events = new EventTarget();
  protected readonly rng: Rng;
  /** The same generator as `rng`, with its state for the project file. */
  private readonly draws: ResumableRng;
  /** The searcher's name in messages and in the project file ('randomSearch', ...). */
  private readonly what: string;
  /** `<directory>/<projectName>` when the tuner saves its project. */
  private readonly project: { directory: string; projectName: string; overwrite: boolean } | undefined;
  private store: TunerStore | undefined;
  /** Set once reload() has read (or cleared) the project. */
  private opened: Promise<Trial[]> | undefined;
  /** True when the space came from a saved project (search() checks build(hp) against it). */
  private restoredSpace = false;
  /** Trials already in the project's trial files. */
  private savedTrials = 0;
  /** Saves of the project so far (names the weights file uniquely). */
  private saves = 0;
  /** The project's weights file and the trial ids in it. */
  private savedWeights: { file: string; ids: string } | undefined;
  protected readonly print: (line: string) => void;
  protected readonly verbose: 0 | 1;
  private readonly keepModels: number;
  private readonly kept = new Map<number, Float32Array[]>();
  /** The values each trial's build read: a configuration agreeing with one of them was run. */
  private readonly seen: HpValues[] = [];
  private running = false;
  private stopped = false;
  /** The model of the trial running now. */
  private current: LayersModel | undefined;
  /** The user's build(hp). */
  protected readonly build: BuildFn;
  /**
   * The options as read (camelCase keys): TunerOptions and the searcher's own (`keys`), in
   * either spelling, an unknown key refused with the closest valid one.
   */
  protected readonly config: Readonly<TunerOptions & Record<string, unknown>>;

  /**
   * `hypermodel`: build(hp) or a HyperModel; `options` in either spelling. Keras Tuner's
   * all-keyword form works too: one object holding `hypermodel` and the options.
   * Searchers pass their name (`what`, for messages) and their own option keys.
   */
  constructor(hypermodel: unknown, options?: unknown, what = 'tuner', keys: readonly string[] = []) {
    let given = options;
    let model = hypermodel;
    if (given === undefined && isPlainObject(hypermodel) && typeof hypermodel.build !== 'function') {
      given = hypermodel;
      model = hypermodel.hypermodel ?? hypermodel.hyperModel;
    }
    if (typeof given !== 'object' || given === null)
      throw new TypeError(
        `${what}: the second argument must be the options, e.g. { objective: "val_accuracy" }`,
      );
    const o = readOptions<TunerOptions & Record<string, unknown>>(
      what,
      given,
      [
        ...Object.keys(TUNER_KEYS),
        ...keys,
        ...Object.keys(UNSUPPORTED),
        ...(given === hypermodel ? ['hypermodel'] : []),
      ],
      { aliases: { hyper_model: 'hypermodel', hyperModel: 'hypermodel' } },
    );
    for (const k of Object.keys(UNSUPPORTED)) {
      if (o[k] !== undefined)
        throw new TypeError(`${what}: Keras Tuner's option '${k}' is not supported here: ${UNSUPPORTED[k]}`);
    }
    this.build = buildOf(model, what);
    this.config = o;
    this.objective = resolveObjective(o.objective);
    this.keepModels = o.keepModels ?? 1;
    if (!Number.isSafeInteger(this.keepModels) || this.keepModels < 0)
      throw new RangeError(`keepModels ${this.keepModels} must be an integer ≥ 0`);
    this.draws = resumableRng(o.seed ?? randomSeed());
    this.rng = this.draws;
    this.what = what;
    this.print = o.print ?? console.log;
    const verbose: unknown = o.verbose ?? 1;
    if (verbose !== 0 && verbose !== 1)
      throw new RangeError(`${what}: verbose must be 0 or 1, got ${String(verbose)}`);
    this.verbose = verbose;
    this.project = projectOf(what, o);
  }

  // ------------------------------------------------------------ the searcher's part

  /** Called once the space is known, before the first trial (log the plan here). */
  protected abstract begin(args: FitArgs): void;
  /** The next trial, or undefined when the search is over. */
  protected abstract nextTrial(): TrialPlan | undefined;
  /** How many trials the search plans at most. */
  abstract get totalTrials(): number | undefined;
  /** True while a later trial may continue from this trial's weights. */
  protected needsWeights?(trial: Trial): boolean;
  /**
   * A hyperparameter build() asked for the first time during a trial (a conditional one).
   * Random draws include it from the next trial on; grid search warns.
   */
  protected newHyperparameter?(d: HpDefinition): void;
  /** The searcher's progress for the project file (JSON values only). */
  protected searcherState?(): Record<string, unknown>;
  /**
   * Continues from searcherState()'s record (the trials and the kept weights are back
   * already); throws, naming `where`, when the record belongs to other settings.
   */
  protected restoreSearcher?(state: Record<string, unknown>, where: string): void;

  /**
   * Whether a trial already ran this configuration: one whose build read the same values
   * (the configurations differ at most in hyperparameters that build does not ask for, such
   * as a conditional one in a branch not taken).
   */
  protected wasRun(values: HpValues): boolean {
    return this.seen.some((read) => this.space.sameAs(read, values));
  }

  /**
   * A configuration not run yet (Keras Tuner's _random_values with its tried-so-far set),
   * or undefined when the space is exhausted. A small finite space draws uniformly among its
   * configurations not run; a large one draws until a new one comes up.
   */
  protected drawNew(): HpValues | undefined {
    if (this.space.size() <= LIST_LIMIT) {
      const untried = gridOf(this.space).filter((v) => !this.wasRun(v));
      return untried.length ? untried[this.rng.int(untried.length)] : undefined;
    }
    for (let i = 0; i < MAX_COLLISIONS; i++) {
      const values: HpValues = {};
      for (const d of this.space.definitions) values[d.name] = sampleValue(d, this.rng);
      if (!this.wasRun(values)) return values;
    }
    return undefined;
  }

  /** The kept weights of a trial (Hyperband continues from them). */
  protected weightsOf(trial: Trial): Float32Array[] | undefined {
    return this.kept.get(trial.id);
  }

  // ------------------------------------------------------------ search

  /**
   * Runs the search: x and y as model.fit takes them (host arrays, or a GpuData with y
   * undefined), and fit's arguments for every trial (epochs, batchSize, validationSplit or
   * validationData, callbacks, seed, shuffle, verbose: 0 by default here). Host data is
   * uploaded once; validationSplit makes two GPU datasets once (the last rows validate).
   * A tuner with a project reloads it first (see reload()) and continues it.
   */
  async search(
    x: DataInput | GpuData,
    y: DataInput | undefined,
    options: Spelled<FitArgs> = {},
  ): Promise<Trial[]> {
    const args = readOptions<FitArgs>('search', options, FIT_KEYS);
    if (this.running) throw new Error('search: this tuner is already searching; await it first');
    this.running = true;
    this.stopped = false;
    let data: TrainingData | undefined;
    try {
      await this.reload();
      const engine = currentEngine();
      // Discover the space: one build with every hyperparameter at its default. A space
      // reloaded from a project is checked against that build instead.
      const probeSpace = this.restoredSpace ? new SearchSpace() : this.space;
      const probe = this.checked(this.build(new HyperParameters(probeSpace)));
      try {
        if (this.restoredSpace) this.checkSpace(probeSpace);
        data = await trainingData(engine, probe.ioLayout(), x, y, args, 'search');
      } finally {
        await probe.dispose();
      }
      this.begin(args);
      const first = this.trials.length;
      // Stop is checked before asking for a plan: a plan taken is a configuration used up.
      /** The project as it stood before a trial that stop() cut short (see save()). */
      let cut: ProjectPoint | undefined;
      while (!this.stopRequested()) {
        const before = this.store ? this.projectPoint() : undefined;
        const plan = this.nextTrial();
        if (!plan) break;
        const trial = await this.runTrial(plan, data, args);
        this.trials.push(trial);
        this.prune();
        // A trial stop() ended early keeps its partial score here, but the project is saved
        // as before its draw, so a resumed search runs it whole as an uninterrupted one would.
        if (this.stopRequested() && before) cut = before;
        await this.save(cut);
        const detail: TrialEventDetail = {
          trial,
          index: this.trials.length - 1 - first,
          total: this.totalTrials,
        };
        if (this.verbose) this.print(this.trialLine(detail));
        this.events.dispatchEvent(new CustomEvent('trial', { detail }));
      }
      await this.save(cut); // the searcher's state at the end (exhausted, finished)
      return this.trials.slice(first);
    } finally {
      data?.dispose();
      this.running = false;
    }
  }

  /**
   * Ends a running search (a page's Stop button): the trial running now stops at its next GPU
   * submission and is recorded with the epochs it finished; no further trial starts.
   */
  stop(): void {
    this.stopped = true;
    if (this.current) this.current.stopTraining = true;
  }

  /** A method, not the field: the type checker would take the field as still false in the loop. */
  private stopRequested(): boolean {
    return this.stopped;
  }

  private checked(m: unknown): LayersModel {
    if (!(m instanceof LayersModel))
      throw new TypeError(`build(hp) must return a model (sequential() or model()), got ${String(m)}`);
    if (!m.isCompiled)
      throw new TypeError('build(hp) must compile the model it returns (model.compile({...}))');
    return m;
  }

  private async runTrial(plan: TrialPlan, data: TrainingData, args: FitArgs): Promise<Trial> {
    const t0 = performance.now();
    const trial: Trial = {
      id: this.trials.length,
      hyperparameters: { ...plan.values },
      status: 'failed',
      score: undefined,
      bestEpoch: undefined,
      epochs: 0,
      initialEpoch: plan.initialEpoch ?? args.initialEpoch ?? 0,
      history: {},
      seconds: 0,
      ...(plan.bracket !== undefined ? { bracket: plan.bracket } : {}),
      ...(plan.round !== undefined ? { round: plan.round } : {}),
      ...(plan.parent !== undefined ? { parent: plan.parent } : {}),
    };
    let model: LayersModel | undefined;
    const values: number[] = [];
    const epochs: number[] = [];
    let bestWeights: Float32Array[] | undefined;
    const hp = new HyperParameters(this.space, plan.values, (d) => this.newHyperparameter?.(d));
    // A continuation's values are its parent's, seen already.
    const see = (read: HpValues): void => {
      if (plan.parent === undefined) this.seen.push(read);
    };
    try {
      let m: LayersModel;
      try {
        m = this.checked(this.build(hp));
      } catch (e) {
        see({ ...plan.values, ...hp.values }); // it may have thrown before reading all that matters
        throw e;
      }
      see(hp.values);
      model = m;
      this.current = m;
      trial.hyperparameters = hp.values;
      if (plan.weights) await m.setWeights(plan.weights);
      const tracker: Callback = {
        onEpochEnd: async (epoch: number, logs: Logs = {}) => {
          trial.epochs++;
          for (const [k, v] of Object.entries(logs)) (trial.history[k] ??= []).push(v);
          // An epoch that did not validate (validationFreq) has no val_ objective: no score.
          const unvalidated =
            this.objective.name.startsWith('val_') &&
            data.val !== undefined &&
            !Object.keys(logs).some((k) => k.startsWith('val_'));
          if (unvalidated) return;
          // TerminateOnNaN ends the epoch with { loss: NaN } only: no objective to read.
          const nanStop = objectiveLog(this.objective, logs) === undefined && Number.isNaN(logs.loss);
          const v = nanStop ? NaN : objectiveValue(this.objective, logs, data.val !== undefined);
          const previous = bestEpoch(this.objective, values, epochs)?.score;
          values.push(v);
          epochs.push(epoch);
          if (better(this.objective, v, previous) && this.mayKeep(trial, v)) {
            bestWeights = (await m.getWeights()).map((w) => w.data);
          }
          if (this.stopped) m.stopTraining = true; // stop() came before fit() began
        },
      };
      await m.fit(data.train, undefined, {
        ...args,
        epochs: plan.epochs ?? args.epochs ?? 1,
        initialEpoch: trial.initialEpoch,
        validationSplit: 0,
        validationData: data.val ? [data.val] : undefined,
        // Already in data.train (and data.val, split with it), as trainingData made them.
        sampleWeight: undefined,
        classWeight: undefined,
        callbacks: [tracker, ...callbackArray(args.callbacks)],
        verbose: args.verbose ?? 0,
      });
      const best = bestEpoch(this.objective, values, epochs);
      if (!best) {
        const nan = trial.history.loss?.some((l) => !Number.isFinite(l)) ? ' (the loss became NaN)' : '';
        throw new Error(`no finite value of "${this.objective.name}" in ${trial.epochs} epoch(s)${nan}`);
      }
      trial.status = 'completed';
      trial.score = best.score;
      trial.bestEpoch = best.epoch;
      if (bestWeights) this.kept.set(trial.id, bestWeights);
    } catch (e) {
      if (e instanceof ObjectiveError || e instanceof HyperParameterError || e instanceof DeviceLostError) {
        this.current = undefined;
        await model?.dispose();
        throw e;
      }
      trial.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    this.current = undefined;
    await model?.dispose();
    trial.seconds = (performance.now() - t0) / 1000;
    return trial;
  }

  /** Completed trials, best first (ties: the earlier trial first). */
  ranked(): Trial[] {
    return this.trials
      .filter((t) => t.status === 'completed')
      .sort((a, b) =>
        better(this.objective, a.score, b.score)
          ? -1
          : better(this.objective, b.score, a.score)
            ? 1
            : a.id - b.id,
      );
  }

  /** Whether a trial scoring `score` must keep its weights (among the best, or continued later). */
  private mayKeep(trial: Trial, score: number): boolean {
    if (this.needsWeights?.(trial)) return true;
    const ahead = this.trials.filter(
      (t) => t.status === 'completed' && !better(this.objective, score, t.score),
    );
    return ahead.length < this.keepModels;
  }

  /** Frees the host weights no longer needed. */
  private prune(): void {
    const best = new Set(
      this.ranked()
        .slice(0, this.keepModels)
        .map((t) => t.id),
    );
    for (const id of [...this.kept.keys()]) {
      const t = this.trials[id];
      if (!best.has(id) && !(t && this.needsWeights?.(t))) this.kept.delete(id);
    }
  }

  // ------------------------------------------------------------ the project (directory / projectName)

  /**
   * Reads the project `<directory>/<projectName>` back, once (search() calls it first):
   * the trials, the searcher's state and the kept weights, so that getBestHyperparameters,
   * getBestModels and resultsSummary include them and search() continues. With overwrite:
   * true it deletes the project instead. Gives the trials reloaded (none without a project).
   */
  reload(): Promise<Trial[]> {
    this.opened ??= this.open();
    return this.opened;
  }

  private async open(): Promise<Trial[]> {
    const p = this.project;
    if (!p) return [];
    const store = await openTunerStore(p.directory, p.projectName, this.what);
    if (p.overwrite) {
      await store.clear();
      this.store = store;
      return [];
    }
    const saved = await readProject(store, this.what, this.objective);
    if (!saved) {
      this.store = store;
      return [];
    }
    const { oracle: o, kept } = saved;
    // The files tuner.ts wrote (readProject checked their id, values and history).
    const trials = saved.trials as Trial[];
    for (const d of o.space) this.space.register(d);
    this.restoredSpace = o.space.length > 0;
    this.trials.push(...trials);
    this.seen.push(...o.seen);
    for (const [id, ws] of kept) this.kept.set(id, ws);
    try {
      this.draws.restore(o.rng);
    } catch (e) {
      throw new Error(`${store.where}/${ORACLE_FILE}: ${(e as Error).message}`, { cause: e });
    }
    this.saves = o.saves;
    this.savedTrials = trials.length;
    this.savedWeights = o.weights ? { file: o.weights, ids: idList(this.kept) } : undefined;
    this.restoreSearcher?.(o.searcher, store.where);
    this.store = store;
    if (this.verbose)
      this.print(
        `${this.what}: reloaded ${trials.length} trial${trials.length === 1 ? '' : 's'} from ${store.where}`,
      );
    return [...trials];
  }

  /** Refuses a build(hp) whose space is not the project's (`probe`: its defaults' build). */
  private checkSpace(probe: SearchSpace): void {
    const diffs = spaceDifferences(this.space, probe);
    if (diffs.length === 0) return;
    throw new Error(
      `${this.what}: the project ${this.store?.where ?? ''} was saved with another search space: ${diffs.join('; ')}; ` +
        'use another directory / projectName, or overwrite: true to start it over',
    );
  }

  /**
   * Writes what changed since the last save: the new trials' files, the kept weights when
   * their set changed, then oracle.json, which names them (a crash before it leaves the
   * previous save whole).
   */
  /** What the project file records of the search's progress, taken before a draw. */
  private projectPoint(): ProjectPoint {
    // Copies: the searchers' records hold live arrays that the next draw changes.
    return structuredClone({
      trials: this.trials.length,
      space: [...this.space.definitions],
      rng: this.draws.state(),
      seen: this.seen.length,
      searcher: this.searcherState?.() ?? {},
    });
  }

  /** Saves the project: now, or (`at`) as it stood before a trial stop() cut short. */
  private async save(at?: ProjectPoint): Promise<void> {
    const store = this.store;
    if (!store) return;
    const point = at ?? this.projectPoint();
    for (let id = this.savedTrials; id < point.trials; id++)
      await store.write(trialFile(id), jsonEncode(this.trials[id]));
    this.saves++;
    const kept = new Map([...this.kept].filter(([id]) => id < point.trials));
    const ids = idList(kept);
    const old = this.savedWeights;
    let weights = kept.size === 0 ? undefined : old;
    if (kept.size > 0 && old?.ids !== ids) {
      weights = { file: weightsFile(this.saves), ids };
      await store.write(weights.file, encodeWeights(kept));
    }
    const oracle: OracleFile = {
      format: FORMAT,
      version: 2,
      tuner: this.what,
      objective: { name: this.objective.name, direction: this.objective.direction },
      space: point.space,
      rng: point.rng,
      seen: this.seen.slice(0, point.seen),
      trials: point.trials,
      weights: weights?.file ?? null,
      saves: this.saves,
      searcher: point.searcher,
    };
    await store.write(ORACLE_FILE, jsonEncode(oracle));
    this.savedTrials = point.trials;
    this.savedWeights = weights;
    if (old && old.file !== weights?.file) await store.remove(old.file);
  }

  // ------------------------------------------------------------ results

  /**
   * The hyperparameters of the `numTrials` best trials, best first (Keras Tuner's
   * get_best_hyperparameters(num_trials=1)): each one's `values` and `get(name)` give the
   * trial's values, and build(hp) given one rebuilds that model (`tuner.hypermodel.build`).
   */
  getBestHyperparameters(numTrials: number | Spelled<{ numTrials: number }> = 1): HyperParameters[] {
    const n = readCount('getBestHyperparameters', 'numTrials', numTrials, 1);
    return this.ranked()
      .slice(0, n)
      .map((t) => HyperParameters.of(t.hyperparameters, this.space));
  }

  /**
   * Keras Tuner's tuner.hypermodel: build(hp) makes a new compiled, untrained model from
   * hyperparameters (those getBestHyperparameters returns, or a record of values).
   */
  get hypermodel(): { build(hp: HyperParameters | HpValues): LayersModel } {
    return {
      build: (hp) =>
        this.checked(this.build(hp instanceof HyperParameters ? hp : HyperParameters.of(hp, this.space))),
    };
  }

  /**
   * The n best models, rebuilt with their hyperparameters and given the weights of their best
   * epoch (kept on the host; no retraining). Compiled; the caller disposes them.
   */
  async getBestModels(numModels: number | Spelled<{ numModels: number }> = 1): Promise<LayersModel[]> {
    const n = readCount('getBestModels', 'numModels', numModels, 1);
    const best = this.ranked().slice(0, n);
    const out: LayersModel[] = [];
    for (const t of best) {
      const weights = this.kept.get(t.id);
      if (!weights) {
        throw new Error(
          `getBestModels(${n}): the weights of trial ${t.id} were not kept; create the tuner with keepModels: ${n}`,
        );
      }
      const m = this.checked(this.build(new HyperParameters(this.space, t.hyperparameters)));
      await m.setWeights(weights);
      out.push(m);
    }
    return out;
  }

  /** The best model (see getBestModels). */
  async bestModel(): Promise<LayersModel> {
    const [m] = await this.getBestModels(1);
    if (!m) throw new Error('bestModel: no trial completed');
    return m;
  }

  /** A table of the n best trials (best first), then the failed ones with their reason. */
  resultsSummary(
    numTrials: number | Spelled<{ numTrials: number }> = 10,
    print: (line: string) => void = console.log,
  ): void {
    const n = readCount('resultsSummary', 'numTrials', numTrials, 10);
    const names = this.space.definitions.map((d) => d.name);
    const completed = this.ranked().slice(0, n);
    const failed = this.trials.filter((t) => t.status === 'failed');
    const o = this.objective;
    print(
      `Results: ${this.trials.length} trials (${this.trials.length - failed.length} completed, ${failed.length} failed); ` +
        `objective ${o.name} (${o.direction === 'max' ? 'higher' : 'lower'} is better)`,
    );
    const hyperband = this.trials.some((t) => t.bracket !== undefined);
    const head = [
      '#',
      'trial',
      ...names,
      o.name,
      'best epoch',
      'epochs',
      ...(hyperband ? ['bracket/round'] : []),
      'time',
    ];
    const row = (t: Trial, rank: string): string[] => [
      rank,
      String(t.id),
      ...names.map((k) => formatValue(t.hyperparameters[k])),
      t.score === undefined ? '-' : t.score.toFixed(4),
      t.bestEpoch === undefined ? '-' : String(t.bestEpoch + 1),
      t.initialEpoch > 0 ? `${t.initialEpoch}+${t.epochs}` : String(t.epochs),
      ...(hyperband ? [t.bracket === undefined ? '-' : `${t.bracket}/${t.round ?? 0}`] : []),
      `${t.seconds.toFixed(1)} s`,
    ];
    for (const line of formatTable(
      head,
      completed.map((t, i) => row(t, String(i + 1))),
    ))
      print(line);
    if (completed.length < this.trials.length - failed.length)
      print(`(${this.trials.length - failed.length - completed.length} more completed trials not shown)`);
    for (const t of failed) {
      const hp = names.map((k) => `${k} ${formatValue(t.hyperparameters[k])}`).join(', ');
      print(`failed: trial ${t.id} (${hp}): ${t.error ?? 'unknown error'}`);
    }
  }

  private trialLine({ trial: t, index, total }: TrialEventDetail): string {
    const hp = Object.entries(t.hyperparameters)
      .map(([k, v]) => `${k} ${formatValue(v)}`)
      .join(', ');
    const where = t.bracket !== undefined ? ` [bracket ${t.bracket}, round ${t.round ?? 0}]` : '';
    const head = `Trial ${index + 1}${total !== undefined ? `/${total}` : ''}${where} ${hp}`;
    if (t.status === 'failed') return `${head}: failed (${t.error ?? 'unknown'}), ${t.seconds.toFixed(1)} s`;
    const best = this.ranked()[0];
    const epochs =
      t.initialEpoch > 0
        ? `epochs ${t.initialEpoch + 1}-${t.initialEpoch + t.epochs}`
        : `${t.epochs} epoch${t.epochs === 1 ? '' : 's'}`;
    return (
      `${head}: ${this.objective.name} ${t.score?.toFixed(4)} (epoch ${(t.bestEpoch ?? 0) + 1}; ${epochs}), ` +
      `${t.seconds.toFixed(1)} s; best so far ${best?.score?.toFixed(4)} (trial ${best?.id})`
    );
  }
}

/** The build function of a hypermodel: build(hp) itself, or a HyperModel's build method. */
function buildOf(hypermodel: unknown, what: string): BuildFn {
  if (typeof hypermodel === 'function') return hypermodel as BuildFn;
  if (typeof hypermodel === 'object' && hypermodel !== null) {
    const m = hypermodel as Partial<HyperModel>;
    if (typeof m.build === 'function') return (hp) => (m as HyperModel).build(hp);
  }
  throw new TypeError(
    `${what}: the first argument must be a build(hp) function or a HyperModel with build(hp), got ${String(hypermodel)}`,
  );
}

/** A hyperparameter value for tables: integers as they are, other numbers to 4 significant digits. */
export function formatValue(v: HpValue | undefined): string {
  if (v === undefined) return '-';
  if (typeof v !== 'number' || Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** Lines of a left-aligned table with a header rule; columns two spaces apart. */
function formatTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
