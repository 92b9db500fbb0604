import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, type Hangar } from '../../web/client/index.ts';
import { allPoints, parentPoints, summariesLackingHistory } from '../../web/client/metric-store.ts';
import { PULL_CURSOR_HEADER } from '../../shared/sync.ts';
import { nsKey, type NamespaceState } from '../../web/client/sync/state.ts';
import { startServer, type HangarServer } from '../browser/server.ts';
import { syncedRegistry } from './clients.ts';

// Bootstrap (DESIGN §6): a new device reads the namespace's snapshot (current state and metric
// summaries), not its history; a key's history comes when asked for and then stays offline.

let server: HangarServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('boot', 'write');
});
afterAll(() => server?.close());

/** A fetch that counts the bytes of every answer and can be switched off, or answer a pull with 410 once. */
function meteredFetch() {
  const state = { bytes: 0, offline: false, paths: [] as string[], refusePullOnce: false, dropSnapshotAnswer: 0 };
  const fetcher: typeof fetch = async (input, init) => {
    if (state.offline) throw new TypeError('Failed to fetch (offline)');
    const url = new URL(String(input));
    state.paths.push(`${url.pathname}${url.search}`);
    // The engine sends a pull's cursor as a header (the query is for servers that do not read it).
    const cursor = url.searchParams.get('cursor') ?? new Headers(init?.headers).get(PULL_CURSOR_HEADER);
    if (state.refusePullOnce && url.pathname.endsWith('/sync/pull') && cursor !== '0') {
      state.refusePullOnce = false;
      const error = { error: { code: 'snapshot-required', message: 'The change log no longer reaches this cursor.' } };
      return new Response(JSON.stringify(error), { status: 410, headers: { 'content-type': 'application/json' } });
    }
    const res = await fetch(input, init);
    const body = await res.arrayBuffer();
    if (url.pathname.endsWith('/sync/snapshot') && state.dropSnapshotAnswer > 0 && --state.dropSnapshotAnswer === 0) throw new TypeError('Failed to fetch (response lost)');
    state.bytes += body.byteLength;
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetcher, state };
}

const serverMetrics = async () => ((await (await server.api('/namespaces/boot/models/churn/versions/1/metrics')).json()) as { metrics: Record<string, unknown> }).metrics;

let registries = 0;
async function newDevice(net: ReturnType<typeof meteredFetch>): Promise<Hangar> {
  const hangar = await openRegistry({ name: `bootstrap-test-${Date.now()}-${++registries}`, persist: false, fetch: net.fetcher });
  await hangar.sync({ url: server.url, token, namespaces: ['boot'], intervalMs: 3_600_000, live: false });
  return hangar;
}

const POINTS = 3000;

describe('bootstrap from a snapshot', () => {
  let author: Hangar;
  let versionId: string;
  let historyBytes: number;

  beforeAll(async () => {
    ({ hangar: author } = await syncedRegistry(server, token, ['boot']));
    const model = await author.newModel({ namespace: 'boot', name: 'churn', task: 'tabular' });
    const v = await model.newVersion({ name: 'first' });
    versionId = v.id;
    for (let step = 0; step < POINTS; step++) v.logMetrics({ loss: 1 / (step + 1), acc: step / POINTS }, { step });
    await v.updateMetadata('params', { lr: 0.01 });
    await model.setAlias('production', v);
    await author.flush();
    await author.syncNow();
    // What replaying the history costs: every change of the namespace.
    const replay = meteredFetch();
    let cursor = 0;
    for (let more = true; more; ) {
      const r = await replay.fetcher(`${server.url}/api/v1/namespaces/boot/sync/pull?clientId=${crypto.randomUUID()}&cursor=${cursor}`, {
        headers: { authorization: `Bearer ${token}`, 'hangar-protocol': '2' },
      });
      const page = (await r.json()) as { cursor: number; more: boolean };
      cursor = page.cursor;
      more = page.more;
    }
    historyBytes = replay.state.bytes;
  });

  it('a new device gets the current state and the summaries, not the history, and little goes over the wire', async () => {
    const net = meteredFetch();
    const device = await newDevice(net);
    await device.syncNow();
    expect(net.state.paths.some((p) => p.includes('/sync/snapshot'))).toBe(true);
    const v = await device.find('boot/churn@production');
    expect(v.id).toBe(versionId);
    expect(await v.metadata()).toEqual({ params: { lr: 0.01 } });
    // The server's own summaries (summing the author's points here in fake-indexeddb is slow).
    expect(await v.metrics()).toEqual(await serverMetrics());
    expect((await v.metrics()).loss).toMatchObject({ count: POINTS, min: 1 / POINTS, max: 1, last: 1 / POINTS, lastStep: POINTS - 1 });
    // No point came: the history stays on the server until asked for.
    expect(await allPoints(device.db)).toHaveLength(0);
    expect((await device.db.metricSummaries.toArray()).every((s) => s.asOf !== undefined)).toBe(true);
    expect(net.state.bytes).toBeLessThan(historyBytes / 20);
    // The cursor is the snapshot's: a later round pulls only what is new.
    const state = (await device.db.state.get(nsKey('boot')))!.value as NamespaceState;
    expect(state.cursor).toBeGreaterThan(0);
    expect(state.bootstrap).toBeUndefined();
    device.close();
  });

  it('points logged after the snapshot add to its summaries once; a history asked for arrives and stays viewable offline', async () => {
    const net = meteredFetch();
    const device = await newDevice(net);
    await device.syncNow();
    const authorV = await author.find('boot/churn/1');
    for (let step = POINTS; step < POINTS + 10; step++) authorV.logMetrics({ loss: 0.0001 }, { step });
    await author.flush();
    await author.syncNow();
    await device.syncNow();
    // Pulled twice (the pull after a push would bring them again): counted once.
    await device.syncNow();
    const v = await device.find('boot/churn/1');
    expect((await v.metrics()).loss).toMatchObject({ count: POINTS + 10, min: 0.0001, last: 0.0001, lastStep: POINTS + 9 });
    expect(await allPoints(device.db)).toHaveLength(10);

    const history = await v.metricHistory('loss');
    expect(history).toHaveLength(POINTS + 10);
    expect(history.map((p) => p.step)).toEqual(Array.from({ length: POINTS + 10 }, (_, i) => i));
    // The summary came from the points now held here, and agrees.
    expect((await v.metrics()).loss).toEqual((await serverMetrics()).loss);
    // Downsampled here, the same buckets as the server's history API answers.
    const serverBuckets = ((await (await server.api('/namespaces/boot/models/churn/versions/1/metrics/loss?maxPoints=100')).json()) as { points: unknown[] }).points;
    expect(serverBuckets.length).toBeGreaterThan(50);
    net.state.offline = true;
    expect(await v.metricHistory('loss')).toEqual(history);
    expect(await v.metricHistory('loss', { maxPoints: 100 })).toEqual(serverBuckets);
    // A key never asked for, offline: its summary still answers; its history is what is here.
    expect((await v.metrics()).acc).toMatchObject({ count: POINTS });
    expect(await v.metricHistory('acc')).toEqual([]);
    device.close();
  });

  it('a pinned version brings every history along', async () => {
    const device = await newDevice(meteredFetch());
    await device.syncNow();
    const v = await device.find('boot/churn/1');
    await v.pin();
    const held = await parentPoints(device.db, versionId);
    expect(held).toHaveLength(2 * POINTS + 10);
    // Every key's history is here: no summary is marked as lacking it, and each agrees with the server.
    expect(await summariesLackingHistory(device.db)).toEqual([]);
    expect(await v.metrics()).toEqual(await serverMetrics());
    device.close();
  });

  it('a bootstrap cut off half-way resumes from its last page; nothing is applied twice', async () => {
    const net = meteredFetch();
    // The second snapshot page's answer is lost.
    net.state.dropSnapshotAnswer = 2;
    const device = await newDevice(net);
    await expect(device.syncNow()).rejects.toThrow();
    const cut = (await device.db.state.get(nsKey('boot')))!.value as NamespaceState;
    expect(cut.bootstrap?.pageToken).toBeTypeOf('string');
    expect(cut.cursor).toBe(0);
    await device.syncNow();
    const snapshots = net.state.paths.filter((p) => p.includes('/sync/snapshot'));
    // The first page once, the second twice (lost, then again from its token).
    expect(snapshots.length).toBe(3);
    expect(snapshots[2]).toContain('pageToken=');
    const v = await device.find('boot/churn/1');
    expect((await v.metrics()).loss).toMatchObject({ count: POINTS + 10 });
    device.close();
  });

  it('moving to another server, a bootstrapped device first fetches the histories it knows only by summary, so they arrive whole', async () => {
    const other = await startServer();
    try {
      const otherToken = await other.token('boot', 'write');
      const device = await newDevice(meteredFetch());
      await device.syncNow();
      expect((await summariesLackingHistory(device.db)).length).toBeGreaterThan(0);
      await device.sync({ url: other.url, token: otherToken, namespaces: ['boot'], intervalMs: 3_600_000, live: false });
      await device.syncNow();
      const there = (await (await other.api('/namespaces/boot/models/churn/versions/1/metrics')).json()) as { metrics: Record<string, { count: number }> };
      expect(there.metrics.loss!.count).toBe(POINTS + 10);
      expect(there.metrics.acc!.count).toBe(POINTS);
      device.close();
    } finally {
      await other.close();
    }
  });

  it('a pull answered snapshot-required bootstraps again and pulls on from the new cursor', async () => {
    const net = meteredFetch();
    const device = await newDevice(net);
    await device.syncNow();
    const authorM = await author.model('boot', 'churn');
    await authorM.update({ description: 'after' });
    await (await authorM.newVersion({ name: 'second' })).logMetrics({ loss: 2 });
    await author.flush();
    await author.syncNow();
    net.state.refusePullOnce = true;
    const before = net.state.paths.filter((p) => p.includes('/sync/snapshot')).length;
    await device.syncNow();
    expect(net.state.paths.filter((p) => p.includes('/sync/snapshot')).length).toBeGreaterThan(before);
    const m = await device.model('boot', 'churn');
    expect(m.description).toBe('after');
    expect((await (await device.find('boot/churn/2')).metrics()).loss).toMatchObject({ count: 1, last: 2 });
    device.close();
  });
});
