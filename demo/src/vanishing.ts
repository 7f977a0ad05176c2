/**
 * <mlp-vanishing>: the course's vanishing-gradients experiment. Four models with 20 hidden
 * layers (deep-models.ts) train in turn on the same MNIST rows; before training and after
 * each epoch, the gradient of every Dense kernel on one fixed batch of 256 training rows is
 * computed (without changing the weights), its L2 norm plotted per layer, and each model
 * labelled vanishing, exploding or stable from the measured factor (gradientRegime).
 */
import { css, html, nothing } from 'lit';
import type { GpuData, LayersModel } from '../../src/index.js';
import './chart.js';
import type { ChartPoint, ChartSeries } from './chart.js';
import {
  ExperimentPanel,
  experimentStyles,
  intField,
  type EpochDetail,
  type ExperimentRun,
} from './experiment.js';
import {
  buildDeepModel,
  DEEP_KINDS,
  DEEP_MODEL_INFO,
  describeDeepModel,
  gradientProfile,
  gradientRegime,
  kernelGradientNorms,
  REGIME_RATIO,
  type DeepKind,
} from './deep-models.js';
import { gpuSplit, loadMnist, rowsOf, trainValidation } from './mnist.js';
import type { DemoState } from './state.js';
import { fmt, panelStyles, pct, sci } from './styles.js';

const SEED = 1;
const BATCH = 32;
const PROBE_ROWS = 256;

interface VanishingSettings {
  rows: number;
  epochs: number;
  units: number;
  depth: number;
  optimizer: 'adam' | 'sgd';
}

interface ModelRun extends ExperimentRun {
  kind: DeepKind;
  label: string;
  /** Kernel-gradient L2 norms per layer (1..depth, depth + 1 = output): [0] before training, [e] after epoch e. */
  norms: number[][];
  /** Validation loss after each epoch. */
  valCurve: ChartPoint[];
  last?: { loss: number; accuracy: number; valLoss: number; valAccuracy: number };
  seconds?: number;
}

/** The datasets the four models share. */
interface VanishingData {
  train: GpuData;
  validation: GpuData;
  /** The fixed batch the gradients are taken on. */
  probe: GpuData;
}

/** L2 norms of the Dense kernels' gradients on `probe` (one batch; the weights stay as they are). */
async function kernelNorms(model: LayersModel, probe: GpuData): Promise<number[]> {
  return kernelGradientNorms(await model.computeGradients(probe)).map((n) => n.norm);
}

function defaults(fallback: boolean): { rows: string; epochs: string; units: string; depth: string } {
  return fallback
    ? { rows: '2000', epochs: '2', units: '64', depth: '20' }
    : { rows: '60000', epochs: '5', units: '64', depth: '20' };
}

/** A profile's regime as a word, its compounded factor in the tooltip. */
function regimeBadge(profile: ReturnType<typeof gradientProfile>) {
  const regime = gradientRegime(profile);
  if (regime === undefined) return html`<span class="regime">—</span>`;
  return html`<span
    class="regime ${regime}"
    title=${`×${sci(profile.across)} from the last hidden layer to layer 2`}
    >${regime}</span
  >`;
}

export class MlpVanishing extends ExperimentPanel<ModelRun, VanishingSettings, VanishingData> {
  static override properties = {
    rowsText: { state: true },
    epochsText: { state: true },
    unitsText: { state: true },
    depthText: { state: true },
    optimizer: { state: true },
  };

  static override styles = [
    panelStyles,
    experimentStyles,
    css`
      form.config input {
        width: 7rem;
      }
      .models {
        margin: 0;
        padding-left: 1.1rem;
        color: var(--_muted);
      }
      .models li {
        margin: 0.1rem 0;
      }
      .key {
        display: inline-block;
        width: 1.4rem;
        border-top: 3px solid;
        vertical-align: middle;
        margin-right: 0.35rem;
      }
      .charts {
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 400px), 1fr));
      }
      .tables {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr));
        gap: 0 2rem;
        align-items: start;
      }
      .scroll {
        overflow-x: auto;
      }
      /* Two columns per model: the norms take the whole width, the explanation goes below. */
      .tables > .scroll {
        grid-column: 1 / -1;
      }
      #vanishing-results td,
      #grad-table td,
      #grad-table th {
        white-space: nowrap;
      }
      .regime {
        font-weight: 600;
      }
      .regime.vanishing {
        color: var(--_vanishing);
      }
      .regime.exploding {
        color: var(--_exploding);
      }
      .regime.stable {
        color: var(--_stable);
      }
      th {
        font-weight: 600;
      }
      th.model {
        text-align: center;
        border-bottom: none;
      }
      .explain {
        max-width: 62rem;
        color: var(--_muted);
      }
      .explain p {
        margin: 0.4rem 0;
      }
      .hint {
        color: var(--_muted);
        margin: 0.4rem 0 0;
        max-width: 62rem;
      }
    `,
  ];

  declare rowsText: string;
  declare epochsText: string;
  declare unitsText: string;
  declare depthText: string;
  declare optimizer: 'adam' | 'sgd';
  protected readonly who = 'Vanishing gradients';
  protected readonly noun = 'models';

  constructor() {
    super();
    const d = defaults(false);
    this.rowsText = d.rows;
    this.epochsText = d.epochs;
    this.unitsText = d.units;
    this.depthText = d.depth;
    this.optimizer = 'adam';
  }

  /** The depth of the models in `runs` (the tables' layer count). */
  private get runDepth(): number {
    return this.settingsOfRuns?.depth ?? 20;
  }

  protected applyDefaults(fallback: boolean): void {
    const d = defaults(fallback);
    this.rowsText = d.rows;
    this.epochsText = d.epochs;
    this.unitsText = d.units;
    this.depthText = d.depth;
  }

  protected plan(): { settings: VanishingSettings; runs: ModelRun[] } {
    const settings: VanishingSettings = {
      rows: intField(this.rowsText, 'training rows', 300, 60_000),
      epochs: intField(this.epochsText, 'epochs', 1, 100),
      units: intField(this.unitsText, 'units', 2, 1024),
      depth: intField(this.depthText, 'hidden layers', 2, 50),
      optimizer: this.optimizer,
    };
    return {
      settings,
      runs: DEEP_KINDS.map((kind) => ({
        kind,
        label: DEEP_MODEL_INFO[kind].label,
        status: 'pending',
        norms: [],
        trainCurve: [],
        valCurve: [],
      })),
    };
  }

  protected async load(
    cfg: VanishingSettings,
    state: DemoState,
    keep: (d: GpuData) => GpuData,
  ): Promise<VanishingData> {
    this.status = `Loading ${cfg.rows.toLocaleString('en-US')} training images…`;
    const mnist = await loadMnist(cfg.rows, 1, this.mnistUrl);
    const split = trainValidation(mnist.train, cfg.rows, 0.1);
    return {
      train: keep(gpuSplit(state.engine, split.train, 'vanishing train')),
      validation: keep(gpuSplit(state.engine, split.validation, 'vanishing validation')),
      probe: keep(
        gpuSplit(
          state.engine,
          rowsOf(split.train, 0, Math.min(PROBE_ROWS, split.train.rows)),
          'vanishing gradient batch',
        ),
      ),
    };
  }

  protected labelOf(r: ModelRun): string {
    return r.label;
  }

  /** Trains one model epoch by epoch, with the gradient norms before and after each. */
  protected runOne(
    r: ModelRun,
    index: number,
    cfg: VanishingSettings,
    { train, validation, probe }: VanishingData,
  ): Promise<string | undefined> {
    const where = `Model ${index + 1} of ${this.runs.length} (${r.label})`;
    const t0 = performance.now();
    const build = () =>
      buildDeepModel(r.kind, {
        depth: cfg.depth,
        units: cfg.units,
        seed: SEED,
        optimizer: cfg.optimizer,
      });
    return this.runModel(r, where, build, async (m) => {
      this.status = `${where}: gradients before training…`;
      r.norms.push(await kernelNorms(m, probe));
      this.requestUpdate();
      let epochsDone = 0;
      m.events.addEventListener('epoch', (e) => {
        const { epoch, logs } = (e as CustomEvent<EpochDetail>).detail;
        epochsDone = epoch + 1;
        r.last = {
          loss: logs.loss ?? NaN,
          accuracy: logs.accuracy ?? NaN,
          valLoss: logs.val_loss ?? NaN,
          valAccuracy: logs.val_accuracy ?? NaN,
        };
        r.valCurve.push({ x: epoch + 1, y: r.last.valLoss });
        this.requestUpdate();
      });
      // One fit() per epoch, so that the gradients can be taken between epochs (the
      // optimizer's state carries over; initialEpoch keeps the epoch numbers).
      for (let epoch = 0; epoch < cfg.epochs && !this.stopping(); epoch++) {
        await m.fit(train, undefined, {
          epochs: epoch + 1,
          initialEpoch: epoch,
          batchSize: BATCH,
          validationData: [validation, undefined],
          verbose: 1,
          seed: SEED + epoch,
        });
        // Stopped: fit() ended the epoch early (its 'epoch' event still came); no gradients
        // for a partial epoch.
        if (this.stopping() || epochsDone < epoch + 1) break;
        this.status = `${where}: gradients after epoch ${epoch + 1}…`;
        r.norms.push(await kernelNorms(m, probe));
        this.requestUpdate();
      }
      r.seconds = (performance.now() - t0) / 1000;
      return this.stopping() ? 'stopped' : 'done';
    });
  }

  private normSeries(): ChartSeries[] {
    return this.runs.flatMap((r) => {
      const color = DEEP_MODEL_INFO[r.kind].color;
      const layerPoints = (norms: number[] | undefined): ChartPoint[] =>
        (norms ?? []).map((y, i) => ({ x: i + 1, y })).filter((p) => p.y > 0 && Number.isFinite(p.y));
      const out: ChartSeries[] = [];
      if (r.norms.length > 0)
        out.push({ label: `${r.label}: before`, points: layerPoints(r.norms[0]), color, dashed: true });
      if (r.norms.length > 1) {
        out.push({
          label: `${r.label}: epoch ${r.norms.length - 1}`,
          points: layerPoints(r.norms.at(-1)),
          color,
        });
      }
      return out;
    });
  }

  private lossSeries(): ChartSeries[] {
    return this.runs.flatMap((r) => {
      const color = DEEP_MODEL_INFO[r.kind].color;
      const positive = (ps: ChartPoint[]) => ps.filter((p) => p.y > 0 && Number.isFinite(p.y));
      return r.status === 'pending' || r.status === 'skipped'
        ? []
        : [
            { label: `${r.label}: training`, points: positive(r.trainCurve), color },
            { label: `${r.label}: validation`, points: positive(r.valCurve), color, dashed: true },
          ];
    });
  }

  override render() {
    const d = defaults(true);
    return html`
      <h2>Vanishing gradients in deep MLPs</h2>
      <p class="lead">
        The course's experiment: four MLPs with ${this.depthText || '20'} hidden Dense layers of
        ${this.unitsText || '64'} units (the course's 20 × 64 by default) train in turn on the same MNIST rows
        (Adam or SGD, batch ${BATCH}, sparse categorical cross-entropy). Before training and after each epoch,
        the gradient of every Dense kernel is computed on the same ${PROBE_ROWS} training images — without
        changing the weights — and its L2 norm is plotted per layer.
      </p>
      ${
        this.fallback
          ? html`<p class="note" id="vanishing-fallback">
              This browser's WebGPU adapter is a software one (${this.state?.engine.adapter.name}), so the
              defaults are small: ${Number(d.rows).toLocaleString('en-US')} training rows and ${d.epochs}
              epochs (a GPU would run 60,000 rows for 5 epochs).
            </p>`
          : nothing
      }
      <div class="card">
        <div class="controls">
          <form class="config" @submit=${(e: Event) => e.preventDefault()}>
            ${this.textField('vanishing-rows', 'Training rows', this.rowsText, (v) => (this.rowsText = v))}
            ${this.textField('vanishing-epochs', 'Epochs', this.epochsText, (v) => (this.epochsText = v))}
            ${this.textField('vanishing-depth', 'Hidden layers', this.depthText, (v) => (this.depthText = v))}
            ${this.textField('vanishing-units', 'Units per layer', this.unitsText, (v) => (this.unitsText = v))}
            <label for="vanishing-optimizer">Optimizer</label>
            <select
              id="vanishing-optimizer"
              ?disabled=${this.running}
              @change=${(e: Event) => (this.optimizer = (e.target as HTMLSelectElement).value as 'adam' | 'sgd')}
            >
              <option value="adam" ?selected=${this.optimizer === 'adam'}>Adam (0.001)</option>
              <option value="sgd" ?selected=${this.optimizer === 'sgd'}>SGD (0.01)</option>
            </select>
          </form>
          <ul class="models">
            ${DEEP_KINDS.map(
              (k) =>
                html`<li>
                  <span class="key" style=${`border-color: ${DEEP_MODEL_INFO[k].color}`}></span
                  ><b>${DEEP_MODEL_INFO[k].label}</b>: ${describeDeepModel(k, Number(this.depthText) || 20)}
                </li>`,
            )}
          </ul>
        </div>
        ${this.renderActions('vanishing', 'Train the four models')}
      </div>
      <div class="grid charts">
        <mlp-chart
          id="grad-norms"
          heading="Gradient L2 norm per Dense kernel (dashed: before training)"
          x-label=${`Dense layer (1 = first hidden, ${this.runDepth + 1} = output)`}
          y-label="‖∂L/∂W‖₂ (log scale)"
          log-y
          .series=${this.normSeries()}
        ></mlp-chart>
        <mlp-chart
          id="vanishing-loss"
          heading="Loss (solid: training, mean over the epoch so far; dashed: validation)"
          x-label="epoch"
          y-label="loss (log scale)"
          log-y
          .series=${this.lossSeries()}
        ></mlp-chart>
      </div>
      <p class="hint">
        Layer 1's kernel has 784 rows (one per pixel) where the others have one per unit, so its norm is
        larger for that reason alone: compare layers 2–${this.runDepth}. The spread and the factor per layer
        below are over those layers.
      </p>
      ${
        this.runs.length === 0
          ? html`<p class="status" id="vanishing-no-results">Train the models to fill the tables.</p>`
          : html`<h3>Results</h3>
              <div class="scroll">${this.renderResults()}</div>
              <p class="hint">
                Spread: the largest gradient norm over the smallest, layers 2–${this.runDepth}. Factor per
                layer: how much the norm grows per layer going back toward the input (a least-squares fit over
                the same layers): ×1 is flat; below 1 the gradient shrinks toward the input, above 1 it grows.
                Gradient: <b>vanishing</b> when that factor, compounded from layer ${this.runDepth} back to
                layer 2, shrinks the norm more than ${REGIME_RATIO}×; <b>exploding</b> when it grows it more
                than ${REGIME_RATIO}×; <b>stable</b> otherwise.
              </p>`
      }
      <div class="tables">
        ${
          this.runs.length === 0
            ? nothing
            : html`<div class="scroll">
                <h3>Gradient norms per layer</h3>
                ${this.renderNorms()}
              </div>`
        }
        ${this.renderExplanation()}
      </div>
    `;
  }

  private renderResults() {
    const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));
    return html`<table id="vanishing-results">
      <thead>
        <tr>
          <th>Model</th>
          <th>Train loss</th>
          <th>Val loss</th>
          <th>Val acc</th>
          <th title="max/min of the gradient norms over layers 2–${this.runDepth}">Spread before → after</th>
          <th title="least-squares factor per layer, going toward the input">Factor per layer</th>
          <th title="from the factor over layers ${this.runDepth} → 2">Gradient before → after</th>
          <th>Time</th>
        </tr>
      </thead>
      <tbody>
        ${this.runs.map((r) => {
          const before = gradientProfile(r.norms[0] ?? [], this.runDepth);
          const after = r.norms.length > 1 ? gradientProfile(r.norms.at(-1) ?? [], this.runDepth) : undefined;
          return html`<tr
            class=${r.status}
            data-model=${r.kind}
            data-status=${r.status}
            data-train-loss=${num(r.last?.loss)}
            data-val-loss=${num(r.last?.valLoss)}
            data-val-accuracy=${num(r.last?.valAccuracy)}
            data-spread-before=${num(before.spread)}
            data-spread-after=${num(after?.spread)}
            data-factor-before=${num(before.perLayer)}
            data-factor-after=${num(after?.perLayer)}
            data-regime-before=${gradientRegime(before) ?? ''}
            data-regime-after=${(after && gradientRegime(after)) ?? ''}
            title=${r.error ?? ''}
          >
            <td>
              <span class="key" style=${`border-color: ${DEEP_MODEL_INFO[r.kind].color}`}></span>${r.label}
            </td>
            <td>${fmt(r.last?.loss)}</td>
            <td>${fmt(r.last?.valLoss)}</td>
            <td>${pct(r.last?.valAccuracy)}</td>
            <td>${sci(before.spread)}× → ${sci(after?.spread)}×</td>
            <td>×${fmt(before.perLayer, 3)} → ×${fmt(after?.perLayer, 3)}</td>
            <td>${regimeBadge(before)} → ${after ? regimeBadge(after) : ''}</td>
            <td>
              ${
                r.status === 'running'
                  ? 'training…'
                  : r.seconds === undefined
                    ? r.status
                    : `${fmt(r.seconds, 3)} s${r.status === 'stopped' ? ' (stopped)' : ''}`
              }
            </td>
          </tr>`;
        })}
      </tbody>
    </table>`;
  }

  private renderNorms() {
    const layers = Array.from({ length: this.runDepth + 1 }, (_, i) => i + 1);
    const cell = (r: ModelRun, epoch: number, layer: number) => {
      const v = r.norms[epoch]?.[layer - 1];
      return html`<td
        data-model=${r.kind}
        data-layer=${layer}
        data-epoch=${epoch}
        data-norm=${v === undefined ? '' : String(v)}
      >
        ${v === undefined ? '—' : v.toExponential(2)}
      </td>`;
    };
    return html`<table id="grad-table">
      <thead>
        <tr>
          <th></th>
          ${this.runs.map((r) => html`<th class="model" colspan="2">${r.label}</th>`)}
        </tr>
        <tr>
          <th>Layer</th>
          ${this.runs.map(
            (r) =>
              html`<th>before</th>
                <th>${r.norms.length > 1 ? `epoch ${r.norms.length - 1}` : 'after'}</th>`,
          )}
        </tr>
      </thead>
      <tbody>
        ${layers.map(
          (layer) =>
            html`<tr data-layer=${layer}>
              <td>${layer > this.runDepth ? `${layer} (output)` : layer}</td>
              ${this.runs.map((r) => html`${cell(r, 0, layer)}${cell(r, Math.max(1, r.norms.length - 1), layer)}`)}
            </tr>`,
        )}
      </tbody>
    </table>`;
  }

  private renderExplanation() {
    return html`<div class="explain" id="vanishing-explain">
      <h3>Why</h3>
      <p>
        Backpropagation multiplies the gradient, layer after layer, by each layer's weights and by its
        activation's derivative. A factor a little below or above 1 per layer compounds over 20 layers: the
        first layers then get gradients orders of magnitude smaller (vanishing) or larger (exploding) than the
        last ones, and the network stops learning. The sigmoid's derivative is at most 1/4 (σ′ ≤ 1/4), so each
        sigmoid layer shrinks it (vanishing). tanh′ ≤ 1, but uniform(−0.5, 0.5) kernels are large for 64 units
        (64 × Var(w) = 64/12 ≈ 5), so before training each tanh layer multiplies the gradient by more than 1
        and it explodes toward the input; training then pushes units into saturation, where tanh′ is close to
        0.
      </p>
      <p>
        The fixes: relu, whose derivative is 1 for every active unit, with he_uniform, which draws kernels
        with variance 2 / fan_in so that signals and gradients keep their size from layer to layer; residual
        connections h + f(h), whose identity path carries the gradient back unchanged; and batch
        normalization, which keeps every layer's inputs standardized. The course's rule of thumb: not deep
        (1–3 layers): tanh or sigmoid with uniform ±0.5; medium (4–8): relu + he_uniform; deep (9–25):
        residual connections + batch normalization.
      </p>
    </div>`;
  }
}

if (!customElements.get('mlp-vanishing')) customElements.define('mlp-vanishing', MlpVanishing);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-vanishing': MlpVanishing;
  }
}
