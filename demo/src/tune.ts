/**
 * <mlp-tune>: the course's hyperparameter search on MNIST. The Keras Tuner example's model
 * builder (784 → units relu → 10 softmax, Adam, sparse categorical cross-entropy, accuracy)
 * reads hp.int('units', min, max, step) and hp.choice('learning_rate', [...]) (and, if asked,
 * hp.choice('dropout', [0, 0.2, 0.5]) and hp.boolean('batch_norm')); grid, random, Hyperband
 * or Bayesian optimization (src/tune) maximises val_accuracy on rows uploaded once. Trials
 * appear as they finish; the best one's model (the weights of its best epoch) can become the
 * demo's current model. The tab's other mode, scikit-learn's GridSearchCV with k folds over the
 * same builder, is <mlp-tune-cv> (tune-cv.ts).
 *
 * About 800 lines on purpose: one Lit element (its fields, the search it runs, the plan and
 * trials it renders) that reads best top to bottom; the search itself is src/tune.
 */
import { css, html, nothing } from 'lit';
import {
  bayesianOptimization,
  callbacks,
  gridSearch,
  hyperband,
  hyperbandSchedule,
  randomSearch,
  scheduleTotals,
  type BuildFn,
  type GpuData,
  type HpValues,
  type LayersModel,
  type Trial,
  type TrialEventDetail,
  type Tuner,
} from '../../src/index.js';
import './chart.js';
import { PALETTE, type ChartSeries } from './chart.js';
import {
  ExperimentPanel,
  experimentStyles,
  intField,
  type BatchDetail,
  type ExperimentRun,
} from './experiment.js';
import { gpuSplit, loadMnist, trainValidation } from './mnist.js';
import { fmtBytes, type TunerSpace } from './tune-cv.js';
import type { DemoState } from './state.js';
import { fmt, panelStyles, pct } from './styles.js';
import {
  BETA,
  buildTrialModel,
  describeConfig,
  formatHp,
  initialPointsOf,
  OBJECTIVE,
  parseRates,
  PATIENCE,
  plannedTrials,
  SEARCHERS,
  spaceOf,
  trialCurves,
  tuneDefaults,
  unitsValues,
  type SearcherKind,
  type SpaceSettings,
  type TuneForm,
  type TuneSettings,
} from './tune-space.js';

/** The search, as the base panel's single run. */
type SearchRun = ExperimentRun;

interface TuneData {
  train: GpuData;
  validation: GpuData;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class MlpTune extends ExperimentPanel<SearchRun, TuneSettings, TuneData> {
  static override properties = {
    mode: { state: true },
    searcher: { state: true },
    form: { state: true },
    extras: { state: true },
    trials: { state: true },
    used: { state: true },
    useError: { state: true },
    using: { state: true },
  };

  static override styles = [
    panelStyles,
    experimentStyles,
    css`
      form.config input:not([type='checkbox']),
      form.config select {
        width: 9rem;
      }
      .plan {
        flex: 1 1 22rem;
      }
      .plan p {
        margin: 0.3rem 0;
      }
      #tune-schedule td,
      #tune-schedule th {
        text-align: center;
        white-space: nowrap;
      }
      .scroll {
        overflow-x: auto;
      }
      #tune-trials {
        width: 100%;
      }
      #tune-trials th {
        font-weight: 600;
        white-space: nowrap;
      }
      #tune-trials td {
        white-space: nowrap;
      }
      #tune-trials td.reason {
        white-space: normal;
        text-align: left;
        color: var(--_error);
      }
      tr.failed td {
        color: var(--_muted);
      }
      tr.best td {
        background: var(--_highlight-bg);
        font-weight: 600;
      }
      .charts {
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr));
        align-items: start;
      }
      .mode {
        margin: 0 0 0.75rem;
      }
      .mode select {
        max-width: 100%;
      }
      [hidden] {
        display: none !important;
      }
      #tune-best dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.2rem 0.75rem;
        margin: 0.4rem 0 0.75rem;
      }
      #tune-best dt {
        color: var(--_muted);
      }
      #tune-best dd {
        margin: 0;
        font-weight: 600;
      }
      .hint {
        color: var(--_muted);
        max-width: 62rem;
        margin: 0.6rem 0 0;
      }
      details pre {
        max-height: 16rem;
      }
    `,
  ];

  /** Keras Tuner's searchers (this element's form), or scikit-learn's GridSearchCV (<mlp-tune-cv>). */
  declare mode: 'tuner' | 'cv';
  declare searcher: SearcherKind;
  /** The text fields as typed. */
  declare form: TuneForm;
  declare extras: boolean;
  /** The current (or last) search's trials, in the order they finished. */
  declare trials: Trial[];
  /** What "Use the best model" made the current model. */
  declare used: { trial: number; description: string } | undefined;
  declare useError: string;
  declare using: boolean;
  protected readonly who = 'Tune';
  protected readonly noun = 'searches';
  /** The last search's tuner: its kept weights give bestModel(). */
  private tuner: Tuner | undefined;
  /** Trials the search plans at most (the progress bar). */
  private total: number | undefined;
  private log: string[] = [];
  /** GPU bytes alive before the search's data went up, and after everything was freed. */
  private memory: { before: number; after?: number } | undefined;
  private started = 0;

  constructor() {
    super();
    this.mode = 'tuner';
    this.searcher = 'hyperband';
    this.form = tuneDefaults(false);
    this.extras = false;
    this.trials = [];
    this.used = undefined;
    this.useError = '';
    this.using = false;
  }

  protected applyDefaults(fallback: boolean): void {
    this.form = tuneDefaults(fallback);
  }

  /** The form's settings; throws a RangeError naming the field. */
  private settings(): TuneSettings {
    const f = this.form;
    const space: SpaceSettings = {
      unitsMin: intField(f.unitsMin, 'units from', 1, 4096),
      unitsMax: intField(f.unitsMax, 'units to', 1, 4096),
      unitsStep: intField(f.unitsStep, 'units step', 1, 4096),
      learningRates: parseRates(f.rates),
      extras: this.extras,
    };
    if (space.unitsMin > space.unitsMax)
      throw new RangeError(`units: from ${space.unitsMin} is more than to ${space.unitsMax}`);
    const hyperbandSearch = this.searcher === 'hyperband';
    const maxEpochs = hyperbandSearch ? intField(f.maxEpochs, 'max epochs', 1, 200) : 1;
    return {
      searcher: this.searcher,
      rows: intField(f.rows, 'training rows', 100, 60_000),
      batchSize: intField(f.batch, 'batch size', 1, 4096),
      epochs: hyperbandSearch ? maxEpochs : intField(f.epochs, 'epochs per trial', 1, 100),
      maxEpochs,
      factor: hyperbandSearch ? intField(f.factor, 'factor', 2, 10) : 3,
      maxTrials:
        this.searcher === 'random' || this.searcher === 'bayesian'
          ? intField(f.trials, 'trials', 1, 1000)
          : 1,
      ...(this.searcher === 'bayesian' && f.initialPoints.trim() !== ''
        ? { initialPoints: intField(f.initialPoints, 'initial random trials', 1, 1000) }
        : {}),
      seed: intField(f.seed, 'seed', 0, 2 ** 31 - 1),
      space,
    };
  }

  protected plan(): { settings: TuneSettings; runs: SearchRun[] } {
    const settings = this.settings();
    spaceOf(settings.space); // a space hp rejects fails here, before the lock is taken
    return { settings, runs: [{ status: 'pending', trainCurve: [] }] };
  }

  protected async load(
    cfg: TuneSettings,
    state: DemoState,
    keep: (d: GpuData) => GpuData,
  ): Promise<TuneData> {
    this.memory = { before: state.engine.stats().liveBytes };
    this.trials = [];
    this.log = [];
    this.total = undefined;
    this.used = undefined;
    this.useError = '';
    this.status = `Loading ${cfg.rows.toLocaleString('en-US')} training images…`;
    const mnist = await loadMnist(cfg.rows, 1, this.mnistUrl);
    const split = trainValidation(mnist.train, cfg.rows, 0.1);
    return {
      train: keep(gpuSplit(state.engine, split.train, 'tune train')),
      validation: keep(gpuSplit(state.engine, split.validation, 'tune validation')),
    };
  }

  protected labelOf(): string {
    return 'search';
  }

  protected override onStop(): void {
    this.tuner?.stop();
  }

  protected override progress(): number {
    return this.total ? Math.min(1, this.trials.length / this.total) : 0;
  }

  /** build(hp) for the tuner: the demo's MLP with the trial's units, learning rate (and extras). */
  private builder(cfg: TuneSettings): BuildFn {
    return (hp) => {
      const model = buildTrialModel(hp, cfg);
      if (this.running) this.follow(model, hp.values);
      return model;
    };
  }

  /** The status line from a trial's fit() progress; Stop pressed before fit() began applies here. */
  private follow(model: LayersModel, values: HpValues): void {
    const where = `Trial ${this.trials.length + 1}${this.total ? `/${this.total}` : ''} (${describeConfig(values)})`;
    model.events.addEventListener('batch', (e) => {
      const d = (e as CustomEvent<BatchDetail>).detail;
      if (this.stopping()) model.stopTraining = true; // fit() clears it when it starts
      this.status = `${where}: epoch ${d.epoch + 1}, step ${d.step}/${d.steps}, loss ${fmt(d.logs.loss)}`;
    });
  }

  private makeTuner(cfg: TuneSettings): Tuner {
    const common = {
      objective: OBJECTIVE,
      seed: cfg.seed,
      print: (line: string) => {
        this.log.push(line);
      },
    };
    const build = this.builder(cfg);
    if (cfg.searcher === 'hyperband')
      return hyperband(build, { ...common, maxEpochs: cfg.maxEpochs, factor: cfg.factor });
    if (cfg.searcher === 'random') return randomSearch(build, { ...common, maxTrials: cfg.maxTrials });
    if (cfg.searcher === 'bayesian') {
      return bayesianOptimization(build, {
        ...common,
        maxTrials: cfg.maxTrials,
        numInitialPoints: initialPointsOf(cfg),
        beta: BETA,
      });
    }
    return gridSearch(build, common);
  }

  /** The whole search is the base panel's one run. */
  protected async runOne(
    r: SearchRun,
    _index: number,
    cfg: TuneSettings,
    data: TuneData,
  ): Promise<string | undefined> {
    r.status = 'running';
    const tuner = this.makeTuner(cfg);
    this.tuner = tuner;
    this.total = plannedTrials(cfg);
    tuner.events.addEventListener('trial', (e) => {
      const d = (e as CustomEvent<TrialEventDetail>).detail;
      this.trials = [...this.trials, d.trial];
      this.total = d.total;
    });
    this.started = performance.now();
    try {
      await tuner.search(data.train, undefined, {
        epochs: cfg.searcher === 'hyperband' ? undefined : cfg.epochs,
        batchSize: cfg.batchSize,
        validationData: [data.validation],
        callbacks: [callbacks.earlyStopping({ monitor: 'val_loss', patience: PATIENCE })],
        seed: cfg.seed,
        verbose: 1, // fit()'s 'batch' events for the status line
      });
      r.status = this.stopping() ? 'stopped' : 'done';
      return undefined;
    } catch (e) {
      r.status = 'failed';
      r.error = message(e);
      return r.error;
    } finally {
      this.requestUpdate();
    }
  }

  protected override async run(): Promise<void> {
    this.memory = undefined;
    await super.run();
    this.finish();
  }

  /** After run(): the GPU memory left and the final status line, if this run searched. */
  private finish(): void {
    const state = this.state;
    const memory = this.memory; // load() sets it once the run holds the lock
    if (!state || !memory || memory.after !== undefined) return;
    // The datasets were disposed at the end of run(), every trial's model by the tuner.
    this.memory = { ...memory, after: state.engine.stats().liveBytes };
    const search = this.runs[0];
    if (!search || search.status === 'failed') return;
    if (search.status === 'skipped') {
      this.status = 'Stopped before the first trial.';
      return;
    }
    const seconds = (performance.now() - this.started) / 1000;
    const failed = this.trials.filter((t) => t.status === 'failed').length;
    const best = this.tuner?.ranked()[0];
    const done = `${this.trials.length} trial${this.trials.length === 1 ? '' : 's'} (${this.trials.length - failed} completed, ${failed} failed) in ${fmt(seconds, 3)} s`;
    this.status =
      (search.status === 'stopped' ? `Stopped after ${done}` : `Done: ${done}`) +
      (best ? `; best ${OBJECTIVE} ${pct(best.score)} (trial ${best.id}).` : '.');
  }

  /** Makes the best trial's model (its best epoch's weights, no retraining) the demo's current model. */
  private async useBest(): Promise<void> {
    const tuner = this.tuner;
    const state = this.state;
    const best = tuner?.ranked()[0];
    if (!tuner || !state || !best) return;
    this.using = true;
    this.useError = '';
    try {
      const model = await tuner.bestModel();
      const description = `tuned: ${describeConfig(best.hyperparameters)}, ${OBJECTIVE} ${pct(best.score)} (trial ${best.id}, epoch ${(best.bestEpoch ?? 0) + 1})`;
      state.setModel(model, description);
      this.used = { trial: best.id, description };
    } catch (e) {
      this.useError = `Could not make the best model: ${message(e)}`;
    } finally {
      this.using = false;
    }
  }

  /** The hyperparameter names of the last search (the table's columns). */
  private names(): string[] {
    const s = this.settingsOfRuns?.space;
    return s?.extras ? ['units', 'learning_rate', 'dropout', 'batch_norm'] : ['units', 'learning_rate'];
  }

  /** Trials as listed: in finishing order while searching, best first (failed last) after. */
  private listed(): Trial[] {
    if (this.running || !this.tuner) return this.trials;
    const ranked = this.tuner.ranked().filter((t) => this.trials.includes(t));
    return [...ranked, ...this.trials.filter((t) => t.status !== 'completed')];
  }

  /** Best score per units value, one series per learning rate (the max over the other hyperparameters). */
  private chartSeries(): ChartSeries[] {
    const rates = this.settingsOfRuns?.space.learningRates ?? [];
    return rates.map((rate, i) => {
      const best = new Map<number, number>();
      for (const t of this.trials) {
        if (t.status !== 'completed' || t.score === undefined || t.hyperparameters.learning_rate !== rate)
          continue;
        const u = Number(t.hyperparameters.units);
        best.set(u, Math.max(best.get(u) ?? -Infinity, t.score));
      }
      return {
        label: `learning rate ${formatHp(rate)}`,
        points: [...best].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x, y })),
        color: PALETTE[i % PALETTE.length] ?? '#333',
      };
    });
  }

  /** trialCurves, coloured by learning rate as the other chart; the best trial in front once the search ended. */
  private curves(): ChartSeries[] {
    const rates = this.settingsOfRuns?.space.learningRates ?? [];
    const colorOf = (t: Trial) =>
      PALETTE[Math.max(0, rates.indexOf(Number(t.hyperparameters.learning_rate))) % PALETTE.length] ?? '#333';
    return trialCurves(this.trials, colorOf, this.running ? undefined : this.tuner?.ranked()[0]);
  }

  override render() {
    const d = tuneDefaults(true);
    return html`
      <h2>Tune: hyperparameter search</h2>
      <p class="lead">
        The course's Keras Tuner example: a model builder reads the number of hidden units (<code
          >hp.int('units', …)</code
        >) and Adam's learning rate (<code>hp.choice('learning_rate', …)</code>) for a 784-units-10 relu MLP
        (sparse categorical cross-entropy, accuracy); the searcher picks the values, trains each trial on the
        same MNIST rows (uploaded to the GPU once; the last 10% validate) and keeps the one with the best
        ${OBJECTIVE}. Every trial starts from the same seeded weights for its shape and gets
        EarlyStopping(val_loss, patience ${PATIENCE}), as in the Keras Tuner tutorial.
      </p>
      ${
        this.fallback
          ? html`<p class="note" id="tune-fallback">
              This browser's WebGPU adapter is a software one (${this.state?.engine.adapter.name}), so the
              defaults are small: ${Number(d.rows).toLocaleString('en-US')} rows, units
              ${d.unitsMin}–${d.unitsMax} step ${d.unitsStep}, Hyperband with max ${d.maxEpochs} epochs (a GPU
              would search units 32–512 step 32 on 60,000 rows with max 10 epochs); k-fold CV: 4 candidates ×
              3 folds on 1,000 rows.
            </p>`
          : nothing
      }
      <div class="row mode">
        <label for="tune-mode">Search with</label>
        <select
          id="tune-mode"
          @change=${(e: Event) => (this.mode = (e.target as HTMLSelectElement).value as 'tuner' | 'cv')}
        >
          <option value="tuner" ?selected=${this.mode === 'tuner'}>
            Keras Tuner: grid, random, Hyperband or Bayesian optimization
          </option>
          <option value="cv" ?selected=${this.mode === 'cv'}>
            Grid search with k-fold CV (scikit-learn)
          </option>
        </select>
      </div>
      <mlp-tune-cv
        id="tune-cv-mode"
        ?hidden=${this.mode !== 'cv'}
        .state=${this.state}
        .engine=${this.state?.engine ?? this.engine}
        .mnistUrl=${this.mnistUrl}
        .source=${this.tunerSpace()}
      ></mlp-tune-cv>
      <div id="tune-tuner-mode" ?hidden=${this.mode !== 'tuner'}>${this.renderTuner()}</div>
      <p class="hint" id="tune-validation">
        <b>Validation, test, k folds.</b> A search picks the configuration that scored best on its validation
        rows, and a small validation set is noisy: with 100 validation rows each one is worth 1 point, so the
        winner's 94% is partly luck and the same model can score 84% on the test set it never saw. k-fold
        cross-validation scores every candidate on k different held-out folds and averages them, so its mean
        (± the spread over folds) is a steadier estimate; a test set kept out of the search still gives the
        final, unbiased number.
      </p>
    `;
  }

  /** The Keras Tuner searchers' form, trials, chart and best trial. */
  private renderTuner() {
    return html`
      <div class="card">
        <div class="controls">
          <form class="config" @submit=${(e: Event) => e.preventDefault()}>${this.renderFields()}</form>
          <div class="plan" id="tune-plan">${this.renderPlan()}</div>
        </div>
        ${this.renderActions('tune', 'Start the search')}
      </div>
      <h3>Trials</h3>
      ${this.renderTrials()}
      <div class="grid charts">
        <mlp-chart
          id="tune-chart"
          heading=${`Best ${OBJECTIVE} per units (one line per learning rate)`}
          x-label="units"
          y-label=${OBJECTIVE}
          .series=${this.chartSeries()}
        ></mlp-chart>
        ${this.renderBest()}
        <mlp-chart
          id="tune-curves"
          heading=${`Each trial's ${OBJECTIVE} per epoch${this.running ? '' : ' (the best trial in front)'}`}
          x-label="epoch"
          y-label=${OBJECTIVE}
          hide-legend
          .series=${this.curves()}
        ></mlp-chart>
      </div>
      ${
        this.log.length
          ? html`<details id="tune-log">
              <summary>The tuner's log</summary>
              <pre>${this.log.join('\n')}</pre>
            </details>`
          : nothing
      }
      <p class="hint" id="tune-explain">
        <b>The searchers.</b> Grid search trains every combination. Random search trains a number of them
        drawn at random (never the same twice). Hyperband spends little on many: its first bracket trains many
        configurations for a few epochs and lets the best 1/factor of them continue (from the weights of their
        best epoch) for factor times more epochs, round after round; later brackets start with fewer
        configurations and more epochs, the last one trains each for the maximum. A trial's score is the best
        ${OBJECTIVE} over its epochs, and the best model is rebuilt with that epoch's weights (kept on the
        host), not retrained. Bayesian optimization starts with a few random trials, then fits a Gaussian
        process to the scores and tries next the configuration with the highest upper confidence bound
        (predicted ${OBJECTIVE} + ${BETA} × its uncertainty, Keras Tuner's beta).
      </p>
    `;
  }

  /** The Keras Tuner form's space for the cross-validated grid (undefined while the form does not parse). */
  private tunerSpace(): TunerSpace | undefined {
    try {
      const space = this.settings().space;
      return { units: unitsValues(space), rates: this.form.rates };
    } catch {
      return undefined;
    }
  }

  /** A text field bound to form[key]. */
  private field(id: string, label: string, key: keyof TuneForm, numeric = true) {
    return this.textField(
      id,
      label,
      this.form[key],
      (v) => (this.form = { ...this.form, [key]: v }),
      numeric,
    );
  }

  private renderFields() {
    const hb = this.searcher === 'hyperband';
    return html`<label for="tune-searcher">Searcher</label>
      <select
        id="tune-searcher"
        ?disabled=${this.running}
        @change=${(e: Event) => (this.searcher = (e.target as HTMLSelectElement).value as SearcherKind)}
      >
        ${SEARCHERS.map((s) => html`<option value=${s.id} ?selected=${this.searcher === s.id}>${s.label}</option>`)}
      </select>
      ${hb ? this.field('tune-max-epochs', 'Max epochs', 'maxEpochs') : nothing}
      ${hb ? this.field('tune-factor', 'Factor', 'factor') : nothing}
      ${this.searcher === 'random' || this.searcher === 'bayesian' ? this.field('tune-trials-count', 'Trials', 'trials') : nothing}
      ${this.searcher === 'bayesian' ? this.field('tune-initial-points', 'Random trials first', 'initialPoints') : nothing}
      ${hb ? nothing : this.field('tune-epochs', 'Epochs per trial', 'epochs')}
      ${this.field('tune-seed', 'Seed', 'seed')} ${this.field('tune-units-min', 'Units from', 'unitsMin')}
      ${this.field('tune-units-max', 'Units to', 'unitsMax')}
      ${this.field('tune-units-step', 'Units step', 'unitsStep')}
      ${this.field('tune-rates', 'Learning rates', 'rates', false)}
      ${this.field('tune-rows', 'Training rows', 'rows')} ${this.field('tune-batch', 'Batch size', 'batch')}
      <label for="tune-extras">Also tune</label>
      <span
        ><input
          type="checkbox"
          id="tune-extras"
          .checked=${this.extras}
          ?disabled=${this.running}
          @change=${(e: Event) => (this.extras = (e.target as HTMLInputElement).checked)}
        />
        dropout (0, 0.2, 0.5) and batch normalization (yes / no)</span
      >`;
  }

  /** What the search will run, from the form as it is now (the grid's count, Hyperband's brackets). */
  private renderPlan() {
    let cfg: TuneSettings;
    let space: { size: number; text: string };
    try {
      cfg = this.settings();
      space = spaceOf(cfg.space);
    } catch (e) {
      return html`<p class="error" id="tune-plan-error">${message(e)}</p>`;
    }
    const configs = html`<span id="tune-space" data-size=${space.size}
      >${space.size.toLocaleString('en-US')} configurations (${space.text})</span
    >`;
    if (cfg.searcher === 'grid') {
      return html`<p id="tune-count" data-trials=${space.size} data-epochs=${space.size * cfg.epochs}>
        <b>Grid search: ${space.size.toLocaleString('en-US')} trials</b> — every one of the ${configs},
        ${cfg.epochs} epoch${cfg.epochs === 1 ? '' : 's'} each.
      </p>`;
    }
    if (cfg.searcher === 'random') {
      const n = Math.min(cfg.maxTrials, space.size);
      return html`<p id="tune-count" data-trials=${n} data-epochs=${n * cfg.epochs}>
        <b>Random search: ${n} trials</b> drawn (seed ${cfg.seed}) from the ${configs}, ${cfg.epochs}
        epoch${cfg.epochs === 1 ? '' : 's'} each.
      </p>`;
    }
    if (cfg.searcher === 'bayesian') {
      const n = Math.min(cfg.maxTrials, space.size);
      const first = Math.min(n, initialPointsOf(cfg));
      return html`<p id="tune-count" data-trials=${n} data-epochs=${n * cfg.epochs} data-initial=${first}>
          <b>Bayesian optimization: ${n} trials</b> over the ${configs}, ${cfg.epochs}
          epoch${cfg.epochs === 1 ? '' : 's'} each: the first ${first} drawn at random (seed ${cfg.seed}),
          then each one where a Gaussian process fitted to the scores so far is most promising.
        </p>
        <p class="hint">
          The process (Matérn 5/2 kernel) predicts each untried configuration's ${OBJECTIVE} as a mean μ and
          an uncertainty σ; the next trial maximises the upper confidence bound μ + ${BETA}σ (beta ${BETA},
          Keras Tuner's default), trading a good guess against an unexplored region. No configuration runs
          twice.
        </p>`;
    }
    let schedule;
    try {
      schedule = hyperbandSchedule(cfg.maxEpochs, cfg.factor);
    } catch (e) {
      return html`<p class="error" id="tune-plan-error">${message(e)}</p>`;
    }
    const totals = scheduleTotals(schedule);
    const rounds = Math.max(...schedule.map((b) => b.rounds.length));
    const firstRounds = schedule.reduce((n, b) => n + (b.rounds[0]?.trials ?? 0), 0);
    return html`<p id="tune-count" data-trials=${totals.trials} data-epochs=${totals.epochs}>
        <b>Hyperband: at most ${totals.trials} trials, ${totals.epochs} epochs</b> (max ${cfg.maxEpochs},
        factor ${cfg.factor}) over the ${configs}.
      </p>
      <table id="tune-schedule">
        <thead>
          <tr>
            <th>Bracket</th>
            ${Array.from({ length: rounds }, (_, r) => html`<th>Round ${r + 1}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${schedule.map(
            (b) =>
              html`<tr data-bracket=${b.bracket}>
                <td>${b.bracket}</td>
                ${Array.from({ length: rounds }, (_, r) => {
                  const round = b.rounds[r];
                  return round
                    ? html`<td data-round=${r} data-trials=${round.trials} data-epochs=${round.epochs}>
                        ${round.trials} × ${round.epochs} ep
                      </td>`
                    : html`<td></td>`;
                })}
              </tr>`,
          )}
        </tbody>
      </table>
      <p class="hint">
        Trials × the epochs each has trained by the end of the round; the best 1/${cfg.factor} of a round go
        on to the next.
        ${
          firstRounds > space.size
            ? html`The brackets draw ${firstRounds} new configurations but the space has ${space.size}: the
              search ends early once every configuration was drawn.`
            : nothing
        }
      </p>`;
  }

  private renderTrials() {
    if (this.trials.length === 0) {
      return html`<p class="status" id="tune-no-trials">
        ${this.running ? 'The first trial is training…' : 'Start a search: trials appear here as they finish.'}
      </p>`;
    }
    const names = this.names();
    const hb = this.settingsOfRuns?.searcher === 'hyperband';
    const best = this.tuner?.ranked()[0];
    const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));
    const rows = this.listed();
    return html`<div class="scroll">
        <table id="tune-trials">
          <thead>
            <tr>
              <th>${this.running ? '' : 'Rank'}</th>
              <th>Trial</th>
              ${names.map((n) => html`<th>${n}</th>`)}
              ${
                hb
                  ? html`<th>Bracket</th>
                      <th>Round</th>`
                  : nothing
              }
              <th>Epochs</th>
              <th>${OBJECTIVE}</th>
              <th>Best epoch</th>
              <th>Time</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            ${rows.map((t, i) => {
              const isBest = t === best;
              // A continuation lists the epochs it trained: "3" or "2–4"; a first trial their count.
              const epochs =
                t.initialEpoch === 0
                  ? String(t.epochs)
                  : t.epochs === 1
                    ? String(t.initialEpoch + 1)
                    : `${t.initialEpoch + 1}–${t.initialEpoch + t.epochs}`;
              return html`<tr
                class=${`${t.status}${isBest ? ' best' : ''}`}
                data-trial=${t.id}
                data-status=${t.status}
                data-score=${num(t.score)}
                data-hp=${JSON.stringify(t.hyperparameters)}
                data-best=${isBest ? 'true' : 'false'}
                data-best-epoch=${t.bestEpoch === undefined ? '' : String(t.bestEpoch + 1)}
                data-epochs=${t.epochs}
                data-initial-epoch=${t.initialEpoch}
                data-bracket=${t.bracket ?? ''}
                data-round=${t.round ?? ''}
                data-parent=${t.parent ?? ''}
                data-seconds=${t.seconds}
                data-error=${t.error ?? ''}
              >
                <td>${this.running || t.status !== 'completed' ? '' : i + 1}</td>
                <td>${t.id}${t.parent === undefined ? '' : html` <small>(from ${t.parent})</small>`}</td>
                ${names.map((n) => html`<td>${formatHp(t.hyperparameters[n])}</td>`)}
                ${
                  hb
                    ? html`<td>${t.bracket ?? '—'}</td>
                        <td>${t.round === undefined ? '—' : t.round + 1}</td>`
                    : nothing
                }
                <td>${epochs}</td>
                <td>${t.score === undefined ? '—' : pct(t.score)}</td>
                <td>${t.bestEpoch === undefined ? '—' : t.bestEpoch + 1}</td>
                <td>${fmt(t.seconds, 3)} s</td>
                <td class=${t.error ? 'reason' : ''}>${t.error ? `failed: ${t.error}` : t.status}</td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>
      <p class="hint">
        ${this.running ? 'In the order they finished; ' : 'Best first (failed trials last); '}highlighted: the
        best ${OBJECTIVE} so far.
        ${hb ? 'A trial “from” another continued from that one’s best weights and trained only the epochs listed (“2”, “2–4”); its best epoch is numbered from the start of training.' : nothing}
        ${
          this.memory?.after !== undefined
            ? html`<span id="tune-memory" data-before=${this.memory.before} data-after=${this.memory.after}
                >GPU memory in use: ${fmtBytes(this.memory.before)} before the search,
                ${fmtBytes(this.memory.after)} after it (the datasets and every trial's model freed).</span
              >`
            : nothing
        }
      </p>`;
  }

  private renderBest() {
    const best = this.tuner?.ranked()[0];
    if (!best || !this.trials.includes(best)) {
      return html`<div class="card" id="tune-best-empty">
        <h3>Best so far</h3>
        <p class="status">No trial has finished yet.</p>
      </div>`;
    }
    const names = this.names();
    return html`<div
      class="card"
      id="tune-best"
      data-trial=${best.id}
      data-score=${String(best.score)}
      data-hp=${JSON.stringify(best.hyperparameters)}
      data-best-epoch=${(best.bestEpoch ?? 0) + 1}
    >
      <h3>${this.running ? 'Best so far' : 'Best hyperparameters'}</h3>
      <dl>
        ${names.map(
          (n) =>
            html`<dt>${n}</dt>
              <dd data-name=${n}>${formatHp(best.hyperparameters[n])}</dd>`,
        )}
        <dt>${OBJECTIVE}</dt>
        <dd>${pct(best.score)} (trial ${best.id}, epoch ${(best.bestEpoch ?? 0) + 1})</dd>
      </dl>
      <div class="row">
        <button
          id="tune-use"
          ?disabled=${this.running || this.using}
          @click=${() => void this.useBest()}
          title="Rebuild the best trial's model with the weights of its best epoch and make it the current model"
        >
          Use the best model
        </button>
      </div>
      ${
        this.used
          ? html`<p class="status" id="tune-used" data-trial=${this.used.trial}>
              Current model: ${this.used.description}. The Predict and Save / load tabs use it.
            </p>`
          : nothing
      }
      ${this.useError ? html`<p class="error" id="tune-use-error" role="alert">${this.useError}</p>` : nothing}
    </div>`;
  }
}

if (!customElements.get('mlp-tune')) customElements.define('mlp-tune', MlpTune);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-tune': MlpTune;
  }
}
