/**
 * The three searchers on the Tuner base: grid (every configuration, scikit-learn's
 * GridSearchCV order: the last hyperparameter varies fastest), random (Keras Tuner's
 * RandomSearch: seeded draws, no configuration twice) and Hyperband (Keras Tuner's bracket
 * schedule, see schedule.ts, with successive halving from the kept weights).
 */
import type { FitArgs } from '../model/model.js';
import { gridOf, SearchSpace, type HpDefinition, type HpValues } from './hyperparameters.js';
import { formatSchedule, hyperbandSchedule, scheduleTotals, type HyperbandBracket } from './schedule.js';
import type { Spelled } from '../util/options.js';
import { Tuner, type Hypermodel, type Trial, type TrialPlan, type TunerOptions } from './tuner.js';

/** A searcher's options with the hypermodel among them (Keras Tuner's all-keyword call). */
export type WithHypermodel<T> = Spelled<T> & { hypermodel: Hypermodel };

function checkTrials(n: number, who: string): number {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`${who}: maxTrials ${n} must be an integer ≥ 1`);
  return n;
}

function spaceText(t: Tuner): string {
  return t.space.definitions.length ? t.space.describe() : 'no hyperparameters';
}

export interface GridSearchOptions extends TunerOptions {
  /** Stop after this many trials (default: the whole grid). */
  maxTrials?: number;
}

/**
 * Every configuration of the space (floats need a step), the count logged before it starts.
 * A configuration whose build would read the same values as a trial already run (it differs
 * only in a hyperparameter of a branch its build does not take) is skipped, not run again.
 */
export class GridSearch extends Tuner {
  private grid: HpValues[] = [];
  private next = 0;
  private started = 0;
  private skipped = 0;
  private readonly maxTrials: number;
  private warned = new Set<string>();
  /** How many of the space's hyperparameters the grid was made from (saved with the project). */
  private gridNames = 0;
  /** A reloaded project's gridNames: its space also holds the conditional ones, not in the grid. */
  private restoredGridNames: number | undefined;

  constructor(hypermodel: Hypermodel, options: Spelled<GridSearchOptions>);
  constructor(options: WithHypermodel<GridSearchOptions>);
  constructor(hypermodel: unknown, options?: unknown) {
    super(hypermodel, options, 'gridSearch', ['maxTrials']);
    const o = this.config as GridSearchOptions;
    this.maxTrials = o.maxTrials === undefined ? Infinity : checkTrials(o.maxTrials, 'gridSearch');
  }

  get totalTrials(): number {
    return Math.min(this.grid.length, this.maxTrials);
  }

  protected begin(): void {
    const defs = this.space.definitions.slice(0, this.restoredGridNames);
    const space = new SearchSpace();
    for (const d of defs) space.register(d);
    this.grid = gridOf(space);
    this.gridNames = defs.length;
    if (!this.verbose) return;
    const cut = this.maxTrials < this.grid.length ? `; maxTrials runs the first ${this.maxTrials}` : '';
    this.print(`Grid search: ${this.grid.length} trials (${spaceText(this)})${cut}`);
  }

  protected nextTrial(): TrialPlan | undefined {
    while (this.next < this.grid.length && this.started < this.maxTrials) {
      const values = this.grid[this.next++] as HpValues;
      if (this.wasRun(values)) {
        this.skipped++;
        continue;
      }
      this.started++;
      return { values };
    }
    if (this.skipped > 0 && this.verbose) {
      this.print(
        `Grid search: ${this.skipped} configuration${this.skipped === 1 ? '' : 's'} skipped, the same as a trial ` +
          'already run but for hyperparameters its build did not ask for',
      );
      this.skipped = 0;
    }
    return undefined;
  }

  protected override searcherState(): Record<string, unknown> {
    return { next: this.next, started: this.started, gridNames: this.gridNames };
  }

  protected override restoreSearcher(state: Record<string, unknown>): void {
    this.next = Number(state.next ?? 0);
    this.started = Number(state.started ?? 0);
    if (typeof state.gridNames === 'number') this.restoredGridNames = state.gridNames;
  }

  protected override newHyperparameter(d: HpDefinition): void {
    if (this.warned.has(d.name) || !this.verbose) return;
    this.warned.add(d.name);
    this.print(
      `Grid search: '${d.name}' first appeared in trial ${this.trials.length} (a conditional hyperparameter); ` +
        'the grid was made from the first build, so it keeps its default',
    );
  }
}

export interface RandomSearchOptions extends TunerOptions {
  /** Trials to run (fewer if the space has fewer configurations); default 10, as Keras Tuner. */
  maxTrials?: number;
}

/**
 * maxTrials configurations drawn at random (seeded): each hyperparameter uniformly over its
 * values or range, log-uniformly with log sampling; never the same configuration twice.
 */
export class RandomSearch extends Tuner {
  private readonly maxTrials: number;
  private exhausted = false;

  constructor(hypermodel: Hypermodel, options: Spelled<RandomSearchOptions>);
  constructor(options: WithHypermodel<RandomSearchOptions>);
  constructor(hypermodel: unknown, options?: unknown) {
    super(hypermodel, options, 'randomSearch', ['maxTrials']);
    this.maxTrials = checkTrials((this.config as RandomSearchOptions).maxTrials ?? 10, 'randomSearch');
  }

  get totalTrials(): number {
    return Math.min(this.maxTrials, this.space.size());
  }

  protected begin(): void {
    if (this.verbose) this.print(`Random search: ${this.totalTrials} trials over ${spaceText(this)}`);
  }

  protected nextTrial(): TrialPlan | undefined {
    if (this.exhausted || this.trials.length >= this.maxTrials) return undefined;
    const values = this.drawNew();
    if (!values) {
      this.exhausted = true;
      if (this.verbose) this.print(`Random search: every configuration was tried (${this.trials.length})`);
      return undefined;
    }
    return { values };
  }

  protected override searcherState(): Record<string, unknown> {
    return { exhausted: this.exhausted };
  }

  protected override restoreSearcher(state: Record<string, unknown>): void {
    // maxTrials may grow between runs: a search that stopped at its maxTrials goes on.
    this.exhausted = state.exhausted === true;
  }
}

export interface HyperbandOptions extends TunerOptions {
  /** Most epochs one model trains (the last round of every bracket); default 100, as Keras Tuner. */
  maxEpochs?: number;
  /** Reduction factor of trials and growth factor of epochs between rounds (default 3). */
  factor?: number;
  /** Times to run the whole schedule (default 1). */
  hyperbandIterations?: number;
}

/**
 * Keras Tuner's Hyperband: brackets from the most exploratory (many trials, few epochs) to
 * plain random search at maxEpochs; within a bracket, the best 1/factor of each round (by
 * score) continue from the weights of their best epoch, training only the epochs up to the
 * next round's total (fit's initialEpoch), each continuation recorded as a trial of its own
 * with `parent` set, as Keras Tuner records them.
 *
 * Where we differ from Keras Tuner: (1) a continuation restarts the optimizer from the
 * compiled one (Keras Tuner's checkpoints hold the weights too, and their optimizer slots
 * only in some versions); (2) when trials of a round fail, the best min(size, completed) of
 * the rest continue (Keras Tuner promotes only while more candidates remain than it drops,
 * so each failure costs it one continuation); (3) trials run one at a time, so a round's
 * promotions see the whole round, which is what Keras Tuner does with one worker; (4) when
 * the space runs out of configurations not run yet, the bracket under way still promotes
 * and finishes, then no new bracket starts (Keras Tuner stops at once).
 */
export class Hyperband extends Tuner {
  readonly schedule: HyperbandBracket[];
  readonly maxEpochs: number;
  readonly factor: number;
  private readonly iterations: number;
  private iteration = 0;
  private bracketIndex = -1;
  private roundIndex = -1;
  /** Ids of the trials issued for the current round. */
  private roundIds: number[] = [];
  private queue: TrialPlan[] = [];
  /** Round-0 configurations still to draw in the current bracket. */
  private toDraw = 0;
  private finished = false;
  /** Set when no untried configuration is left to draw. */
  private exhausted = false;

  constructor(hypermodel: Hypermodel, options: Spelled<HyperbandOptions>);
  constructor(options: WithHypermodel<HyperbandOptions>);
  constructor(hypermodel: unknown, options?: unknown) {
    super(hypermodel, options, 'hyperband', ['maxEpochs', 'factor', 'hyperbandIterations']);
    const o = this.config as HyperbandOptions;
    this.maxEpochs = o.maxEpochs ?? 100;
    this.factor = o.factor ?? 3;
    this.schedule = hyperbandSchedule(this.maxEpochs, this.factor);
    this.iterations = o.hyperbandIterations ?? 1;
    if (!Number.isSafeInteger(this.iterations) || this.iterations < 1)
      throw new RangeError(`hyperband: hyperbandIterations ${this.iterations} must be an integer ≥ 1`);
  }

  get totalTrials(): number {
    return scheduleTotals(this.schedule).trials * this.iterations;
  }

  protected begin(args: FitArgs): void {
    if (!this.verbose) return;
    const totals = scheduleTotals(this.schedule);
    this.print(
      `Hyperband: maxEpochs ${this.maxEpochs}, factor ${this.factor}, ${this.schedule.length} brackets; ` +
        `per iteration at most ${totals.trials} trials and ${totals.epochs} epochs (× ${this.iterations}) over ${spaceText(this)}`,
    );
    for (const line of formatSchedule(this.schedule)) this.print(`  ${line}`);
    if (args.epochs !== undefined)
      this.print(`  (epochs ${args.epochs} is ignored: the schedule sets each trial's epochs)`);
  }

  protected override searcherState(): Record<string, unknown> {
    return {
      maxEpochs: this.maxEpochs,
      factor: this.factor,
      iteration: this.iteration,
      bracketIndex: this.bracketIndex,
      roundIndex: this.roundIndex,
      roundIds: this.roundIds,
      // The weights are the parents' kept ones, saved with the project.
      queue: this.queue.map(({ weights: _weights, ...plan }) => plan),
      toDraw: this.toDraw,
      finished: this.finished,
      exhausted: this.exhausted,
    };
  }

  protected override restoreSearcher(state: Record<string, unknown>, where: string): void {
    if (state.maxEpochs !== this.maxEpochs || state.factor !== this.factor)
      throw new Error(
        `hyperband: the project ${where} was saved with maxEpochs ${String(state.maxEpochs)} and factor ` +
          `${String(state.factor)}, not ${this.maxEpochs} and ${this.factor}; ` +
          'use another directory / projectName, or overwrite: true to start it over',
      );
    this.iteration = Number(state.iteration);
    this.bracketIndex = Number(state.bracketIndex);
    this.roundIndex = Number(state.roundIndex);
    this.roundIds = [...(state.roundIds as number[])];
    this.queue = (state.queue as TrialPlan[]).map((plan) => {
      const parent = plan.parent === undefined ? undefined : this.trials[plan.parent];
      const weights = parent && this.weightsOf(parent);
      if (plan.parent !== undefined && !weights)
        throw new Error(
          `hyperband: the project ${where} lacks the weights of trial ${plan.parent}, which continues`,
        );
      return weights ? { ...plan, weights } : plan;
    });
    this.toDraw = Number(state.toDraw);
    this.finished = state.finished === true;
    this.exhausted = state.exhausted === true;
  }

  protected override needsWeights(trial: Trial): boolean {
    // A queued continuation holds its parent's weights itself; keeping them in the tuner too
    // (no copy) puts them in a saved project.
    if (this.queue.some((p) => p.parent === trial.id)) return true;
    const bracket = this.schedule[this.bracketIndex];
    return !!bracket && this.roundIndex < bracket.rounds.length - 1 && this.roundIds.includes(trial.id);
  }

  protected nextTrial(): TrialPlan | undefined {
    for (;;) {
      const plan = this.queue.shift() ?? (this.toDraw > 0 ? this.draw() : undefined);
      if (plan) {
        this.roundIds.push(this.trials.length); // the id runTrial gives it
        return plan;
      }
      if (this.finished || !this.advance()) return undefined;
    }
  }

  private draw(): TrialPlan | undefined {
    this.toDraw--;
    const values = this.drawNew();
    if (!values) {
      this.toDraw = 0;
      if (!this.exhausted && this.verbose)
        this.print('Hyperband: every configuration was drawn; no new brackets');
      this.exhausted = true;
      return undefined;
    }
    const bracket = this.schedule[this.bracketIndex] as HyperbandBracket;
    const first = bracket.rounds[0] as HyperbandBracket['rounds'][number];
    return { values, epochs: first.epochs, initialEpoch: 0, bracket: bracket.bracket, round: 0 };
  }

  /** Moves to the next round (promoting the best of this one) or the next bracket; false when done. */
  private advance(): boolean {
    const bracket = this.schedule[this.bracketIndex];
    if (bracket && this.roundIndex >= 0 && this.roundIndex < bracket.rounds.length - 1) {
      const done = this.roundIds.map((id) => this.trials[id]).filter((t) => t?.status === 'completed');
      const ranked = this.ranked().filter((t) => done.includes(t));
      const prev = bracket.rounds[this.roundIndex] as HyperbandBracket['rounds'][number];
      const next = bracket.rounds[this.roundIndex + 1] as HyperbandBracket['rounds'][number];
      const chosen = ranked.slice(0, next.trials);
      if (chosen.length > 0) {
        this.roundIndex++;
        this.queue = chosen.map((t) => {
          const weights = this.weightsOf(t);
          if (!weights) throw new Error(`internal: the weights of trial ${t.id} were not kept`);
          return {
            values: t.hyperparameters,
            epochs: next.epochs,
            initialEpoch: prev.epochs,
            weights,
            bracket: bracket.bracket,
            round: this.roundIndex,
            parent: t.id,
          };
        });
        this.roundIds = [];
        return true;
      }
    }
    // The next bracket, most exploratory first; then the next iteration.
    this.bracketIndex++;
    if (this.bracketIndex >= this.schedule.length) {
      this.bracketIndex = 0;
      this.iteration++;
    }
    this.roundIndex = 0;
    this.roundIds = [];
    if (this.iteration >= this.iterations) {
      this.finished = true;
      return false;
    }
    if (this.exhausted) {
      this.finished = true;
      return false;
    }
    this.toDraw = (this.schedule[this.bracketIndex] as HyperbandBracket).rounds[0]?.trials ?? 0;
    return true;
  }
}

/** Grid search over every configuration of build(hp)'s space. */
export function gridSearch(hypermodel: Hypermodel, options: Spelled<GridSearchOptions>): GridSearch;
export function gridSearch(options: WithHypermodel<GridSearchOptions>): GridSearch;
export function gridSearch(hypermodel: unknown, options?: unknown): GridSearch {
  return new GridSearch(hypermodel as Hypermodel, options as GridSearchOptions);
}

/** Random search: options.maxTrials seeded draws (default 10). */
export function randomSearch(hypermodel: Hypermodel, options: Spelled<RandomSearchOptions>): RandomSearch;
export function randomSearch(options: WithHypermodel<RandomSearchOptions>): RandomSearch;
export function randomSearch(hypermodel: unknown, options?: unknown): RandomSearch {
  return new RandomSearch(hypermodel as Hypermodel, options as RandomSearchOptions);
}

/** Keras Tuner's Hyperband (maxEpochs 100, factor 3, hyperbandIterations 1 by default). */
export function hyperband(hypermodel: Hypermodel, options: Spelled<HyperbandOptions>): Hyperband;
export function hyperband(options: WithHypermodel<HyperbandOptions>): Hyperband;
export function hyperband(hypermodel: unknown, options?: unknown): Hyperband {
  return new Hyperband(hypermodel as Hypermodel, options as HyperbandOptions);
}
