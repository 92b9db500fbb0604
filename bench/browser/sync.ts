// The sync figures, in the page: the client library syncing 10,000 metric points and a 256 MiB
// artifact with the real Worker under `wrangler dev`, against the plain substrate (fetch + Dexie)
// and against PouchDB replicating the same records to pouchdb-server.
//
// Library calls used (DESIGN §6, §7a):
//   const hangar = await openRegistry({ name, persist: false, fetch })
//   await hangar.sync({ url, token, namespaces })        starts syncing (a first round at once)
//   await hangar.syncNow()                                resolves when all is pushed and pulled
//   hangar.syncStatus.value                               lastSync, syncing, error, pendingBytes
//   version.logMetrics(values, { step }), hangar.flush(), version.uploadArtifacts([{ file, path }])
import Dexie from 'dexie';
import PouchDB from 'pouchdb-browser';
import type { Hangar } from '../../web/client/index.ts';
import type { HangarLibrary } from '../../test/browser/fixtures/globals.d.ts';
import { makeInput } from './artifact.ts';
import { KEYS, POINTS, type Row, type Server, STEPS, type SyncTiming } from './sync-data.ts';

export type { Row, Server, SyncTiming };

/**
 * The sync requests of the timed span, from the page's resource timings (start and end of each
 * fetch, its answer fully received), for the push/pull breakdown; no wrapper around fetch.
 */
function requests(): { kind: 'push' | 'pull' | 'other'; start: number; end: number }[] {
  return (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => ({
    kind: e.name.includes('/sync/push') ? 'push' : e.name.includes('/sync/pull') ? 'pull' : 'other',
    start: e.startTime,
    end: e.responseEnd,
  }));
}

/** Waits until the registry's first sync round has ended; fails on a sync error. */
function firstRound(hangar: Hangar): Promise<void> {
  return new Promise((resolve, reject) => {
    let unsubscribe: (() => void) | undefined;
    let settled = false;
    const check = (s: Hangar['syncStatus']['value']) => {
      if (settled || s.syncing) return;
      if (s.error) (settled = true), reject(new Error(`sync failed: ${s.error.code}: ${s.error.message}`));
      else if (s.lastSync !== null) (settled = true), resolve();
      if (settled) queueMicrotask(() => unsubscribe?.());
    };
    unsubscribe = hangar.syncStatus.subscribe(check);
    if (settled) unsubscribe();
  });
}

/**
 * `hangar.sync()` then `hangar.syncNow()`. The first round starts as soon as this tab holds the
 * sync lock; syncNow is called once it has, since before that it would ask another tab to lead.
 */
async function syncAll(hangar: Hangar, server: Server, ns: string): Promise<void> {
  await hangar.sync({ url: server.url, token: server.token, namespaces: [ns], intervalMs: 3_600_000 });
  await firstRound(hangar);
  await hangar.syncNow();
}


function spans(ms: number): SyncTiming {
  const log = requests();
  const span = (kind: 'push' | 'pull') => {
    const xs = log.filter((r) => r.kind === kind);
    return { n: xs.length, ms: xs.reduce((sum, r) => sum + (r.end - r.start), 0) };
  };
  const push = span('push');
  const pull = span('pull');
  return { ms, pushMs: push.ms, pushes: push.n, pullMs: pull.ms, pulls: pull.n };
}

/** Hangar pull: a fresh registry syncs the namespace that holds the 10,000 points. */
export async function hangarPull(library: HangarLibrary, name: string, server: Server, ns: string): Promise<SyncTiming> {
  const hangar = await library.openRegistry({ name, persist: false });
  try {
    performance.setResourceTimingBufferSize(10_000);
    performance.clearResourceTimings();
    const start = performance.now();
    await syncAll(hangar, server, ns);
    const ms = performance.now() - start;
    const stored = (await hangar.db.metricSummaries.toArray()).reduce((n, s) => n + s.count, 0);
    if (stored !== POINTS) throw new Error(`the registry pulled ${stored} points, not ${POINTS}`);
    return spans(ms);
  } finally {
    await hangar.close();
  }
}

/** Hangar push: 10,000 points logged in a fresh registry (not timed), then synced to a fresh namespace. */
export async function hangarPush(library: HangarLibrary, name: string, server: Server, ns: string): Promise<SyncTiming> {
  const hangar = await library.openRegistry({ name, persist: false });
  try {
    const model = await hangar.newModel({ namespace: ns, name: 'run' });
    for (let step = 0; step < STEPS; step++) {
      void model.logMetrics(Object.fromEntries(KEYS.map((k, i) => [k, 1 / (step + i + 1)])), { step });
    }
    await hangar.flush();
    const outbox = await hangar.db.outbox.count();
    performance.setResourceTimingBufferSize(10_000);
    performance.clearResourceTimings();
    const start = performance.now();
    await syncAll(hangar, server, ns);
    const ms = performance.now() - start;
    const left = await hangar.db.outbox.count();
    if (left !== 0) throw new Error(`${left} of ${outbox} mutations were not pushed`);
    return spans(ms);
  } finally {
    await hangar.close();
  }
}

/** The substrate of the pull: the same rows fetched as one JSON array and put with one Dexie bulkPut. */
export async function plainPull(name: string, plainUrl: string): Promise<number> {
  const db = new Dexie(name);
  db.version(1).stores({ metrics: 'id, [parentId+key+step]' });
  await db.open();
  try {
    const start = performance.now();
    const rows = (await (await fetch(`${plainUrl}/points`)).json()) as Row[];
    await db.table('metrics').bulkPut(rows);
    const ms = performance.now() - start;
    const stored = await db.table('metrics').count();
    if (stored !== POINTS) throw new Error(`Dexie stored ${stored} rows, not ${POINTS}`);
    return ms;
  } finally {
    db.close();
  }
}

/** The substrate of the push: the rows in a Dexie table (put untimed), read back and POSTed as one JSON array. */
export async function plainPush(name: string, plainUrl: string, rows: Row[]): Promise<number> {
  const db = new Dexie(name);
  db.version(1).stores({ metrics: 'id, [parentId+key+step]' });
  await db.open();
  try {
    await db.table('metrics').bulkPut(rows);
    const start = performance.now();
    const all = await db.table('metrics').toArray();
    const res = await fetch(`${plainUrl}/points`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(all) });
    const { received } = (await res.json()) as { received: number };
    const ms = performance.now() - start;
    if (received !== POINTS) throw new Error(`the plain server received ${received} rows, not ${POINTS}`);
    return ms;
  } finally {
    db.close();
  }
}

const asDoc = ({ id, ...rest }: Row) => ({ _id: id, ...rest });

/** PouchDB push: the rows as documents in a fresh local PouchDB (written untimed), replicated to a fresh database on pouchdb-server. */
export async function pouchPush(name: string, remote: string, rows: Row[]): Promise<number> {
  const local = new PouchDB(name);
  try {
    const written = await local.bulkDocs(rows.map(asDoc));
    if (written.some((r) => 'error' in r && r.error)) throw new Error('PouchDB refused a document');
    const start = performance.now();
    const result = await local.replicate.to(remote);
    const ms = performance.now() - start;
    if (result.docs_written !== POINTS) throw new Error(`PouchDB replicated ${result.docs_written} documents, not ${POINTS}`);
    return ms;
  } finally {
    await local.destroy();
  }
}

/** PouchDB pull: a fresh local PouchDB replicates from the server's database of the 10,000 documents. */
export async function pouchPull(name: string, remote: string): Promise<number> {
  const local = new PouchDB(name);
  try {
    const start = performance.now();
    const result = await local.replicate.from(remote);
    const ms = performance.now() - start;
    if (result.docs_written !== POINTS) throw new Error(`PouchDB replicated ${result.docs_written} documents, not ${POINTS}`);
    return ms;
  } finally {
    await local.destroy();
  }
}

export interface UploadPrepared {
  sha256: string;
  /** uploadArtifacts: the bytes stored and hashed here, an upload queued; resolves with its time. */
  store(): Promise<number>;
  /** syncNow: the upload to the Worker; resolves with its time. */
  sync(): Promise<number>;
}

/**
 * Makes a 256 MiB Blob, opens a fresh registry syncing a fresh namespace (its first round done)
 * with a model and a version pushed: nothing of it is timed or watched.
 */
export async function prepareUpload(library: HangarLibrary, name: string, server: Server, ns: string): Promise<UploadPrepared> {
  const { blob, sha256 } = await makeInput();
  const hangar = await library.openRegistry({ name, persist: false });
  const model = await hangar.newModel({ namespace: ns, name: 'm' });
  const version = await model.newVersion({});
  await syncAll(hangar, server, ns);
  return {
    sha256,
    async store() {
      const start = performance.now();
      await version.uploadArtifacts([{ file: blob, path: 'weights.bin' }]);
      return performance.now() - start;
    },
    async sync() {
      const start = performance.now();
      await hangar.syncNow();
      const ms = performance.now() - start;
      const s = hangar.syncStatus.value;
      if (s.error || s.pendingBytes !== 0) throw new Error(`after syncNow: error ${JSON.stringify(s.error)}, ${s.pendingBytes} bytes pending`);
      await hangar.close();
      return ms;
    },
  };
}
