import { liveQuery } from 'dexie';
import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { uuidv7 } from '../../../shared/ids.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { namespaceSchema } from '../../../shared/names.ts';
import type { MutationName, MutationResult, PushRequest } from '../../../shared/sync.ts';
import { utf8Length } from '../../../shared/encoding.ts';
import { parseWith } from '../../../shared/validate.ts';
import type { ClientContext } from '../context.ts';
import type { ConflictRecord, OutboxRecord } from '../db.ts';
import { applyChanges, applyTables, pendingOf, renumberProvisional } from './apply.ts';
import { BlobDownloader, queueUploads, uploadBlob, type UploadProgress } from './blobs.ts';
import { NetworkError, SyncHttp } from './http.ts';

/** Options of `hangar.sync()`. */
export interface SyncOptions {
  /** The Worker's base URL, without `/api/v1`. */
  url: string;
  token: string;
  namespaces: string[];
  /** How often to sync when nothing else prompts it. Default 30 s. */
  intervalMs?: number;
}

const syncOptionsSchema = z.object({
  url: z.url({ protocol: /^https?$/, message: 'must be an http or https URL' }),
  token: z.string().min(1, { message: 'is required' }).max(256),
  namespaces: z.array(namespaceSchema).min(1, { message: 'must name at least one namespace' }).max(100),
  intervalMs: z.number().int().min(1000).max(24 * 3600 * 1000).optional(),
});

/** What `hangar.syncStatus` holds. */
export interface SyncStatus {
  /** A server is configured. */
  enabled: boolean;
  /** The last request reached the server (false while offline or unreachable). */
  online: boolean;
  /** A round is running in this tab. */
  syncing: boolean;
  pendingMutations: number;
  /** Bytes of artifacts still to upload. */
  pendingBytes: number;
  lastSync: number | null;
  /** Open conflicts. */
  conflicts: number;
  error: { code: string; message: string } | null;
  /** The server speaks a newer sync protocol: the app must be updated. */
  updateNeeded: boolean;
  uploads: UploadProgress[];
}

/** A value that changes: read `value`, or `subscribe` to hear each change (returns the unsubscribe). */
export interface LiveValue<T> {
  readonly value: T;
  subscribe(listener: (value: T) => void): () => void;
}

class Live<T> implements LiveValue<T> {
  private readonly listeners = new Set<(value: T) => void>();
  constructor(public value: T) {}
  set(patch: Partial<T>): void {
    this.value = { ...this.value, ...patch };
    for (const l of this.listeners) l(this.value);
  }
  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    listener(this.value);
    return () => this.listeners.delete(listener);
  }
}

const OFF: SyncStatus = {
  enabled: false,
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  syncing: false,
  pendingMutations: 0,
  pendingBytes: 0,
  lastSync: null,
  conflicts: 0,
  error: null,
  updateNeeded: false,
  uploads: [],
};

interface NamespaceState {
  cursor: number;
  /** The last seq of ours the server has applied in this namespace. */
  afterSeq: number;
}

const CONFIG = 'sync.config';
const CLIENT = 'sync.clientId';
const LAST_SYNC = 'sync.lastSync';
const ERROR = 'sync.error';
const nsKey = (ns: string) => `sync.ns.${ns}`;

/** Body bytes a push stays under, leaving room for the envelope. */
const PUSH_BYTES = LIMITS.jsonBodyBytes - 16 * 1024;
const BACKOFF_MAX_MS = 60_000;

/**
 * The sync engine (DESIGN §6): pushes the outbox in order and in batches, pulls the change log
 * and applies it with pending local writes kept on top, uploads and downloads blobs. One tab
 * leads (a Web Lock) and runs rounds; the others see its work through the database and ask it
 * for a round over a BroadcastChannel.
 */
export class SyncEngine {
  readonly status = new Live<SyncStatus>(OFF);
  readonly downloads: BlobDownloader;
  private http: SyncHttp | undefined;
  private config: SyncOptions | undefined;
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
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
    this.channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(`hangar-sync:${ctx.db.name}`);
    this.channel?.addEventListener('message', (e: MessageEvent) => void this.onMessage(e.data));
    const online = () => {
      this.status.set({ online: true });
      this.schedule(0);
    };
    const offline = () => this.status.set({ online: false });
    globalThis.addEventListener?.('online', online);
    globalThis.addEventListener?.('offline', offline);
    const watch = liveQuery(() => this.counts()).subscribe({
      next: (counts) => {
        const grew = counts.pendingMutations > this.status.value.pendingMutations;
        this.status.set(counts);
        // A write here or in another tab: push it soon.
        if (grew && this.leading) this.schedule(200);
      },
      error: () => undefined,
    });
    this.unwatch = () => {
      watch.unsubscribe();
      globalThis.removeEventListener?.('online', online);
      globalThis.removeEventListener?.('offline', offline);
    };
  }

  private async counts() {
    const db = this.ctx.db;
    const [pendingMutations, conflicts, uploads, lastSync, error] = await Promise.all([
      db.outbox.count(),
      db.conflicts.where('resolved').equals(0).count(),
      db.uploads.filter((u) => !u.done).toArray(),
      db.state.get(LAST_SYNC),
      db.state.get(ERROR),
    ]);
    // Finished parts of an upload are not pending any more (the last part may be short).
    const pendingBytes = uploads.reduce((sum, u) => sum + u.size - Math.min(u.size, u.doneParts.length * u.partSize), 0);
    return {
      pendingMutations,
      conflicts,
      pendingBytes,
      lastSync: (lastSync?.value as number | undefined) ?? null,
      error: (error?.value as SyncStatus['error'] | undefined) ?? null,
    };
  }

  /** Resumes syncing with the configuration stored by an earlier `configure`. */
  async resume(): Promise<void> {
    const stored = (await this.ctx.db.state.get(CONFIG))?.value as SyncOptions | undefined;
    if (stored) this.start(stored);
  }

  /** Starts syncing with a server; kept across reloads. A new server or token starts a new client id. */
  async configure(input: SyncOptions): Promise<void> {
    const opts = parseWith(syncOptionsSchema, input, 'sync options');
    const db = this.ctx.db;
    await db.transaction('rw', db.state, async () => {
      const before = (await db.state.get(CONFIG))?.value as SyncOptions | undefined;
      if (!before || before.url !== opts.url || before.token !== opts.token) await this.newClient(before?.url !== opts.url);
      await db.state.put({ key: CONFIG, value: opts });
    });
    this.start(opts);
  }

  /** Stops syncing here and forgets the server (local data stays). */
  async stop(): Promise<void> {
    this.leave();
    await this.ctx.db.state.delete(CONFIG);
    this.config = undefined;
    this.http = undefined;
    this.ctx.remote = undefined;
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
    this.http = new SyncHttp({ url: opts.url, token: opts.token }, this.fetcher);
    this.ctx.remote = this.downloads;
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
    this.leading = false;
    this.release?.();
    this.release = undefined;
  }

  private schedule(delayMs: number): void {
    if (!this.leading || !this.config) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round().catch(() => undefined), delayMs);
  }

  /** One round at a time: push, pull and blobs for every namespace; then the next is scheduled. */
  private round(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).catch(() => undefined).then(() => this.roundOnce());
    this.running = run;
    return run;
  }

  private async roundOnce(): Promise<void> {
    const config = this.config;
    if (!config) return;
    clearTimeout(this.timer);
    this.status.set({ syncing: true });
    try {
      await this.ctx.metrics.flush();
      for (const ns of config.namespaces) {
        await this.push(ns);
        await this.pull(ns);
      }
      await this.uploads(config.namespaces);
      await this.ctx.db.state.bulkPut([
        { key: LAST_SYNC, value: Date.now() },
        { key: ERROR, value: null },
      ]);
      this.failures = 0;
      // Counted now, so whoever awaited this round reads a status that includes it.
      this.status.set({ ...(await this.counts()), online: true, syncing: false });
      this.schedule(config.intervalMs ?? 30_000);
    } catch (err) {
      this.failures++;
      const offline = err instanceof NetworkError;
      const code = err instanceof HangarError ? err.code : offline ? 'offline' : ErrorCode.Internal;
      const message = err instanceof Error ? err.message : String(err);
      await this.ctx.db.state.put({ key: ERROR, value: { code, message } }).catch(() => undefined);
      const updateNeeded = code === ErrorCode.ProtocolUnsupported;
      this.status.set({ ...(await this.counts().catch(() => ({}))), online: !offline, syncing: false, updateNeeded, uploads: [] });
      // Back off with jitter: 1 s, 2 s, 4 s… up to a minute, each between half and all of it.
      const backoff = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** (this.failures - 1));
      if (!updateNeeded) this.schedule(backoff / 2 + (Math.random() * backoff) / 2);
      throw err;
    }
  }

  private async nsState(ns: string): Promise<NamespaceState> {
    return ((await this.ctx.db.state.get(nsKey(ns)))?.value as NamespaceState | undefined) ?? { cursor: 0, afterSeq: 0 };
  }

  private async clientId(): Promise<string> {
    return (await this.ctx.db.state.get(CLIENT))!.value as string;
  }

  /** A new client id (a new token), and with a new server new cursors too. */
  private async newClient(newServer: boolean): Promise<void> {
    const db = this.ctx.db;
    await db.state.put({ key: CLIENT, value: uuidv7() });
    const keys = (await db.state.toCollection().primaryKeys()).filter((k) => k.startsWith('sync.ns.'));
    for (const key of keys) {
      const s = (await db.state.get(key))!.value as NamespaceState;
      await db.state.put({ key, value: { cursor: newServer ? 0 : s.cursor, afterSeq: 0 } });
    }
  }

  private async push(ns: string): Promise<void> {
    const db = this.ctx.db;
    for (;;) {
      const pending = await db.outbox.where('namespace').equals(ns).limit(LIMITS.mutationsPerPush).toArray();
      if (!pending.length) return;
      const batch: OutboxRecord[] = [];
      let bytes = 0;
      for (const m of pending) {
        bytes += utf8Length(JSON.stringify(m.args)) + 128;
        if (batch.length && bytes > PUSH_BYTES) break;
        batch.push(m);
      }
      const state = await this.nsState(ns);
      const body: PushRequest = {
        clientId: await this.clientId(),
        afterSeq: Math.min(state.afterSeq, batch[0]!.seq! - 1),
        mutations: batch.map((m) => ({ seq: m.seq!, name: m.name as MutationName, args: m.args, hlc: m.hlc })),
      };
      let res;
      try {
        res = await this.http!.push(ns, body);
      } catch (err) {
        if (await this.recover(ns, err)) continue;
        throw err;
      }
      await this.settle(ns, batch, res.results, res.lastMutationSeq);
    }
  }

  /** After a refused push: true when the engine fixed its state and the push can be sent again. */
  private async recover(ns: string, err: unknown): Promise<boolean> {
    if (!(err instanceof HangarError)) return false;
    const db = this.ctx.db;
    if (err.code === ErrorCode.ClientMismatch) {
      await db.transaction('rw', db.state, () => this.newClient(false));
      return true;
    }
    if (err.code === ErrorCode.SequenceGap) {
      // The server has forgotten mutations it once applied (restored from an older state):
      // continue from where it is; the error stays visible.
      const last = Number(err.details?.lastMutationSeq ?? 0);
      const s = await this.nsState(ns);
      await db.state.bulkPut([
        { key: nsKey(ns), value: { ...s, afterSeq: last } },
        { key: ERROR, value: { code: err.code, message: err.message } },
      ]);
      return s.afterSeq !== last;
    }
    return false;
  }

  /** Takes the server's answers in: applied entries leave the outbox; conflicts are kept to resolve. */
  private async settle(ns: string, batch: OutboxRecord[], results: MutationResult[], lastMutationSeq: number): Promise<void> {
    const db = this.ctx.db;
    const bySeq = new Map(batch.map((m) => [m.seq!, m]));
    await db.transaction('rw', [db.outbox, db.conflicts, db.state, db.versions, db.aliases, db.artifacts], async () => {
      for (const r of results) {
        const m = bySeq.get(r.seq);
        if (!m) continue;
        await db.outbox.delete(r.seq);
        if (r.status === 'applied') continue;
        const conflict: ConflictRecord = {
          id: uuidv7(),
          kind: r.status === 'conflict' ? r.kind : 'rejected',
          namespace: ns,
          mutation: { name: m.name, args: m.args },
          theirs: r.status === 'conflict' ? r.server : r.error,
          message: r.status === 'conflict' ? r.message : `The server refused "${m.name}": ${r.error.message}`,
          at: Date.now(),
          resolved: 0,
        };
        await db.conflicts.add(conflict);
        await this.showTheirs(conflict);
      }
      const s = await this.nsState(ns);
      await db.state.put({ key: nsKey(ns), value: { ...s, afterSeq: Math.max(s.afterSeq, lastMutationSeq) } });
    });
  }

  /** Makes the local data show what the server kept, the losing write staying in the conflict. */
  private async showTheirs(c: ConflictRecord): Promise<void> {
    const db = this.ctx.db;
    const args = c.mutation.args as Record<string, unknown>;
    if (c.kind === 'alias') {
      const theirs = c.theirs as { versionId: string } | null;
      const key: [string, string] = [args.modelId as string, args.alias as string];
      if (theirs) await db.aliases.put({ modelId: key[0], alias: key[1], versionId: theirs.versionId, updatedAt: Date.now() });
      else await db.aliases.delete(key);
    } else if (c.kind === 'deleted' && c.mutation.name === 'version.create') {
      // Made on a model deleted meanwhile: the version goes too, as on the server.
      await db.versions.update(args.id as string, { deletedAt: Date.now() });
    } else if (c.kind === 'version-label') {
      await db.versions.update(args.id as string, { version: null });
    } else if (c.kind === 'artifact' && c.mutation.name === 'artifact.register') {
      const theirs = c.theirs as { path: string; sha256: string | null; size: number | null; mimeType: string; fileType: string; url?: string | null } | null;
      const mine = await db.artifacts.where('[parentId+path]').equals([args.parentId as string, args.path as string]).first();
      if (theirs && mine) {
        await db.artifacts.update(mine.id, {
          sha256: theirs.sha256,
          size: theirs.size,
          mimeType: theirs.mimeType,
          fileType: theirs.fileType as typeof mine.fileType,
          url: theirs.url ?? null,
        });
      }
    }
  }

  private async pull(ns: string): Promise<void> {
    const db = this.ctx.db;
    const clientId = await this.clientId();
    for (;;) {
      const state = await this.nsState(ns);
      let page;
      try {
        page = await this.http!.pull(ns, { clientId, cursor: state.cursor });
      } catch (err) {
        // The server's log is shorter than what was pulled (restored from an older state):
        // pull it again from the start; what is here already merges as the same data.
        if (!(err instanceof HangarError && err.code === ErrorCode.CursorAhead && state.cursor > 0)) throw err;
        await db.state.put({ key: nsKey(ns), value: { ...state, cursor: 0 } });
        continue;
      }
      await db.transaction('rw', [...applyTables(db), db.outbox, db.state], async () => {
        // Entries the server has applied leave the outbox; the rest stay on top of what is pulled.
        await db.outbox
          .where('namespace')
          .equals(ns)
          .filter((m) => m.seq! <= page.lastMutationSeq)
          .delete();
        const pending = pendingOf(await db.outbox.where('namespace').equals(ns).toArray());
        const touched = await applyChanges(db, ns, page.changes, pending);
        await renumberProvisional(db, touched);
        const latest = page.changes.reduce((max, c) => (c.hlc > max ? c.hlc : max), '');
        if (latest) this.ctx.writer.clock.receive(latest);
        await db.state.put({ key: nsKey(ns), value: { cursor: page.cursor, afterSeq: Math.max(state.afterSeq, page.lastMutationSeq) } });
      });
      if (!page.more) return;
    }
  }

  private async uploads(namespaces: string[]): Promise<void> {
    const queue = await queueUploads(this.ctx.db, namespaces);
    const progress = new Map<string, UploadProgress>(queue.map((u) => [u.sha256, { sha256: u.sha256, size: u.size, sent: 0 }]));
    const show = () => this.status.set({ uploads: [...progress.values()] });
    show();
    for (const u of queue) {
      await uploadBlob(this.ctx.db, this.http!, u, (sent) => {
        progress.set(u.sha256, { sha256: u.sha256, size: u.size, sent });
        show();
      });
      progress.delete(u.sha256);
      show();
    }
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
