/**
 * <mlp-predict>: what the current model (state.current) does with digits: its predictions
 * on the MNIST test set (a grid of digits, misclassified ones marked; a confusion matrix;
 * the test accuracy), and a live prediction of a digit the user draws (<digit-canvas>).
 *
 * One prediction runs at a time (LayersModel.predict refuses a second): a drawing that
 * arrives meanwhile waits, and only the newest one is kept.
 *
 * On a page of its own (the `webgpu-mlp/predict` entry) the page gives it the model: the
 * `model` property (a trained MNIST LayersModel, which stays the page's: never disposed
 * here) and optionally `model-description`, `engine` and `mnist-url`. It fires
 * `mlp-prediction` (detail { digit, confidence, probabilities }) for each drawing predicted
 * and `mlp-evaluated` (detail { accuracy, rows }) once the test set is.
 *
 * For tests: #test-accuracy[data-value] (0..1); #confusion td[data-count] (rows: true class);
 * #grid .cell[data-true][data-predicted][data-confidence]; #prediction[data-class]
 * [data-confidence] and data-current="true" once they are of the newest drawing and the
 * current model (a stroke's intermediate frames are predicted too).
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import type { Engine, GpuData, LayersModel, Prediction } from '../../src/index.js';
import type { MnistSplit } from '../../src/data/mnist.js';
import './chart.js';
import type { ChartSeries } from './chart.js';
import './digit-canvas.js';
import { gpuSplit, loadMnist } from './mnist.js';
import { DemoState, standaloneState } from './state.js';
import { fmt, panelStyles, pct } from './styles.js';
import { firstLayerImages, histogram, kernels, type Histogram, type UnitImage } from './weights-view.js';

/** How many first-layer units the Predict tab draws as images. */
const UNIT_IMAGES = 32;
const CLASSES = 10;
const GRID_CELLS = 48;
const BATCH = 1024;
const DIGITS = Array.from({ length: CLASSES }, (_, i) => String(i));

/** The model's predictions on the test rows. */
interface Analysis {
  model: LayersModel;
  test: MnistSplit;
  predicted: Uint8Array;
  /** The predicted class's probability, per row. */
  confidence: Float32Array;
  /** confusion[t * 10 + p]: rows of true class t predicted as p. */
  confusion: Uint32Array;
  accuracy: number;
  /** The largest |Σ outputs − 1| over the rows: not ~0 when the output is not a softmax. */
  sumError: number;
}

/**
 * Why a model is not an MNIST classifier (one input of 784, one output of 10), or undefined:
 * "takes 3 inputs and gives 2 outputs; an MNIST model takes ...".
 */
export function misfit(model: LayersModel): string | undefined {
  const ins = model.inputs.map((i) => i.features);
  const outs = model.outputs.map((o) => o.features);
  if (ins.length === 1 && ins[0] === 784 && outs.length === 1 && outs[0] === CLASSES) return undefined;
  const plural = (n: number[]) => (n.length === 1 && n[0] === 1 ? '' : 's');
  return (
    `takes ${ins.join(' + ')} input${plural(ins)} and gives ${outs.join(' + ')} output${plural(outs)}; ` +
    'an MNIST model takes one input of 784 values (28×28 pixels in [0, 1]) and gives 10 class probabilities'
  );
}

/** Index of the largest of `n` values from `offset`. */
function argmax(v: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if ((v[offset + c] as number) > (v[offset + best] as number)) best = c;
  return best;
}

function analyse(model: LayersModel, test: MnistSplit, p: Prediction): Analysis {
  const rows = test.rows;
  const predicted = new Uint8Array(rows);
  const confidence = new Float32Array(rows);
  const confusion = new Uint32Array(CLASSES * CLASSES);
  let correct = 0;
  let sumError = 0;
  for (let r = 0; r < rows; r++) {
    const c = argmax(p.data, r * CLASSES, CLASSES);
    const t = test.labels[r] as number;
    predicted[r] = c;
    confidence[r] = p.data[r * CLASSES + c] as number;
    const k = t * CLASSES + c;
    confusion[k] = (confusion[k] as number) + 1;
    if (c === t) correct++;
    let sum = 0;
    for (let k = 0; k < CLASSES; k++) sum += p.data[r * CLASSES + k] as number;
    sumError = Math.max(sumError, Math.abs(sum - 1));
  }
  return { model, test, predicted, confidence, confusion, accuracy: correct / rows, sumError };
}

/** `mlp-prediction`'s detail: a drawing's predicted digit, its probability, and all ten. */
export interface MlpPredictionDetail {
  digit: number;
  confidence: number;
  probabilities: Float32Array;
}

/** `mlp-evaluated`'s detail: the model's accuracy on the test rows it predicted. */
export interface MlpEvaluatedDetail {
  accuracy: number;
  rows: number;
}

export class MlpPredict extends LitElement {
  static override properties = {
    state: { attribute: false },
    model: { attribute: false },
    modelDescription: { type: String, attribute: 'model-description' },
    engine: { attribute: false },
    mnistUrl: { type: String, attribute: 'mnist-url' },
    lastProbabilities: { attribute: false },
    analysis: { state: true },
    misclassifiedOnly: { state: true },
    status: { state: true },
    error: { state: true },
    drawError: { state: true },
    learned: { state: true },
  };

  static override styles = [
    panelStyles,
    css`
      .cards {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr));
        gap: 1rem;
        margin-bottom: 1rem;
      }
      #no-model {
        border: 1px dashed #b9c1cf;
        border-radius: 8px;
        padding: 1.25rem;
        background: var(--_surface);
        max-width: 46rem;
      }
      #no-model a {
        color: var(--_link);
      }
      #prediction {
        font-size: 1.25rem;
        margin: 0.25rem 0 0.5rem;
        min-height: 1.8rem;
      }
      #prediction b {
        font-size: 1.6rem;
      }
      .muted {
        color: var(--_muted);
      }
      #grid {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 66px), 1fr));
        gap: 6px;
      }
      .cell {
        border: 2px solid #dde2ea;
        border-radius: 6px;
        padding: 3px;
        text-align: center;
        font-size: 12px;
        line-height: 1.2;
        font-variant-numeric: tabular-nums;
      }
      .cell canvas {
        width: 56px;
        height: 56px;
        image-rendering: pixelated;
        display: block;
        margin: 0 auto 2px;
        border-radius: 3px;
      }
      .cell.wrong {
        border-color: #d62728;
        background: var(--_danger-bg);
      }
      .cell .true {
        color: var(--_error);
      }
      .scroll {
        overflow-x: auto;
      }
      #confusion {
        font-size: 13px;
      }
      #confusion td,
      #confusion th {
        text-align: center;
        padding: 0.15rem 0.2rem;
        min-width: 1.9rem;
        border: 1px solid var(--_border);
      }
      /* A strongly shaded cell: white text on the colour; the others keep the theme's text. */
      #confusion td.strong {
        color: #fff;
      }
      #confusion th.corner {
        font-weight: normal;
        color: var(--_muted);
        font-size: 11px;
        white-space: nowrap;
      }
      #confusion td.recall {
        font-weight: 600;
        border-left: 2px solid #b9c1cf;
      }
      .toolbar {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: center;
        margin-bottom: 0.5rem;
      }
      .small {
        font-size: 12px;
      }
      .big {
        font-size: 1.3rem;
        font-weight: 600;
      }
      #units {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(52px, 1fr));
        gap: 4px;
        max-width: 44rem;
      }
      #units canvas {
        width: 100%;
        aspect-ratio: 1;
        image-rendering: pixelated;
        border-radius: 3px;
        outline: 1px solid var(--_border);
      }
      .histograms {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr));
        gap: 0.75rem;
      }
      .histograms mlp-chart {
        height: 200px;
      }
    `,
  ];

  /** The demo's shared state; on a page of its own the element makes one (see `model`). */
  declare state: DemoState | undefined;
  /**
   * On a page of its own: the MNIST model to show (one input of 784, ten outputs), the page's
   * to keep and dispose. Ignored when the demo gives `state` (its current model is shown).
   */
  declare model: LayersModel | undefined;
  /** What the heading says of `model` (default "the page's model"). */
  declare modelDescription: string | undefined;
  /** The engine for an element on a page of its own (default: the page's, started if need be). */
  declare engine: Engine | undefined;
  /** Where the MNIST IDX files are (default ./mnist/, relative to the page). */
  declare mnistUrl: string | undefined;
  /** The probabilities of the last drawing, for the current model. */
  declare lastProbabilities: Float32Array | undefined;
  declare analysis: Analysis | undefined;
  declare misclassifiedOnly: boolean;
  declare status: string;
  declare error: string | undefined;
  declare drawError: string | undefined;
  /** The current model's first-layer unit images and kernel histograms (read from its weights). */
  declare learned: { units: UnitImage[]; histograms: { name: string; hist: Histogram }[] } | undefined;

  private listening: DemoState | undefined;
  /** The state this element made for itself (no `state` given), which shows `model`. */
  private own: DemoState | undefined;
  private testData: { rows: number; split: MnistSplit; gpu: GpuData } | undefined;
  /** The prediction running now, if any; work waiting: the test set, and the newest drawing. */
  private worker: Promise<void> | undefined;
  private wantTestSet = false;
  private wantDrawing: Float32Array | undefined;
  /** The newest drawing (<digit-canvas>'s input), and the one lastProbabilities are of. */
  private drawing: Float32Array | undefined;
  private probabilitiesOf: Float32Array | undefined;
  /** The model the panel shows (the probabilities and analysis are of it). */
  private shown: LayersModel | undefined;

  constructor() {
    super();
    this.state = undefined;
    this.model = undefined;
    this.modelDescription = undefined;
    this.engine = undefined;
    this.mnistUrl = undefined;
    this.lastProbabilities = undefined;
    this.analysis = undefined;
    this.misclassifiedOnly = false;
    this.status = '';
    this.error = undefined;
    this.drawError = undefined;
    this.learned = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated) this.listen();
    this.standalone().catch((e: unknown) => (this.error = e instanceof Error ? e.message : String(e)));
  }

  /**
   * On a page of its own (no `state` given once connected): a state around `engine` or the
   * page's, showing `model`. The demo sets `state` before connecting, so this does nothing there.
   */
  private async standalone(): Promise<void> {
    const own = await standaloneState(this);
    if (!own) return;
    this.own = own;
    this.state = own;
    this.showModel();
  }

  /** The own state's current model follows `model` (borrowed: the page disposes it). */
  private showModel(): void {
    const own = this.own;
    if (!own || own !== this.state) return;
    const description = this.modelDescription ?? "the page's model";
    if (!this.model) {
      if (own.current) own.clearModel();
    } else if (own.current?.model !== this.model || own.current.description !== description) {
      own.setModel(this.model, description, { borrowed: true });
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.listening?.removeEventListener('model', this.onModel);
    this.listening = undefined;
    // The test set's GPU copy goes once no prediction uses it.
    void (this.worker ?? Promise.resolve()).then(() => {
      if (this.isConnected) return;
      this.testData?.gpu.dispose();
      this.testData = undefined;
    });
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('state')) this.listen();
    if (changed.has('model') || changed.has('modelDescription')) this.showModel();
  }

  private listen(): void {
    const target = this.isConnected ? this.state : undefined;
    if (this.listening === target) return;
    this.listening?.removeEventListener('model', this.onModel);
    this.listening = target;
    target?.addEventListener('model', this.onModel);
    this.modelChanged(false);
  }

  /** A 'model' event: a new model, or the same one trained further: predict again. */
  private readonly onModel = (): void => this.modelChanged(true);

  private modelChanged(always: boolean): void {
    const model = this.state?.current?.model;
    if (model === this.shown && !always) return;
    this.shown = model;
    this.requestUpdate(); // the heading names the model, even one that does not fit
    this.analysis = undefined;
    this.learned = undefined;
    this.lastProbabilities = undefined;
    this.error = undefined;
    this.drawError = undefined;
    this.status = '';
    if (!model || misfit(model)) return;
    this.wantTestSet = true;
    this.wantDrawing = this.drawing;
    this.kick();
  }

  private readonly onDigit = (e: CustomEvent<Float32Array | undefined>): void => {
    this.drawing = e.detail;
    this.requestUpdate(); // #prediction's data-current
    if (!e.detail) {
      this.wantDrawing = undefined;
      this.lastProbabilities = undefined;
      return;
    }
    this.wantDrawing = e.detail;
    this.kick();
  };

  /** Starts the worker unless it runs; it takes the waiting work until there is none. */
  private kick(): void {
    if (this.worker) return;
    this.worker = this.work().finally(() => {
      this.worker = undefined;
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      const model = this.state?.current?.model;
      if (!model || misfit(model)) return;
      if (this.wantTestSet) {
        this.wantTestSet = false;
        await this.predictTestSet(model);
      } else if (this.wantDrawing) {
        const x = this.wantDrawing;
        this.wantDrawing = undefined;
        await this.predictDrawing(model, x);
      } else {
        return;
      }
    }
  }

  private stillCurrent(model: LayersModel): boolean {
    return this.state?.current?.model === model;
  }

  private async predictTestSet(model: LayersModel): Promise<void> {
    const engine = this.state?.engine;
    if (!engine) return;
    const rows = engine.adapter.isFallback ? 1_000 : 10_000;
    try {
      if (!this.testData || this.testData.rows !== rows) {
        this.status = 'Loading the MNIST test set…';
        const { test } = await loadMnist(1, rows, this.mnistUrl || undefined);
        this.testData?.gpu.dispose();
        this.testData = { rows, split: test, gpu: gpuSplit(engine, test, 'mnist test (predict)') };
      }
      const state = this.state;
      if (!state || !this.stillCurrent(model)) return;
      this.status = `Predicting ${rows.toLocaleString('en-US')} test digits…`;
      const gpu = this.testData.gpu;
      const p = (await state.use(model, () => model.predict(gpu, { batchSize: BATCH }))) as Prediction;
      if (!this.stillCurrent(model)) return;
      this.analysis = analyse(model, this.testData.split, p);
      this.dispatchEvent(
        new CustomEvent<MlpEvaluatedDetail>('mlp-evaluated', {
          detail: { accuracy: this.analysis.accuracy, rows },
          bubbles: true,
          composed: true,
        }),
      );
      const weights = await state.use(model, () => model.getWeights());
      if (!this.stillCurrent(model)) return;
      const ks = kernels(weights);
      this.learned = {
        units: (ks[0] && firstLayerImages(ks[0], UNIT_IMAGES)) ?? [],
        histograms: ks.map((k) => ({ name: k.name, hist: histogram(k.data, 30) })),
      };
      this.status = '';
    } catch (e) {
      if (!this.stillCurrent(model)) return;
      this.status = '';
      this.error = `Predicting the test set failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private async predictDrawing(model: LayersModel, x: Float32Array): Promise<void> {
    const state = this.state;
    if (!state || !this.stillCurrent(model)) return;
    try {
      // One host row: the library keeps its GPU copy and compiled step for small inputs. Its
      // shape is the model's input shape ([784], or [28, 28] for a model that flattens).
      const shape = [1, ...(model.inputs[0]?.shape ?? [784])];
      const p = (await state.use(model, () => model.predict({ data: x, shape }))) as Prediction;
      if (!this.stillCurrent(model) || this.drawing !== x) return;
      const probabilities = p.data.slice(0, CLASSES);
      this.lastProbabilities = probabilities;
      this.probabilitiesOf = x;
      this.drawError = undefined;
      const digit = argmax(probabilities, 0, CLASSES);
      this.dispatchEvent(
        new CustomEvent<MlpPredictionDetail>('mlp-prediction', {
          detail: { digit, confidence: probabilities[digit] as number, probabilities: probabilities.slice() },
          bubbles: true,
          composed: true,
        }),
      );
    } catch (e) {
      if (!this.stillCurrent(model)) return;
      this.drawError = `Prediction failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private retry(): void {
    this.error = undefined;
    this.wantTestSet = true;
    this.kick();
  }

  override render() {
    const current = this.state?.current;
    if (!current) {
      return html`<h2>Predict</h2>
        <div id="no-model">
          <p><b>No model yet.</b></p>
          ${
            this.own
              ? html`<p>
                  Give this element a trained MNIST model (its <code>model</code> property) to see how it does
                  on the test digits and to draw your own.
                </p>`
              : html`<p>
                  Train one on the <a href="#train">Train</a> tab, or load a saved one on the
                  <a href="#io">Save / load</a> tab; then come back to see how it does on the test digits and
                  to draw your own.
                </p>`
          }
        </div>`;
    }
    const bad = misfit(current.model);
    return html`<h2>Predict</h2>
      <p class="lead">Model: <b id="model-description">${current.description}</b></p>
      ${
        bad
          ? html`<p class="error" id="model-error" role="alert">
              This model ${bad}.
              ${this.own ? 'Give the element an MNIST model.' : 'Train one on the Train tab, or load an MNIST model on the Save / load tab.'}
            </p>`
          : html`<div class="cards">${this.renderDraw()} ${this.renderConfusion()}</div>
              ${this.renderGrid()} ${this.renderLearned()}`
      }`;
  }

  private renderDraw() {
    const p = this.lastProbabilities;
    const cls = p ? argmax(p, 0, CLASSES) : undefined;
    const conf = cls === undefined ? undefined : (p?.[cls] as number);
    const series: ChartSeries[] = [
      { label: 'probability', points: p ? Array.from(p) : [], color: '#2f6fd6' },
    ];
    return html`<section class="card">
      <h3>Draw a digit</h3>
      <digit-canvas id="draw" @digit-input=${this.onDigit}></digit-canvas>
      <p
        id="prediction"
        aria-live="polite"
        data-class=${cls === undefined ? '' : String(cls)}
        data-confidence=${conf === undefined ? '' : String(conf)}
        data-current=${String(p !== undefined && this.probabilitiesOf === this.drawing)}
      >
        ${
          cls === undefined
            ? html`<span class="muted">Draw a digit from 0 to 9 above, large and centred, as in MNIST.</span>`
            : html`I am <b>${pct(conf, 1)}</b> confident this is a <b>${cls}</b>`
        }
      </p>
      ${this.drawError ? html`<p class="error" role="alert">${this.drawError}</p>` : nothing}
      <mlp-chart
        id="probabilities"
        kind="bar"
        heading="Class probabilities"
        x-label="digit"
        y-min="0"
        y-max="1"
        .categories=${DIGITS}
        .series=${series}
      ></mlp-chart>
    </section>`;
  }

  private renderConfusion() {
    const a = this.analysis;
    const body = () => {
      if (!a) return nothing;
      const rowTotals = DIGITS.map((_, t) =>
        a.confusion.slice(t * CLASSES, t * CLASSES + CLASSES).reduce((s, v) => s + v, 0),
      );
      return html`<p>
          Test accuracy:
          <span class="big" id="test-accuracy" data-value=${String(a.accuracy)}>${pct(a.accuracy)}</span>
          <span class="muted"
            >on ${a.test.rows.toLocaleString('en-US')} test
            digits${a.test.rows < 10_000 ? ' (the first ones only: software GPU adapter)' : ''}</span
          >
        </p>
        ${
          a.sumError > 1e-3
            ? html`<p class="muted" id="not-softmax">
                The outputs do not sum to 1 (off by up to ${fmt(a.sumError, 2)}): the output layer is not a
                softmax, so "confidence" is the raw output.
              </p>`
            : nothing
        }
        <div class="scroll">
          <table id="confusion" data-rows=${String(a.test.rows)}>
            <thead>
              <tr>
                <th class="corner" title="rows: true class; columns: predicted class">true ↓ pred. →</th>
                ${DIGITS.map((d) => html`<th>${d}</th>`)}
                <th>recall</th>
              </tr>
            </thead>
            <tbody>
              ${DIGITS.map((d, t) => {
                const total = rowTotals[t] as number;
                const recall = total > 0 ? (a.confusion[t * CLASSES + t] as number) / total : undefined;
                return html`<tr>
                  <th>${d}</th>
                  ${DIGITS.map((_, p) => {
                    const n = a.confusion[t * CLASSES + p] as number;
                    const share = total > 0 ? n / total : 0;
                    // Diagonal: blue by the share of the class; errors: red, 4× as strong so a few show.
                    const alpha = t === p ? share : Math.min(1, 4 * share);
                    const rgb = t === p ? '47, 111, 214' : '214, 39, 40';
                    return html`<td
                      data-count=${String(n)}
                      class=${alpha > 0.55 ? 'strong' : ''}
                      style="background: rgba(${rgb}, ${alpha.toFixed(3)})"
                      title="true ${t}, predicted ${p}: ${n}"
                    >
                      ${n}
                    </td>`;
                  })}
                  <td class="recall" data-value=${recall === undefined ? '' : String(recall)}>
                    ${pct(recall, 1)}
                  </td>
                </tr>`;
              })}
            </tbody>
          </table>
        </div>
        <p class="muted small">
          Rows: the true digit; columns: the model's answer. Blue: right (shaded by the share of the class);
          red: mistakes. Recall: the share of each digit recognised.
        </p>`;
    };
    return html`<section class="card">
      <h3>Test set</h3>
      ${this.status ? html`<p class="status" id="status">${this.status}</p>` : nothing}
      ${
        this.error
          ? html`<p class="error" id="error" role="alert">${this.error}</p>
              <button class="secondary" id="retry" @click=${() => this.retry()}>Try again</button>`
          : nothing
      }
      ${body()}
    </section>`;
  }

  private renderGrid() {
    const a = this.analysis;
    if (!a) return nothing;
    const rows: number[] = [];
    for (let r = 0; r < a.test.rows && rows.length < GRID_CELLS; r++) {
      if (!this.misclassifiedOnly || a.predicted[r] !== a.test.labels[r]) rows.push(r);
    }
    const wrong = a.test.rows - Math.round(a.accuracy * a.test.rows);
    return html`<section class="card">
      <div class="toolbar">
        <h3 style="margin: 0">Test digits</h3>
        <label
          ><input
            type="checkbox"
            id="misclassified-only"
            .checked=${this.misclassifiedOnly}
            @change=${(e: Event) => (this.misclassifiedOnly = (e.target as HTMLInputElement).checked)}
          />
          misclassified only (${wrong.toLocaleString('en-US')})</label
        >
        <span class="muted"
          >Predicted class and confidence under each digit; red: wrong, with the true label.</span
        >
      </div>
      ${
        rows.length === 0
          ? html`<p class="muted">
              No misclassified digits in these ${a.test.rows.toLocaleString('en-US')}.
            </p>`
          : nothing
      }
      <div id="grid">
        ${rows.map((r) => {
          const t = a.test.labels[r] as number;
          const p = a.predicted[r] as number;
          const ok = t === p;
          return html`<div
            class="cell ${ok ? '' : 'wrong'}"
            data-row=${String(r)}
            data-true=${String(t)}
            data-predicted=${String(p)}
            data-confidence=${String(a.confidence[r])}
          >
            <canvas width="28" height="28" data-row=${String(r)}></canvas>
            <b>${p}</b> · ${pct(a.confidence[r], 0)}
            ${ok ? nothing : html`<div class="true">true: ${t}</div>`}
          </div>`;
        })}
      </div>
    </section>`;
  }

  private drawUnits(): void {
    for (const u of this.learned?.units ?? []) {
      const canvas = this.renderRoot.querySelector<HTMLCanvasElement>(`#units canvas[data-unit="${u.unit}"]`);
      const ctx = canvas?.getContext('2d');
      if (ctx) ctx.putImageData(new ImageData(new Uint8ClampedArray(u.rgba), 28, 28), 0, 0);
    }
  }

  /** What the network learned: the first layer's units as images, and each kernel's histogram. */
  private renderLearned() {
    const l = this.learned;
    if (!l) return nothing;
    const first = this.state?.current?.model.layers.find(
      (x) => x.name === l.histograms[0]?.name.split('/')[0],
    );
    return html`<section class="card" id="learned">
      <h3>What the network learned</h3>
      ${
        l.units.length === 0
          ? html`<p class="muted">
              The first Dense layer does not take the 784 pixels, so it has no images to show.
            </p>`
          : html`<p class="muted small">
                The first ${l.units.length} units of the first Dense layer${first ? ` (${first.name})` : ''}:
                each unit's 784 input weights as a 28×28 image. Blue: a lit pixel there raises the unit; red:
                it lowers it; each image scaled by its own largest weight.
              </p>
              <div id="units">
                ${l.units.map(
                  (u) =>
                    html`<canvas
                      width="28"
                      height="28"
                      data-unit=${String(u.unit)}
                      role="img"
                      aria-label=${`unit ${u.unit + 1}: weights up to ±${fmt(u.maxAbs, 3)}`}
                    ></canvas>`,
                )}
              </div>`
      }
      <h3>Weights of each Dense kernel</h3>
      <div class="histograms">
        ${l.histograms.map(({ name, hist }) => {
          const width = (hist.max - hist.min) / hist.counts.length;
          return html`<mlp-chart
            kind="bar"
            data-kernel=${name}
            heading=${name}
            x-label="weight"
            y-label="count"
            .categories=${hist.counts.map((_, i) => fmt(hist.min + (i + 0.5) * width, 2))}
            .series=${[{ label: 'weights', points: hist.counts, color: '#2f6fd6' }]}
          ></mlp-chart>`;
        })}
      </div>
    </section>`;
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('learned')) this.drawUnits();
    if (!changed.has('analysis') && !changed.has('misclassifiedOnly')) return;
    const a = this.analysis;
    if (!a) return;
    // Each cell's canvas shows its test image (white on black, as MNIST stores it).
    for (const canvas of this.renderRoot.querySelectorAll<HTMLCanvasElement>('#grid canvas')) {
      const r = Number(canvas.dataset.row);
      const ctx = canvas.getContext('2d');
      if (!ctx) continue;
      const img = ctx.createImageData(28, 28);
      const pixels = a.test.images.subarray(r * 784, r * 784 + 784);
      for (let i = 0; i < 784; i++) {
        const v = pixels[i] as number;
        img.data[4 * i] = v;
        img.data[4 * i + 1] = v;
        img.data[4 * i + 2] = v;
        img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    }
  }
}

if (!customElements.get('mlp-predict')) customElements.define('mlp-predict', MlpPredict);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-predict': MlpPredict;
  }
  interface HTMLElementEventMap {
    'mlp-prediction': CustomEvent<MlpPredictionDetail>;
    'mlp-evaluated': CustomEvent<MlpEvaluatedDetail>;
  }
}
