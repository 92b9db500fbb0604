/// <reference types="node" />
// The sync figures in Chromium: the client library against the real Worker under `wrangler dev`
// (test/browser/server.ts), the plain substrate (fetch + Dexie, served by a bare Node server on
// loopback) and PouchDB replicating to pouchdb-server (in memory, loopback). Each round runs in
// a fresh page; the sides rotate. Only through `npm run bench -- browser`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, type PushResponse } from '../../shared/sync.ts';
import { type Browser, errorsOf, launch } from '../../test/browser/browser.ts';
import { startServer, type HangarServer } from '../../test/browser/server.ts';
import { type HeapWatch, watchHeap } from './heap.ts';
import { median, report } from './report.ts';
import { KEYS, POINTS, type Row, type Server, type SyncTiming, UPLOAD_SIZE } from './sync-data.ts';

const PAGE = '/bench/browser/sync.html';
const root = new URL('../..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let browser: Browser;
let hangar: HangarServer;
let server: Server;
let plain: { url: string; close(): Promise<void> };
let pouch: { url: string; close(): Promise<void>; version: string };
let versions: Record<string, string>;
/** The 10,000 points every side moves: on the Worker in namespace PULL_NS, on the plain server, in pouchdb-server's database "pull". */
let rows: Row[];
const PULL_NS = 'pull';

/** 10,000 points of one model, five keys per step. */
function makeRows(parentId: string): Row[] {
  const t0 = Date.now();
  return Array.from({ length: POINTS }, (_, i) => ({
    id: uuidv7(t0),
    parentId,
    key: KEYS[i % KEYS.length]!,
    value: Math.random(),
    step: Math.floor(i / KEYS.length),
    wallclock: t0 + i,
  }));
}

/** A bare HTTP server: GET /points answers the rows as one JSON array; POST /points reads and counts a JSON array. */
async function startPlain(body: string, origin: string): Promise<{ url: string; close(): Promise<void> }> {
  const cors = { 'access-control-allow-origin': origin, 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type' };
  const http: HttpServer = createServer((req, res) => {
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    if (req.url === '/points' && req.method === 'GET') return void res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(body);
    if (req.url === '/points' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[]).length;
        res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ received }));
      });
      return;
    }
    res.writeHead(404, cors).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => http.close(() => resolve())) };
}

/** pouchdb-server in memory on a free loopback port, its config (CORS for the page) and log in a temporary directory. */
async function startPouch(origin: string): Promise<{ url: string; close(): Promise<void>; version: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'hangar-pouchdb-'));
  const config = {
    httpd: { enable_cors: true },
    cors: { origins: origin, credentials: true, methods: 'GET, PUT, POST, HEAD, DELETE', headers: 'accept, authorization, content-type, origin, referer' },
    log: { level: 'warning' },
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const bin = join(root, 'node_modules/.bin/pouchdb-server');
  const child: ChildProcess = spawn(bin, ['--in-memory', '--host', '127.0.0.1', '--port', String(port), '--config', join(dir, 'config.json'), '--no-stdout-logs'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const welcome = await fetch(url).then((r) => (r.ok ? (r.json() as Promise<{ version: string }>) : null), () => null);
    if (welcome) return { url, close, version: welcome.version };
    if (i > 120 || child.exitCode !== null) {
      await close();
      throw new Error(`pouchdb-server did not answer on ${url}:\n${log}`);
    }
    await sleep(250);
  }
}

let tick = 0;

/** Puts the points on the Worker (sync push from Node with the admin token) and in pouchdb-server's "pull" database. */
async function seed(): Promise<void> {
  const clientId = uuidv7();
  const parentId = rows[0]!.parentId;
  const mutations = [
    { seq: 1, name: 'model.create', args: { id: parentId, name: 'run', owner: null, task: null, description: null }, hlc: formatHlc(Date.now(), ++tick, 'seed') },
    ...Array.from({ length: POINTS / 1000 }, (_, i) => ({
      seq: i + 2,
      name: 'metrics.log',
      args: { parentId, points: rows.slice(i * 1000, i * 1000 + 1000).map(({ parentId: _p, ...p }) => p) },
      hlc: formatHlc(Date.now(), ++tick, 'seed'),
    })),
  ];
  for (const batch of [mutations.slice(0, 6), mutations.slice(6)]) {
    const res = await hangar.api(`/namespaces/${PULL_NS}/sync/push`, {
      json: { clientId, afterSeq: batch[0]!.seq - 1, mutations: batch },
      headers: { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) },
    });
    const body = (await res.json()) as PushResponse;
    if (res.status !== 200 || body.results.some((r) => r.status !== 'applied')) throw new Error(`seeding the Worker failed: ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
  }
  expect(await pointsOn(PULL_NS)).toBe(POINTS);
  expect((await fetch(`${pouch.url}/pull`, { method: 'PUT' })).status).toBe(201);
  const docs = rows.map(({ id, ...rest }) => ({ _id: id, ...rest }));
  const res = await fetch(`${pouch.url}/pull/_bulk_docs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ docs }) });
  expect(res.status).toBe(201);
  const info = (await (await fetch(`${pouch.url}/pull`)).json()) as { doc_count: number };
  expect(info.doc_count).toBe(POINTS);
}

/** How many points the Worker holds on model "run" of a namespace. */
async function pointsOn(ns: string): Promise<number> {
  const res = await hangar.api(`/namespaces/${ns}/models/run/metrics`);
  const body = (await res.json()) as { metrics: Record<string, { count: number }> };
  return Object.values(body.metrics ?? {}).reduce((sum, m) => sum + m.count, 0);
}

beforeAll(async () => {
  browser = await launch();
  hangar = await startServer();
  server = { url: hangar.url, token: await hangar.token('*', 'write', { origins: [browser.baseUrl] }) };
  rows = makeRows(await modelId(PULL_NS, 'run'));
  plain = await startPlain(JSON.stringify(rows), browser.baseUrl);
  pouch = await startPouch(browser.baseUrl);
  const pouchBrowser = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(root, 'node_modules/pouchdb-browser/package.json'), 'utf8'))) as { version: string };
  versions = { chromium: browser.context.browser()?.version() ?? 'unknown', 'pouchdb-browser': pouchBrowser.version, 'pouchdb-server': pouch.version };
  await seed();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await hangar?.close();
  await plain?.close();
  await pouch?.close();
});

type Round<T> = (page: Page, name: string, round: number) => Promise<T>;

/** One round in a fresh page, after every earlier database of the origin is deleted. */
async function inFreshPage<T>(run: Round<T>, name: string, round: number): Promise<T> {
  const page = await browser.newPage(PAGE);
  try {
    const ready = await page.evaluate(() => window.harnessReady);
    if (ready?.error) throw new Error(ready.error);
    await page.evaluate(() => window.syncBench.clearDatabases());
    const result = await run(page, name, round);
    // PouchDB looks its replication checkpoint up before the first one exists: Chromium logs that 404.
    const errors = errorsOf(page).filter((e) => !/status of 404 .*\/_local\//.test(e));
    expect(errors, `errors in ${page.url()}`).toEqual([]);
    return result;
  } finally {
    await page.close();
  }
}

/** `rounds` rounds of every side after one warm-up round that is not counted (unless `warmUp` is false); which side goes first rotates. */
async function rotate<S extends string, T>(figure: string, rounds: number, sides: Record<S, Round<T>>, warmUp = true): Promise<Record<S, T[]>> {
  const order = Object.keys(sides) as S[];
  const samples = Object.fromEntries(order.map((side) => [side, [] as T[]])) as unknown as Record<S, T[]>;
  for (let round = warmUp ? 0 : 1; round <= rounds; round++) {
    for (let i = 0; i < order.length; i++) {
      const side = order[(i + round) % order.length]!;
      const result = await inFreshPage(sides[side], `bench-${side}-${round}`, round);
      console.log(`${figure}: round ${round}${round === 0 ? ' (warm-up)' : ''}, ${side}: ${JSON.stringify(result)}`);
      if (round > 0) samples[side].push(result);
    }
  }
  return samples;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const ROUNDS = 3;
const how = `Chromium headless, a fresh page and empty IndexedDB per round, median of ${ROUNDS} rounds after a warm-up, the side going first rotating`;
let pushNamespaces = 0;
let pouchDatabases = 0;

it('pulls 10,000 metric points into a fresh browser registry vs plain fetch + Dexie and vs PouchDB', async () => {
  const runs = await rotate('sync pull', ROUNDS, {
    hangar: (page, name) => page.evaluate(([n, s, ns]) => window.syncBench.hangarPull(n, s, ns), [name, server, PULL_NS] as const),
    plain: (page, name) => page.evaluate(([n, u]) => window.syncBench.plainPull(n, u), [name, plain.url] as const).then((ms) => ({ ms })),
    pouch: (page, name) => page.evaluate(([n, r]) => window.syncBench.pouchPull(n, r), [name, `${pouch.url}/pull`] as const).then((ms) => ({ ms })),
  });
  const ms = (xs: { ms: number }[]) => xs.map((x) => round1(x.ms));
  const h = runs.hangar as SyncTiming[];
  const breakdown = `its pull requests (${h[0]!.pulls} per round: the first round's, then syncNow's empty one) took a median ${Math.round(median(h.map((x) => x.pullMs)))} ms of it in all (each fetch start to last byte); the rest, a median ${Math.round(median(h.map((x) => x.ms - x.pushMs - x.pullMs)))} ms, is the page's own work (applying the changes in IndexedDB)`;
  report({
    name: 'Sync pull of 10,000 metric points into a fresh browser registry (hangar.sync + syncNow)',
    value: median(ms(h)),
    unit: 'ms',
    baseline: median(ms(runs.plain)),
    goal: null,
    note:
      `Hangar: a fresh registry (openRegistry) calls hangar.sync({ url, token, namespaces }) against the Worker under wrangler dev (local D1), waits for the first round (syncStatus) and calls syncNow(), timed from sync() to syncNow() resolving; the namespace holds the model and the 10,000 points as 10 metrics.log changes; ${breakdown}; ` +
      `baseline: the same 10,000 rows fetched as one JSON array from a bare Node HTTP server on loopback and put with one Dexie bulkPut into a table keyed id, [parentId+key+step]; ${how}.`,
    samples: ms(h),
    baselineSamples: ms(runs.plain),
    versions,
  });
  report({
    name: 'Sync pull of 10,000 metric points into a fresh browser: Hangar vs PouchDB replication',
    value: median(ms(h)),
    unit: 'ms',
    baseline: median(ms(runs.pouch)),
    goal: '< 1',
    note:
      `Hangar: as in the figure above; peer: a fresh PouchDB (pouchdb-browser, IndexedDB) in the same browser runs replicate.from() of a database on pouchdb-server (--in-memory, loopback) holding the same 10,000 records as documents { _id, parentId, key, value, step, wallclock }, with PouchDB's default replication options, timed from the call to its result (docs_written checked); ${how}.`,
    samples: ms(h),
    baselineSamples: ms(runs.pouch),
    versions,
  });
});

it('pushes 10,000 metric points logged in the browser vs plain Dexie + fetch and vs PouchDB', async () => {
  const runs = await rotate('sync push', ROUNDS, {
    hangar: async (page, name) => {
      const ns = `push-${++pushNamespaces}`;
      const t = await page.evaluate(([n, s, x]) => window.syncBench.hangarPush(n, s, x), [name, server, ns] as const);
      expect(await pointsOn(ns)).toBe(POINTS);
      return t;
    },
    plain: (page, name) => page.evaluate(([n, u, r]) => window.syncBench.plainPush(n, u, r), [name, plain.url, rows] as const).then((ms) => ({ ms })),
    pouch: async (page, name) => {
      // The target database is made first, untimed, as the Hangar side's namespace needs no setup.
      const remote = `${pouch.url}/push-${++pouchDatabases}`;
      expect((await fetch(remote, { method: 'PUT' })).status).toBe(201);
      return { ms: await page.evaluate(([n, r, docs]) => window.syncBench.pouchPush(n, r, docs), [name, remote, rows] as const) };
    },
  });
  const ms = (xs: { ms: number }[]) => xs.map((x) => round1(x.ms));
  const h = runs.hangar as SyncTiming[];
  const breakdown =
    `of it, the push requests (${h[0]!.pushes} per round) took a median ${Math.round(median(h.map((x) => x.pushMs)))} ms in all and the pull requests that follow in the same rounds ` +
    `(${h[0]!.pulls}; the first brings the client's own 10,000 points back, which it applies again) ${Math.round(median(h.map((x) => x.pullMs)))} ms (each fetch start to last byte); ` +
    `the rest, a median ${Math.round(median(h.map((x) => x.ms - x.pushMs - x.pullMs)))} ms, is the page's own work (reading and settling the outbox, applying the pulled changes in IndexedDB)`;
  report({
    name: 'Sync push of 10,000 metric points logged in the browser (hangar.sync + syncNow)',
    value: median(ms(h)),
    unit: 'ms',
    baseline: median(ms(runs.plain)),
    goal: null,
    note:
      `Hangar: a fresh registry logs 2,000 version-less model.logMetrics calls of 5 keys and flushes (not timed: 10 metrics.log mutations of 1000 points in the outbox, after the model.create), then hangar.sync({ url, token, namespaces }) to a fresh namespace on the Worker under wrangler dev, waits for the first round and calls syncNow(), timed from sync() until syncNow() resolves with the outbox empty (the points then checked on the server); ${breakdown}; ` +
      `baseline: the same number of rows, put untimed in a plain Dexie table, read back with toArray() and POSTed as one JSON array to a bare Node HTTP server on loopback that parses and counts it; ${how}.`,
    samples: ms(h),
    baselineSamples: ms(runs.plain),
    versions,
  });
  report({
    name: 'Sync push of 10,000 metric points from the browser: Hangar vs PouchDB replication',
    value: median(ms(h)),
    unit: 'ms',
    baseline: median(ms(runs.pouch)),
    goal: '< 1',
    note:
      `Hangar: as in the figure above; peer: the same 10,000 records as documents written untimed into a fresh PouchDB (pouchdb-browser, IndexedDB) in the same browser, then replicate.to() a fresh database on pouchdb-server (--in-memory, loopback) with PouchDB's default replication options, timed from the call to its result (docs_written checked); ${how}.`,
    samples: ms(h),
    baselineSamples: ms(runs.pouch),
    versions,
  });
});

it('uploads a 256 MiB artifact through the sync engine within 64 MiB of JS heap', async () => {
  // Each round moves 256 MiB twice (into IndexedDB, then to the Worker): no warm-up round.
  const UPLOAD_ROUNDS = 2;
  let uploads = 0;
  const runs = await rotate('sync upload', UPLOAD_ROUNDS, {
    hangar: async (page, name) => {
      const ns = `upload-${++uploads}`;
      const sha256 = await page.evaluate(([n, s, x]) => window.syncBench.uploadPrepare(n, s, x), [name, server, ns] as const);
      // One watch over uploadArtifacts and syncNow (the figure); a second over syncNow alone.
      const whole = await watchHeap(page);
      await whole.start();
      let upload: HeapWatch | undefined;
      let t: { storeMs: number; syncMs: number };
      try {
        const storeMs = await page.evaluate(() => window.syncBench.uploadStore());
        upload = await watchHeap(page);
        await upload.start();
        t = { storeMs, syncMs: await page.evaluate(() => window.syncBench.uploadSync()) };
      } catch (err) {
        await upload?.stop();
        await whole.stop();
        throw err;
      }
      const syncHeapMiB = await upload.stop();
      const heapGrowthMiB = await whole.stop();
      const head = await hangar.api(`/namespaces/${ns}/blobs/sha256/${sha256}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      return { ...t, heapGrowthMiB, syncHeapMiB };
    },
  }, false);
  const r = runs.hangar;
  const heap = r.map((x) => round1(x.heapGrowthMiB));
  const mbps = r.map((x) => round1(UPLOAD_SIZE / 1e6 / (x.syncMs / 1000)));
  const what =
    `version.uploadArtifacts([{ file, path }]) of a 256 MiB Blob of random bytes (stored and hashed in IndexedDB by the library), then hangar.syncNow(), which uploads it to the Worker under wrangler dev (local R2) through the resumable upload API in ${UPLOAD_SIZE / 2 ** 20 / 32}-MiB parts and completes it (the Worker checks its SHA-256); the registry was syncing already, its model and version pushed; ` +
    `the blob checked on the server afterwards; median of ${UPLOAD_ROUNDS} rounds (no warm-up round), each in a fresh page`;
  report({
    name: 'Upload a 256 MiB artifact through the sync engine: peak JS heap growth (page and its workers)',
    value: Math.max(0.1, median(heap)),
    unit: 'MiB',
    baseline: 64,
    goal: '< 1',
    note:
      `${what}; value: the highest JS memory (V8 heap + ArrayBuffer backing stores) of the page plus its Web Workers, sampled every 50 ms over CDP (Runtime.getHeapUsage) from before uploadArtifacts to after syncNow, less the same sum just before, after a GC everywhere (as bench/browser/heap.ts measures the artifact figure); baseline: the 64 MiB budget, not a measurement. A second watch over syncNow() alone (the upload; its baseline taken after uploadArtifacts, after a GC) saw a median growth of ${median(r.map((x) => round1(x.syncHeapMiB)))} MiB (samples ${r.map((x) => round1(x.syncHeapMiB)).join(', ')}).`,
    samples: heap,
    versions,
  });
  report({
    name: 'Upload a 256 MiB artifact through the sync engine: throughput',
    value: median(mbps),
    unit: 'MB/s',
    baseline: null,
    goal: null,
    note: `${what}; value: 256 MiB (in MB of 10^6 bytes) over the time of syncNow() alone (uploadArtifacts, storing it locally, took a median ${Math.round(median(r.map((x) => x.storeMs)))} ms before it); kept for information, no baseline.`,
    samples: mbps,
    versions,
  });
});
