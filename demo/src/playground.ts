/**
 * <mlp-playground>: the 2-D intuition TensorFlow Playground gives, trained on the GPU. Pick
 * a toy dataset (circles, XOR, Gaussians, spirals), its noise and training share, the input
 * features, the hidden layers, activation, L1/L2 and learning rate; Train runs epoch after
 * epoch until Pause, and after each epoch the decision boundary (the model's prediction on
 * a 40 × 40 grid) and each hidden unit's output over the same grid are redrawn, with the
 * training and test loss. In the demo it shares the demo's state (one job at a time); on
 * another page (the package's `webgpu-mlp/playground` entry) it trains on its `engine` or the
 * page's, its attributes (problem, noise, hidden-layers, activation, learning-rate) set the
 * form, and it fires `mlp-playground-epoch` after each epoch.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import './chart.js';
import type { ChartPoint, ChartSeries } from './chart.js';
import {
  DATASET_LABELS,
  DATASETS,
  FEATURE_IDS,
  FEATURES,
  makeDataset,
  splitTrainTest,
  type DatasetKind,
  type FeatureId,
  type PointSet,
} from './playground-data.js';
import { drawCells, drawPoints, unitScale } from './playground-draw.js';
import {
  checkPlaygroundSettings,
  MAX_LAYERS,
  MAX_UNITS,
  PLAYGROUND_ACTIVATIONS,
  PLAYGROUND_DEFAULTS,
  parseHidden,
  PlaygroundRun,
  REGULARIZATIONS,
  type PlaygroundActivation,
  type PlaygroundSettings,
  type Regularization,
  type UnitMap,
} from './playground-model.js';
import { BusyWatch, DemoState } from './state.js';
import { pageWebGPU } from './webgpu.js';
import type { Engine } from '../../src/index.js';
import { fmt, panelStyles, pct } from './styles.js';

const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3];
const REGULARIZATION_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
/** The boundary canvas's size in CSS pixels (it shrinks to fit a narrow column). */
const SIZE = 320;
const RESOLUTION = 40;

interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss: number;
  accuracy: number;
  valAccuracy: number;
}

export class MlpPlayground extends LitElement {
  static override properties = {
    state: { attribute: false },
    engine: { attribute: false },
    problem: { type: String },
    noise: { type: Number },
    trainShare: { state: true },
    batchText: { state: true },
    features: { state: true },
    hiddenText: { type: String, attribute: 'hidden-layers' },
    activation: { type: String },
    regularization: { state: true },
    regularizationRate: { state: true },
    learningRate: { type: Number, attribute: 'learning-rate' },
    showTest: { state: true },
    running: { state: true },
    error: { state: true },
    history: { state: true },
    units: { state: true },
    run: { state: true },
  };

  static override styles = [
    panelStyles,
    css`
      .layout {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr));
        gap: 1rem;
        align-items: start;
      }
      form.config select,
      form.config input[type='text'] {
        width: 9rem;
      }
      fieldset {
        border: none;
        padding: 0;
        margin: 0.4rem 0 0;
      }
      legend {
        color: var(--_muted);
        padding: 0;
        margin-bottom: 0.2rem;
      }
      .features label {
        display: inline-flex;
        gap: 0.25rem;
        align-items: center;
        margin-right: 0.6rem;
        white-space: nowrap;
      }
      .plot {
        position: relative;
        width: min(100%, ${SIZE}px);
        aspect-ratio: 1;
      }
      .plot canvas {
        position: absolute;
        inset: 0;
        width: 100%;
        height: 100%;
      }
      #boundary {
        border-radius: 4px;
        outline: 1px solid var(--_border);
      }
      .units {
        display: flex;
        flex-direction: column;
        gap: 0.4rem;
      }
      .units .layer {
        display: flex;
        flex-wrap: wrap;
        gap: 0.3rem;
        align-items: center;
      }
      .units .layer > span {
        width: 4.5rem;
        color: var(--_muted);
      }
      .units canvas {
        width: 44px;
        height: 44px;
        border-radius: 3px;
        outline: 1px solid var(--_border);
        image-rendering: auto;
      }
      .numbers {
        font-variant-numeric: tabular-nums;
        margin: 0.5rem 0;
      }
      .numbers b {
        font-weight: 600;
      }
      .hint {
        color: var(--_muted);
        margin: 0.4rem 0 0;
        max-width: 60rem;
      }
      mlp-chart {
        height: 220px;
        margin-top: 0.75rem;
      }
    `,
  ];

  /** The demo's shared state (engine and one-job-at-a-time lock); a page embedding the element leaves it unset. */
  declare state: DemoState | undefined;
  /** The engine to train on when there is no `state`; without either, the page's engine (started if need be). */
  declare engine: Engine | undefined;
  declare problem: DatasetKind;
  /** Noise in percent (0..50). */
  declare noise: number;
  /** Training share in percent (10..90). */
  declare trainShare: number;
  declare batchText: string;
  declare features: FeatureId[];
  declare hiddenText: string;
  declare activation: PlaygroundActivation;
  declare regularization: Regularization;
  declare regularizationRate: number;
  declare learningRate: number;
  declare showTest: boolean;
  declare running: boolean;
  declare error: string;
  declare history: EpochRecord[];
  /** Each hidden unit's output over the grid, as last drawn. */
  declare units: UnitMap[][];
  /** The run being trained (or paused); undefined before the first Train and after a change. */
  declare run: PlaygroundRun | undefined;
  /** The boundary as last drawn: P(class 1) per grid cell (a test compares it with the model's own predictions). */
  drawn: { boundary: Float32Array; epoch: number } | undefined;
  private pauseRequested = false;
  private selfState: DemoState | undefined;

  /** Re-renders when another panel starts or ends training (the Run button waits for it). */
  protected readonly busyWatch = new BusyWatch(this);

  constructor() {
    super();
    const d = PLAYGROUND_DEFAULTS;
    this.state = undefined;
    this.engine = undefined;
    this.problem = d.dataset;
    this.noise = d.noise * 100;
    this.trainShare = d.trainFraction * 100;
    this.batchText = String(d.batchSize);
    this.features = [...d.features];
    this.hiddenText = d.hidden.join(', ');
    this.activation = d.activation;
    this.regularization = d.regularization;
    this.regularizationRate = d.regularizationRate;
    this.learningRate = d.learningRate;
    this.showTest = false;
    this.running = false;
    this.error = '';
    this.history = [];
    this.units = [];
    this.run = undefined;
    this.drawn = undefined;
  }

  /** The form's settings; throws a RangeError that names the field. */
  settings(): PlaygroundSettings {
    const batch = Number(this.batchText.trim());
    const s: PlaygroundSettings = {
      ...PLAYGROUND_DEFAULTS,
      dataset: this.problem,
      noise: this.noise / 100,
      trainFraction: this.trainShare / 100,
      features: FEATURE_IDS.filter((f) => this.features.includes(f)),
      hidden: parseHidden(this.hiddenText),
      activation: this.activation,
      regularization: this.regularization,
      regularizationRate: this.regularizationRate,
      learningRate: this.learningRate,
      batchSize: batch,
    };
    if (this.batchText.trim() === '' || !Number.isSafeInteger(batch))
      throw new RangeError(`batch size must be a whole number, got "${this.batchText}"`);
    checkPlaygroundSettings(s);
    return s;
  }

  /** A setting changed: the current run ends (the next Train starts a new one) and the data is redrawn. */
  private changed(apply: () => void): void {
    apply();
    void this.reset();
  }

  /** Drops the run (its GPU data and model) and redraws the dataset with no boundary. */
  async reset(): Promise<void> {
    if (this.running) return;
    const old = this.run;
    this.run = undefined;
    this.drawn = undefined;
    this.history = [];
    this.units = [];
    this.error = '';
    await old?.dispose();
    await this.updateComplete;
    this.drawData();
  }

  /** The points to draw: the run's, or (before one) the dataset the settings make. */
  private points(): { train: PointSet; test: PointSet } | undefined {
    if (this.run) return { train: this.run.train, test: this.run.test };
    try {
      const s = this.settings();
      return splitTrainTest(makeDataset(s.dataset, s.points, s.noise, s.seed), s.trainFraction, s.seed);
    } catch {
      return undefined;
    }
  }

  private drawData(): void {
    const boundary = this.renderRoot.querySelector<HTMLCanvasElement>('#boundary');
    const overlay = this.renderRoot.querySelector<HTMLCanvasElement>('#points');
    if (!boundary || !overlay) return;
    if (this.drawn) drawCells(boundary, this.drawn.boundary, RESOLUTION, (v) => v);
    else drawCells(boundary, new Float32Array(RESOLUTION * RESOLUTION).fill(0.5), RESOLUTION, (v) => v);
    const pts = this.points();
    // Invalid settings make no dataset: no points rather than the last ones.
    const none = { xy: new Float32Array(0), labels: new Uint8Array(0) };
    drawPoints(overlay, SIZE, pts?.train ?? none, pts && this.showTest ? pts.test : undefined);
  }

  private drawUnits(): void {
    this.units.forEach((layer, l) =>
      layer.forEach((u, i) => {
        const canvas = this.renderRoot.querySelector<HTMLCanvasElement>(`#unit-${l + 1}-${i + 1}`);
        const maxAbs = Math.max(Math.abs(u.min), Math.abs(u.max));
        const activation = this.run?.settings.activation ?? this.activation;
        if (canvas) drawCells(canvas, u.values, RESOLUTION, (v) => unitScale(v, activation, maxAbs));
      }),
    );
  }

  override firstUpdated(): void {
    this.drawData();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    // An attribute (or property) set after the first render: the run in hand no longer matches
    // the form, so it ends, as a change in the form does.
    const settings = ['problem', 'noise', 'hiddenText', 'activation', 'learningRate'] as const;
    if (this.hasUpdated && !this.running && settings.some((k) => changed.has(k))) void this.reset();
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('units')) this.drawUnits();
    if (changed.has('showTest')) this.drawData();
  }

  /** Reads the boundary and the hidden units from the run and draws them. */
  private async redraw(run: PlaygroundRun): Promise<void> {
    const boundary = await run.boundary();
    this.units = await run.hiddenUnits();
    this.drawn = { boundary, epoch: run.epoch };
    await this.updateComplete;
    this.drawData();
  }

  /** The state to train under: the demo's, or the element's own around its engine. */
  private async ownState(): Promise<DemoState> {
    if (this.state) return this.state;
    if (!this.selfState) {
      let engine = this.engine;
      if (!engine) {
        const status = await pageWebGPU();
        if (!status.ok) throw new Error(`${status.title}. ${status.detail}`);
        engine = status.engine;
      }
      this.selfState = new DemoState(engine);
    }
    return this.selfState;
  }

  /** Trains epoch after epoch (or `epochs` of them) until Pause, redrawing after each. */
  async train(epochs = Infinity): Promise<void> {
    if (this.running) return;
    this.error = '';
    this.pauseRequested = false;
    // Running from here, before the first await: a second click cannot start a second loop.
    this.running = true;
    try {
      const settings = this.settings();
      const state = await this.ownState();
      await state.exclusive('Playground', async () => {
        if (!this.run) {
          this.run = new PlaygroundRun(state.engine, settings, RESOLUTION);
          this.history = [];
        }
        const run = this.run;
        for (let i = 0; i < epochs && !this.pauseRequested && this.isConnected; i++) {
          const logs = await run.trainEpochs(1);
          this.history = [
            ...this.history,
            {
              epoch: run.epoch,
              loss: logs.loss ?? NaN,
              valLoss: logs.val_loss ?? NaN,
              accuracy: logs.accuracy ?? NaN,
              valAccuracy: logs.val_accuracy ?? NaN,
            },
          ];
          await this.redraw(run);
          this.dispatchEvent(
            new CustomEvent('mlp-playground-epoch', {
              detail: { epoch: run.epoch, logs },
              bubbles: true,
              composed: true,
            }),
          );
          // Let the page paint (and take a click on Pause) before the next epoch.
          await new Promise((resolve) => requestAnimationFrame(resolve));
        }
      });
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.running = false;
      // Removed from the page while training: its run (model and GPU data) goes with it.
      if (!this.isConnected) void this.reset();
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.pauseRequested = true; // a loop in progress ends after its epoch, then frees the run
    if (!this.running) void this.reset();
  }

  /** Pause takes effect at the end of the epoch in progress (a few dozen steps). */
  private pause(): void {
    this.pauseRequested = true;
  }

  private lossSeries(): ChartSeries[] {
    const points = (y: (r: EpochRecord) => number): ChartPoint[] =>
      this.history.map((r) => ({ x: r.epoch, y: y(r) })).filter((p) => Number.isFinite(p.y));
    return [
      { label: 'training loss', points: points((r) => r.loss), color: '#1f77b4' },
      { label: 'test loss', points: points((r) => r.valLoss), color: '#d62728', dashed: true },
    ];
  }

  private select<T extends string | number>(
    id: string,
    label: string,
    value: T,
    options: readonly T[],
    text: (v: T) => string,
    set: (v: T) => void,
  ) {
    return html`<label for=${id}>${label}</label>
      <select
        id=${id}
        ?disabled=${this.running}
        @change=${(e: Event) => {
          const i = (e.target as HTMLSelectElement).selectedIndex;
          const v = options[i];
          if (v !== undefined) this.changed(() => set(v));
        }}
      >
        ${options.map((o) => html`<option ?selected=${o === value}>${text(o)}</option>`)}
      </select>`;
  }

  private range(
    id: string,
    label: string,
    value: number,
    min: number,
    max: number,
    step: number,
    set: (v: number) => void,
  ) {
    return html`<label for=${id}>${label}</label>
      <span class="row">
        <input
          id=${id}
          type="range"
          min=${min}
          max=${max}
          step=${step}
          .value=${String(value)}
          ?disabled=${this.running}
          @change=${(e: Event) => this.changed(() => set(Number((e.target as HTMLInputElement).value)))}
        />
        <output for=${id}>${value}%</output>
      </span>`;
  }

  override render() {
    const busyElsewhere = !this.running && this.state?.busy !== undefined;
    const last = this.history.at(-1);
    return html`
      <h2>Playground</h2>
      <p class="lead">
        A small network on a 2-D problem, trained on the GPU with SGD and binary cross-entropy as TensorFlow
        Playground does. The background is the model's probability of blue at each point (orange: the other
        class), redrawn after every epoch; beside it, what each hidden unit computes over the same square.
      </p>
      <div class="layout">
        <div class="card">
          <form class="config" @submit=${(e: Event) => e.preventDefault()}>
            ${this.select(
              'pg-dataset',
              'Dataset',
              this.problem,
              DATASETS,
              (d) => DATASET_LABELS[d],
              (v) => (this.problem = v),
            )}
            ${this.range('pg-noise', 'Noise', this.noise, 0, 50, 5, (v) => (this.noise = v))}
            ${this.range('pg-share', 'Training share', this.trainShare, 10, 90, 10, (v) => (this.trainShare = v))}
            <label for="pg-hidden">Hidden layers</label>
            <input
              id="pg-hidden"
              type="text"
              .value=${this.hiddenText}
              ?disabled=${this.running}
              aria-describedby="pg-hidden-hint"
              @change=${(e: Event) => this.changed(() => (this.hiddenText = (e.target as HTMLInputElement).value))}
            />
            ${this.select('pg-activation', 'Activation', this.activation, PLAYGROUND_ACTIVATIONS, String, (v) => (this.activation = v))}
            ${this.select(
              'pg-lr',
              'Learning rate',
              this.learningRate,
              LEARNING_RATES.includes(this.learningRate)
                ? LEARNING_RATES
                : [...LEARNING_RATES, this.learningRate].sort((x, y) => x - y),
              String,
              (v) => (this.learningRate = v),
            )}
            ${this.select(
              'pg-reg',
              'Regularization',
              this.regularization,
              REGULARIZATIONS,
              (r) => (r === 'none' ? 'none' : r.toUpperCase()),
              (v) => (this.regularization = v),
            )}
            ${this.select('pg-reg-rate', 'Regularization rate', this.regularizationRate, REGULARIZATION_RATES, String, (v) => (this.regularizationRate = v))}
            <label for="pg-batch">Batch size</label>
            <input
              id="pg-batch"
              type="text"
              inputmode="numeric"
              .value=${this.batchText}
              ?disabled=${this.running}
              @change=${(e: Event) => this.changed(() => (this.batchText = (e.target as HTMLInputElement).value))}
            />
          </form>
          <p class="hint" id="pg-hidden-hint">
            Units per hidden layer, comma-separated (up to ${MAX_LAYERS} layers of ${MAX_UNITS}); empty for
            none.
          </p>
          <fieldset class="features">
            <legend>Input features</legend>
            ${FEATURE_IDS.map(
              (f) =>
                html`<label
                  ><input
                    type="checkbox"
                    id=${`pg-feature-${f}`}
                    .checked=${this.features.includes(f)}
                    ?disabled=${this.running}
                    @change=${(e: Event) =>
                      this.changed(() => {
                        const on = (e.target as HTMLInputElement).checked;
                        this.features = on ? [...this.features, f] : this.features.filter((x) => x !== f);
                      })}
                  />${FEATURES[f].label}</label
                >`,
            )}
          </fieldset>
          <div class="row" style="margin-top: 0.75rem">
            <button
              id="pg-train"
              ?disabled=${this.running || busyElsewhere}
              title=${busyElsewhere ? `${this.state?.busy} is training` : ''}
              @click=${() => void this.train()}
            >
              ${this.run ? 'Continue' : 'Train'}
            </button>
            <button
              id="pg-step"
              class="secondary"
              ?disabled=${this.running || busyElsewhere}
              @click=${() => void this.train(1)}
            >
              One epoch
            </button>
            <button id="pg-pause" class="secondary" ?disabled=${!this.running} @click=${() => this.pause()}>
              Pause
            </button>
            <button
              id="pg-reset"
              class="secondary"
              ?disabled=${this.running || !this.run}
              @click=${() => void this.reset()}
            >
              Reset
            </button>
          </div>
          ${busyElsewhere ? html`<p class="status">${this.state?.busy} is training…</p>` : nothing}
          ${this.error ? html`<p class="error" id="pg-error" role="alert">${this.error}</p>` : nothing}
        </div>
        <div>
          <div class="plot">
            <canvas
              id="boundary"
              role="img"
              aria-label=${
                last
                  ? `Decision boundary after epoch ${last.epoch}: test accuracy ${pct(last.valAccuracy, 1)}`
                  : 'The dataset, before training'
              }
            ></canvas>
            <canvas id="points" aria-hidden="true"></canvas>
          </div>
          <p
            class="numbers"
            id="pg-numbers"
            data-epoch=${last?.epoch ?? 0}
            data-loss=${last ? String(last.loss) : ''}
            data-val-loss=${last ? String(last.valLoss) : ''}
            data-val-accuracy=${last ? String(last.valAccuracy) : ''}
          >
            Epoch <b>${last?.epoch ?? 0}</b> · training loss <b>${fmt(last?.loss, 3)}</b> · test loss
            <b>${fmt(last?.valLoss, 3)}</b> · test accuracy <b>${pct(last?.valAccuracy, 1)}</b>
          </p>
          <label
            ><input
              type="checkbox"
              id="pg-show-test"
              .checked=${this.showTest}
              @change=${(e: Event) => (this.showTest = (e.target as HTMLInputElement).checked)}
            />
            Show the test points (dark edge)</label
          >
        </div>
        <div>
          <div class="units" id="pg-units">
            ${
              this.units.length === 0
                ? html`<p class="hint">
                    ${
                      this.run && this.run.settings.hidden.length === 0
                        ? 'No hidden layer: the model is a logistic regression on the input features.'
                        : "Each hidden unit's output appears here once training starts."
                    }
                  </p>`
                : this.units.map(
                    (layer, l) =>
                      html`<div class="layer">
                        <span>Layer ${l + 1}</span>
                        ${layer.map(
                          (u, i) =>
                            html`<canvas
                              id=${`unit-${l + 1}-${i + 1}`}
                              role="img"
                              aria-label=${`Layer ${l + 1}, unit ${i + 1}: output from ${fmt(u.min, 3)} to ${fmt(u.max, 3)}`}
                            ></canvas>`,
                        )}
                      </div>`,
                  )
            }
          </div>
          <mlp-chart
            id="pg-loss"
            heading="Loss per epoch"
            x-label="epoch"
            y-label="binary cross-entropy"
            .series=${this.lossSeries()}
          ></mlp-chart>
        </div>
      </div>
    `;
  }
}

if (!customElements.get('mlp-playground')) customElements.define('mlp-playground', MlpPlayground);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-playground': MlpPlayground;
  }
}
