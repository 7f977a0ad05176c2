/**
 * What the Lab, Vanishing gradients and Tune panels share: each trains a list of models in
 * turn on the same MNIST rows (Tune: one run, the search, whose tuner builds the models),
 * holding the DemoState lock, with Run / Stop, a progress bar, a status line and one error
 * line; its settings are text fields with smaller defaults on a software adapter.
 * ExperimentPanel runs that loop (datasets loaded once and disposed at the end, each model
 * disposed after its run, Stop applied between and within runs); a panel supplies its
 * settings, its runs, the shared data and how one run trains.
 */
import { css, html, LitElement, nothing, type PropertyDeclarations, type PropertyValues } from 'lit';
import type { Engine, GpuData, LayersModel, Logs } from '../../src/index.js';
import type { ChartPoint } from './chart.js';
import { BusyWatch, DemoState, standaloneState } from './state.js';
import { fmt } from './styles.js';

export type RunStatus = 'pending' | 'running' | 'done' | 'stopped' | 'skipped' | 'failed';

/** One model of an experiment, as the panel shows it. */
export interface ExperimentRun {
  status: RunStatus;
  /** Running mean of the training loss within each epoch, x in epochs (fit's 'batch' events). */
  trainCurve: ChartPoint[];
  error?: string;
}

/** fit()'s 'batch' and 'epoch' event details (verbose ≥ 1). */
export interface BatchDetail {
  epoch: number;
  step: number;
  steps: number;
  logs: Logs;
}

export interface EpochDetail {
  epoch: number;
  logs: Logs;
}

/** A whole number in [min, max] from a text field; the message names the field. */
export function intField(text: string, what: string, min: number, max: number): number {
  const v = Number(text.trim());
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(
      `${what} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got "${text}"`,
    );
  }
  return v;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The styles both panels use (adopted after panelStyles). */
export const experimentStyles = css`
  .controls {
    display: flex;
    flex-wrap: wrap;
    gap: 1rem 2.5rem;
    align-items: flex-start;
  }
  .actions {
    margin-top: 0.75rem;
  }
  .note {
    border-left: 3px solid #e0a100;
    background: var(--_note-bg);
    padding: 0.4rem 0.75rem;
    margin: 0 0 0.75rem;
    max-width: 60rem;
  }
  progress {
    width: 12rem;
  }
  .charts {
    margin-top: 1rem;
  }
  .charts mlp-chart {
    height: 340px;
  }
  tr.pending td,
  tr.skipped td {
    color: var(--_muted);
  }
  tr.running td {
    background: var(--_running-bg);
  }
`;

/**
 * The Lab and Vanishing gradients panels: R is one run's record, S the checked settings,
 * D the datasets the runs share.
 */
export abstract class ExperimentPanel<
  R extends ExperimentRun,
  S extends { epochs: number },
  D,
> extends LitElement {
  // Typed wide so that the panels declare their own (Lit adds these to them).
  static override properties: PropertyDeclarations = {
    state: { attribute: false },
    engine: { attribute: false },
    mnistUrl: { type: String, attribute: 'mnist-url' },
    runs: { state: true },
    running: { state: true },
    status: { state: true },
    error: { state: true },
  };

  /** The demo's shared state; on a page of its own the panel makes one (see connectedCallback). */
  declare state: DemoState | undefined;
  /** The engine for a panel on a page of its own (default: the page's, started if need be). */
  declare engine: Engine | undefined;
  /** Where the MNIST IDX files are (default ./mnist/, relative to the page). */
  declare mnistUrl: string | undefined;
  /** The current (or last) experiment's runs, in order. */
  declare runs: R[];
  declare running: boolean;
  declare status: string;
  declare error: string;
  /** The settings `runs` were made with. */
  protected settingsOfRuns: S | undefined;
  /** The model training now (Stop sets its stopTraining). */
  private training: LayersModel | undefined;
  private stopRequested = false;
  private defaultsFor: DemoState | undefined;

  /** Who holds the DemoState lock while this panel trains ('Lab'): other panels name it. */
  protected abstract readonly who: string;
  /** What the runs are, in the final status line ('scenarios'). */
  protected abstract readonly noun: string;
  /** Sets the text fields to the defaults (small ones on a software adapter). */
  protected abstract applyDefaults(fallback: boolean): void;
  /** The form's settings and the runs they make, all pending; throws a RangeError naming the field. */
  protected abstract plan(): { settings: S; runs: R[] };
  /** Loads the datasets the runs share; each one passed to `keep` is disposed after the runs. */
  protected abstract load(settings: S, state: DemoState, keep: (d: GpuData) => GpuData): Promise<D>;
  /**
   * Trains run `index` (through runModel, which builds, follows and disposes its model);
   * resolves with an error message if it failed.
   */
  protected abstract runOne(r: R, index: number, settings: S, data: D): Promise<string | undefined>;
  /** The run's name in messages ('Adam b32 BN+drop'). */
  protected abstract labelOf(r: R): string;

  /** Re-renders when another panel starts or ends training (the Run button waits for it). */
  protected readonly busyWatch = new BusyWatch(this);

  constructor() {
    super();
    this.state = undefined;
    this.engine = undefined;
    this.mnistUrl = undefined;
    this.runs = [];
    this.running = false;
    this.status = '';
    this.error = '';
  }

  protected get fallback(): boolean {
    return this.state?.engine.adapter.isFallback ?? false;
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('state')) return;
    if (this.state && this.defaultsFor !== this.state) {
      this.defaultsFor = this.state;
      this.applyDefaults(this.fallback);
    }
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.standalone().catch((e: unknown) => (this.error = message(e)));
  }

  /**
   * A panel on a page of its own (a package entry): once connected with no `state` given, it
   * makes its own around its `engine` or the page's (started if need be); the demo sets
   * `state` before the panel connects, so this does nothing there.
   */
  private async standalone(): Promise<void> {
    const own = await standaloneState(this);
    if (own) this.state = own;
  }

  /** Whether Stop was pressed (a method: TypeScript would narrow the field across awaits). */
  protected stopping(): boolean {
    return this.stopRequested;
  }

  private stop(): void {
    this.stopRequested = true;
    if (this.training) this.training.stopTraining = true;
    this.onStop();
    this.status = 'Stopping…';
  }

  /** Stop was pressed: a panel whose models are not trained through runModel stops them here. */
  protected onStop(): void {}

  /** Runs the experiment: every run in turn, holding the lock, on datasets loaded once. */
  protected async run(): Promise<void> {
    const state = this.state;
    if (!state || this.running) return;
    this.error = '';
    let planned: { settings: S; runs: R[] };
    try {
      planned = this.plan();
    } catch (e) {
      this.error = message(e);
      return;
    }
    const { settings, runs } = planned;
    this.stopRequested = false;
    const errors: string[] = [];
    try {
      await state.exclusive(this.who, async () => {
        this.running = true;
        this.runs = runs;
        this.settingsOfRuns = settings;
        const kept: GpuData[] = [];
        try {
          const data = await this.load(settings, state, (d) => {
            kept.push(d);
            return d;
          });
          for (const [i, r] of runs.entries()) {
            if (this.stopping()) {
              r.status = 'skipped';
              continue;
            }
            const error = await this.runOne(r, i, settings, data);
            if (error) errors.push(`${this.labelOf(r)}: ${error}`);
          }
        } finally {
          for (const d of kept) d.dispose();
        }
      });
      const done = this.runs.filter((r) => r.status === 'done').length;
      this.status = this.stopping()
        ? `Stopped: ${done} of ${this.runs.length} ${this.noun} finished.`
        : `Done: ${done} of ${this.runs.length} ${this.noun}.`;
    } catch (e) {
      errors.push(message(e));
      for (const r of this.runs) if (r.status === 'pending') r.status = 'skipped';
      this.status = '';
    } finally {
      this.running = false;
      this.training = undefined;
      this.error = errors.join('\n');
      this.requestUpdate();
    }
  }

  /**
   * One run's model: built, its fit() progress followed (the running training loss into
   * r.trainCurve, the status line "<where>: epoch e/n, step s/m, loss l", Stop), `body`
   * trains it and gives the run's final status; the model is disposed whatever happens.
   * Resolves with an error message if it failed.
   */
  protected async runModel(
    r: R,
    where: string,
    build: () => LayersModel,
    body: (model: LayersModel) => Promise<RunStatus>,
  ): Promise<string | undefined> {
    r.status = 'running';
    this.requestUpdate();
    let model: LayersModel | undefined;
    try {
      const m = build();
      model = m;
      this.training = m;
      const epochs = this.settingsOfRuns?.epochs ?? 1;
      m.events.addEventListener('batch', (e) => {
        const d = (e as CustomEvent<BatchDetail>).detail;
        // fit() clears stopTraining when it starts: Stop pressed before that applies here.
        if (this.stopping()) m.stopTraining = true;
        const loss = d.logs.loss;
        if (loss !== undefined && Number.isFinite(loss))
          r.trainCurve.push({ x: d.epoch + d.step / d.steps, y: loss });
        this.status = `${where}: epoch ${d.epoch + 1}/${epochs}, step ${d.step}/${d.steps}, loss ${fmt(loss)}`;
        this.requestUpdate();
      });
      r.status = await body(m);
      return undefined;
    } catch (e) {
      r.status = 'failed';
      r.error = message(e);
      return r.error;
    } finally {
      this.training = undefined;
      await model?.dispose();
      this.requestUpdate();
    }
  }

  /** The share of the experiment's epochs trained so far (the progress bar). */
  protected progress(): number {
    const epochs = this.settingsOfRuns?.epochs ?? 1;
    const total = this.runs.length * epochs;
    if (total === 0) return 0;
    let done = 0;
    for (const r of this.runs) {
      if (r.status === 'running') done += Math.min(epochs, r.trainCurve.at(-1)?.x ?? 0);
      else if (r.status !== 'pending') done += epochs;
    }
    return done / total;
  }

  /** A text field of the settings form: #<id>, disabled while running. */
  protected textField(id: string, label: string, value: string, set: (v: string) => void, numeric = true) {
    return html`<label for=${id}>${label}</label>
      <input
        id=${id}
        inputmode=${numeric ? 'numeric' : nothing}
        .value=${value}
        ?disabled=${this.running}
        @input=${(e: Event) => set((e.target as HTMLInputElement).value)}
      />`;
  }

  /**
   * Run and Stop (#run-<prefix>, #stop-<prefix>), the progress bar (#<prefix>-progress),
   * the status line (#<prefix>-status) and the errors (#<prefix>-error).
   */
  protected renderActions(prefix: string, runLabel: unknown) {
    const busyElsewhere = !this.running && this.state?.busy !== undefined;
    return html`<div class="row actions">
        <button
          id=${`run-${prefix}`}
          ?disabled=${this.running || busyElsewhere}
          title=${busyElsewhere ? `${this.state?.busy} is training` : ''}
          @click=${() => void this.run()}
        >
          ${runLabel}
        </button>
        <button
          id=${`stop-${prefix}`}
          class="secondary"
          ?disabled=${!this.running}
          @click=${() => this.stop()}
        >
          Stop
        </button>
        ${
          this.running
            ? html`<progress id=${`${prefix}-progress`} max="1" .value=${this.progress()}></progress>`
            : nothing
        }
        <span class="status" id=${`${prefix}-status`}
          >${busyElsewhere ? `${this.state?.busy} is training…` : this.status}</span
        >
      </div>
      ${this.error ? html`<p class="error" id=${`${prefix}-error`} role="alert">${this.error}</p>` : nothing}`;
  }
}
