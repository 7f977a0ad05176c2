/**
 * <mlp-demo>: the demo page. Starts WebGPU (or explains why it cannot), then shows the
 * tabs: Train, Predict, Lab, Vanishing gradients, Playground, Tune, Save / load.
 */
import { css, html, LitElement, nothing } from 'lit';
import { html as staticHtml, literal, type StaticValue } from 'lit/static-html.js';
import type { Engine, LayersModel } from '../../src/index.js';
import { DemoState } from './state.js';
import { panelStyles } from './styles.js';
import { startWebGPU, type WebGPUStatus } from './webgpu.js';
import './trainer.js';
import './predict.js';
import './lab.js';
import './vanishing.js';
import './playground.js';
import './tune.js';
import './model-io.js';

const TABS = [
  { id: 'train', label: 'Train' },
  { id: 'predict', label: 'Predict' },
  { id: 'lab', label: 'Lab' },
  { id: 'vanishing', label: 'Vanishing gradients' },
  { id: 'playground', label: 'Playground' },
  { id: 'tune', label: 'Tune' },
  { id: 'io', label: 'Save / load' },
] as const;
type TabId = (typeof TABS)[number]['id'];

/** The tabs after Train: each one element, given the demo's state (Train takes an engine and lock). */
const PANELS: readonly { id: Exclude<TabId, 'train'>; tag: StaticValue }[] = [
  { id: 'predict', tag: literal`mlp-predict` },
  { id: 'lab', tag: literal`mlp-lab` },
  { id: 'vanishing', tag: literal`mlp-vanishing` },
  { id: 'playground', tag: literal`mlp-playground` },
  { id: 'tune', tag: literal`mlp-tune` },
  { id: 'io', tag: literal`mlp-model-io` },
];

export class MlpDemo extends LitElement {
  static override properties = {
    status: { state: true },
    tab: { state: true },
    busy: { state: true },
    presenting: { type: Boolean, reflect: true },
  };

  static override styles = [
    panelStyles,
    css`
      :host {
        max-width: 76rem;
        margin: 0 auto;
        padding: 1rem 1.25rem 3rem;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 0.5rem 1rem;
        margin-bottom: 0.75rem;
      }
      header h1 {
        font-size: 1.4rem;
        margin: 0;
      }
      /* Presentation mode (a projector): the page's full width, everything 1.35× larger; not on a
         phone-sized screen, where the panels already stack and there is no room to grow. */
      :host([presenting]) {
        max-width: none;
      }
      @media (min-width: 720px) {
        :host([presenting]) .zoom {
          zoom: 1.35;
        }
      }
      #present {
        margin-left: auto;
      }
      #present[aria-pressed='true'] {
        background: var(--_accent);
        color: var(--_accent-fg);
      }
      .adapter {
        color: var(--_muted);
      }
      nav {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        border-bottom: 1px solid var(--_border);
        margin-bottom: 1rem;
      }
      nav button {
        background: none;
        color: var(--_link);
        border: none;
        border-bottom: 3px solid transparent;
        border-radius: 0;
        padding: 0.4rem 0.8rem;
      }
      nav button[aria-selected='true'] {
        border-bottom-color: var(--_accent);
        color: var(--_fg);
        font-weight: 600;
      }
      .no-webgpu {
        border: 1px solid #e0b4b4;
        background: var(--_danger-bg);
        border-radius: 8px;
        padding: 1rem 1.25rem;
        max-width: 46rem;
      }
      .no-webgpu h2 {
        color: #9f1d1d;
      }
    `,
  ];

  declare status: WebGPUStatus | undefined;
  declare tab: TabId;
  declare busy: string | undefined;
  /** Presentation mode: larger text and charts for a projector (the attribute \`presenting\`). */
  declare presenting: boolean;
  /** Set once WebGPU started; the panels share it. */
  state: DemoState | undefined;

  constructor() {
    super();
    this.status = undefined;
    this.tab = tabFromHash();
    this.busy = undefined;
    this.presenting = new URLSearchParams(location.search).has('present');
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    void this.start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
  }

  private readonly onHash = () => {
    this.tab = tabFromHash();
  };

  private async start(): Promise<void> {
    const status = await startWebGPU();
    if (status.ok) {
      this.state = new DemoState(status.engine);
      this.state.addEventListener('busy', () => (this.busy = this.state?.busy));
    }
    this.status = status;
  }

  private select(tab: TabId): void {
    this.tab = tab;
    history.replaceState(null, '', `#${tab}`);
  }

  /** The tab list's keys (WAI-ARIA tabs, automatic activation): arrows, Home, End. */
  private readonly onTabKey = (e: KeyboardEvent): void => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return; // Alt+← is the browser's Back
    const i = TABS.findIndex((t) => t.id === this.tab);
    const to =
      e.key === 'ArrowRight'
        ? (i + 1) % TABS.length
        : e.key === 'ArrowLeft'
          ? (i - 1 + TABS.length) % TABS.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? TABS.length - 1
              : -1;
    const next = TABS[to];
    if (!next) return;
    e.preventDefault();
    this.select(next.id);
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLButtonElement>(`#tab-${next.id}`)?.focus(),
    );
  };

  private readonly onTrained = (e: CustomEvent<{ model: LayersModel; description: string }>): void => {
    this.state?.setModel(e.detail.model, e.detail.description);
  };

  override render() {
    const s = this.status;
    const header = html`<header>
      <h1>webgpu-mlp</h1>
      <span class="lead">Keras-style neural networks trained on your GPU with WebGPU compute shaders.</span>
      ${
        s?.ok
          ? html`<span class="adapter" id="adapter"
              >GPU adapter:
              <b>${s.engine.adapter.name}</b>${s.engine.adapter.isFallback ? ' (software)' : ''}</span
            >`
          : nothing
      }
      <button
        type="button"
        class="secondary"
        id="present"
        aria-pressed=${this.presenting ? 'true' : 'false'}
        title="Larger text and charts, the page's full width (or open the page with ?present)"
        @click=${() => (this.presenting = !this.presenting)}
      >
        Presentation mode
      </button>
    </header>`;
    if (!s)
      return html`${header}
        <p class="status" id="starting">Starting WebGPU…</p>`;
    if (!s.ok) {
      return html`${header}
        <section class="no-webgpu" id="no-webgpu" role="alert" data-reason=${s.reason}>
          <h2>${s.title}</h2>
          <p>${s.detail}</p>
        </section>`;
    }
    const state = this.state;
    return html`${header}
      <div class="zoom">${this.renderTabs(s.engine, state)}</div>`;
  }

  private renderTabs(engine: Engine, state: DemoState | undefined) {
    return html`<nav role="tablist" aria-label="Demo sections" @keydown=${this.onTabKey}>
        ${TABS.map(
          (t) =>
            html`<button
              role="tab"
              id=${`tab-${t.id}`}
              aria-selected=${this.tab === t.id ? 'true' : 'false'}
              aria-controls=${`panel-${t.id}`}
              tabindex=${this.tab === t.id ? 0 : -1}
              @click=${() => this.select(t.id)}
            >
              ${t.label}
            </button>`,
        )}
      </nav>
      <mlp-trainer
        role="tabpanel"
        id="panel-train"
        aria-labelledby="tab-train"
        ?hidden=${this.tab !== 'train'}
        .engine=${engine}
        .lock=${state}
        @mlp-trained=${this.onTrained}
      ></mlp-trainer>
      ${PANELS.map(
        (p) =>
          staticHtml`<${p.tag}
            role="tabpanel"
            id=${`panel-${p.id}`}
            aria-labelledby=${`tab-${p.id}`}
            ?hidden=${this.tab !== p.id}
            .state=${state}
          ></${p.tag}>`,
      )}`;
  }
}

function tabFromHash(): TabId {
  const id = location.hash.slice(1);
  return TABS.some((t) => t.id === id) ? (id as TabId) : 'train';
}

if (!customElements.get('mlp-demo')) customElements.define('mlp-demo', MlpDemo);
