/**
 * <mlp-lab>: the course's lab as one button. The same MLP (784-512-512-10 relu on a GPU) is
 * trained on the same MNIST rows with the same seed in 12 ways: batch size 16, 32, 64 × SGD
 * (Keras's default learning rate 0.01) and Adam (0.001) × with and without batch
 * normalization + dropout 0.2 after each hidden Dense. Validation and training curves are
 * overlaid, and a table gives each scenario's final, best and test figures.
 */
import { css, html, nothing } from 'lit';
import type { GpuData } from '../../src/index.js';
import './chart.js';
import type { ChartPoint, ChartSeries } from './chart.js';
import {
  ExperimentPanel,
  experimentStyles,
  intField,
  type BatchDetail,
  type EpochDetail,
  type ExperimentRun,
} from './experiment.js';
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

interface ScenarioRun extends ExperimentRun {
  scenario: LabScenario;
  epochs: EpochRow[];
  /** Validation loss and accuracy before training (the curves' epoch 0). */
  initial?: { valLoss: number; valAccuracy: number };
  test?: { loss: number; accuracy: number };
  seconds?: number;
  samplesPerSecond?: number;
}

interface LabSettings {
  hidden: number[];
  rows: number;
  testRows: number;
  epochs: number;
}

/** The datasets every scenario trains, validates and tests on. */
interface LabData {
  train: GpuData;
  validation: GpuData;
  test: GpuData;
}

function defaults(fallback: boolean): { hidden: string; rows: string; testRows: string; epochs: string } {
  return fallback
    ? { hidden: '64, 64', rows: '2000', testRows: '1000', epochs: '1' }
    : { hidden: '512, 512', rows: '60000', testRows: '10000', epochs: '10' };
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

export class MlpLab extends ExperimentPanel<ScenarioRun, LabSettings, LabData> {
  static override properties = {
    hiddenText: { state: true },
    rowsText: { state: true },
    testRowsText: { state: true },
    epochsText: { state: true },
    picked: { state: true },
    focused: { state: true },
  };

  static override styles = [
    panelStyles,
    experimentStyles,
    css`
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
      .charts {
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr));
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
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 0.4rem;
        margin: 1rem 0 0;
        padding: 0;
        list-style: none;
      }
      .legend button {
        display: inline-flex;
        align-items: center;
        gap: 0.35rem;
        background: var(--_surface);
        color: var(--_fg);
        border: 1px solid var(--_border);
        padding: 0.15rem 0.5rem;
        font-size: 13px;
      }
      .legend button[aria-pressed='true'] {
        border-color: var(--_link);
        box-shadow: inset 0 0 0 1px #2456a6;
        font-weight: 600;
      }
      .legend .line {
        display: inline-block;
        width: 1.4rem;
        border-top: 3px solid;
      }
      .legend .line.dashed {
        border-top-style: dashed;
      }
      .legend .shape {
        font-size: 11px;
        line-height: 1;
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
        background: var(--_highlight-bg);
        font-weight: 600;
      }
      .hint {
        color: var(--_muted);
        max-width: 62rem;
        margin: 0.6rem 0 0;
      }
    `,
  ];

  declare hiddenText: string;
  declare rowsText: string;
  declare testRowsText: string;
  declare epochsText: string;
  /** Ids of the scenarios to run. */
  declare picked: ReadonlySet<string>;
  /** The scenario the charts bring forward (the others faded), from the shared legend; none: all alike. */
  declare focused: string | undefined;
  protected readonly who = 'Lab';
  protected readonly noun = 'scenarios';

  constructor() {
    super();
    const d = defaults(false);
    this.hiddenText = d.hidden;
    this.rowsText = d.rows;
    this.testRowsText = d.testRows;
    this.epochsText = d.epochs;
    this.picked = new Set(LAB_SCENARIOS.map((s) => s.id));
    this.focused = undefined;
  }

  protected applyDefaults(fallback: boolean): void {
    const d = defaults(fallback);
    this.hiddenText = d.hidden;
    this.rowsText = d.rows;
    this.testRowsText = d.testRows;
    this.epochsText = d.epochs;
  }

  protected plan(): { settings: LabSettings; runs: ScenarioRun[] } {
    const settings = {
      hidden: parseHidden(this.hiddenText),
      rows: intField(this.rowsText, 'training rows', 100, 60_000),
      testRows: intField(this.testRowsText, 'test rows', 1, 10_000),
      epochs: intField(this.epochsText, 'epochs', 1, 1000),
    };
    const chosen = LAB_SCENARIOS.filter((s) => this.picked.has(s.id));
    if (chosen.length === 0) throw new RangeError('Tick at least one scenario to run.');
    return {
      settings,
      runs: chosen.map((scenario) => ({ scenario, status: 'pending', epochs: [], trainCurve: [] })),
    };
  }

  protected async load(cfg: LabSettings, state: DemoState, keep: (d: GpuData) => GpuData): Promise<LabData> {
    this.status = `Loading ${cfg.rows.toLocaleString('en-US')} training and ${cfg.testRows.toLocaleString('en-US')} test images…`;
    const mnist = await loadMnist(cfg.rows, cfg.testRows, this.mnistUrl);
    const split = trainValidation(mnist.train, cfg.rows, 0.1);
    return {
      train: keep(gpuSplit(state.engine, split.train, 'lab train')),
      validation: keep(gpuSplit(state.engine, split.validation, 'lab validation')),
      test: keep(gpuSplit(state.engine, mnist.test, 'lab test')),
    };
  }

  protected labelOf(r: ScenarioRun): string {
    return labelOf(r.scenario);
  }

  private toggle(id: string, on: boolean): void {
    const next = new Set(this.picked);
    if (on) next.add(id);
    else next.delete(id);
    this.picked = next;
  }

  /** Trains, evaluates and disposes one scenario's model. */
  protected runOne(
    r: ScenarioRun,
    index: number,
    cfg: LabSettings,
    { train, validation, test }: LabData,
  ): Promise<string | undefined> {
    const s = r.scenario;
    const where = `Scenario ${index + 1} of ${this.runs.length} (${labelOf(s)})`;
    this.status = `${where}: building the model…`;
    const build = () =>
      buildModel(
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
    return this.runModel(r, where, build, async (model) => {
      // Samples trained: whole epochs, plus the steps of one that Stop ended early.
      let trained = 0;
      let inEpoch = 0;
      model.events.addEventListener('batch', (e) => {
        const d = (e as CustomEvent<BatchDetail>).detail;
        inEpoch = Math.min(d.step * s.batchSize, train.rows);
      });
      model.events.addEventListener('epoch', (e) => {
        const { epoch, logs } = (e as CustomEvent<EpochDetail>).detail;
        trained += inEpoch; // the epoch's last 'batch' event came before this one
        inEpoch = 0;
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
      r.samplesPerSecond = trained / r.seconds;
      if (this.stopping()) return r.epochs.length > 0 ? 'stopped' : 'skipped';
      this.status = `${where}: evaluating on ${test.rows.toLocaleString('en-US')} test images…`;
      const t = await model.evaluate(test, undefined, { batchSize: 500 });
      r.test = { loss: t.loss ?? NaN, accuracy: t.accuracy ?? NaN };
      return 'done';
    });
  }

  /** The runs the charts and the shared legend show. */
  private shown(): ScenarioRun[] {
    return this.runs.filter((r) => r.status !== 'skipped');
  }

  /**
   * One series per scenario: its colour (optimizer × batch size), dashed without BN +
   * dropout, triangles for SGD and circles for Adam; with a scenario in focus, the others faded.
   */
  private series(pick: (r: ScenarioRun) => ChartPoint[]): ChartSeries[] {
    const focus = this.shown().some((r) => r.scenario.id === this.focused) ? this.focused : undefined;
    return this.shown().map((r) => ({
      label: labelOf(r.scenario),
      points: pick(r),
      color: colorOf(r.scenario),
      dashed: !r.scenario.bnDropout,
      pointStyle: r.scenario.optimizer === 'sgd' ? ('triangle' as const) : ('circle' as const),
      faded: focus !== undefined && r.scenario.id !== focus,
    }));
  }

  /** The charts' one legend: a button per scenario that brings it forward (press again for all). */
  private renderLegend() {
    const runs = this.shown();
    if (runs.length < 2) return nothing;
    return html`<ul
      class="legend"
      id="lab-legend"
      aria-label="Scenarios: press one to bring it forward in the charts"
    >
      ${runs.map((r) => {
        const s = r.scenario;
        const on = this.focused === s.id;
        return html`<li>
          <button
            type="button"
            data-scenario=${s.id}
            aria-pressed=${on ? 'true' : 'false'}
            @click=${() => (this.focused = on ? undefined : s.id)}
          >
            <span class=${s.bnDropout ? 'line' : 'line dashed'} style=${`border-color: ${colorOf(s)}`}></span>
            <span class="shape" style=${`color: ${colorOf(s)}`} aria-hidden="true"
              >${s.optimizer === 'sgd' ? '▲' : '●'}</span
            >
            ${labelOf(s)}
          </button>
        </li>`;
      })}
    </ul>`;
  }

  override render() {
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
            ${this.textField('lab-hidden', 'Hidden layers', this.hiddenText, (v) => (this.hiddenText = v), false)}
            ${this.textField('lab-rows', 'Training rows', this.rowsText, (v) => (this.rowsText = v))}
            ${this.textField('lab-test-rows', 'Test rows', this.testRowsText, (v) => (this.testRowsText = v))}
            ${this.textField('lab-epochs', 'Epochs', this.epochsText, (v) => (this.epochsText = v))}
          </form>
          ${this.renderPicks()}
        </div>
        ${this.renderActions(
          'lab',
          `Run ${this.picked.size === LAB_SCENARIOS.length ? 'all 12 scenarios' : `${this.picked.size} scenarios`}`,
        )}
      </div>
      ${this.renderLegend()}
      <div class="grid charts">
        <mlp-chart
          id="lab-val-accuracy"
          hide-legend
          heading="Validation accuracy (epoch 0: before training)"
          x-label="epoch"
          y-label="accuracy"
          .series=${this.series((r) => curve(r, (e) => e.valAccuracy))}
        ></mlp-chart>
        <mlp-chart
          id="lab-val-loss"
          hide-legend
          heading="Validation loss (epoch 0: before training)"
          x-label="epoch"
          y-label="loss"
          .series=${this.series((r) => curve(r, (e) => e.valLoss))}
        ></mlp-chart>
        <mlp-chart
          id="lab-train-loss"
          hide-legend
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
                      aria-label=${`${OPTIMIZER_LABEL[row.optimizer]}${row.bnDropout ? ' + BN + dropout' : ''}, batch ${b}`}
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
