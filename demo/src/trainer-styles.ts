/** <mlp-trainer>'s own styles, over the demo's panelStyles. */
import { css } from 'lit';

export const trainerStyles = css`
  :host {
    container-type: inline-size;
  }
  .layout {
    display: grid;
    grid-template-columns: minmax(240px, 300px) minmax(0, 1fr);
    gap: 1rem;
    align-items: start;
  }
  :host([hide-form]) .layout {
    grid-template-columns: minmax(0, 1fr);
  }
  /* The form above the charts where the element is narrow (a phone, or a narrow column). */
  @container (max-width: 820px) {
    .layout {
      grid-template-columns: minmax(0, 1fr);
    }
  }
  .card h3:first-child {
    margin-top: 0;
  }
  .main {
    display: grid;
    grid-template-columns: minmax(0, 1fr);
    gap: 1rem;
    min-width: 0;
  }
  form.config input[type='text'],
  form.config select {
    width: 100%;
    box-sizing: border-box;
  }
  form.config .field-error {
    grid-column: 1 / -1;
    margin: -0.2rem 0 0.1rem;
    font-size: 12px;
    color: var(--_error);
  }
  form.config .hint {
    grid-column: 1 / -1;
    margin: -0.2rem 0 0.1rem;
    font-size: 12px;
    color: var(--_muted);
  }
  input[aria-invalid='true'] {
    border-color: var(--_error);
    background: var(--_danger-bg);
  }
  .run {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1.25rem;
    align-items: center;
  }
  .run .buttons {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
  }
  .run .status {
    flex: 1 1 20rem;
  }
  .results {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 2rem;
    margin: 0.6rem 0 0;
  }
  .results div {
    display: flex;
    flex-direction: column-reverse;
  }
  .results dt {
    font-size: 12px;
    color: var(--_muted);
  }
  .results dd {
    margin: 0;
    font-size: 1.3rem;
    font-weight: 600;
    font-variant-numeric: tabular-nums;
  }
  .charts {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr));
    gap: 1rem;
  }
  .note {
    margin: 0.75rem 0 0;
    padding: 0.45rem 0.6rem;
    border: 1px solid var(--_border);
    border-radius: 6px;
    background: var(--_note-bg);
    color: var(--_note-fg);
    font-size: 13px;
  }
  .error {
    margin: 0.6rem 0 0;
  }
  .no-webgpu {
    border: 1px solid #e0b4b4;
    background: var(--_danger-bg);
    border-radius: 8px;
    padding: 1rem 1.25rem;
  }
  .no-webgpu h2 {
    color: #9f1d1d;
  }
`;
