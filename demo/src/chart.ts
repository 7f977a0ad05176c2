/**
 * <mlp-chart>: a Chart.js line or bar chart as a Lit element. Set `series` (new arrays, or
 * the same arrays followed by requestUpdate()) and it redraws without re-creating the chart,
 * so live training curves cost one Chart.update() per new point.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Title,
  Tooltip,
  type ChartConfiguration,
  type LegendItem,
} from 'chart.js';
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { chartSvg, chartTable, download, FADED_OPACITY, fileStem, tableNumber } from './export.js';
import { themeStyles } from './styles.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Title,
  Tooltip,
);

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  label: string;
  /** Line charts: {x, y} points. Bar charts: one y per category of `categories`. */
  points: ChartPoint[] | number[];
  color?: string;
  dashed?: boolean;
  /** A thin line without point markers (e.g. a running mean drawn under the epoch points). */
  thin?: boolean;
  /** Points only, drawn large (e.g. the best epoch), no line. */
  marker?: boolean;
  /** Drawn pale and thin, without points, behind the others (an earlier run, a scenario out of focus). */
  faded?: boolean;
  /** The point markers' shape (default circle), to tell series apart beyond colour. */
  pointStyle?: 'circle' | 'triangle' | 'rect';
}

/** A palette that stays readable on white, for up to 12 overlaid series. */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
  '#393b79',
  '#ad494a',
];

/**
 * A log axis's tick labels: spanning decades, its powers of ten only, as 1e-4 … 1e1 (Chart.js's
 * default writes 0.00010 and crowds the minor ticks); a narrower one, 3 digits, a label only
 * where it is an eighth of the axis past the last one labelled.
 */
function logTick(v: number | string, index: number, ticks: { value: number }[]): string {
  const values = ticks.map((t) => t.value).filter((x) => x > 0);
  const decades = Math.log10(Math.max(...values) / Math.min(...values));
  if (decades >= 1) {
    const e = Math.log10(Number(v));
    return Math.abs(e - Math.round(e)) < 1e-9 ? `1e${Math.round(e)}` : '';
  }
  let last = -Infinity;
  for (let i = 0; i <= index; i++) {
    const at = Math.log10(ticks[i]?.value ?? 0);
    if (at - last >= decades / 8) {
      last = at;
      if (i === index) return Number(Number(v).toPrecision(3)).toString();
    }
  }
  return '';
}

/** Two hex digits of an alpha in [0, 1]. */
function alphaHex(alpha: number): string {
  return Math.round(alpha * 255)
    .toString(16)
    .padStart(2, '0');
}

/** Chart.js's legend entries, each with the style its line series is drawn in (bars keep boxes). */
function legendLabels(chart: Chart): LegendItem[] {
  return Chart.defaults.plugins.legend.labels.generateLabels(chart).map((item) => {
    const dataset = chart.data.datasets[item.datasetIndex ?? -1] as { pointStyle?: unknown } | undefined;
    const marker = dataset?.pointStyle === 'rectRot';
    return { ...item, pointStyle: marker ? 'rectRot' : 'line', lineWidth: marker ? 1.5 : 2 };
  });
}

export class MlpChart extends LitElement {
  static override properties = {
    series: { attribute: false },
    categories: { attribute: false },
    kind: { type: String },
    heading: { type: String },
    xLabel: { type: String, attribute: 'x-label' },
    yLabel: { type: String, attribute: 'y-label' },
    logY: { type: Boolean, attribute: 'log-y' },
    logX: { type: Boolean, attribute: 'log-x' },
    yMin: { type: Number, attribute: 'y-min' },
    yMax: { type: Number, attribute: 'y-max' },
    hideLegend: { type: Boolean, attribute: 'hide-legend' },
    showTable: { state: true },
    full: { state: true },
    dark: { state: true },
  };

  static override styles = [
    themeStyles,
    css`
      :host {
        display: block;
        position: relative;
        min-height: 220px;
      }
      :host(:fullscreen) {
        background: var(--_surface);
      }
      :host(:fullscreen) .plot {
        inset: 2.5rem 1.5rem 1.5rem;
      }
      /* Below the buttons' row, so that they never cover the chart's title. */
      .plot {
        position: absolute;
        inset: 1.3rem 0 0 0;
      }
      .plot.behind {
        visibility: hidden;
      }
      canvas {
        width: 100%;
        height: 100%;
      }
      .table {
        position: absolute;
        inset: 1.4rem 0 0 0;
        overflow: auto;
        background: var(--_surface);
        font:
          12px/1.35 system-ui,
          sans-serif;
      }
      .table table {
        border-collapse: collapse;
        font-variant-numeric: tabular-nums;
      }
      .table caption {
        text-align: left;
        font-weight: 600;
        padding: 0 0.4rem 0.2rem;
      }
      .table th,
      .table td {
        padding: 0.1rem 0.45rem;
        border-bottom: 1px solid #e6e9ef;
        text-align: right;
        white-space: nowrap;
      }
      .table th:first-child,
      .table td:first-child {
        text-align: left;
      }
      .table thead th {
        position: sticky;
        top: 0;
        background: var(--_surface);
      }
      .export {
        position: absolute;
        top: 0;
        right: 0;
        z-index: 1; /* above the plot and the table, which are positioned too */
        display: flex;
        gap: 0.2rem;
        opacity: 0.55;
      }
      .export:hover,
      .export:focus-within {
        opacity: 1;
      }
      .export button[aria-pressed='true'] {
        background: var(--_accent);
        color: var(--_accent-fg);
      }
      .export button {
        font:
          11px system-ui,
          sans-serif;
        padding: 0 0.35rem;
        border: 1px solid var(--_border-strong);
        border-radius: 3px;
        background: var(--_surface);
        color: var(--_link);
        cursor: pointer;
      }
    `,
  ];

  declare series: ChartSeries[];
  declare categories: string[];
  declare kind: 'line' | 'bar';
  declare heading: string;
  declare xLabel: string;
  declare yLabel: string;
  declare logY: boolean;
  /** A logarithmic x axis (a learning-rate range test). */
  declare logX: boolean;
  declare yMin: number | undefined;
  declare yMax: number | undefined;
  /** No legend under the plot (a panel that shows one shared legend for several charts). */
  declare hideLegend: boolean;
  /** The data table is shown in place of the plot. */
  declare showTable: boolean;
  /** The chart fills the screen (its Full screen button); its text is drawn larger. */
  declare full: boolean;
  /** The page prefers a dark scheme (the chart redraws with the theme's colours when it changes). */
  declare dark: boolean;
  private readonly darkQuery: MediaQueryList | undefined =
    'matchMedia' in globalThis ? matchMedia('(prefers-color-scheme: dark)') : undefined;
  private readonly onScheme = (): void => {
    this.dark = this.darkQuery?.matches ?? false;
  };
  private chart: Chart | undefined;

  constructor() {
    super();
    this.series = [];
    this.categories = [];
    this.kind = 'line';
    this.heading = '';
    this.xLabel = '';
    this.yLabel = '';
    this.logY = false;
    this.logX = false;
    this.yMin = undefined;
    this.yMax = undefined;
    this.hideLegend = false;
    this.showTable = false;
    this.full = false;
    this.dark = this.darkQuery?.matches ?? false;
  }

  /** Points drawn so far, per series, gaps (NaN) left out (what a test reads to check the curves). */
  get pointCounts(): number[] {
    return this.series.map(
      (s) =>
        (s.points as (ChartPoint | number)[]).filter((p) => Number.isFinite(typeof p === 'number' ? p : p.y))
          .length,
    );
  }

  /** The chart as drawn on white (a slide's background), a PNG data: URL; undefined before it is drawn. */
  toPng(): string | undefined {
    const drawn = this.chart?.canvas;
    if (!drawn) return undefined;
    const canvas = document.createElement('canvas');
    canvas.width = drawn.width;
    canvas.height = drawn.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return this.chart?.toBase64Image('image/png', 1);
    ctx.fillStyle = this.themed('var(--_surface, #fff)');
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(drawn, 0, 0);
    return canvas.toDataURL('image/png');
  }

  /** The chart as standalone SVG, drawn from the series (export.ts's chartSvg). */
  toSvg(): string {
    return chartSvg({
      heading: this.heading,
      xLabel: this.xLabel,
      yLabel: this.yLabel,
      logY: this.logY,
      logX: this.logX,
      series: this.series.map((s, i) => ({
        ...s,
        color: this.themed(s.color ?? this.palette()[i % this.palette().length] ?? '#333'),
      })),
    });
  }

  private exportAs(format: 'png' | 'svg'): void {
    const name = `${fileStem(this.heading)}.${format}`;
    if (format === 'svg') download(name, this.toSvg(), 'image/svg+xml');
    else {
      const png = this.toPng();
      if (png) download(name, png);
    }
  }

  override render() {
    const what = this.heading || 'chart';
    return html`<div class="export" part="buttons">
        <button type="button" aria-label=${`Download ${what} as PNG`} @click=${() => this.exportAs('png')}>
          PNG
        </button>
        <button type="button" aria-label=${`Download ${what} as SVG`} @click=${() => this.exportAs('svg')}>
          SVG
        </button>
        <button
          type="button"
          class="full-toggle"
          aria-pressed=${this.full ? 'true' : 'false'}
          aria-label=${`Show ${what} full screen`}
          title=${this.full ? 'Press again (or Esc) to leave full screen' : 'Fill the screen with this chart'}
          @click=${() => void this.toggleFullScreen()}
        >
          Full screen
        </button>
        <button
          type="button"
          class="table-toggle"
          aria-pressed=${this.showTable ? 'true' : 'false'}
          aria-label=${`Show ${what} as a table`}
          @click=${() => (this.showTable = !this.showTable)}
        >
          Table
        </button>
      </div>
      <div
        class=${this.showTable ? 'plot behind' : 'plot'}
        part="plot"
        aria-hidden=${this.showTable ? 'true' : 'false'}
      >
        <canvas role="img" aria-label=${what}></canvas>
      </div>
      ${this.showTable ? this.renderTable(what) : nothing}`;
  }

  /** The data-table alternative (chartTable): a scrolling region in the plot's place. */
  private renderTable(what: string) {
    const t = chartTable(this.series, this.xLabel, this.kind === 'bar' ? this.categories : undefined);
    return html`<div class="table" role="region" aria-label=${`${what}: data`} tabindex="0">
      <table>
        <caption>
          ${what}
        </caption>
        <thead>
          <tr>
            ${t.columns.map((c) => html`<th scope="col">${c}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${t.rows.map(
            (r) =>
              html`<tr>
                <th scope="row">${typeof r.x === 'number' ? tableNumber(r.x) : r.x}</th>
                ${r.values.map((v) => html`<td>${tableNumber(v)}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  override firstUpdated(): void {
    const canvas = this.renderRoot.querySelector('canvas');
    if (!canvas) return;
    this.chart = new Chart(canvas, this.config());
  }

  override updated(changed: PropertyValues<this>): void {
    if (!this.chart || changed.size === 0) return;
    if (changed.has('kind')) {
      this.chart.destroy();
      const canvas = this.renderRoot.querySelector('canvas');
      if (canvas) this.chart = new Chart(canvas, this.config());
      return;
    }
    const next = this.config();
    this.chart.data = next.data;
    this.chart.options = next.options ?? {};
    this.chart.update('none');
  }

  /** Fills the screen with the chart (a projector), or leaves full screen. */
  private async toggleFullScreen(): Promise<void> {
    try {
      if (this.matches(':fullscreen')) await document.exitFullscreen();
      else await this.requestFullscreen();
    } catch (e) {
      console.warn('full screen is not available here', e);
    }
  }

  private readonly onFullScreen = (): void => {
    this.full = this.matches(':fullscreen');
  };

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.removeEventListener('fullscreenchange', this.onFullScreen);
    this.darkQuery?.removeEventListener('change', this.onScheme);
    this.chart?.destroy();
    this.chart = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.addEventListener('fullscreenchange', this.onFullScreen);
    this.darkQuery?.addEventListener('change', this.onScheme);
    // Re-attached after a disconnect (a tab switch that moves the element): draw again.
    if (this.hasUpdated && !this.chart) {
      const canvas = this.renderRoot.querySelector('canvas');
      if (canvas) this.chart = new Chart(canvas, this.config());
    }
  }

  /**
   * A theme value (a custom property, as its computed text) or a series colour: "var(--x, #abc)"
   * resolves to --x if the page set it, else its fallback.
   */
  private themed(value: string): string {
    const m = /^var\((--[\w-]+)\s*(?:,\s*(.+))?\)$/.exec(value.trim());
    if (!m) return value;
    const set = this.isConnected
      ? getComputedStyle(this)
          .getPropertyValue(m[1] ?? '')
          .trim()
      : '';
    return set || (m[2] ?? '').trim() || '#333';
  }

  /** The series colours of a page's --mlp-palette (comma-separated), else PALETTE. */
  private palette(): readonly string[] {
    const set = this.isConnected ? getComputedStyle(this).getPropertyValue('--mlp-palette').trim() : '';
    const colors = set
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    return colors.length > 0 ? colors : PALETTE;
  }

  /**
   * The y axis's fixed ends. y-max is a ceiling the data cannot pass (accuracy's 1): the axis
   * ends there, or a little above when a curve reaches it (so that a 100% curve is not drawn on
   * the frame; the labels stop at y-max). With no data yet the axis runs from 0 to y-max.
   */
  private yRange(): { min?: number; max?: number } {
    const ys = this.series.flatMap((s) =>
      (s.points as (ChartPoint | number)[])
        .map((p) => (typeof p === 'number' ? p : p.y))
        .filter(Number.isFinite),
    );
    const out: { min?: number; max?: number } = {};
    if (this.yMin !== undefined) out.min = this.yMin;
    if (this.yMax === undefined) return out;
    if (ys.length === 0) return { min: this.yMin ?? 0, max: this.yMax };
    const top = Math.max(...ys);
    const bottom = Math.min(...ys, this.yMin ?? Infinity);
    out.max = top >= this.yMax ? this.yMax + 0.03 * Math.max(this.yMax - bottom, 1e-3) : this.yMax;
    return out;
  }

  private config(): ChartConfiguration {
    const palette = this.palette();
    const datasets = this.series.map((s, i) => {
      const base = this.themed(s.color ?? palette[i % palette.length] ?? '#333');
      // #rrggbb + alpha: a faded series keeps its hue.
      const color = s.faded && /^#[0-9a-f]{6}$/i.test(base) ? `${base}${alphaHex(FADED_OPACITY)}` : base;
      return {
        label: s.label,
        data: s.points as never,
        borderColor: color,
        backgroundColor: this.kind === 'bar' ? `${color}cc` : color,
        borderDash: s.dashed ? [6, 4] : [],
        borderWidth: this.kind === 'bar' ? 0 : s.thin ? 1 : s.faded ? 1.5 : 2,
        pointRadius: this.kind === 'bar' || s.thin || s.faded ? 0 : s.marker ? 7 : s.pointStyle ? 3 : 2,
        ...(s.pointStyle ? { pointStyle: s.pointStyle } : {}),
        ...(s.marker
          ? { pointStyle: 'rectRot' as const, showLine: false, backgroundColor: '#fff', pointHoverRadius: 8 }
          : {}),
        // Faded series are drawn first (Chart.js draws higher `order` first), under the others.
        order: s.faded ? 1 : 0,
        tension: 0,
      };
    });
    // Full screen (a projector): text half as large again.
    const font = { size: this.full ? 18 : 12 };
    // The theme's text and grid colours (light or dark, or the page's own).
    const text = this.themed('var(--_fg, #666)');
    const grid = this.themed('var(--_grid, rgba(0, 0, 0, 0.1))');
    const title = (label: string) => ({ display: label !== '', text: label, font, color: text });
    const yScale = {
      type: this.logY ? ('logarithmic' as const) : ('linear' as const),
      title: title(this.yLabel),
      ...this.yRange(),
      // A log axis spanning decades labels its powers of ten only, as 1e-4 … 1e+1 (Chart.js's
      // default writes 0.00010 and crowds the minor ticks); a narrower one, 3 digits.
      ticks: this.logY
        ? { font, color: text, callback: logTick }
        : {
            font,
            color: text,
            // No label above y-max (the axis may run a little past it).
            callback: (v: number | string) => {
              const n = Number(v);
              if (this.yMax !== undefined && n > this.yMax + 1e-9) return '';
              return Math.abs(n) >= 1000 ? n.toLocaleString('en-US') : String(Number(n.toPrecision(6)));
            },
          },
      grid: { color: grid },
    };
    return {
      type: this.kind,
      data: this.kind === 'bar' ? { labels: this.categories, datasets } : { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: this.kind === 'bar' ? undefined : false,
        normalized: true,
        plugins: {
          title: {
            display: this.heading !== '',
            text: this.heading,
            font: { size: font.size + 2, weight: 'bold' as const },
            color: text,
          },
          legend: {
            display: this.series.length > 1 && !this.hideLegend,
            position: 'bottom',
            // Each entry drawn as its line (dashed ones dashed) or its marker, not as a box.
            labels: {
              usePointStyle: this.kind === 'line',
              pointStyleWidth: 28,
              generateLabels: legendLabels,
              color: text,
            },
          },
          tooltip: { mode: 'nearest', intersect: false },
        },
        scales: {
          x:
            this.kind === 'bar'
              ? {
                  type: 'category',
                  title: title(this.xLabel),
                  ticks: { font, color: text },
                  grid: { color: grid },
                }
              : {
                  type: this.logX ? 'logarithmic' : 'linear',
                  title: title(this.xLabel),
                  ticks: this.logX ? { font, color: text, callback: logTick } : { font, color: text },
                  grid: { color: grid },
                },
          y: yScale,
        },
      },
    };
  }
}

if (!customElements.get('mlp-chart')) customElements.define('mlp-chart', MlpChart);

declare global {
  interface HTMLElementTagNameMap {
    'mlp-chart': MlpChart;
  }
}
