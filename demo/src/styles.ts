/** Styles shared by the demo's panels (each panel adopts them in its shadow root). */
import { css } from 'lit';

export const panelStyles = css`
  :host {
    display: block;
    font:
      14px/1.45 system-ui,
      sans-serif;
    color: #1d2430;
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
    color: #4a5466;
    max-width: 60rem;
  }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr));
    gap: 1rem;
  }
  .card {
    border: 1px solid #dde2ea;
    border-radius: 8px;
    padding: 0.75rem 1rem;
    background: #fff;
  }
  form.config {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 0.35rem 0.75rem;
    align-items: center;
  }
  label {
    color: #333c4d;
  }
  input,
  select {
    font: inherit;
    padding: 0.15rem 0.35rem;
    border: 1px solid #b9c1cf;
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
    border: 1px solid #2456a6;
    background: #2f6fd6;
    color: #fff;
    cursor: pointer;
  }
  button.secondary {
    background: #fff;
    color: #2456a6;
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
    color: #4a5466;
    font-variant-numeric: tabular-nums;
  }
  .error {
    color: #b00020;
    white-space: pre-wrap;
  }
  table {
    border-collapse: collapse;
    font-variant-numeric: tabular-nums;
  }
  th,
  td {
    padding: 0.2rem 0.5rem;
    border-bottom: 1px solid #e6e9ef;
    text-align: right;
  }
  th:first-child,
  td:first-child {
    text-align: left;
  }
  pre {
    background: #f5f7fa;
    padding: 0.5rem 0.75rem;
    overflow-x: auto;
    font-size: 12px;
    margin: 0;
  }
  mlp-chart {
    height: 260px;
  }
`;

/** "1,234" / "12.3" / "0.0123": a short, readable number. */
export function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(digits)).toString();
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
