/** Styles shared by the demo's panels (each panel adopts them in its shadow root). */
import { css } from 'lit';

/**
 * The colours every panel and <mlp-trainer> draw with, as CSS custom properties a page can
 * set on the element (or any ancestor): --mlp-fg, --mlp-muted, --mlp-surface, --mlp-subtle,
 * --mlp-border, --mlp-border-strong, --mlp-accent, --mlp-accent-fg, --mlp-link, --mlp-error,
 * --mlp-note-bg, --mlp-note-fg, --mlp-grid, --mlp-highlight-bg (a best row), --mlp-running-bg
 * (a running row), --mlp-danger-bg (an error's background), --mlp-font. Unset, they follow the
 * colour scheme the browser asks for (prefers-color-scheme):
 * light, or dark under `prefers-color-scheme: dark`. (The --_ names are the resolved values,
 * private to the components.)
 */
export const themeStyles = css`
  :host {
    color-scheme: light dark;
    --_fg: var(--mlp-fg, #1d2430);
    --_muted: var(--mlp-muted, #4a5466);
    --_surface: var(--mlp-surface, #fff);
    --_subtle: var(--mlp-subtle, #f5f7fa);
    --_border: var(--mlp-border, #dde2ea);
    --_border-strong: var(--mlp-border-strong, #b9c1cf);
    --_accent: var(--mlp-accent, #2f6fd6);
    --_accent-fg: var(--mlp-accent-fg, #fff);
    --_link: var(--mlp-link, #2456a6);
    --_error: var(--mlp-error, #b00020);
    --_note-bg: var(--mlp-note-bg, #fffaeb);
    --_note-fg: var(--mlp-note-fg, #5c4a12);
    --_grid: var(--mlp-grid, rgba(0, 0, 0, 0.1));
    --_highlight-bg: var(--mlp-highlight-bg, #e8f6ec);
    --_running-bg: var(--mlp-running-bg, #f0f5ff);
    --_danger-bg: var(--mlp-danger-bg, #fff6f6);
    --_vanishing: #6a3d9a;
    --_exploding: #b2182b;
    --_stable: #1b7837;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_fg: var(--mlp-fg, #e4e8ef);
      --_muted: var(--mlp-muted, #a9b3c3);
      --_surface: var(--mlp-surface, #1b2130);
      --_subtle: var(--mlp-subtle, #232a3a);
      --_border: var(--mlp-border, #353e50);
      --_border-strong: var(--mlp-border-strong, #56617a);
      --_accent-fg: var(--mlp-accent-fg, #fff);
      --_link: var(--mlp-link, #8ab4ff);
      --_error: var(--mlp-error, #ff8a80);
      --_note-bg: var(--mlp-note-bg, #3a3220);
      --_note-fg: var(--mlp-note-fg, #f1dfa8);
      --_grid: var(--mlp-grid, rgba(255, 255, 255, 0.14));
      --_highlight-bg: var(--mlp-highlight-bg, #1e3a2a);
      --_running-bg: var(--mlp-running-bg, #1f2c47);
      --_danger-bg: var(--mlp-danger-bg, #3d1f24);
      --_vanishing: #c9a8f0;
      --_exploding: #ff9a8f;
      --_stable: #7fd99a;
    }
  }
`;

export const panelStyles = css`
  ${themeStyles}
  :host {
    display: block;
    font: 14px/1.45 var(--mlp-font, system-ui, sans-serif);
    color: var(--_fg);
  }
  :host([hidden]) {
    display: none;
  }
  h2 {
    font-size: 1.15rem;
    margin: 0 0 0.5rem;
  }
  h3 {
    font-size: 1rem;
    margin: 1rem 0 0.4rem;
  }
  p.lead {
    margin: 0 0 0.75rem;
    color: var(--_muted);
    max-width: 60rem;
  }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr));
    gap: 1rem;
  }
  .card {
    border: 1px solid var(--_border);
    border-radius: 8px;
    padding: 0.75rem 1rem;
    background: var(--_surface);
  }
  form.config {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 0.35rem 0.75rem;
    align-items: center;
  }
  label {
    color: var(--_muted);
  }
  input,
  select {
    font: inherit;
    padding: 0.15rem 0.35rem;
    border: 1px solid var(--_border-strong);
    border-radius: 4px;
    min-width: 0;
  }
  input[type='checkbox'] {
    justify-self: start;
  }
  button {
    font: inherit;
    padding: 0.3rem 0.9rem;
    border-radius: 5px;
    border: 1px solid var(--_link);
    background: var(--_accent);
    color: var(--_accent-fg);
    cursor: pointer;
  }
  button.secondary {
    background: var(--_surface);
    color: var(--_link);
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
  }
  .status {
    color: var(--_muted);
    font-variant-numeric: tabular-nums;
  }
  .error {
    color: var(--_error);
    white-space: pre-wrap;
  }
  table {
    border-collapse: collapse;
    font-variant-numeric: tabular-nums;
  }
  th,
  td {
    padding: 0.2rem 0.5rem;
    border-bottom: 1px solid var(--_border);
    text-align: right;
  }
  th:first-child,
  td:first-child {
    text-align: left;
  }
  pre {
    background: var(--_subtle);
    padding: 0.5rem 0.75rem;
    overflow-x: auto;
    font-size: 12px;
    margin: 0;
  }
  mlp-chart {
    height: 260px;
  }
`;

/**
 * A quantity with `digits` significant digits, trailing zeros kept so that a column of them
 * lines up ("2.300" beside "2.461", not "2.3"): "1,234" from 1000 up, whole numbers as they
 * are ("512", "0").
 */
export function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Number.isInteger(v)) return String(v);
  // More integer digits than significant ones (123.4 at 2): toPrecision would write 1.2e+2.
  if (Math.abs(v) >= 10 ** digits) return String(Math.round(v));
  const p = v.toPrecision(digits);
  // toPrecision writes 999.95 at 4 digits as "1000": group it as the larger ones are.
  return Math.abs(Number(p)) >= 1000 ? Math.round(Number(p)).toLocaleString('en-US') : p;
}

/**
 * A quantity that can span many decades (a ratio of gradient norms, a learning rate): `digits`
 * significant digits, in scientific notation outside 1e-3..1e4 (3363634 → "3.36e+6").
 */
export function sci(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e4 || a < 1e-3) ? v.toExponential(digits - 1) : fmt(v, digits);
}

/** 0.9731 → "97.31%". */
export function pct(v: number | undefined, digits = 2): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`;
}
