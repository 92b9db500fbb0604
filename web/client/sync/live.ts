import { LIMITS } from '../../../shared/limits.ts';
import { utf8Length } from '../../../shared/encoding.ts';
import { LIVE_CLOSE, LIVE_PING, LIVE_SUBPROTOCOL, LIVE_TOKEN_PREFIX, type Poke } from '../../../shared/live.ts';
import type { Change } from '../../../shared/sync.ts';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS } from './backoff.ts';
import type { Remote } from './http.ts';

/** How often an open socket sends a keep-alive ping (answered by the server without waking it). */
export const LIVE_PING_MS = 30_000;

/** What the live sockets tell the engine. */
export interface LiveHooks {
  /** The namespace's change log reached `cursor`; `carried`: the rows after `from` up to it, when the poke held them. */
  poke(namespace: string, cursor: number, carried?: Carried): void;
  /** The socket is open (again): whatever was missed while it was down is to be pulled. */
  opened(namespace: string): void;
  /** The socket went down: poll until it is back. */
  down(namespace: string): void;
}

/** The rows a poke carried: every change of the namespace after `from`, up to the poke's cursor. */
export interface Carried {
  from: number;
  changes: Change[];
}

const isSafeCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * A poke read from the socket, checked by hand (not with zod: the widget bundles this file).
 * Rows that are malformed, out of order, not ending at the cursor, or in a message over
 * `LIMITS.livePokeBytes` are set aside: the poke stays a plain one, and the engine pulls.
 */
export function readPoke(text: string): { cursor: number; carried?: Carried } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined; // a pong
  }
  const poke = parsed as Partial<Poke> | null;
  if (poke?.type !== 'poke' || !isSafeCount(poke.cursor)) return undefined;
  const cursor = poke.cursor;
  const { from, changes } = poke;
  if (!isSafeCount(from) || from >= cursor || !Array.isArray(changes) || changes.length === 0) return { cursor };
  if (text.length > LIMITS.livePokeBytes || utf8Length(text) > LIMITS.livePokeBytes) return { cursor };
  let prev = from;
  for (const c of changes as unknown[]) {
    const r = c as Partial<Change> | null;
    const wellFormed =
      typeof r === 'object' && r !== null && isSafeCount(r.seq) && r.seq > prev && r.seq <= cursor &&
      typeof r.entity === 'string' && typeof r.entityId === 'string' && typeof r.op === 'string' &&
      typeof r.hlc === 'string' && typeof r.data === 'object' && r.data !== null && !Array.isArray(r.data);
    if (!wellFormed) return { cursor };
    prev = r.seq!;
  }
  if (prev !== cursor) return { cursor };
  return { cursor, carried: { from, changes } };
}

/** The wait before reconnect attempt `attempt` (1, 2, …): doubling to a minute, with jitter. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const full = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return full / 2 + (random() * full) / 2;
}

/** Whether a token can travel as a WebSocket subprotocol (an RFC 7230 token). */
const subprotocolSafe = (token: string) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(token);

interface Link {
  ws: WebSocket | undefined;
  open: boolean;
  attempts: number;
  retry: ReturnType<typeof setTimeout> | undefined;
  ping: ReturnType<typeof setInterval> | undefined;
}

/**
 * One WebSocket per synced namespace to `…/sync/live` (DESIGN §6 "Live"), held by the tab that
 * leads sync. A poke asks the engine to pull, or hands it the rows the poke carried; a dropped socket reconnects with backoff and
 * jitter, and the engine polls while it is down.
 */
export class LiveSockets {
  private readonly links = new Map<string, Link>();
  private stopped = false;

  constructor(
    private readonly remote: Remote,
    namespaces: string[],
    private readonly hooks: LiveHooks,
    private readonly Socket: typeof WebSocket | null = globalThis.WebSocket ?? null,
  ) {
    for (const ns of namespaces) this.links.set(ns, { ws: undefined, open: false, attempts: 0, retry: undefined, ping: undefined });
  }

  /** Whether live sockets can be used at all here (a WebSocket implementation, a token that fits a subprotocol). */
  get usable(): boolean {
    return this.Socket !== null && subprotocolSafe(this.remote.token);
  }

  /** Every namespace's socket is open: pokes will come, no need to poll. */
  get allOpen(): boolean {
    return this.usable && [...this.links.values()].every((l) => l.open);
  }

  start(): void {
    if (!this.usable) return;
    for (const ns of this.links.keys()) this.connect(ns);
  }

  /** Reconnects every socket that is down now, without waiting for its backoff (back online, tab shown). */
  reconnectNow(): void {
    if (this.stopped || !this.usable) return;
    for (const [ns, link] of this.links) {
      if (link.ws) continue;
      clearTimeout(link.retry);
      link.attempts = 0;
      this.connect(ns);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const link of this.links.values()) {
      clearTimeout(link.retry);
      clearInterval(link.ping);
      const ws = link.ws;
      link.ws = undefined;
      link.open = false;
      try {
        ws?.close(1000, 'sync stopped');
      } catch {
        // Never opened.
      }
    }
  }

  private connect(ns: string): void {
    const link = this.links.get(ns)!;
    if (this.stopped || link.ws) return;
    // The browser knows it is offline: dial when its `online` event comes (`reconnectNow`), not into a certain failure.
    if (globalThis.navigator?.onLine === false) return;
    const url = `${this.remote.url.replace(/\/+$/, '').replace(/^http/, 'ws')}/api/v1/namespaces/${encodeURIComponent(ns)}/sync/live`;
    let ws: WebSocket;
    try {
      ws = new this.Socket!(url, [LIVE_SUBPROTOCOL, `${LIVE_TOKEN_PREFIX}${this.remote.token}`]);
    } catch {
      this.retryLater(ns, link);
      return;
    }
    link.ws = ws;
    ws.addEventListener('open', () => {
      if (link.ws !== ws) return;
      link.open = true;
      link.attempts = 0;
      link.ping = setInterval(() => {
        try {
          ws.send(LIVE_PING);
        } catch {
          // Closing: the close event reconnects.
        }
      }, LIVE_PING_MS);
      this.hooks.opened(ns);
    });
    ws.addEventListener('message', (e: MessageEvent) => {
      if (link.ws !== ws || typeof e.data !== 'string') return;
      const poke = readPoke(e.data);
      if (poke) this.hooks.poke(ns, poke.cursor, poke.carried);
    });
    ws.addEventListener('close', (e: CloseEvent) => {
      if (link.ws !== ws) return;
      const wasOpen = link.open;
      link.ws = undefined;
      link.open = false;
      clearInterval(link.ping);
      if (this.stopped) return;
      // A token the server no longer takes: its next round says why; retry seldom.
      if (e.code === LIVE_CLOSE.tokenInvalid) link.attempts = Math.max(link.attempts, 16);
      this.retryLater(ns, link);
      if (wasOpen) this.hooks.down(ns);
    });
  }

  private retryLater(ns: string, link: Link): void {
    link.attempts++;
    clearTimeout(link.retry);
    link.retry = setTimeout(() => this.connect(ns), reconnectDelay(link.attempts));
  }
}
