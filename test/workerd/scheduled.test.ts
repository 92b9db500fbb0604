// The scheduled sweeps (DESIGN §3b), called as the Cron Trigger calls them, under the
// production D1 limits: each step, a run cut short and finished by the next, idempotence, and
// the blob sweep never deleting bytes an artifact of any namespace, an upload or the trash holds.
import { createScheduledController, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { purgeMarked } from '../../worker/domain/purge.ts';
import { deleteBlobs } from '../../worker/scheduled/blobs.ts';
import { SweepBudget } from '../../worker/scheduled/budget.ts';
import { runSweeps, type SweepReport } from '../../worker/scheduled/index.ts';
import worker from '../../worker/worker.ts';
import { call, expectError } from './api.ts';
import { newVersion, putBlob, randomBytes, sha256Hex } from './blob-helpers.ts';
import { limitedD1 } from './d1-limits.ts';
import { seedPoints, storedPointCount, usedPoints } from './metric-seed.ts';
import { H, syncClient } from './sync-client.ts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<number>('n')) ?? 0;

/** Runs the Worker's `scheduled` handler at `at`, with the production D1 limits enforced; answers the queries it made. */
async function cron(at: number): Promise<number> {
  const usage = { queries: 0 };
  // The handler leaves nothing to waitUntil: every step is awaited within the invocation.
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: '17 * * * *' }), { ...env, DB: limitedD1(env.DB, usage) });
  expect(usage.queries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
  return usage.queries;
}

/** One sweep with some steps' item limits lowered, under the production D1 limits. */
async function sweep(at: number, limits: Record<string, number> = {}): Promise<SweepReport> {
  const usage = { queries: 0 };
  const report = await runSweeps({ ...env, DB: limitedD1(env.DB, usage) }, at, limits);
  expect(usage.queries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
  return report;
}

async function artifact(ns: string, model: string, number: number, path: string, bytes: Uint8Array) {
  const sha = await sha256Hex(bytes);
  const r = await call('POST', `/namespaces/${ns}/models/${model}/versions/${number}/artifacts`, { body: { path, size: bytes.byteLength, sha256: sha } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return sha;
}
const blobRow = (sha: string) => env.DB.prepare('SELECT * FROM blobs WHERE sha256 = ?').bind(sha).first<{ r2_key: string; unreferenced_since: number | null }>();
async function objectExists(sha: string, key?: string) {
  return (await env.BLOBS.head(key ?? `sha256/${sha}`)) !== null;
}

describe('scheduled sweeps', () => {
  it('expires trash entries after LIMITS.trashDays and purges their rows; not a day before', async () => {
    const t0 = Date.now();
    const v = await newVersion('sw1', 'old');
    await call('POST', `/namespaces/sw1/models/old/versions/${v}/metrics`, { body: { metrics: [{ key: 'loss', value: 1 }] } });
    await newVersion('sw1', 'kept');
    await call('DELETE', '/namespaces/sw1/models/old');
    await call('DELETE', '/namespaces/sw1/models/kept/versions/1');
    await cron(t0 + (LIMITS.trashDays - 1) * DAY);
    expect((await call('GET', '/namespaces/sw1/trash')).body.items).toHaveLength(2);
    await cron(t0 + LIMITS.trashDays * DAY + HOUR);
    expect((await call('GET', '/namespaces/sw1/trash')).body.items).toEqual([]);
    expect(await count("SELECT COUNT(*) AS n FROM models WHERE namespace = 'sw1' AND name = 'old'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM metric_series WHERE namespace = 'sw1'")).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM metric_segments WHERE series NOT IN (SELECT id FROM metric_series)')).toBe(0);
    expect(await usedPoints('sw1')).toBe(0);
    expectError(await call('POST', '/namespaces/sw1/models/old/restore'), 404, 'not-in-trash');
    expectError(await call('POST', '/namespaces/sw1/models/kept/versions/1/restore'), 404, 'not-in-trash');
  });

  it('a purge cut short goes on where it stopped, and running it again changes nothing', async () => {
    const v = await newVersion('sw2', 'long');
    const vid = (await call('GET', `/namespaces/sw2/models/long/versions/${v}`)).body.id;
    // 4,500 points, a segment each: segment rows to purge in three steps.
    await seedPoints('sw2', vid, 'k', 4500, 1);
    await call('DELETE', '/namespaces/sw2/models/long');
    await env.DB.prepare("UPDATE trash SET purging = 1 WHERE namespace = 'sw2'").run();
    // Three queries: the entry, then one step of segment rows (the points' count and the delete,
    // in one batch). Stopped half-way, the entry is still being purged; what it freed is off the count.
    expect(await purgeMarked(env.DB, { queries: 3, namespace: 'sw2' })).toEqual({ entries: 0, rows: 2000, done: false });
    expect(await storedPointCount(vid)).toBe(2500);
    expect(await usedPoints('sw2')).toBe(2500);
    expect((await call('GET', '/namespaces/sw2/trash')).body.items).toEqual([]);
    expectError(await call('POST', '/namespaces/sw2/models/long/restore'), 404, 'not-in-trash');
    const next = await sweep(Date.now());
    expect(next.purge).toMatchObject({ done: true });
    expect(await storedPointCount(vid)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM metric_series WHERE namespace = 'sw2'")).toBe(0);
    expect(await usedPoints('sw2')).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM models WHERE namespace = 'sw2'")).toBe(0);
    expect((await sweep(Date.now())).purge).toEqual({ entries: 0, rows: 0, done: true });
  });

  it('deletes an unreferenced blob and its R2 object only after the grace period', async () => {
    const t0 = Date.now();
    const sha = await putBlob('sw3', randomBytes(100));
    await cron(t0);
    expect((await blobRow(sha))?.unreferenced_since).toBe(t0);
    await cron(t0 + (LIMITS.blobGraceHours - 1) * HOUR);
    expect(await objectExists(sha)).toBe(true);
    await cron(t0 + LIMITS.blobGraceHours * HOUR + 1);
    expect(await blobRow(sha)).toBeNull();
    expect(await objectExists(sha)).toBe(false);
    expect(await count('SELECT COUNT(*) AS n FROM blob_grants WHERE sha256 = ?', sha)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM blob_deletions WHERE sha256 = ?', sha)).toBe(0);
    // The namespace no longer reads it, and may send it again.
    expect((await call('GET', `/namespaces/sw3/blobs/sha256/${sha}`)).status).toBe(404);
  });

  it('never deletes a blob an artifact of another namespace, an upload in flight or the trash holds', async () => {
    const t0 = Date.now();
    const shared = randomBytes(200);
    const trashed = randomBytes(300);
    const uploading = randomBytes(400);
    const garbage = randomBytes(500);
    const vA = await newVersion('sw4a', 'm');
    const vB = await newVersion('sw4b', 'm');
    const sharedSha = await putBlob('sw4a', shared);
    await putBlob('sw4b', shared);
    await artifact('sw4a', 'm', vA, 'w.bin', shared);
    await artifact('sw4b', 'm', vB, 'w.bin', shared);
    const trashedSha = await putBlob('sw4b', trashed);
    const vT = await newVersion('sw4b', 'gone');
    await artifact('sw4b', 'gone', vT, 't.bin', trashed);
    const uploadingSha = await putBlob('sw4a', uploading);
    // Another namespace starts an upload of the same bytes (it has no grant for them).
    const start = await call('POST', '/namespaces/sw4b/blobs/uploads', { body: { sha256: uploadingSha, size: uploading.byteLength } });
    expect(start.body.exists).toBe(false);
    const garbageSha = await putBlob('sw4a', garbage);
    // sw4a's model goes to the trash and is purged: the shared blob is still sw4b's; the other model sits in the trash.
    await call('DELETE', '/namespaces/sw4a/models/m');
    expect((await call('DELETE', '/namespaces/sw4a/trash')).body.done).toBe(true);
    await call('DELETE', '/namespaces/sw4b/models/gone');
    for (const at of [t0, t0 + LIMITS.blobGraceHours * HOUR + 1, t0 + 2 * LIMITS.blobGraceHours * HOUR]) {
      // Before the upload's own expiry: it is in flight.
      await sweep(at, { uploads: 0 });
    }
    for (const sha of [sharedSha, trashedSha, uploadingSha]) {
      expect(await blobRow(sha)).toMatchObject({ unreferenced_since: null });
      expect(await objectExists(sha)).toBe(true);
    }
    expect(await blobRow(garbageSha)).toBeNull();
    expect(await objectExists(garbageSha)).toBe(false);
    expect((await call('GET', `/namespaces/sw4b/models/m/versions/${vB}/artifacts/w.bin`)).status).toBe(200);
  });

  it('a blob sent again is wanted again: its grace period starts over', async () => {
    const t0 = Date.now();
    const bytes = randomBytes(123);
    const sha = await putBlob('sw5', bytes);
    await sweep(t0);
    expect((await blobRow(sha))?.unreferenced_since).toBe(t0);
    await putBlob('sw5', bytes);
    expect((await blobRow(sha))?.unreferenced_since).toBeNull();
    await sweep(t0 + LIMITS.blobGraceHours * HOUR + 1);
    expect(await blobRow(sha)).not.toBeNull();
  });

  it('a blob sweep cut short between the row and the R2 object finishes on the next run; one step limit of 1 takes two runs', async () => {
    const t0 = Date.now();
    const a = await putBlob('sw6', randomBytes(10));
    const b = await putBlob('sw6', randomBytes(11));
    await sweep(t0);
    const late = t0 + LIMITS.blobGraceHours * HOUR + 1;
    // A budget of 4 queries: the rows go, the R2 objects are not reached.
    const cut = await deleteBlobs({ env: { ...env }, now: late, budget: new SweepBudget(4), limit: 10 });
    // (Blobs earlier tests left unreferenced may be among them: storage is shared within a file.)
    expect(cut.objects).toBe(0);
    expect(cut.deleted).toBeGreaterThanOrEqual(2);
    expect(await blobRow(a)).toBeNull();
    expect(await objectExists(a)).toBe(true);
    expect(await count('SELECT COUNT(*) AS n FROM blob_deletions WHERE sha256 IN (?, ?)', a, b)).toBe(2);
    // The next runs, one object at a time.
    const pending = await count('SELECT COUNT(*) AS n FROM blob_deletions');
    for (let i = 0; i < pending; i++) expect((await sweep(late, { 'blob-delete': 1 }))['blob-delete']).toEqual({ deleted: 0, objects: 1 });
    expect(await objectExists(a)).toBe(false);
    expect(await objectExists(b)).toBe(false);
    expect((await sweep(late))['blob-delete']).toEqual({ deleted: 0, objects: 0 });
  });

  it('aborts uploads abandoned past the grace period and keeps recent ones', async () => {
    const t0 = Date.now();
    const bytes = randomBytes(64);
    const start = await call('POST', '/namespaces/sw7/blobs/uploads', { body: { sha256: await sha256Hex(bytes), size: bytes.byteLength } });
    const id = start.body.uploadId;
    await sweep(t0 + HOUR);
    expect(await count('SELECT COUNT(*) AS n FROM uploads WHERE id = ?', id)).toBe(1);
    const report = await sweep(t0 + LIMITS.blobGraceHours * HOUR + HOUR);
    expect(report.uploads!.aborted).toBeGreaterThanOrEqual(1);
    expect(await count('SELECT COUNT(*) AS n FROM uploads WHERE id = ?', id)).toBe(0);
    expectError(await call('GET', `/namespaces/sw7/blobs/uploads/${id}`), 404, 'upload-not-found');
    expect((await sweep(t0 + LIMITS.blobGraceHours * HOUR + HOUR)).uploads).toEqual({ aborted: 0 });
  });

  it('forgets idle clients and the answers of their pushes; a client seen lately stays', async () => {
    const t0 = Date.now();
    const idle = syncClient('sw8');
    const busy = syncClient('sw8');
    // A conflict's answer is stored for a retry.
    const modelId = crypto.randomUUID();
    await idle.push([{ name: 'model.update', args: { id: modelId, fields: { task: 'x' } } }]);
    await busy.push([{ name: 'model.update', args: { id: modelId, fields: { task: 'y' } } }]);
    expect(await count("SELECT COUNT(*) AS n FROM sync_results WHERE namespace = 'sw8'")).toBe(2);
    const later = t0 + LIMITS.changeLogRetentionDays * DAY + HOUR;
    await env.DB.prepare("UPDATE sync_clients SET updated_at = ? WHERE namespace = 'sw8' AND client_id = ?").bind(later - HOUR, busy.id).run();
    const report = await sweep(later);
    expect(report['idle-clients']!.clients).toBeGreaterThanOrEqual(1);
    expect(await count("SELECT COUNT(*) AS n FROM sync_clients WHERE namespace = 'sw8' AND client_id = ?", idle.id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM sync_clients WHERE namespace = 'sw8' AND client_id = ?", busy.id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM sync_results WHERE namespace = 'sw8' AND client_id = ?", idle.id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM sync_results WHERE namespace = 'sw8' AND client_id = ?", busy.id)).toBe(1);
  });

  it('compacts the change log below every known client cursor; a pull from below answers snapshot-required', async () => {
    const t0 = Date.now();
    const a = syncClient('sw9');
    const b = syncClient('sw9');
    await newVersion('sw9', 'm');
    const first = (await a.pull()).body.cursor;
    await b.pull();
    await newVersion('sw9', 'm');
    const second = (await b.pull(first)).body.cursor;
    expect(second).toBeGreaterThan(first);
    // b is at `second`, a at 0 then `first`: the floor is `first`.
    await a.pull(first);
    await sweep(t0);
    expect(await env.DB.prepare("SELECT seq FROM change_log_floors WHERE namespace = 'sw9'").first('seq')).toBe(first);
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'sw9' AND seq <= ?", first)).toBe(0);
    const cursors = () => env.DB.prepare("SELECT client_id, cursor FROM sync_cursors WHERE namespace = 'sw9' ORDER BY client_id").all().then((r) => r.results);
    const known = await cursors();
    const stranger = crypto.randomUUID();
    const below = await call('GET', `/namespaces/sw9/sync/pull?clientId=${stranger}&cursor=0`, { headers: H });
    expectError(below, 410, 'snapshot-required');
    expect(below.body.error.details).toEqual({ cursor: 0, floor: first });
    expectError(await call('GET', `/namespaces/sw9/sync/pull?clientId=${stranger}&cursor=999999999`, { headers: H }), 400, 'cursor-ahead');
    // A refused pull records no cursor.
    expect(await cursors()).toEqual(known);
    const fromFloor = await a.pull(first);
    expect(fromFloor.status).toBe(200);
    expect(fromFloor.body.changes.length).toBeGreaterThan(0);
    expect((await sweep(t0))['change-log']).toMatchObject({ rows: 0 });
    // Past the retention, every row goes, known clients or not.
    const late = t0 + LIMITS.changeLogRetentionDays * DAY + HOUR;
    await env.DB.prepare("UPDATE sync_cursors SET seen_at = ? WHERE namespace = 'sw9'").bind(late).run();
    await sweep(late);
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'sw9'")).toBe(0);
    expectError(await a.pull(first), 410, 'snapshot-required');
    expect((await a.pull(second)).status).toBe(200);
  });

  it('a namespace nobody pulls keeps its log for the retention period', async () => {
    const t0 = Date.now();
    await newVersion('sw10', 'm');
    await sweep(t0);
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'sw10'")).toBeGreaterThan(0);
    expect(await env.DB.prepare("SELECT seq FROM change_log_floors WHERE namespace = 'sw10'").first('seq')).toBeNull();
  });

  it('every step with an item limit of 1 leaves the rest to the next run; a run with nothing to do changes nothing', async () => {
    const t0 = Date.now();
    for (const name of ['x', 'y']) {
      await newVersion('sw11', name);
      await call('DELETE', `/namespaces/sw11/models/${name}`);
    }
    for (const ns of ['sw11-a', 'sw11-b']) {
      const c = syncClient(ns);
      await newVersion(ns, 'm');
      await c.pull();
      const end = (await c.pull()).body.cursor;
      await c.pull(end);
    }
    const late = t0 + LIMITS.trashDays * DAY + HOUR;
    await env.DB.prepare("UPDATE sync_cursors SET seen_at = ? WHERE namespace LIKE 'sw11-%'").bind(late).run();
    const ones = { 'trash-expiry': 1, 'change-log': 1 };
    const trashLeft = () => count("SELECT COUNT(*) AS n FROM trash WHERE namespace = 'sw11'");
    const logLeft = () => count("SELECT COUNT(*) AS n FROM change_log WHERE namespace LIKE 'sw11-%'");
    // Entries and namespaces (sorted by name) one a run, until none is left.
    let runs = 0;
    while ((await trashLeft()) > 0 || (await logLeft()) > 0) {
      const r = await sweep(late, ones);
      expect(r['trash-expiry']!.expired).toBeLessThanOrEqual(1);
      expect(r['change-log']!.namespaces).toBeLessThanOrEqual(1);
      expect(++runs).toBeLessThan(20);
    }
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(await count("SELECT COUNT(*) AS n FROM models WHERE namespace = 'sw11'")).toBe(0);
    // Nothing left: a run changes no row.
    await sweep(late);
    const tables = ['trash', 'models', 'versions', 'blobs', 'blob_deletions', 'uploads', 'sync_clients', 'sync_cursors', 'sync_results', 'change_log', 'change_log_floors'];
    const state = async () => Promise.all(tables.map((t) => count(`SELECT COUNT(*) AS n FROM ${t}`)));
    const before = await state();
    const again = await sweep(late);
    expect(await state()).toEqual(before);
    expect(again).toMatchObject({
      'trash-expiry': { expired: 0 },
      purge: { entries: 0, rows: 0, done: true },
      'blob-delete': { deleted: 0, objects: 0 },
      uploads: { aborted: 0 },
      'idle-clients': { clients: 0, cursors: 0 },
      'answered-pushes': { answers: 0 },
      'change-log': { rows: 0 },
    });
  });
});
