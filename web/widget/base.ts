// What every element shares: where its data comes from (a `client` property, or `server` +
// `token` [+ `namespace`] attributes, or a `source` handed down by a parent element), the
// `hangar-select` event, and a controller that keeps one query's result current.
import { LitElement, type PropertyDeclarations, type ReactiveController, type ReactiveControllerHost } from 'lit';
import type { Hangar } from '../client/registry.ts';
import { clientSource } from './source-client.ts';
import { serverSource } from './source-server.ts';
import { messageOf, type WidgetSource } from './source.ts';

/** `hangar-select`'s detail: what the user picked. */
export interface SelectDetail {
  /** `ns/m` for a model, `ns/m/3` for a version. */
  ref: string;
  namespace: string;
  model: string;
  version?: number;
}

declare global {
  interface HTMLElementEventMap {
    'hangar-select': CustomEvent<SelectDetail>;
  }
}

export type Loaded<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'error'; message: string };

/**
 * Runs `query` whenever the values `deps` returns change (and on connect), keeps its latest
 * result (live in client mode) and asks the host to render it.
 */
export class Watch<T> implements ReactiveController {
  state: Loaded<T> = { status: 'loading' };
  private stop?: () => void;
  private last?: unknown[];

  constructor(
    private readonly host: ReactiveControllerHost & HangarElement,
    private readonly deps: () => unknown[],
    private readonly query: (source: WidgetSource) => (() => Promise<T>) | undefined,
    /** When true, nothing is read (the host has its data already). */
    private readonly skip: () => boolean = () => false,
  ) {
    host.addController(this);
  }

  hostUpdate(): void {
    if (this.skip()) {
      this.hostDisconnected();
      return;
    }
    const deps = [this.host.source, ...this.deps()];
    if (this.last && deps.length === this.last.length && deps.every((d, i) => d === this.last![i])) return;
    this.last = deps;
    this.stop?.();
    this.stop = undefined;
    const source = this.host.source;
    if (!source) {
      this.state = { status: 'error', message: this.host.sourceProblem() };
      return;
    }
    let query: (() => Promise<T>) | undefined;
    try {
      query = this.query(source);
    } catch (err) {
      this.state = { status: 'error', message: messageOf(err) };
      return;
    }
    if (!query) return;
    this.state = { status: 'loading' };
    this.stop = source.watch(
      query,
      (value) => {
        this.state = { status: 'ready', value };
        this.host.requestUpdate();
      },
      (err) => {
        this.state = { status: 'error', message: messageOf(err) };
        this.host.requestUpdate();
      },
    );
  }

  hostDisconnected(): void {
    this.stop?.();
    this.stop = undefined;
    this.last = undefined;
  }
}

export class HangarElement extends LitElement {
  static override properties: PropertyDeclarations = {
    client: { attribute: false },
    source: { attribute: false },
    server: { reflect: true },
    token: {},
    namespace: { reflect: true },
    ref: { reflect: true },
  };

  /** A client instance (`openRegistry()`): the elements read this browser's registry. */
  declare client?: Hangar;
  /** A source given directly (parents hand theirs to the elements they render). */
  declare source?: WidgetSource;
  /** A Hangar server's base URL, without `/api/v1`. */
  declare server?: string;
  /** A bearer token for `server` (a read token whose origins include this page's). */
  declare token?: string;
  declare namespace?: string;
  declare ref?: string;

  /** Makes `source` from `client` or `server` + `token` when they change. */
  protected override willUpdate(changed: Map<PropertyKey, unknown>): void {
    super.willUpdate(changed);
    if (!['client', 'server', 'token', 'namespace'].some((p) => changed.has(p))) return;
    // Neither given: a source handed down by a parent stays.
    if (!this.client && !this.server) return;
    this.source = this.client
      ? clientSource(this.client)
      : this.server && this.token
        ? serverSource({ server: this.server, token: this.token, ...(this.namespace ? { namespace: this.namespace } : {}) })
        : undefined;
  }

  /** Why there is no source, for the error state. */
  sourceProblem(): string {
    if (this.server && !this.token) return 'Set the token attribute: a Hangar read token for this server.';
    return 'Nothing to show yet: give this element a client (openRegistry()) or server and token attributes.';
  }

  /** Emits `hangar-select` (bubbles, crosses shadow roots). */
  protected select(detail: SelectDetail): void {
    this.dispatchEvent(new CustomEvent('hangar-select', { detail, bubbles: true, composed: true }));
  }
}
