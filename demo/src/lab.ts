/**
 * <mlp-lab>: the course's lab as one button. The same MLP (784-512-512-10 relu on a GPU) is
 * trained on the same MNIST rows with the same seed in 12 ways: batch size 16, 32, 64 × SGD
 * (Keras's default learning rate 0.01) and Adam (0.001) × with and without batch
 * normalization + dropout 0.2 after each hidden Dense. Validation and training curves are
 * overlaid, and a table gives each scenario's final, best and test figures.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import type { GpuData, LayersModel, Logs } from '../../src/index.js';
import './chart.js';
import type { ChartPoint, ChartSeries } from './chart.js';
import { gpuSplit, loadMnist, trainValidation } from './mnist.js';
import { buildModel, defaultLearningRate, parseHidden } from './models.js';
import type { DemoState } from './state.js';
import { fmt, panelStyles, pct } from './styles.js';

export interface LabScenario {
  /** 'adam-b32-bn', 'sgd-b16', ... */
  id: string;
  optimizer: 'sgd' | 'adam';
  batchSize: 16 | 32 | 64;
  /** BatchNormalization + Dropout(0.2) after each hidden Dense. */
  bnDropout: boolean;
}

const OPTIMIZER_LABEL = { sgd: 'SGD', adam: 'Adam' } as const;
const BATCHES = [16, 32, 64] as const;

/** The 12 scenarios, in the order they train and are listed. */
export const LAB_SCENARIOS: readonly LabScenario[] = (['sgd', 'adam'] as const).flatMap((optimizer) =>
  [false, true].flatMap((bnDropout) =>
    BATCHES.map((batchSize) => ({
      id: `${optimizer}-b${batchSize}${bnDropout ? '-bn' : ''}`,
      optimizer,
      batchSize,
      bnDropout,
    })),
  ),
);

/** One colour per optimizer × batch size; the BN+dropout variant is solid, the plain one dashed. */
const COLORS: Record<string, string> = {
  'sgd-16': '#ff7f0e',
  'sgd-32': '#d62728',
  'sgd-64': '#9467bd',
  'adam-16': '#17becf',
  'adam-32': '#1f77b4',
  'adam-64': '#2ca02c',
};

function colorOf(s: LabScenario): string {
  return COLORS[`${s.optimizer}-${s.batchSize}`] ?? '#333';
}

function labelOf(s: LabScenario): string {
  return `${OPTIMIZER_LABEL[s.optimizer]} b${s.batchSize}${s.bnDropout ? ' BN+drop' : ''}`;
}

const SEED = 1;
const DROPOUT = 0.2;

interface EpochRow {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
}

interface ScenarioRun {
  scenario: LabScenario;
  status: 'pending' | 'running' | 'done' | 'stopped' | 'skipped' | 'failed';
  epochs: EpochRow[];
  /** Validation loss and accuracy before training (the curves' epoch 0). */
  initial?: { valLoss: number; valAccuracy: number };
  /** Running mean of the training loss within each epoch, x in epochs (fit's 'batch' events). */
  trainCurve: ChartPoint[];
  test?: { loss: number; accuracy: number };
  seconds?: number;
  samplesPerSecond?: number;
  error?: string;
}

interface LabSettings {
  hidden: number[];
  rows: number;
  testRows: number;
  epochs: number;
}

function defaults(fallback: boolean): { hidden: string; rows: string; testRows: string; epochs: string } {
  return fallback
    ? { hidden: '64, 64', rows: '2000', testRows: '1000', epochs: '1' }
    : { hidden: '512, 512', rows: '60000', testRows: '10000', epochs: '10' };
}

function intField(text: string, what: string, min: number, max: number): number {
  const v = Number(text.trim());
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(
      `${what} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got "${text}"`,
    );
  }
  return v;
}

function best(run: ScenarioRun): EpochRow | undefined {
  return run.epochs.reduce<EpochRow | undefined>(
    (b, e) => (b === undefined || e.valAccuracy > b.valAccuracy ? e : b),
    undefined,
  );
}

/** A validation curve from epoch 0 (before training) on. */
function curve(r: ScenarioRun, y: (e: { valLoss: number; valAccuracy: number }) => number): ChartPoint[] {
  const start = r.initial ? [{ x: 0, y: y(r.initial) }] : [];
  return [...start, ...r.epochs.map((e) => ({ x: e.epoch, y: y(e) }))];
}

export class MlpLab extends LitElement {
  static override properties = {
    state: { attribute: false },
    hiddenText: { state: true },
    rowsText: { state: true },
    testRowsText: { state: true },
    epochsText: { state: true },
    picked: { state: true },
    runs: { state: true },
    running: { state: true },
    status: { state: true },
    error: { state: true },
  };

  static override styles = [
    panelStyles,
    css`
      .controls {
        display: flex;
        flex-wrap: wrap;
        gap: 1rem 2.5rem;
        align-items: flex-start;
      }
      form.config input {
        width: 8rem;
      }
      table.picks th,
      table.picks td {
        text-align: center;
        padding: 0.1rem 0.5rem;
        border: none;
      }
      table.picks th:first-child {
        text-align: left;
        font-weight: normal;
      }
      .actions {
        margin-top: 0.75rem;
      }
      .note {
        border-left: 3px solid #e0a100;
        background: #fff9e6;
        padding: 0.4rem 0.75rem;
        margin: 0 0 0.75rem;
        max-width: 60rem;
      }
      progress {
        width: 12rem;
      }
      .charts {
        margin-top: 1rem;
        grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
      }
      .charts mlp-chart {
        height: 340px;
      }
      .charts #lab-train-loss {
        grid-column: 1 / -1;
        height: 320px;
      }
      .results {
        overflow-x: auto;
      }
      #lab-results {
        width: 100%;
      }
      #lab-results td.swatch {
        width: 1.6rem;
      }
      .swatch span {
        display: inline-block;
        width: 1.4rem;
        border-top: 3px solid;
        vertical-align: middle;
      }
      .swatch span.dashed {
        border-top-style: dashed;
      }
      #lab-results th {
        font-weight: 600;
        white-space: nowrap;
      }
      #lab-results td:nth-child(-n + 4),
      #lab-results th:nth-child(-n + 4) {
        text-align: left;
      }
      tr.best td {
        background: #e8f6ec;
        font-weight: 600;
      }
      tr.pending td,
      tr.skipped td {
        color: #8a93a3;
      }
      tr.running td {
        background: #f0f5ff;
      }
      .hint {
        color: #4a5466;
        max-width: 62rem;
        margin: 0.6rem 0 0;
      }
    `,
  ];

  declare state: DemoState | undefined;
  declare hiddenText: string;
  declare rowsText: string;
  declare testRowsText: string;
  declare epochsText: string;
  /** Ids of the scenarios to run. */
  declare picked: ReadonlySet<string>;
  /** The current (or last) run's scenarios, in order. */
  declare runs: ScenarioRun[];
  declare running: boolean;
  declare status: string;
  declare error: string;
  private defaultsFor: DemoState | undefined;
  private stopRequested = false;
  private training: LayersModel | undefined;

  constructor() {
    super();
    this.state = undefined;
    const d = defaults(false);
    this.hiddenText = d.hidden;
    this.rowsText = d.rows;
    this.testRowsText = d.testRows;
    this.epochsText = d.epochs;
    this.picked = new Set(LAB_SCENARIOS.map((s) => s.id));
    this.runs = [];
    this.running = false;
    this.status = '';
    this.error = '';
  }

  private get fallback(): boolean {
    return this.state?.engine.adapter.isFallback ?? false;
  }

  private readonly onBusy = () => this.requestUpdate();
  private listeningTo: DemoState | undefined;

  /** Re-renders when another panel starts or ends training (the Run button waits for it). */
  private listen(): void {
    if (this.listeningTo === this.state) return;
    this.listeningTo?.removeEventListener('busy', this.onBusy);
    this.listeningTo = this.state;
    this.listeningTo?.addEventListener('busy', this.onBusy);
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('state')) return;
    if (this.isConnected) this.listen();
    if (this.state && this.defaultsFor !== this.state) {
      this.defaultsFor = this.state;
      const d = defaults(this.fallback);
      this.hiddenText = d.hidden;
      this.rowsText = d.rows;
      this.testRowsText = d.testRows;
      this.epochsText = d.epochs;
    }
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.listen();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.listeningTo?.removeEventListener('busy', this.onBusy);
    this.listeningTo = undefined;
  }

  /** Whether Stop was pressed (a method: TypeScript would narrow the field across awaits). */
  private stopping(): boolean {
    return this.stopRequested;
  }

  private settings(): LabSettings {
    return {
      hidden: parseHidden(this.hiddenText),
      rows: intField(this.rowsText, 'training rows', 100, 60_000),
      testRows: intField(this.testRowsText, 'test rows', 1, 10_000),
      epochs: intField(this.epochsText, 'epochs', 1, 1000),
    };
  }

  private toggle(id: string, on: boolean): void {
    const next = new Set(this.picked);
    if (on) next.add(id);
    else next.delete(id);
    this.picked = next;
  }

  private stop(): void {
    this.stopRequested = true;
    if (this.training) this.training.stopTraining = true;
    this.status = 'Stopping…';
  }

  private async run(): Promise<void> {
    const state = this.state;
    if (!state || this.running) return;
    this.error = '';
    let cfg: LabSettings;
    try {
      cfg = this.settings();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      return;
    }
    const chosen = LAB_SCENARIOS.filter((s) => this.picked.has(s.id));
    if (chosen.length === 0) {
      this.error = 'Tick at least one scenario to run.';
      return;
    }
    this.stopRequested = false;
    const errors: string[] = [];
    try {
      await state.exclusive('Lab', async () => {
        this.running = true;
        this.runs = chosen.map((scenario) => ({ scenario, status: 'pending', epochs: [], trainCurve: [] }));
        const data: GpuData[] = [];
        try {
          this.status = `Loading ${cfg.rows.toLocaleString('en-US')} training and ${cfg.testRows.toLocaleString('en-US')} test images…`;
          const mnist = await loadMnist(cfg.rows, cfg.testRows);
          const split = trainValidation(mnist.train, cfg.rows, 0.1);
          const train = gpuSplit(state.engine, split.train, 'lab train');
          data.push(train);
          const validation = gpuSplit(state.engine, split.validation, 'lab validation');
          data.push(validation);
          const test = gpuSplit(state.engine, mnist.test, 'lab test');
          data.push(test);
          for (const [i, r] of this.runs.entries()) {
            if (this.stopRequested) {
              r.status = 'skipped';
              continue;
            }
            const error = await this.runScenario(r, i, cfg, train, validation, test);
            if (error) errors.push(`${labelOf(r.scenario)}: ${error}`);
          }
        } finally {
          for (const d of data) d.dispose();
        }
      });
      const done = this.runs.filter((r) => r.status === 'done').length;
      this.status = this.stopping()
        ? `Stopped: ${done} of ${this.runs.length} scenarios finished.`
        : `Done: ${done} of ${this.runs.length} scenarios.`;
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
      for (const r of this.runs) if (r.status === 'pending') r.status = 'skipped';
      this.status = '';
    } finally {
      this.running = false;
      this.training = undefined;
      this.error = errors.join('\n');
      this.requestUpdate();
    }
  }

  /** Trains, evaluates and disposes one scenario's model; returns an error message if it failed. */
  private async runScenario(
    r: ScenarioRun,
    index: number,
    cfg: LabSettings,
    train: GpuData,
    validation: GpuData,
    test: GpuData,
  ): Promise<string | undefined> {
    const s = r.scenario;
    const where = `Scenario ${index + 1} of ${this.runs.length} (${labelOf(s)})`;
    r.status = 'running';
    this.status = `${where}: building the model…`;
    this.requestUpdate();
    let model: LayersModel | undefined;
    try {
      model = buildModel(
        {
          hidden: cfg.hidden,
          activation: 'relu',
          initializer: 'glorot_uniform',
          batchNorm: s.bnDropout,
          dropout: s.bnDropout ? DROPOUT : 0,
          optimizer: s.optimizer,
          learningRate: defaultLearningRate(s.optimizer),
          batchSize: s.batchSize,
          epochs: cfg.epochs,
          seed: SEED,
        },
        { name: `lab_${s.id.replaceAll('-', '_')}` },
      );
      this.training = model;
      model.events.addEventListener('batch', (e) => {
        const d = (e as CustomEvent<{ epoch: number; step: number; steps: number; logs: Logs }>).detail;
        const loss = d.logs.loss;
        // Stop pressed while the model was built: fit() cleared stopTraining when it started.
        if (this.stopRequested && model) model.stopTraining = true;
        if (loss !== undefined && Number.isFinite(loss))
          r.trainCurve.push({ x: d.epoch + d.step / d.steps, y: loss });
        this.status = `${where}: epoch ${d.epoch + 1}/${cfg.epochs}, step ${d.step}/${d.steps}, loss ${fmt(loss)}`;
        this.requestUpdate();
      });
      model.events.addEventListener('epoch', (e) => {
        const { epoch, logs } = (e as CustomEvent<{ epoch: number; logs: Logs }>).detail;
        r.epochs.push({
          epoch: epoch + 1,
          loss: logs.loss ?? NaN,
          accuracy: logs.accuracy ?? NaN,
          valLoss: logs.val_loss ?? NaN,
          valAccuracy: logs.val_accuracy ?? NaN,
        });
        this.requestUpdate();
      });
      this.status = `${where}: validating the untrained model…`;
      const v0 = await model.evaluate(validation, undefined, { batchSize: 500 });
      r.initial = { valLoss: v0.loss ?? NaN, valAccuracy: v0.accuracy ?? NaN };
      const t0 = performance.now();
      await model.fit(train, undefined, {
        epochs: cfg.epochs,
        batchSize: s.batchSize,
        validationData: [validation, undefined],
        verbose: 1,
        seed: SEED,
      });
      r.seconds = (performance.now() - t0) / 1000;
      r.samplesPerSecond = (train.rows * r.epochs.length) / r.seconds;
      if (this.stopRequested) {
        r.status = r.epochs.length > 0 ? 'stopped' : 'skipped';
        return undefined;
      }
      this.status = `${where}: evaluating on ${test.rows.toLocaleString('en-US')} test images…`;
      const t = await model.evaluate(test, undefined, { batchSize: 500 });
      r.test = { loss: t.loss ?? NaN, accuracy: t.accuracy ?? NaN };
      r.status = 'done';
      return undefined;
    } catch (e) {
      r.status = 'failed';
      r.error = e instanceof Error ? e.message : String(e);
      return r.error;
    } finally {
      this.training = undefined;
      await model?.dispose();
      this.requestUpdate();
    }
  }

  private series(pick: (r: ScenarioRun) => ChartPoint[]): ChartSeries[] {
    return this.runs
      .filter((r) => r.status !== 'skipped')
      .map((r) => ({
        label: labelOf(r.scenario),
        points: pick(r),
        color: colorOf(r.scenario),
        dashed: !r.scenario.bnDropout,
      }));
  }

  override render() {
    const busyElsewhere = !this.running && this.state?.busy !== undefined;
    const d = defaults(true);
    return html`
      <h2>Lab: batch size × optimizer × batch normalization + dropout</h2>
      <p class="lead">
        The course's exercise: the same ReLU MLP, trained on the same MNIST rows with the same seed, in 12
        ways — batch sizes 16, 32 and 64; SGD (learning rate 0.01) and Adam (0.001), Keras's defaults; with
        and without batch normalization + dropout ${DROPOUT} after each hidden Dense. The last 10% of the
        training rows validate; the test images are evaluated at the end of each scenario.
      </p>
      ${
        this.fallback
          ? html`<p class="note" id="lab-fallback">
              This browser's WebGPU adapter is a software one (${this.state?.engine.adapter.name}), so the
              defaults are small: 784-${d.hidden.replace(', ', '-')}-10,
              ${Number(d.rows).toLocaleString('en-US')} rows, ${d.epochs} epoch,
              ${Number(d.testRows).toLocaleString('en-US')} test images. The course uses 784-512-512-10 on
              60,000 rows for 10 epochs.
            </p>`
          : nothing
      }
      <div class="card">
        <div class="controls">
          <form class="config" @submit=${(e: Event) => e.preventDefault()}>
            <label for="lab-hidden">Hidden layers</label>
            <input
              id="lab-hidden"
              .value=${this.hiddenText}
              ?disabled=${this.running}
              @input=${(e: Event) => (this.hiddenText = (e.target as HTMLInputElement).value)}
            />
            <label for="lab-rows">Training rows</label>
            <input
              id="lab-rows"
              inputmode="numeric"
              .value=${this.rowsText}
              ?disabled=${this.running}
              @input=${(e: Event) => (this.rowsText = (e.target as HTMLInputElement).value)}
            />
            <label for="lab-test-rows">Test rows</label>
            <input
              id="lab-test-rows"
              inputmode="numeric"
              .value=${this.testRowsText}
              ?disabled=${this.running}
              @input=${(e: Event) => (this.testRowsText = (e.target as HTMLInputElement).value)}
            />
            <label for="lab-epochs">Epochs</label>
            <input
              id="lab-epochs"
              inputmode="numeric"
              .value=${this.epochsText}
              ?disabled=${this.running}
              @input=${(e: Event) => (this.epochsText = (e.target as HTMLInputElement).value)}
            />
          </form>
          ${this.renderPicks()}
        </div>
        <div class="row actions">
          <button
            id="run-lab"
            ?disabled=${this.running || busyElsewhere}
            title=${busyElsewhere ? `${this.state?.busy} is training` : ''}
            @click=${() => void this.run()}
          >
            Run
            ${this.picked.size === LAB_SCENARIOS.length ? 'all 12 scenarios' : `${this.picked.size} scenarios`}
          </button>
          <button id="stop-lab" class="secondary" ?disabled=${!this.running} @click=${() => this.stop()}>
            Stop
          </button>
          ${this.running ? html`<progress id="lab-progress" max="1" .value=${this.progress()}></progress>` : nothing}
          <span class="status" id="lab-status"
            >${busyElsewhere ? `${this.state?.busy} is training…` : this.status}</span
          >
        </div>
        ${this.error ? html`<p class="error" id="lab-error" role="alert">${this.error}</p>` : nothing}
      </div>
      <div class="grid charts">
        <mlp-chart
          id="lab-val-accuracy"
          heading="Validation accuracy (epoch 0: before training)"
          x-label="epoch"
          y-label="accuracy"
          .series=${this.series((r) => curve(r, (e) => e.valAccuracy))}
        ></mlp-chart>
        <mlp-chart
          id="lab-val-loss"
          heading="Validation loss (epoch 0: before training)"
          x-label="epoch"
          y-label="loss"
          .series=${this.series((r) => curve(r, (e) => e.valLoss))}
        ></mlp-chart>
        <mlp-chart
          id="lab-train-loss"
          heading="Training loss (mean over the epoch so far)"
          x-label="epoch"
          y-label="loss"
          .series=${this.series((r) => r.trainCurve)}
        ></mlp-chart>
      </div>
      <h3>Results</h3>
      ${this.renderResults()}
    `;
  }

  private progress(): number {
    const epochs = Number(this.epochsText) || 1;
    const total = this.runs.length * epochs;
    if (total === 0) return 0;
    let done = 0;
    for (const r of this.runs) {
      if (r.status === 'running') {
        const last = r.trainCurve.at(-1)?.x ?? 0;
        done += Math.min(epochs, last);
      } else if (r.status !== 'pending') done += epochs;
    }
    return done / total;
  }

  private renderPicks() {
    const rows = (['sgd', 'adam'] as const).flatMap((optimizer) =>
      [false, true].map((bnDropout) => ({ optimizer, bnDropout })),
    );
    return html`<div>
      <table class="picks" id="lab-picks">
        <thead>
          <tr>
            <th>Scenarios</th>
            ${BATCHES.map((b) => html`<th>batch ${b}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (row) =>
              html`<tr>
                <th>${OPTIMIZER_LABEL[row.optimizer]}${row.bnDropout ? ' + BN + dropout' : ''}</th>
                ${BATCHES.map((b) => {
                  const id = `${row.optimizer}-b${b}${row.bnDropout ? '-bn' : ''}`;
                  return html`<td>
                    <input
                      type="checkbox"
                      id=${`pick-${id}`}
                      aria-label=${id}
                      .checked=${this.picked.has(id)}
                      ?disabled=${this.running}
                      @change=${(e: Event) => this.toggle(id, (e.target as HTMLInputElement).checked)}
                    />
                  </td>`;
                })}
              </tr>`,
          )}
        </tbody>
      </table>
      <div class="row">
        <button
          class="secondary"
          id="pick-all"
          ?disabled=${this.running}
          @click=${() => (this.picked = new Set(LAB_SCENARIOS.map((s) => s.id)))}
        >
          All
        </button>
        <button
          class="secondary"
          id="pick-none"
          ?disabled=${this.running}
          @click=${() => (this.picked = new Set())}
        >
          None
        </button>
      </div>
    </div>`;
  }

  private renderResults() {
    if (this.runs.length === 0) {
      return html`<p class="status" id="lab-no-results">Run the lab to fill the table.</p>`;
    }
    const done = this.runs.filter((r) => r.status === 'done' && r.test);
    const top = done.reduce<ScenarioRun | undefined>(
      (b, r) => (b === undefined || (r.test?.accuracy ?? 0) > (b.test?.accuracy ?? 0) ? r : b),
      undefined,
    );
    const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));
    return html`<div class="results">
        <table id="lab-results">
          <thead>
            <tr>
              <th></th>
              <th>Optimizer</th>
              <th>Batch</th>
              <th>BN + dropout</th>
              <th>Train loss</th>
              <th>Train acc</th>
              <th>Val loss</th>
              <th>Val acc</th>
              <th>Best val acc (epoch)</th>
              <th>Test acc</th>
              <th>Time</th>
              <th>Samples/s</th>
            </tr>
          </thead>
          <tbody>
            ${this.runs.map((r) => {
              const s = r.scenario;
              const last = r.epochs.at(-1);
              const b = best(r);
              const cls = `${r.status}${r === top ? ' best' : ''}`;
              const time =
                r.status === 'running'
                  ? 'training…'
                  : r.status === 'pending' || r.status === 'skipped' || r.status === 'failed'
                    ? r.status
                    : `${fmt(r.seconds, 3)} s${r.status === 'stopped' ? ' (stopped)' : ''}`;
              return html`<tr
                class=${cls}
                data-scenario=${s.id}
                data-status=${r.status}
                data-best=${r === top ? 'true' : 'false'}
                data-epochs=${r.epochs.length}
                data-train-loss=${num(last?.loss)}
                data-train-accuracy=${num(last?.accuracy)}
                data-val-loss=${num(last?.valLoss)}
                data-val-accuracy=${num(last?.valAccuracy)}
                data-best-val-accuracy=${num(b?.valAccuracy)}
                data-best-epoch=${num(b?.epoch)}
                data-test-accuracy=${num(r.test?.accuracy)}
                data-test-loss=${num(r.test?.loss)}
                data-seconds=${num(r.seconds)}
                data-samples-per-second=${num(r.samplesPerSecond)}
                title=${r.error ?? ''}
              >
                <td class="swatch">
                  <span class=${s.bnDropout ? '' : 'dashed'} style=${`border-color: ${colorOf(s)}`}></span>
                </td>
                <td>${OPTIMIZER_LABEL[s.optimizer]}</td>
                <td>${s.batchSize}</td>
                <td>${s.bnDropout ? 'yes' : 'no'}</td>
                <td>${fmt(last?.loss)}</td>
                <td>${pct(last?.accuracy)}</td>
                <td>${fmt(last?.valLoss)}</td>
                <td>${pct(last?.valAccuracy)}</td>
                <td>${b ? `${pct(b.valAccuracy)} (${b.epoch})` : '—'}</td>
                <td>${pct(r.test?.accuracy)}</td>
                <td>${time}</td>
                <td>${fmt(r.samplesPerSecond, 3)}</td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>
      <p class="hint">
        ${top ? html`Highlighted: the best test accuracy. ` : nothing}Time and samples/s are those of
        <code>fit</code> (training images per second, validation included); GPU kernels are compiled the first
        time each one is needed, mostly in the first scenario, and reused after.
      </p>
      <p class="hint" id="lab-explain">
        <b>What to look for.</b> A smaller batch makes more, noisier updates per epoch (more steps, fewer
        samples/s); large batches tend to settle in sharper minima that generalise slightly worse (Keskar et
        al. measured 98.03% vs 97.81% test accuracy on an MNIST MLP). Adam scales each weight's step by its
        gradient's recent size, so at Keras's default learning rates it often learns faster in the first
        epochs than plain SGD. Batch normalization and dropout regularise: dropout drops units only while
        training, so the training loss with it is measured on a weakened network and is usually higher than
        without it, while the gap between training and validation narrows.
      </p>`;
  }
}

if (!customElements.get('mlp-lab')) customElements.define('mlp-lab', MlpLab);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-lab': MlpLab;
  }
}
