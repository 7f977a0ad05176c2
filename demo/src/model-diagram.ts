/**
 * <mlp-model-diagram>: the model's diagram (utils.plotModel, Keras's plot_model with
 * show_shapes), folded away under "Diagram". Graphviz (@viz-js/viz: 1.2 MB, 470 kB gzipped,
 * of WebAssembly) and the plotting code load only when the fold is first opened; the diagram
 * is drawn again when `build` changes while open. In a bundled app the app hands the package
 * over (utils.registerPlotPackages, as the demo's main.ts does); without it the fold says so.
 */
import { css, html, LitElement } from 'lit';
import type { LayersModel } from '../../src/index.js';

export class ModelDiagram extends LitElement {
  static override properties = {
    build: { attribute: false },
    status: { state: true },
  };

  static override styles = css`
    summary {
      cursor: pointer;
    }
    #svg svg {
      max-width: 100%;
      height: auto;
    }
    .note {
      color: #666;
      font-size: 0.9em;
    }
  `;

  /** Builds the model to draw (a fresh one, disposed after drawing); set again to redraw. */
  declare build: (() => LayersModel) | undefined;
  declare private status: string;
  private open = false;
  /** The builder last drawn (or being drawn). */
  private drawn: (() => LayersModel) | undefined;

  constructor() {
    super();
    this.status = '';
  }

  override render() {
    return html`<details id="diagram" @toggle=${(e: Event) => this.toggled(e)}>
      <summary>Diagram</summary>
      <p class="note" id="diagram-status" ?hidden=${this.status === ''}>${this.status}</p>
      <div id="svg"></div>
    </details>`;
  }

  override updated(): void {
    if (this.open) void this.draw();
  }

  private toggled(e: Event): void {
    this.open = (e.target as HTMLDetailsElement).open;
    if (this.open) void this.draw();
  }

  private async draw(): Promise<void> {
    const build = this.build;
    if (!build || build === this.drawn) return;
    this.drawn = build;
    this.status = 'Laying out the diagram…';
    try {
      const { plotModel } = await import('../../src/utils/plot-model.js');
      const model = build();
      try {
        const { element } = await plotModel(model, { showShapes: true, showLayerActivations: true, dpi: 72 });
        if (build !== this.drawn) return; // the architecture changed meanwhile: that draw wins
        this.renderRoot.querySelector('#svg')?.replaceChildren(...(element ? [element] : []));
        this.status = '';
      } finally {
        void model.dispose();
      }
    } catch (e) {
      if (build === this.drawn) this.status = `No diagram: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

if (!customElements.get('mlp-model-diagram')) customElements.define('mlp-model-diagram', ModelDiagram);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-model-diagram': ModelDiagram;
  }
}
