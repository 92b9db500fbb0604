import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Hangar } from '../client/index.ts';
import { describe } from './errors.ts';

/** A page that shows a live query: its registry, and where a failure is shown. */
interface Page extends ReactiveControllerHost {
  hangar: Hangar;
  error: string | null;
}

interface Options<T> {
  /** Reads what the page shows; `hangar.live` runs it again after every change that touches it. */
  query: () => Promise<T>;
  /** Takes each answer. A failure goes to the page's `error` instead. */
  next: (value: T) => void;
  /** What the query depends on (the route's parts): a change starts it afresh. */
  args?: () => readonly unknown[];
  /** Runs when the query starts afresh for other args (to drop what the old ones showed). */
  restart?: () => void;
}

/**
 * A page's live query, as a Lit controller: it subscribes after the page's first update and
 * whenever `args` change, and unsubscribes when the page leaves the document (subscribing again
 * if it comes back).
 */
export class LiveQuery<T> implements ReactiveController {
  private subscription: { unsubscribe(): void } | null = null;
  private current: readonly unknown[] | null = null;
  /** Args changed (or first update): subscribe once this update has rendered. */
  private due = false;
  private connected = false;

  constructor(
    private readonly page: Page,
    private readonly options: Options<T>,
  ) {
    page.addController(this);
  }

  hostUpdate(): void {
    const args = this.options.args?.() ?? [];
    const same = this.current !== null && args.length === this.current.length && args.every((a, i) => Object.is(a, this.current![i]));
    if (same && (this.subscription || this.due)) return;
    if (this.current !== null && !same) this.options.restart?.();
    this.current = args;
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.due = true;
  }

  hostUpdated(): void {
    if (!this.due) return;
    this.due = false;
    // A microtask later: elements this render made (a run's charts) have had their first update
    // by then, so the reads they start themselves are not queued behind the page's.
    queueMicrotask(() => {
      if (this.connected && !this.subscription) this.start();
    });
  }

  hostConnected(): void {
    this.connected = true;
    if (this.current !== null && !this.subscription && !this.due) this.start();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  private start(): void {
    this.subscription?.unsubscribe();
    this.subscription = this.page.hangar.live(this.options.query).subscribe({
      next: this.options.next,
      error: (err: unknown) => (this.page.error = describe(err)),
    });
  }
}
