import { css } from 'lit';

/** What every page shares: type, forms, tables, messages, focus. Colours come from custom properties set in index.html. */
export const pageStyles = css`
  :host { display: block; }
  h1 { font-size: 1.5rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
  h1:focus { outline: none; }
  h1:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
  h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
  a { color: var(--link); }
  :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
  form, fieldset { display: grid; gap: 0.75rem; }
  fieldset { border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem; margin: 0; }
  legend { font-weight: 600; padding: 0 0.25rem; }
  label { display: grid; gap: 0.25rem; font-weight: 500; }
  .row { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: end; }
  .row > label { flex: 1 1 9rem; }
  input, select, button, textarea { font: inherit; color: inherit; }
  input, select, textarea { padding: 0.4rem 0.5rem; border: 1px solid var(--line-strong); border-radius: 4px; background: var(--field); min-width: 0; }
  button { padding: 0.45rem 1rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
  button.secondary { background: transparent; color: var(--accent); }
  button:disabled { opacity: 0.55; cursor: not-allowed; }
  .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; }
  .error { color: var(--error); background: var(--error-bg); border: 1px solid var(--error); border-radius: 4px; padding: 0.5rem 0.75rem; }
  .ok { color: var(--ok); }
  .empty { color: var(--muted); border: 1px dashed var(--line-strong); border-radius: 6px; padding: 1rem; }
  .muted { color: var(--muted); }
  .table-wrap { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
  th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { font-weight: 600; }
  progress { width: 100%; height: 1.1rem; }
  code { background: var(--code-bg); padding: 0.1em 0.3em; border-radius: 4px; overflow-wrap: anywhere; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
  dt { font-weight: 600; }
  dd { margin: 0; overflow-wrap: anywhere; }
  @media (max-width: 480px) {
    dl { grid-template-columns: minmax(0, 1fr); }
    dd { margin-bottom: 0.4rem; }
  }
`;

/** An MLflow run's status, coloured the same on the runs list and the run page. */
export const runStatusStyles = css`
  .status-FAILED, .status-KILLED { color: var(--error); }
  .status-FINISHED { color: var(--ok); }
`;
