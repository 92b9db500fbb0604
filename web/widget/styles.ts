// The look every element shares, taken from the host through --hangar-* custom properties
// (documented in README.md); each has a default so an element looks right with none set.
import { css } from 'lit';

export const baseStyles = css`
  :host {
    display: block;
    font-family: var(--hangar-font, system-ui, sans-serif);
    font-size: var(--hangar-font-size, 0.9375rem);
    color: var(--hangar-color, #1d2330);
    background: var(--hangar-background, transparent);
    min-width: 0;
  }
  [hidden] {
    display: none !important;
  }
  button,
  input,
  select {
    font: inherit;
    color: inherit;
    min-height: 2.25rem;
    border: 1px solid var(--hangar-border, #c9ced8);
    border-radius: var(--hangar-radius, 6px);
    background: var(--hangar-surface, #fff);
    padding: 0.25rem 0.6rem;
  }
  button {
    cursor: pointer;
  }
  button:disabled {
    cursor: default;
    opacity: 0.55;
  }
  a {
    color: var(--hangar-accent, #2456c7);
  }
  :focus-visible {
    outline: 3px solid var(--hangar-focus, #2f6fed);
    outline-offset: 2px;
  }
  .muted {
    color: var(--hangar-muted, #5b6475);
  }
  .error {
    color: var(--hangar-error, #b3261e);
    border: 1px solid currentColor;
    border-radius: var(--hangar-radius, 6px);
    padding: 0.5rem 0.75rem;
    overflow-wrap: anywhere;
  }
  .badge {
    display: inline-block;
    font-size: 0.8em;
    padding: 0 0.4em;
    border-radius: var(--hangar-radius, 6px);
    background: var(--hangar-badge, #e8ecf4);
    white-space: nowrap;
  }
  h2,
  h3 {
    margin: 0.75rem 0 0.4rem;
    font-size: 1.05em;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
