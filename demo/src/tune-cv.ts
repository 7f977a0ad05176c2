/**
 * <mlp-tune-cv>: the Tune tab's scikit-learn mode. GridSearchCV over a KerasClassifier whose
 * build function makes the tab's 784-units-10 relu MLP (Adam, sparse categorical
 * cross-entropy): paramGrid { units, learning_rate }, k stratified folds of the first `rows`
 * MNIST training images (the search uploads them to the GPU once; every fold trains and
 * scores on views of them). A callback passed as the estimator's `callbacks` parameter counts
 * the fits (onTrainEnd) and follows their batches; at the end, scikit-learn's cv_results_ as a
 * table (each split's score, mean ± std, rank, mean fit time), the best params and score.
 * Stop ends the fit running (search.stop()); a search is disposed when the next one starts or
 * the element leaves the page, so its refitted best model is freed.
 */
import { css, html, nothing } from 'lit';
import {
  sklearn,
  type Callback,
  type HpValues,
  type LayersModel,
  type Logs,
  type TrainParams,
} from '../../src/index.js';
import { ExperimentPanel, experimentStyles, intField, type ExperimentRun } from './experiment.js';
import { loadMnist } from './mnist.js';
import type { DemoState } from './state.js';
import { fmt, panelStyles, pct } from './styles.js';
import {
  buildMlp,
  cvDefaults,
  cvRows,
  describeConfig,
  fittingLine,
  formatHp,
  parseRates,
  parseUnits,
  type CvForm,
  type CvRow,
  type CvSettings,
} from './tune-space.js';

/** The rows every fold is cut from: pixels / 255, one row per image, and the digit. */
interface CvData {
  x: number[][];
  y: number[];
}

/** What the Keras Tuner form offers to copy: its units values and learning-rate text. */
export interface TunerSpace {
  units: number[];
  rates: string;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** 1234567 → "1.23 MB". */
export function fmtBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${fmt(n / 1e3, 3)} kB`;
  return `${fmt(n / 1e6, 3)} MB`;
}

export class MlpTuneCv extends ExperimentPanel<ExperimentRun, CvSettings, CvData> {
  static override properties = {
    form: { state: true },
    refit: { state: true },
    source: { attribute: false },
    fits: { state: true },
    used: { state: true },
    useError: { state: true },
  };

  static override styles = [
    panelStyles,
    experimentStyles,
    css`
      form.config input:not([type='checkbox']) {
        width: 9rem;
      }
      .plan {
        flex: 1 1 20rem;
        min-width: 0;
      }
      .plan p {
        margin: 0.3rem 0;
      }
      .scroll {
        overflow-x: auto;
      }
      #cv-results th {
        font-weight: 600;
        white-space: nowrap;
      }
      #cv-results td {
        white-space: nowrap;
      }
      tr.best td {
        background: var(--_highlight-bg);
        font-weight: 600;
      }
      .summary {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 18rem), 1fr));
        gap: 1rem;
        margin-top: 1rem;
      }
      .summary dl {
        display: grid;
        grid-template-columns: max-content minmax(0, 1fr);
        gap: 0.2rem 0.75rem;
        margin: 0.4rem 0 0.75rem;
      }
      .summary dt {
        color: var(--_muted);
      }
      .summary h3 {
        margin-top: 0;
      }
      .summary dd {
        margin: 0;
        font-weight: 600;
      }
      code.fitting {
        display: block;
        white-space: pre-wrap;
        margin: 0.5rem 0 0;
      }
      .hint {
        color: var(--_muted);
        max-width: 62rem;
        margin: 0.6rem 0 0;
      }
    `,
  ];

  declare form: CvForm;
  declare refit: boolean;
  /** The Keras Tuner form's space, for "Copy from the Keras Tuner form" (undefined while it does not parse). */
  declare source: TunerSpace | undefined;
  /** Fits that ended in the current (or last) search, the refit included. */
  declare fits: number;
  declare used: string | undefined;
  declare useError: string;
  protected readonly who = 'Tune (k-fold CV)';
  protected readonly noun = 'searches';
  /** The last search: its cv_results_, best params, and (refit) best estimator. */
  private search: sklearn.GridSearchCV | undefined;
  /** The candidates in scikit-learn's order (ParameterGrid: keys sorted, the last fastest). */
  private candidates: Record<string, unknown>[] = [];
  /** GPU bytes alive before the search began (the last one disposed), and after it ended. */
  private memory: { before: number; after?: number } | undefined;
  private started = 0;

  constructor() {
    super();
    this.form = cvDefaults(false);
    this.refit = true;
    this.source = undefined;
    this.fits = 0;
    this.used = undefined;
    this.useError = '';
  }

  protected applyDefaults(fallback: boolean): void {
    this.form = cvDefaults(fallback);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // A running search is stopped here and disposed when its fit() returns (runOne).
    if (this.running) this.search?.stop();
    else this.release();
  }

  /** Frees the last search's GPU memory (its refitted best model). */
  private release(): void {
    const search = this.search;
    this.search = undefined;
    search?.dispose().catch((e: unknown) => console.warn('disposing the search failed', e));
  }

  /** The form's settings; throws a RangeError naming the field. */
  private settings(): CvSettings {
    const f = this.form;
    return {
      units: parseUnits(f.units),
      learningRates: parseRates(f.rates),
      folds: intField(f.folds, 'folds', 2, 10),
      // The wrappers take rows as number[][], copied to typed arrays for the upload: 10,000
      // MNIST rows keep that within a few hundred MB of a tab's memory.
      rows: intField(f.rows, 'rows', 100, 10_000),
      epochs: intField(f.epochs, 'epochs', 1, 100),
      batchSize: intField(f.batch, 'batch size', 1, 4096),
      seed: intField(f.seed, 'seed', 0, 2 ** 31 - 1),
      refit: this.refit,
    };
  }

  private planned(cfg: CvSettings): { candidates: number; fits: number } {
    const candidates = cfg.units.length * cfg.learningRates.length;
    return { candidates, fits: candidates * cfg.folds };
  }

  protected plan(): { settings: CvSettings; runs: ExperimentRun[] } {
    return { settings: this.settings(), runs: [{ status: 'pending', trainCurve: [] }] };
  }

  protected async load(cfg: CvSettings, state: DemoState): Promise<CvData> {
    await this.search?.dispose(); // the last search's best model, before counting the memory
    this.search = undefined;
    this.memory = { before: state.engine.stats().liveBytes };
    this.fits = 0;
    this.used = undefined;
    this.useError = '';
    this.candidates = [];
    this.status = `Loading ${cfg.rows.toLocaleString('en-US')} training images…`;
    const mnist = await loadMnist(cfg.rows, 1, this.mnistUrl);
    const n = Math.min(cfg.rows, mnist.train.rows);
    const { images, labels } = mnist.train;
    return {
      x: Array.from({ length: n }, (_, r) =>
        Array.from(images.subarray(r * 784, (r + 1) * 784), (v) => v / 255),
      ),
      y: Array.from(labels.subarray(0, n)),
    };
  }

  protected labelOf(): string {
    return 'search';
  }

  protected override onStop(): void {
    this.search?.stop();
  }

  protected override progress(): number {
    const cfg = this.settingsOfRuns;
    if (!cfg) return 0;
    const { fits } = this.planned(cfg);
    return Math.min(1, this.fits / (fits + (cfg.refit ? 1 : 0)));
  }

  /** Counts the fits and writes the status line: which candidate and split trains, its batches. */
  private follower(cfg: CvSettings, rows: number): Callback {
    const { fits: total } = this.planned(cfg);
    let steps = 0;
    const where = (): string => {
      if (this.fits >= total)
        return `Refitting the best candidate on all ${rows.toLocaleString('en-US')} rows`;
      const c = this.candidates[Math.floor(this.fits / cfg.folds)] ?? {};
      return `Fit ${this.fits + 1}/${total} [CV ${(this.fits % cfg.folds) + 1}/${cfg.folds}] ${describeConfig(c as HpValues)}`;
    };
    return {
      setParams: (p: TrainParams) => {
        steps = p.steps;
      },
      onTrainBegin: () => {
        if (this.stopping()) this.search?.stop(); // Stop pressed before this fit began
        this.status = `${where()}…`;
      },
      onBatchEnd: (batch: number, logs?: Logs) => {
        this.status = `${where()}: step ${batch + 1}/${steps}, loss ${fmt(logs?.loss)}`;
      },
      onTrainEnd: () => {
        this.fits += 1;
      },
    };
  }

  /** The whole search is the base panel's one run. */
  protected async runOne(
    r: ExperimentRun,
    _index: number,
    cfg: CvSettings,
    data: CvData,
  ): Promise<string | undefined> {
    r.status = 'running';
    const estimator = new sklearn.KerasClassifier(
      (params) =>
        buildMlp(
          {
            units: Number(params.units),
            learningRate: Number(params.learning_rate),
            dropout: 0,
            batchNorm: false,
          },
          cfg,
        ),
      {
        units: cfg.units[0],
        learning_rate: cfg.learningRates[0],
        epochs: cfg.epochs,
        batch_size: cfg.batchSize,
        random_state: cfg.seed,
        callbacks: [this.follower(cfg, data.x.length)],
      },
    );
    const grid = { units: cfg.units, learning_rate: cfg.learningRates };
    this.candidates = sklearn.parameterGrid('GridSearchCV', grid);
    const search = new sklearn.GridSearchCV(estimator, grid, { cv: cfg.folds, refit: cfg.refit });
    this.search = search;
    this.started = performance.now();
    try {
      if (!this.stopping()) await search.fit(data.x, data.y);
      r.status = this.stopping() || search.stopped ? 'stopped' : 'done';
      return undefined;
    } catch (e) {
      r.status = 'failed';
      r.error = message(e);
      return r.error;
    } finally {
      if (!this.isConnected) this.release();
      this.requestUpdate();
    }
  }

  protected override async run(): Promise<void> {
    this.memory = undefined;
    await super.run();
    this.finish();
  }

  /** After run(): the GPU memory held and the final status line, if this run searched. */
  private finish(): void {
    const state = this.state;
    const memory = this.memory;
    const cfg = this.settingsOfRuns;
    if (!state || !memory || !cfg || memory.after !== undefined) return;
    this.memory = { ...memory, after: state.engine.stats().liveBytes };
    const run = this.runs[0];
    if (!run || run.status === 'failed') return;
    if (run.status === 'skipped') {
      this.status = 'Stopped before the first fit.';
      return;
    }
    const { fits } = this.planned(cfg);
    const seconds = fmt((performance.now() - this.started) / 1000, 3);
    const done = Math.min(this.fits, fits);
    const best = this.search?.bestScore;
    const bestText = best === undefined ? '' : `; best mean accuracy ${pct(best)}`;
    this.status =
      run.status === 'stopped'
        ? `Stopped after ${done} of ${fits} fits in ${seconds} s (candidates cut short are left out)${bestText}.`
        : `Done: ${done} fits in ${seconds} s${bestText}.`;
  }

  /** The refitted best estimator's model, while the search holds it. */
  private bestModel(): LayersModel | undefined {
    return (this.search?.bestEstimator as sklearn.KerasClassifier | undefined)?.model_;
  }

  /** Makes the refitted best estimator's model the demo's current model (the search lets go of it). */
  private useBest(): void {
    const state = this.state;
    const best = this.search?.bestEstimator as sklearn.KerasClassifier | undefined;
    const model = best?.model_;
    if (!state || !best || !model) return;
    const params = this.search?.bestParams ?? {};
    const description = `cross-validated: ${describeConfig(params as HpValues)}, mean accuracy ${pct(this.search?.bestScore)} over ${this.search?.nSplits} folds, refitted on all rows`;
    try {
      state.setModel(model, description);
      best.model_ = undefined; // the demo's state disposes it when replaced
      this.used = description;
    } catch (e) {
      this.useError = `Could not use the best model: ${message(e)}`;
    }
  }

  /** Sets the grid's units and learning rates from the Keras Tuner form. */
  private copySource(): void {
    const s = this.source;
    if (s) this.form = { ...this.form, units: s.units.join(', '), rates: s.rates };
  }

  private field(id: string, label: string, key: keyof CvForm, numeric = true) {
    return this.textField(
      id,
      label,
      this.form[key],
      (v) => (this.form = { ...this.form, [key]: v }),
      numeric,
    );
  }

  override render() {
    return html`
      <h3>Grid search with k-fold cross-validation (scikit-learn)</h3>
      <p class="lead">
        <code>GridSearchCV(KerasClassifier(build_fn, …), param_grid, cv=k)</code>: the same model builder,
        each candidate of the grid trained k times, each time on k − 1 folds of the rows and scored (accuracy)
        on the one left out.
      </p>
      <div class="card">
        <div class="controls">
          <form class="config" @submit=${(e: Event) => e.preventDefault()}>
            ${this.field('cv-units', 'Units', 'units', false)}
            ${this.field('cv-rates', 'Learning rates', 'rates', false)}
            ${this.field('cv-folds', 'Folds (k)', 'folds')} ${this.field('cv-rows', 'Rows', 'rows')}
            ${this.field('cv-epochs', 'Epochs per fit', 'epochs')}
            ${this.field('cv-batch', 'Batch size', 'batch')} ${this.field('cv-seed', 'Seed', 'seed')}
            <label for="cv-refit">Refit</label>
            <span
              ><input
                type="checkbox"
                id="cv-refit"
                .checked=${this.refit}
                ?disabled=${this.running}
                @change=${(e: Event) => (this.refit = (e.target as HTMLInputElement).checked)}
              />
              the best candidate on all rows (scikit-learn's refit=True)</span
            >
          </form>
          <div class="plan" id="cv-plan">${this.renderPlan()}</div>
        </div>
        ${this.renderActions('cv', 'Start the cross-validated search')}
      </div>
      ${this.renderResults()}
    `;
  }

  private renderPlan() {
    let cfg: CvSettings;
    try {
      cfg = this.settings();
    } catch (e) {
      return html`<p class="error" id="cv-plan-error">${message(e)}</p>`;
    }
    const { candidates, fits } = this.planned(cfg);
    return html`<p id="cv-count" data-candidates=${candidates} data-fits=${fits}>
        <b>${candidates} candidates × ${cfg.folds} folds = ${fits} fits</b
        >${cfg.refit ? ', then one refit' : ''}: paramGrid { units: [${cfg.units.join(', ')}], learning_rate:
        [${cfg.learningRates.map(formatHp).join(', ')}] }, ${cfg.epochs} epoch${cfg.epochs === 1 ? '' : 's'}
        each on ${Math.round((cfg.rows * (cfg.folds - 1)) / cfg.folds).toLocaleString('en-US')} rows, scored
        (accuracy) on the other ${Math.round(cfg.rows / cfg.folds).toLocaleString('en-US')}.
      </p>
      <div class="row">
        <button
          class="secondary"
          id="cv-copy"
          ?disabled=${this.running || !this.source}
          @click=${() => this.copySource()}
          title="Units and learning rates as the Keras Tuner searchers' form gives them"
        >
          Copy the Keras Tuner form's space
        </button>
      </div>
      <p class="hint">
        Each of the k stratified folds is the test set once while the model trains on the other k − 1; a
        candidate's score is the mean over the k. The rows go to the GPU once; every fit uses views of them.
      </p>`;
  }

  private renderResults() {
    const cfg = this.settingsOfRuns;
    if (!cfg || !this.memory) return nothing;
    const { candidates, fits } = this.planned(cfg);
    const results = this.search?.cvResults;
    const rows: CvRow[] = !this.running && results ? cvRows(results, cfg.folds) : [];
    return html`<code class="fitting" id="cv-fitting">${fittingLine(cfg.folds, candidates)}</code>
      <p class="status" id="cv-fits" data-fits=${Math.min(this.fits, fits)} data-planned=${fits}>
        ${Math.min(this.fits, fits)} of ${fits} fits ended${this.fits > fits ? ', and the refit' : ''}.
      </p>
      ${rows.length ? this.renderTable(rows, cfg.folds) : nothing} ${this.renderSummary(rows)}`;
  }

  private renderTable(rows: CvRow[], folds: number) {
    const splits = Array.from({ length: folds }, (_, f) => f);
    return html`<div class="scroll">
        <table id="cv-results">
          <thead>
            <tr>
              <th>units</th>
              <th>learning_rate</th>
              ${splits.map((f) => html`<th>split${f}_test_score</th>`)}
              <th>mean ± std</th>
              <th>rank_test_score</th>
              <th>mean_fit_time</th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (r) =>
                html`<tr
                  class=${r.rank === 1 ? 'best' : ''}
                  data-params=${JSON.stringify(r.params)}
                  data-splits=${JSON.stringify(r.splits)}
                  data-mean=${r.mean}
                  data-std=${r.std}
                  data-rank=${r.rank}
                  data-fit-time=${r.meanFitTime}
                >
                  <td>${formatHp(r.params.units as number)}</td>
                  <td>${formatHp(r.params.learning_rate as number)}</td>
                  ${r.splits.map((s) => html`<td>${pct(s)}</td>`)}
                  <td>${pct(r.mean)} ± ${pct(r.std)}</td>
                  <td>${r.rank}</td>
                  <td>${fmt(r.meanFitTime, 3)} s</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <p class="hint">
        scikit-learn's <code>cv_results_</code>: one row per candidate, in the grid's order; accuracy on each
        fold's held-out rows, their mean ± standard deviation, the rank by mean (1 highlighted).
      </p>`;
  }

  private renderSummary(rows: CvRow[]) {
    const search = this.search;
    const m = this.memory;
    const best = search?.bestParams;
    return html`<div class="summary">
      ${
        search && best && !this.running
          ? html`<div
              class="card"
              id="cv-best"
              data-params=${JSON.stringify(best)}
              data-score=${String(search.bestScore)}
            >
              <h3>Best parameters</h3>
              <dl>
                <dt>best_params_</dt>
                <dd>
                  units ${formatHp(best.units as number)}, learning_rate
                  ${formatHp(best.learning_rate as number)}
                </dd>
                <dt>best_score_</dt>
                <dd>${pct(search.bestScore)} (mean over ${search.nSplits} folds)</dd>
              </dl>
              ${
                this.bestModel() || this.used
                  ? html`<button id="cv-use" ?disabled=${!this.bestModel()} @click=${() => this.useBest()}>
                      Use the best model
                    </button>`
                  : nothing
              }
              ${this.used ? html`<p class="status" id="cv-used">Current model: ${this.used}.</p>` : nothing}
              ${this.useError ? html`<p class="error" role="alert">${this.useError}</p>` : nothing}
            </div>`
          : rows.length === 0 && !this.running
            ? html`<p class="status" id="cv-none">No candidate finished all its folds.</p>`
            : nothing
      }
      ${
        m?.after !== undefined
          ? html`<p class="hint" id="cv-memory" data-before=${m.before} data-after=${m.after}>
              GPU memory in use: ${fmtBytes(m.before)} before the search, ${fmtBytes(m.after)} after it (every
              fold's model and the uploaded rows
              freed${m.after > m.before ? '; the refitted best model kept until the next search or “Use the best model”' : ''}).
            </p>`
          : nothing
      }
    </div>`;
  }
}

if (!customElements.get('mlp-tune-cv')) customElements.define('mlp-tune-cv', MlpTuneCv);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-tune-cv': MlpTuneCv;
  }
}
