import { liveQuery } from 'dexie';
import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { uuidv7 } from '../../../shared/ids.ts';
import { namespaceSchema } from '../../../shared/names.ts';
import { parseWith } from '../../../shared/validate.ts';
import type { ClientContext } from '../context.ts';
import { reseedUnsent } from '../outbox-compaction.ts';
import { summarize } from './backoff.ts';
import { BlobDownloader, fetchMissingBlobs, fetchOwedBlobs, uploadNamespace } from './blobs.ts';
import { adoptOffset, loadOffset } from './clock.ts';
import { fetchNamespaceHistories, HistoryFetcher } from './history.ts';
import { NetworkError, SyncHttp } from './http.ts';
import { type Carried, LiveSockets } from './live.ts';
import { applyPoked, pullNamespace } from './pull.ts';
import { pushNamespace, type RoundEnv } from './push.ts';
import { CONFIG, ERROR, LAST_SYNC, LAST_URL, newClientId, nsState, PREVIOUS, ServerChanged, type Previous } from './state.ts';
import { countStatus, Live, OFF, storedOffset, type SyncStatus } from './status.ts';

export type { LiveValue, SyncStatus } from './status.ts';

/** Options of `hangar.sync()`. */
export interface SyncOptions {
  /** The Worker's base URL, without `/api/v1`. */
  url: string;
  token: string;
  namespaces: string[];
  /** How often to sync while the live socket is down (or off). Default 30 s. */
  intervalMs?: number;
  /**
   * Hold a WebSocket per namespace on which the server pokes changes (DESIGN §6 "Live"): changes
   * arrive at once, and an idle tab polls only every `LIVE_FALLBACK_MS`. Default true.
   */
  live?: boolean;
}

/** With every live socket open, the slow safety poll (a lost poke is caught by then). */
export const LIVE_FALLBACK_MS = 10 * 60_000;
/** Carried pokes kept per namespace until applied (the newest). */
const CARRIED_KEPT = 8;
/** How long after a local write the push starts, so a burst of writes goes in one push. */
export const PUSH_DEBOUNCE_MS = 200;

const syncOptionsSchema = z.object({
  url: z.url({ protocol: /^https?$/, message: 'must be an http or https URL' }),
  token: z.string().min(1, { message: 'is required' }).max(256),
  namespaces: z.array(namespaceSchema).min(1, { message: 'must name at least one namespace' }).max(100),
  intervalMs: z.number().int().min(1000).max(24 * 3600 * 1000).optional(),
  live: z.boolean().optional(),
});

/**
 * The sync engine (DESIGN §6): pushes the outbox in order and in batches, pulls the change log
 * and applies it with pending local writes kept on top, uploads and downloads blobs. One tab
 * leads (a Web Lock) and runs rounds; the others see its work through the database and ask it
 * for a round over a BroadcastChannel.
 */
export class SyncEngine {
  readonly status = new Live<SyncStatus>(OFF);
  readonly downloads: BlobDownloader;
  readonly history: HistoryFetcher;
  private http: SyncHttp | undefined;
  private config: SyncOptions | undefined;
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the scheduled round is due (ms since the epoch). */
  private dueAt = Infinity;
  /** The live sockets, held while this tab leads. */
  private live: LiveSockets | undefined;
  /** The socket (re)opened while a round ran: run another after it. */
  private poked = false;
  /** The highest cursor each namespace was poked with: a pull is owed while its cursor is below. */
  private readonly wanted = new Map<string, number>();
  /** The rows pokes carried, per namespace and in arrival order, not yet applied: applied instead of a pull when they connect. */
  private readonly carried = new Map<string, { cursor: number; carried: Carried }[]>();
  /** A poke pull waits in line (behind the round or pull running): later pokes join it. */
  private pullQueued = false;
  private failures = 0;
  /** The server's time has been learned since sync started here. */
  private offsetLearned = false;
  private leading = false;
  /** Called when this tab takes the lead: a follower's `syncNow` waiting for a leader that left. */
  private readonly leadWaiters = new Set<() => void>();
  private release: (() => void) | undefined;
  private readonly channel: BroadcastChannel | undefined;
  private readonly unwatch: () => void;
  private closed = false;

  constructor(
    private readonly ctx: ClientContext,
    private readonly fetcher?: typeof fetch,
  ) {
    this.downloads = new BlobDownloader(ctx.db, () => this.http);
    this.history = new HistoryFetcher(ctx.db, () => this.http);
    this.channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(`hangar-sync:${ctx.db.name}`);
    this.channel?.addEventListener('message', (e: MessageEvent) => void this.onMessage(e.data));
    const online = () => {
      this.status.set({ online: true });
      this.live?.reconnectNow();
      this.schedule(0);
    };
    // Back from the background or from sleep: catch up at once, and reconnect a dropped socket.
    const visible = () => {
      if (globalThis.document?.visibilityState !== 'visible' || !this.leading) return;
      this.live?.reconnectNow();
      this.schedule(0);
    };
    globalThis.document?.addEventListener?.('visibilitychange', visible);
    const offline = () => this.status.set({ online: false });
    globalThis.addEventListener?.('online', online);
    globalThis.addEventListener?.('offline', offline);
    const watch = liveQuery(() => countStatus(this.ctx.db)).subscribe({
      next: (counts) => {
        const grew = counts.pendingMutations > this.status.value.pendingMutations;
        this.status.set(counts);
        // A write here or in another tab: push it soon.
        if (grew && this.leading) this.schedule(PUSH_DEBOUNCE_MS);
      },
      error: () => undefined,
    });
    // Only the leading tab hears the server; the others stamp with the correction it stores.
    const offsetWatch = liveQuery(() => storedOffset(this.ctx.db)).subscribe({
      next: (offset) => {
        if (offset !== undefined && !this.leading && Math.abs(offset - this.ctx.writer.clock.offsetMs) >= 1000) adoptOffset(this.ctx, offset);
      },
      error: () => undefined,
    });
    this.unwatch = () => {
      watch.unsubscribe();
      offsetWatch.unsubscribe();
      globalThis.removeEventListener?.('online', online);
      globalThis.removeEventListener?.('offline', offline);
      globalThis.document?.removeEventListener?.('visibilitychange', visible);
    };
  }

  /** Resumes syncing with the configuration stored by an earlier `configure`. */
  async resume(): Promise<void> {
    await loadOffset(this.ctx);
    const stored = (await this.ctx.db.state.get(CONFIG))?.value as SyncOptions | undefined;
    if (stored) this.start(stored);
  }

  /** Starts syncing with a server; kept across reloads. A new server or token starts a new client id. */
  async configure(input: SyncOptions): Promise<void> {
    const opts = parseWith(syncOptionsSchema, input, 'sync options');
    const db = this.ctx.db;
    // A round for the old server still in flight would write its cursors and seqs over the new
    // server's: let it end first, and start no other.
    await this.quiesce();
    const leaving = (await db.state.get(CONFIG))?.value as SyncOptions | undefined;
    let owed: Previous | undefined;
    if (leaving && leaving.url !== opts.url && this.http) {
      const namespaces = leaving.namespaces.filter((ns) => opts.namespaces.includes(ns));
      // Histories known here only by their summaries (bootstrap) come along too, best effort.
      await fetchNamespaceHistories(db, this.history, namespaces);
      if (await fetchMissingBlobs(db, this.downloads, namespaces)) owed = { url: leaving.url, token: leaving.token, namespaces };
    }
    await db.transaction('rw', db.state, async () => {
      const before = (await db.state.get(CONFIG))?.value as SyncOptions | undefined;
      // A first server gets the whole outbox, which holds every write since the registry began;
      // another server gets everything re-seeded from what is held here.
      // The server last synced with, kept past `stopSync` so a later switch still re-seeds.
      const lastUrl = ((await db.state.get(LAST_URL))?.value as string | undefined) ?? before?.url;
      const newServer = lastUrl !== undefined && lastUrl !== opts.url;
      if (!before || newServer || before.token !== opts.token) await this.newClient(newServer || !before, opts.namespaces, newServer);
      await db.state.put({ key: LAST_URL, value: opts.url });
      await db.state.put({ key: CONFIG, value: opts });
      // Namespaces whose metric points were never put in the outbox (no server before) are re-seeded.
      await reseedUnsent(db, opts.namespaces);
      // Bytes the old server could not give before the move are fetched from it in later rounds.
      if (owed) await db.state.put({ key: PREVIOUS, value: owed });
      else if (((await db.state.get(PREVIOUS))?.value as Previous | undefined)?.url === opts.url) await db.state.delete(PREVIOUS);
    });
    this.start(opts);
  }

  /** Stops scheduling rounds and waits for the one running, if any. */
  private async quiesce(): Promise<void> {
    this.leave();
    await this.running?.catch(() => undefined);
  }

  /** Stops syncing here and forgets the server (local data stays). */
  async stop(): Promise<void> {
    await this.quiesce();
    await this.ctx.db.state.delete(CONFIG);
    this.config = undefined;
    this.http = undefined;
    this.ctx.remote = undefined;
    this.ctx.history = undefined;
    this.status.set({ enabled: false, syncing: false, uploads: [] });
  }

  close(): void {
    this.closed = true;
    this.leave();
    this.unwatch();
    this.channel?.close();
  }

  /** Runs a round now (in the leading tab) and resolves when it has pushed and pulled everything. */
  async syncNow(): Promise<void> {
    if (!this.config) throw new HangarError(ErrorCode.InvalidArgument, 'Sync is not configured: call hangar.sync({ url, token, namespaces }) first.');
    await this.ctx.metrics.flush();
    if (this.leading) return this.round();
    return this.askLeader();
  }

  private start(opts: SyncOptions): void {
    this.leave();
    this.config = opts;
    this.offsetLearned = false;
    this.http = new SyncHttp({ url: opts.url, token: opts.token }, this.fetcher);
    this.ctx.remote = this.downloads;
    this.ctx.history = this.history;
    this.status.set({ enabled: true, updateNeeded: false });
    this.lead();
  }

  /** Takes the lead when no other tab holds it; waits in line otherwise. */
  private lead(): void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.release = release;
    const leadNow = async () => {
      // Stopped or reconfigured while waiting for the lock: this attempt is over.
      if (this.closed || this.release !== release) return;
      this.leading = true;
      this.failures = 0;
      this.startLive();
      for (const notify of this.leadWaiters) notify();
      this.leadWaiters.clear();
      this.schedule(0);
      await released;
    };
    if (typeof navigator !== 'undefined' && navigator.locks) void navigator.locks.request(`hangar-sync:${this.ctx.db.name}`, leadNow);
    else void leadNow();
  }

  private leave(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
    this.live?.stop();
    this.live = undefined;
    this.carried.clear();
    if (this.status.value.live) this.status.set({ live: false });
    this.leading = false;
    this.release?.();
    this.release = undefined;
  }

  private schedule(delayMs: number): void {
    if (!this.leading || !this.config) return;
    clearTimeout(this.timer);
    this.dueAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.dueAt = Infinity;
      void this.round().catch(() => undefined);
    }, delayMs);
  }

  /** Schedules a round in `delayMs` unless one is due sooner. */
  private scheduleBy(delayMs: number): void {
    if (Date.now() + delayMs < this.dueAt) this.schedule(delayMs);
  }

  /** Opens the live sockets (leading tab only): a poke pulls, a drop polls until reconnected. */
  private startLive(): void {
    const config = this.config;
    if (!config || config.live === false || this.live) return;
    const live = new LiveSockets({ url: config.url, token: config.token }, config.namespaces, {
      poke: (ns, cursor, carried) => {
        if (this.live !== live) return;
        this.wanted.set(ns, Math.max(cursor, this.wanted.get(ns) ?? 0));
        if (carried) {
          const list = this.carried.get(ns) ?? [];
          // A handful at most: pokes fold while one apply runs; older ones are seldom needed.
          list.push({ cursor, carried });
          this.carried.set(ns, list.slice(-CARRIED_KEPT));
        }
        this.pullPoked();
      },
      opened: () => {
        if (this.live !== live) return;
        this.status.set({ live: live.allOpen });
        this.poked = true;
        this.schedule(0);
      },
      down: () => {
        if (this.live !== live) return;
        this.status.set({ live: false });
        this.scheduleBy(config.intervalMs ?? 30_000);
      },
    });
    this.live = live;
    live.start();
  }

  /**
   * A poke: bring the poked namespaces only up to date, at once (not a whole round: no push, no
   * uploads, no other namespace), from the rows the pokes carried when they connect to the
   * namespace's cursor, else by a pull. It runs in line with the rounds, so nothing is pulled
   * twice at a time; many pokes fold into one pull in flight and one waiting, and a namespace that
   * a round or pull before already brought to the poked cursor is not pulled again. A failed
   * pull leaves it to a round.
   */
  private pullPoked(): void {
    if (this.pullQueued || !this.config) return;
    this.pullQueued = true;
    const run = (this.running ?? Promise.resolve()).catch(() => undefined).then(async () => {
      this.pullQueued = false;
      await this.pullWanted();
    });
    this.running = run;
    run.catch(() => undefined);
  }

  private async pullWanted(): Promise<void> {
    const config = this.config;
    if (!config || !this.leading || !this.http) return;
    const env: RoundEnv = { ctx: this.ctx, http: this.http, newClient: () => this.ctx.db.transaction('rw', this.ctx.db.state, async () => this.newClient(false)) };
    let pulled = false;
    try {
      for (const ns of config.namespaces) {
        const want = this.wanted.get(ns);
        if (want === undefined) continue;
        if ((await nsState(this.ctx.db, ns)).cursor < want) {
          if (!(await this.applyCarried(env, ns, want))) await pullNamespace(env, ns);
          pulled = true;
        }
        // Reached (or a newer poke is owed and waits in line): this one is settled.
        if (this.wanted.get(ns) === want) this.wanted.delete(ns);
      }
      if (pulled) await this.ctx.db.state.put({ key: LAST_SYNC, value: Date.now() });
    } catch {
      // Offline, refused, the client unknown to the server…: a whole round sorts it out and shows it.
      this.scheduleBy(0);
    }
  }

  /**
   * Applies the rows pokes carried for `ns`, oldest first, each only where it joins the cursor
   * (applyPoked). True when that brought the namespace to `want`; false when a pull is needed
   * (a gap, or a poke without rows).
   */
  private async applyCarried(env: RoundEnv, ns: string, want: number): Promise<boolean> {
    const list = this.carried.get(ns) ?? [];
    this.carried.delete(ns);
    for (const { cursor, carried } of list) {
      if (!(await applyPoked(env, ns, cursor, carried))) break;
    }
    return (await nsState(this.ctx.db, ns)).cursor >= want;
  }

  /** One round at a time: push, pull and blobs for every namespace; then the next is scheduled. */
  private round(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).catch(() => undefined).then(() => this.roundOnce());
    this.running = run;
    return run;
  }

  private async roundOnce(): Promise<void> {
    if (!this.config || !(await this.adoptStored())) return;
    const config = this.config;
    clearTimeout(this.timer);
    this.dueAt = Infinity;
    this.poked = false;
    this.status.set({ syncing: true });
    const env: RoundEnv = { ctx: this.ctx, http: this.http!, newClient: () => this.ctx.db.transaction('rw', this.ctx.db.state, async () => this.newClient(false)) };
    const failed: { namespace: string; error: unknown }[] = [];
    try {
      await this.ctx.metrics.flush();
    } catch (error) {
      failed.push({ namespace: '*', error });
    }
    // Best effort, asked again next round: the old server may be out of reach for a while.
    if (!failed.length) await fetchOwedBlobs(this.ctx.db, this.fetcher).catch(() => undefined);
    // One failing namespace never stops the others; unreachable stops the round (all would fail).
    for (const ns of failed.length ? [] : config.namespaces) {
      try {
        // First learn the server's time (a pull answer carries it), so nothing is pushed stamped
        // by a clock that runs a day fast or slow, or was set wrong since the last round.
        if (!this.offsetLearned || (await this.ctx.db.outbox.where('namespace').equals(ns).count()) > 0) {
          await pullNamespace(env, ns);
          this.offsetLearned = true;
        }
        await pushNamespace(env, ns);
        await pullNamespace(env, ns);
        await uploadNamespace(this.ctx.db, env.http, ns, (uploads) => this.status.set({ uploads }));
      } catch (error) {
        // Moved to another server meanwhile (another tab did): start over with it.
        if (error instanceof ServerChanged) return this.roundOnce();
        failed.push({ namespace: ns, error });
        if (error instanceof NetworkError) break;
      }
    }
    this.status.set({ uploads: [] });
    if (!failed.length) {
      await this.ctx.db.state.bulkPut([
        { key: LAST_SYNC, value: Date.now() },
        { key: ERROR, value: null },
      ]);
      this.failures = 0;
      // Counted now, so whoever awaited this round reads a status that includes it.
      const counts = await countStatus(this.ctx.db);
      this.status.set({ ...counts, online: true, syncing: false });
      // Live: the next round comes with a poke (or the slow safety poll); otherwise poll. A round
      // asked for during this one (a poke) keeps its place, and a write made while this one ran
      // is pushed soon even if its count was seen before this one ended.
      const next = this.poked ? 0 : counts.pendingMutations > 0 ? PUSH_DEBOUNCE_MS : this.live?.allOpen ? LIVE_FALLBACK_MS : (config.intervalMs ?? 30_000);
      this.scheduleBy(next);
      return;
    }
    this.failures++;
    const f = summarize(failed, this.failures);
    const error = { code: f.code, message: f.message, ...(f.details ? { details: f.details } : {}) };
    await this.ctx.db.state.put({ key: ERROR, value: error }).catch(() => undefined);
    this.status.set({ ...(await countStatus(this.ctx.db).catch(() => ({}))), online: f.online, syncing: false, updateNeeded: f.updateNeeded });
    if (f.retryInMs !== undefined) this.schedule(f.retryInMs);
    throw failed[0]!.error;
  }

  /**
   * Takes the stored configuration when another tab on this database changed it (a new server,
   * token or namespaces) or stopped syncing: the leading tab syncs for all of them, so it must
   * sync where the registry was last told to. False when syncing was stopped.
   */
  private async adoptStored(): Promise<boolean> {
    const stored = (await this.ctx.db.state.get(CONFIG))?.value as SyncOptions | undefined;
    if (!stored) {
      this.leave();
      this.config = undefined;
      this.http = undefined;
      this.ctx.remote = undefined;
      this.ctx.history = undefined;
      this.status.set({ enabled: false, syncing: false, uploads: [] });
      return false;
    }
    if (JSON.stringify(stored) === JSON.stringify(this.config)) return true;
    this.config = stored;
    this.http = new SyncHttp({ url: stored.url, token: stored.token }, this.fetcher);
    this.offsetLearned = false;
    this.live?.stop();
    this.live = undefined;
    this.startLive();
    return true;
  }

  private async newClient(newServer: boolean, namespaces: string[] = [], reseed = false): Promise<void> {
    await newClientId(this.ctx.db, newServer, namespaces, reseed);
  }

  /**
   * Another tab leads: ask it for a round and wait for its answer. If that tab goes away
   * first, this one takes the lead and runs the round itself.
   */
  private askLeader(): Promise<void> {
    const channel = this.channel;
    if (!channel) return this.round();
    const id = uuidv7();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        channel.removeEventListener('message', onReply);
        this.leadWaiters.delete(onLead);
      };
      const onReply = (e: MessageEvent) => {
        const msg = e.data as { type: string; id: string; error?: { code: string; message: string } };
        if (msg.type !== 'round-done' || msg.id !== id) return;
        done();
        if (msg.error) reject(HangarError.fromEnvelope({ error: msg.error }) ?? new Error(msg.error.message));
        else resolve();
      };
      const onLead = () => {
        done();
        this.round().then(resolve, reject);
      };
      channel.addEventListener('message', onReply);
      this.leadWaiters.add(onLead);
      channel.postMessage({ type: 'sync-now', id });
    });
  }

  private async onMessage(msg: { type: string; id: string }): Promise<void> {
    if (msg.type !== 'sync-now' || !this.leading) return;
    try {
      await this.round();
      this.channel?.postMessage({ type: 'round-done', id: msg.id });
    } catch (err) {
      const error = err instanceof HangarError ? err.toJSON().error : { code: 'offline', message: err instanceof Error ? err.message : String(err) };
      this.channel?.postMessage({ type: 'round-done', id: msg.id, error });
    }
  }
}
