/**
 * <mlp-model-io>: saves the current model (state.current) as files (downloads://) or in
 * this browser's IndexedDB (indexeddb://), lists and deletes the saved ones, and loads a
 * model back from IndexedDB or from files the user picks (model.json + weights). A loaded
 * model becomes the current one, compiled so that Predict and evaluation work, after its
 * test accuracy on 1,000 test digits is measured.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import {
  browserFiles,
  listModels,
  loadModel,
  removeModel,
  resolveOptimizer,
  saveModel,
  type Optimizer,
  type LayersModel,
  type ModelArtifactsInfo,
  type SaveResult,
} from '../../src/index.js';
import { gpuSplit, loadMnist } from './mnist.js';
import { summaryText } from './models.js';
import { misfit } from './predict.js';
import type { DemoState } from './state.js';
import { fmt, panelStyles, pct } from './styles.js';

/** Test rows a loaded model is evaluated on. */
const EVAL_ROWS = 1_000;
const IDB = 'indexeddb://';

/** The name as given, trimmed; throws when it cannot name a file or an IndexedDB record. */
export function checkModelName(name: string): string {
  const n = name.trim();
  if (n === '') throw new RangeError('Give the model a name.');
  if (n.length > 100) throw new RangeError('The name is too long (100 characters at most).');
  const bad = /[/\\:*?"<>|]/.exec(n);
  if (bad) throw new RangeError(`The name cannot contain "${bad[0]}" (it names files).`);
  return n;
}

/** "12.3 kB" / "1.05 MB". */
function bytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  return n < 1e6 ? `${fmt(n / 1e3, 3)} kB` : `${fmt(n / 1e6, 3)} MB`;
}

interface Loaded {
  name: string;
  summary: string;
  accuracy: number | undefined;
  note: string | undefined;
}

export class MlpModelIo extends LitElement {
  static override properties = {
    state: { attribute: false },
    name: { state: true },
    includeOptimizer: { state: true },
    saved: { state: true },
    busy: { state: true },
    saveStatus: { state: true },
    loadStatus: { state: true },
    loaded: { state: true },
    error: { state: true },
  };

  static override styles = [
    panelStyles,
    css`
      .cards {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 340px), 1fr));
        gap: 1rem;
        margin-bottom: 1rem;
      }
      .muted {
        color: var(--_muted);
      }
      #idb-list {
        width: 100%;
      }
      #idb-list td {
        vertical-align: middle;
      }
      #idb-list td.actions {
        white-space: nowrap;
        text-align: right;
      }
      .model-name {
        font-weight: 600;
        word-break: break-word;
      }
      .small {
        font-size: 12px;
      }
      #idb-list button {
        padding: 0.1rem 0.6rem;
        font-size: 13px;
      }
      #idb-list button.delete {
        border-color: var(--_error);
        color: var(--_error);
      }
      .actions-row {
        margin-top: 0.6rem;
      }
      #summary {
        margin-top: 0.5rem;
      }
    `,
  ];

  declare state: DemoState | undefined;
  declare name: string;
  declare includeOptimizer: boolean;
  /** The models saved in IndexedDB (undefined until listed). */
  declare saved: Record<string, ModelArtifactsInfo> | undefined;
  /** What runs now ('save', 'load'...), which disables the buttons. */
  declare busy: string | undefined;
  declare saveStatus: string;
  declare loadStatus: string;
  declare loaded: Loaded | undefined;
  declare error: string | undefined;

  private listening: DemoState | undefined;

  constructor() {
    super();
    this.state = undefined;
    this.name = 'mnist-mlp';
    this.includeOptimizer = false;
    this.saved = undefined;
    this.busy = undefined;
    this.saveStatus = '';
    this.loadStatus = '';
    this.loaded = undefined;
    this.error = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated) this.listen();
    void this.refresh();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.listening?.removeEventListener('model', this.onModel);
    this.listening = undefined;
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('state')) this.listen();
  }

  private listen(): void {
    const target = this.isConnected ? this.state : undefined;
    if (this.listening === target) return;
    this.listening?.removeEventListener('model', this.onModel);
    this.listening = target;
    target?.addEventListener('model', this.onModel);
  }

  private readonly onModel = (): void => this.requestUpdate();

  /** Runs one job at a time; its error goes to #error. */
  private async run(what: string, job: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = what;
    this.error = undefined;
    try {
      await job();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.busy = undefined;
    }
  }

  /** Lists the IndexedDB models again. */
  private async refresh(): Promise<void> {
    try {
      this.saved = await listModels();
    } catch (e) {
      this.saved = {};
      this.error = `Cannot list the models saved in this browser: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  // ------------------------------------------------------------------ save

  private save(where: 'downloads' | 'indexeddb'): Promise<void> {
    return this.run('save', async () => {
      const state = this.state;
      const model = state?.current?.model;
      if (!state || !model) throw new Error('There is no model to save yet: train one first, or load one.');
      const name = checkModelName(this.name);
      const includeOptimizer = this.includeOptimizer && model.isCompiled;
      const replacing = where === 'indexeddb' && this.saved?.[`${IDB}${name}`] !== undefined;
      this.saveStatus = 'Saving…';
      let r: SaveResult;
      try {
        // Through use(): a model trained or loaded meanwhile replaces this one, which is then
        // disposed only after the save.
        r = await state.use(model, () => saveModel(model, `${where}://${name}`, { includeOptimizer }));
      } catch (e) {
        this.saveStatus = ''; // #error says why
        throw e;
      }
      const size = bytes(r.modelArtifactsInfo.modelTopologyBytes + r.modelArtifactsInfo.weightDataBytes);
      const withState = includeOptimizer ? ', with the optimizer state' : '';
      if (where === 'downloads') {
        this.saveStatus = `Downloaded ${name}.json and ${name}.weights.bin (${size}${withState}).`;
      } else {
        this.saveStatus = `Saved in this browser as ${IDB}${name} (${size}${withState})${replacing ? ', replacing the earlier one' : ''}.`;
        await this.refresh();
      }
    });
  }

  // ------------------------------------------------------------------ load

  /**
   * Loads a model, checks it fits the demo (784 → 10), compiles it (sparse categorical
   * cross-entropy, accuracy; the saved optimizer if the file names one, else Adam), measures
   * its test accuracy, and makes it the current model.
   */
  private load(name: string, get: () => Promise<{ model: LayersModel; optimizer?: Optimizer }>) {
    return this.run('load', async () => {
      this.loadStatus = `Loading ${name}…`;
      this.loaded = undefined;
      let model: LayersModel | undefined;
      let handedOver = false;
      try {
        const got = await get();
        model = got.model;
        const optimizer = got.optimizer;
        const bad = misfit(model);
        if (bad) throw new Error(`"${name}" ${bad}, so this demo cannot use it.`);
        model.compile({
          optimizer:
            optimizer ??
            (model.pendingOptimizerWeights?.some((w) => w.name === 'u_product') ? 'nadam' : 'adam'),
          loss: 'sparseCategoricalCrossentropy',
          metrics: ['accuracy'],
        });
        this.loadStatus = `Loaded ${name}; measuring its accuracy on ${EVAL_ROWS.toLocaleString('en-US')} test digits…`;
        let note: string | undefined;
        let accuracy: number | undefined;
        try {
          accuracy = await this.evaluate(model);
        } catch (e) {
          // Optimizer state saved for another optimizer than the one guessed (IndexedDB models
          // do not say which): train on with a fresh one.
          if (!model.pendingOptimizerWeights || !/optimizer state/.test(String(e))) throw e;
          model.pendingOptimizerWeights = undefined;
          note =
            'Its saved optimizer state did not fit the optimizer it was compiled with (IndexedDB does not record which one it was) and was left out; training it again starts that optimizer afresh.';
          accuracy = await this.evaluate(model);
        }
        const summary = summaryText(model);
        const state = this.state;
        if (!state) throw new Error('The demo has not started WebGPU.');
        state.setModel(model, `loaded: ${name}`);
        handedOver = true;
        this.loaded = { name, summary, accuracy, note };
        this.loadStatus = '';
      } finally {
        // A failed load (a missing or broken file included) leaves no status behind.
        if (!handedOver) {
          await model?.dispose();
          this.loadStatus = '';
        }
      }
    });
  }

  /** Accuracy on the first test rows. */
  private async evaluate(model: LayersModel): Promise<number | undefined> {
    const engine = this.state?.engine;
    if (!engine) return undefined;
    const { test } = await loadMnist(1, EVAL_ROWS);
    const data = gpuSplit(engine, test, 'mnist test (loaded model)');
    try {
      const logs = await model.evaluate(data, undefined, { batchSize: EVAL_ROWS });
      return logs.accuracy;
    } finally {
      data.dispose();
    }
  }

  private loadIdb(url: string): Promise<void> {
    return this.load(url.slice(IDB.length), async () => ({ model: await loadModel(url) }));
  }

  private loadFiles(input: HTMLInputElement): Promise<void> {
    const files = [...(input.files ?? [])];
    input.value = ''; // the same files can be picked again
    if (files.length === 0) return Promise.resolve();
    const jsons = files.filter((f) => f.name.toLowerCase().endsWith('.json'));
    if (jsons.length !== 1) {
      this.error =
        jsons.length === 0
          ? `Pick the model's .json file together with its weights file(s); got ${files.map((f) => f.name).join(', ')}.`
          : `Pick one model at a time: ${jsons.map((f) => f.name).join(', ')} are all .json files.`;
      return Promise.resolve();
    }
    const json = jsons[0] as File;
    const weights = files.filter((f) => f !== json);
    return this.load(json.name.replace(/\.json$/i, ''), async () => {
      const artifacts = await browserFiles(json, ...weights).load?.();
      if (!artifacts) throw new Error('browserFiles gave no loader');
      // A model saved with its optimizer state names its optimizer in training_config.
      const topology = artifacts.modelTopology as
        | {
            training_config?: {
              optimizer_config?: { class_name?: unknown; config?: Record<string, unknown> };
            };
          }
        | undefined;
      const saved = topology?.training_config?.optimizer_config;
      const optimizer =
        typeof saved?.class_name === 'string'
          ? resolveOptimizer({ className: saved.class_name, config: saved.config ?? {} })
          : undefined;
      return { model: await loadModel(artifacts), ...(optimizer ? { optimizer } : {}) };
    });
  }

  private deleteSaved(url: string): Promise<void> {
    return this.run('delete', async () => {
      await removeModel(url);
      this.saveStatus = `Deleted ${url}.`;
      await this.refresh();
    });
  }

  // ------------------------------------------------------------------ view

  override render() {
    const current = this.state?.current;
    const busy = this.busy !== undefined;
    const model = current?.model;
    return html`<h2>Save / load</h2>
      <p class="lead">
        Models are saved in the TF.js layers format (model.json + weights), which tfjs-layers'
        <code>tf.loadLayersModel</code> reads too, and Keras through <code>tensorflowjs_converter</code>.
      </p>
      <div class="cards">
        <section class="card">
          <h3>Save the current model</h3>
          ${
            current
              ? html`<p>Current model: <b id="current">${current.description}</b></p>`
              : html`<p class="muted" id="no-model">
                  No model yet: train one on the <a href="#train">Train</a> tab, or load one here.
                </p>`
          }
          <form class="config" @submit=${(e: Event) => e.preventDefault()}>
            <label for="name">Name</label>
            <input
              id="name"
              .value=${this.name}
              @input=${(e: Event) => (this.name = (e.target as HTMLInputElement).value)}
            />
            <label for="include-optimizer">Optimizer state</label>
            <label
              ><input
                type="checkbox"
                id="include-optimizer"
                .checked=${this.includeOptimizer}
                ?disabled=${!model?.isCompiled}
                @change=${(e: Event) => (this.includeOptimizer = (e.target as HTMLInputElement).checked)}
              />
              include it (to continue training where it stopped)</label
            >
          </form>
          <div class="row actions-row">
            <button id="save-download" ?disabled=${!model || busy} @click=${() => this.save('downloads')}>
              Download files
            </button>
            <button id="save-idb" ?disabled=${!model || busy} @click=${() => this.save('indexeddb')}>
              Save in this browser
            </button>
          </div>
          ${this.saveStatus ? html`<p class="status" id="save-status">${this.saveStatus}</p>` : nothing}
        </section>
        <section class="card">
          <h3>Saved in this browser</h3>
          ${this.renderList(busy)}
        </section>
        <section class="card">
          <h3>Load from files</h3>
          <p class="muted">
            Pick a model.json and its weights file together (e.g. <code>name.json</code> and
            <code>name.weights.bin</code> from "Download files").
          </p>
          <input
            type="file"
            id="files"
            multiple
            accept=".json,.bin,application/json,application/octet-stream"
            ?disabled=${busy}
            @change=${(e: Event) => void this.loadFiles(e.target as HTMLInputElement)}
          />
        </section>
      </div>
      ${this.error ? html`<p class="error" id="error" role="alert">${this.error}</p>` : nothing}
      ${this.renderLoaded()}`;
  }

  private renderList(busy: boolean) {
    const saved = this.saved;
    if (!saved) return html`<p class="status">Listing…</p>`;
    const urls = Object.keys(saved).sort(
      (a, b) => (saved[b]?.dateSaved.getTime() ?? 0) - (saved[a]?.dateSaved.getTime() ?? 0),
    );
    if (urls.length === 0)
      return html`<p class="muted" id="idb-empty">No models saved in this browser yet.</p>
        <table id="idb-list" data-count="0"></table>`;
    return html`<table id="idb-list" data-count=${String(urls.length)}>
      <tbody>
        ${urls.map((url) => {
          const info = saved[url] as ModelArtifactsInfo;
          const name = url.slice(IDB.length);
          const size = info.modelTopologyBytes + info.weightDataBytes;
          return html`<tr
            data-name=${name}
            data-date=${info.dateSaved.toISOString()}
            data-bytes=${String(size)}
          >
            <td>
              <div class="model-name">${name}</div>
              <div class="muted small">
                ${info.dateSaved.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })} ·
                ${bytes(size)}
              </div>
            </td>
            <td class="actions">
              <button class="load" data-name=${name} ?disabled=${busy} @click=${() => this.loadIdb(url)}>
                Load
              </button>
              <button
                class="delete secondary"
                data-name=${name}
                ?disabled=${busy}
                @click=${() => this.deleteSaved(url)}
              >
                Delete
              </button>
            </td>
          </tr>`;
        })}
      </tbody>
    </table>`;
  }

  private renderLoaded() {
    const l = this.loaded;
    if (!l && !this.loadStatus) return nothing;
    return html`<section class="card">
      <h3>Loaded model</h3>
      <p class="status" id="load-status" data-name=${l?.name ?? ''}>
        ${
          l
            ? html`Loaded <b>${l.name}</b>; it is now the current model (see the Predict tab). Test accuracy:
                <b id="load-accuracy" data-value=${l.accuracy === undefined ? '' : String(l.accuracy)}
                  >${pct(l.accuracy)}</b
                >
                on the first ${EVAL_ROWS.toLocaleString('en-US')} test digits.`
            : this.loadStatus
        }
      </p>
      ${l?.note ? html`<p class="muted">${l.note}</p>` : nothing}
      ${l ? html`<pre id="summary">${l.summary}</pre>` : nothing}
    </section>`;
  }
}

if (!customElements.get('mlp-model-io')) customElements.define('mlp-model-io', MlpModelIo);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-model-io': MlpModelIo;
  }
}
