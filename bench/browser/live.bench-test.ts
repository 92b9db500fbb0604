/// <reference types="node" />
// The live figures (DESIGN §6 "Live"): how long a write takes to reach another browser's live
// query over the poke channel, two Chromium profiles against the real Worker (and its Durable
// Object) under `wrangler dev` on loopback. Only through `npm run bench -- live`.
import { readdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Browser, launch } from '../../test/browser/browser.ts';
import { startServer, type HangarServer } from '../../test/browser/server.ts';
import { LIMITS } from '../../shared/limits.ts';
import { LIVE_SUBPROTOCOL, LIVE_TOKEN_PREFIX } from '../../shared/live.ts';
import { LIVE_PING_MS } from '../../web/client/sync/live.ts';
import { median, report } from './report.ts';

const NS = 'live';
/** The idle tab's namespace, and the fan-out's: nobody writes to the first, and the browsers sync neither. */
const IDLE_NS = 'live-idle';
const FAN_NS = 'live-fanout';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WRITES = 100;

let a: Browser;
let b: Browser;
let pageA: Page;
let pageB: Page;
let server: HangarServer;
let versions: Record<string, string>;

type Reg = import('../../web/client/index.ts').Hangar;
interface BenchWindow {
  reg: Reg;
  /** When each model name first showed in this page's live query (Date.now()). */
  seenAt: Record<string, number>;
  /** When each push request left this page (Date.now()), in order. */
  pushSentAt: number[];
  /** Every sync request of this page: what, when it left, when its answer was read (Date.now()). */
  requests: { kind: 'push' | 'pull'; sent: number; answered: number }[];
  /** When each poke arrived on this page's live socket (Date.now()). */
  pokes: number[];
}

async function syncing(page: Page, name: string, token: string): Promise<void> {
  await page.evaluate(
    async ({ url, token, name, ns }) => {
      const w = window as unknown as BenchWindow;
      // Every push this page sends, timed as it leaves (the sync engine calls the global fetch).
      w.pushSentAt = [];
      w.requests = [];
      w.pokes = [];
      const send = window.fetch.bind(window);
      window.fetch = async (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        const kind = /\/sync\/push$/.test(url) ? 'push' : /\/sync\/pull(\?|$)/.test(url) ? 'pull' : undefined;
        const sent = Date.now();
        if (kind === 'push') w.pushSentAt.push(sent);
        const res = await send(input, init);
        if (kind) w.requests.push({ kind, sent, answered: Date.now() });
        return res;
      };
      // Each poke's arrival, timed before the library's own listener sees it.
      const Socket = window.WebSocket;
      window.WebSocket = class extends Socket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          this.addEventListener('message', (e: MessageEvent) => {
            if (typeof e.data === 'string' && e.data.startsWith('{')) w.pokes.push(Date.now());
          });
        }
      };
      const hangar = await window.openRegistry({ name });
      w.reg = hangar;
      w.seenAt = {};
      hangar.live(() => hangar.db.models.where('namespace').equals(ns).toArray()).subscribe((models) => {
        const now = Date.now();
        for (const m of models) w.seenAt[m.name] ??= now;
      });
      await hangar.sync({ url, token, namespaces: [ns], intervalMs: 3_600_000 });
    },
    { url: server.url, token, name, ns: NS },
  );
  await page.waitForFunction(() => {
    const s = (window as unknown as BenchWindow).reg.syncStatus.value;
    return s.live && !s.syncing && s.lastSync !== null;
  }, undefined, { timeout: 60_000 });
}

const seenAt = (page: Page, name: string) =>
  page.waitForFunction((name) => (window as unknown as BenchWindow).seenAt[name], name, { timeout: 30_000 }).then((h) => h.jsonValue() as Promise<number>);

interface Mark {
  wrote: number;
  pushed: number;
  seen: number;
}

/**
 * Where each write's time went, from the pages' own clocks (one machine): A's push request,
 * the server's poke reaching B's socket after A's push was answered, then either B's apply of
 * the rows the poke carried until its live query fired, or (no rows, or a gap) B's wait before
 * it pulls, B's pull request, and B's apply until its live query fired. p50 and p95 over the
 * writes of each path.
 */
async function breakdown(marks: Mark[]): Promise<Record<string, number | [number, number]>> {
  const read = (page: Page) => page.evaluate(() => {
    const w = window as unknown as BenchWindow;
    return { requests: w.requests, pokes: w.pokes };
  });
  const [ra, rb] = [await read(pageA), await read(pageB)];
  const hops: Record<string, number[]> = { push: [], poke: [], 'apply from the poke→live query': [], 'poke→pull': [], pull: [], 'apply→live query': [] };
  let fromPoke = 0;
  let pulled = 0;
  for (const m of marks) {
    const push = ra.requests.find((r) => r.kind === 'push' && r.sent === m.pushed);
    const poke = rb.pokes.find((t) => t >= m.pushed);
    if (!push || poke === undefined || poke > m.seen) continue;
    const pull = rb.requests.find((r) => r.kind === 'pull' && r.sent >= poke && r.answered <= m.seen);
    hops.push!.push(push.answered - push.sent);
    hops.poke!.push(poke - push.answered);
    if (!pull) {
      fromPoke++;
      hops['apply from the poke→live query']!.push(m.seen - poke);
      continue;
    }
    pulled++;
    hops['poke→pull']!.push(pull.sent - poke);
    hops.pull!.push(pull.answered - pull.sent);
    hops['apply→live query']!.push(m.seen - pull.answered);
  }
  const out: Record<string, number | [number, number]> = { writes: hops.push!.length, fromPoke, pulled };
  for (const [k, xs] of Object.entries(hops)) if (xs.length) out[k] = [percentile(xs, 50), percentile(xs, 95)];
  return out;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

beforeAll(async () => {
  server = await startServer();
  const token = await server.token(NS, 'write');
  a = await launch();
  b = await launch();
  pageA = await a.newPage();
  pageB = await b.newPage();
  await syncing(pageA, 'bench-live-a', token);
  await syncing(pageB, 'bench-live-b', token);
  versions = { chromium: a.context.browser()?.version() ?? 'unknown' };
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.close();
});

it('propagation: a write synced by browser A reaches browser B’s live query', async () => {
  const fromPush: number[] = [];
  const fromWrite: number[] = [];
  const marks: Mark[] = [];
  for (let i = 0; i < WRITES; i++) {
    const name = `a${i}`;
    const pushesBefore = await pageA.evaluate(() => (window as unknown as BenchWindow).pushSentAt.length);
    const wroteAt = await pageA.evaluate(
      async ({ ns, name }) => {
        const t = Date.now();
        await (window as unknown as BenchWindow).reg.newModel({ namespace: ns, name });
        return t;
      },
      { ns: NS, name },
    );
    const seen = await seenAt(pageB, name).catch(async (err: Error) => {
      const state = await pageA.evaluate(() => {
        const w = window as unknown as BenchWindow;
        return { status: w.reg.syncStatus.value, pushes: w.pushSentAt.length };
      });
      throw new Error(`${err.message}; A: ${JSON.stringify(state)}`);
    });
    const pushedAt = await pageA.evaluate((n) => (window as unknown as BenchWindow).pushSentAt[n], pushesBefore);
    expect(pushedAt).toBeGreaterThan(0);
    fromPush.push(seen - pushedAt!);
    fromWrite.push(seen - wroteAt);
    marks.push({ wrote: wroteAt, pushed: pushedAt!, seen });
  }
  const hops = await breakdown(marks);
  const where = Object.entries(hops)
    .filter(([k]) => !['writes', 'fromPoke', 'pulled'].includes(k))
    .map(([k, v]) => `${k} ${(v as number[]).join('/')}`)
    .join(', ');
  const note = `${WRITES} models created one after another in profile A (each waited for in B); from the moment A's push request leaves until B's Dexie live query over its models sees the row (B applies the rows the poke carries, or pulls on the poke). Two Chromium profiles, wrangler dev on loopback, clocks of one machine. Where the time went, p50/p95 ms over ${hops.writes} writes (${hops.fromPoke} applied from the poke, ${hops.pulled} pulled): ${where} (poke: from A's push answered until the poke reached B's socket; apply: from the poke, or B's pull answered, until its live query fired).`;
  report({ name: 'Live propagation A → B, p50', value: Math.max(1, percentile(fromPush, 50)), unit: 'ms', baseline: null, goal: '≤ 100', note, samples: fromPush, versions });
  report({ name: 'Live propagation A → B, p95', value: Math.max(1, percentile(fromPush, 95)), unit: 'ms', baseline: null, goal: '≤ 250', note, samples: fromPush, versions });
  report({
    name: 'Live propagation A → B from the local write, p50',
    value: Math.max(1, percentile(fromWrite, 50)),
    unit: 'ms',
    baseline: null,
    goal: null,
    note: "As above, from A's newModel() call: adds the 200 ms A waits after a write before pushing, so a burst of writes goes in one push.",
    samples: fromWrite,
    versions,
  });
});

it('propagation: a REST write by a CI job reaches browser B’s live query', async () => {
  const samples: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const name = `ci${i}`;
    const t = Date.now();
    const res = await server.api(`/namespaces/${NS}/models`, { method: 'POST', json: { name } });
    expect(res.status).toBe(201);
    samples.push((await seenAt(pageB, name)) - t);
  }
  const note = `${WRITES} models created over REST from Node (the admin token), one after another; from the request until B's live query sees the row.`;
  report({ name: 'Live propagation REST → B, p50', value: Math.max(1, percentile(samples, 50)), unit: 'ms', baseline: null, goal: '≤ 100', note, samples, versions });
  report({ name: 'Live propagation REST → B, p95', value: Math.max(1, percentile(samples, 95)), unit: 'ms', baseline: null, goal: '≤ 250', note, samples, versions });
});

it('idle: what an open, synced tab sends in an hour with nobody writing', async () => {
  const page = await a.newPage();
  const requests: string[] = [];
  const frames: string[] = [];
  // Every request the page makes, and every CORS preflight Chromium sends for it (not a page event).
  page.on('request', (req) => {
    if (req.url().startsWith(server.url)) requests.push(`${req.method()} ${new URL(req.url()).pathname}`);
  });
  const cdp = await a.context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.method === 'OPTIONS' && e.request.url.startsWith(server.url)) requests.push(`OPTIONS ${new URL(e.request.url).pathname}`);
  });
  page.on('websocket', (ws) => ws.on('framesent', (f) => frames.push(String(f.payload))));
  // The page's timers run on a clock the bench moves: an hour of them in a minute or two.
  await page.clock.install();
  const token = await server.token(IDLE_NS, 'write');
  // The default polling interval (30 s), which an open socket replaces.
  await page.evaluate(
    async ({ url, token, ns }) => {
      const hangar = await window.openRegistry({ name: 'bench-live-idle' });
      (window as unknown as BenchWindow).reg = hangar;
      await hangar.sync({ url, token, namespaces: [ns] });
    },
    { url: server.url, token, ns: IDLE_NS },
  );
  await page.waitForFunction(() => {
    const s = (window as unknown as BenchWindow).reg.syncStatus.value;
    return s.live && !s.syncing && s.lastSync !== null;
  }, undefined, { timeout: 60_000 });
  requests.length = 0;
  frames.length = 0;
  const STEP_MS = 30_000;
  for (let t = 0; t < 3_600_000; t += STEP_MS) {
    await page.clock.runFor(STEP_MS);
    // Real time for what the timers started (a round's requests, its IndexedDB work).
    await sleep(250);
  }
  const live = await page.evaluate(() => (window as unknown as BenchWindow).reg.syncStatus.value.live);
  expect(live).toBe(true);
  await page.close();
  // How long the server lets a browser keep a preflight's answer.
  const preflight = await fetch(`${server.url}/api/v1/namespaces/${IDLE_NS}/sync/pull`, {
    method: 'OPTIONS',
    headers: { origin: a.baseUrl, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
  const maxAge = preflight.headers.get('access-control-max-age');
  const method =
    "One tab synced live to one namespace, settled, then its timers run through an hour on Playwright's page clock in 30 s steps (with 250 ms of real time after each for the work they start); the socket stays open throughout.";
  report({
    name: 'Live idle: HTTP requests per hour by an open, synced tab',
    value: Math.max(requests.length, 0.01),
    unit: 'requests/h',
    baseline: null,
    goal: '≤ 12',
    note: `${method} Counted: the page's requests and Chromium's CORS preflights (${requests.join(', ') || 'none'}). A preflight is cached ${maxAge} s by the server's answer and by Chromium at most 2 h, so in real time the safety pulls add at most one preflight per 2 h; a page clock does not age that cache. Before live: a pull every 30 s, 120 an hour.`,
    versions,
  });
  report({
    name: 'Live idle: socket frames sent per hour by an open, synced tab',
    value: Math.max(frames.length, 0.01),
    unit: 'frames/h',
    baseline: null,
    goal: null,
    note: `${method} Frames the tab sent on its live socket: keep-alive pings every ${LIVE_PING_MS / 1000} s (so that proxies do not close an idle socket), answered by the runtime without waking the namespace's Durable Object; no HTTP request.`,
    versions,
  });
});

/** The resident memory of the workerd processes in a process group (wrangler's), in bytes. */
function workerdRss(pgid: number): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // After "pid (comm) ": state, ppid, pgrp, …
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (comm !== 'workerd' || pgrp !== pgid) continue;
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (kb) total += Number(kb[1]) * 1024;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

it('fan-out: one write pokes 1,000 idle sockets on one namespace', async () => {
  const SOCKETS = 1000;
  // Several tokens, each well under LIMITS.liveSocketsPerToken; the namespace's cap is LIMITS.liveSocketsPerNamespace.
  const TOKENS = 4;
  const ROUNDS = 5;
  expect(SOCKETS / TOKENS).toBeLessThan(LIMITS.liveSocketsPerToken);
  expect(SOCKETS).toBeLessThanOrEqual(LIMITS.liveSocketsPerNamespace);
  const tokens = await Promise.all(Array.from({ length: TOKENS }, () => server.token(FAN_NS, 'read')));
  // A namespace in use: its first write (which also makes the namespace) is not the one measured.
  expect((await server.api(`/namespaces/${FAN_NS}/models`, { method: 'POST', json: { name: 'first' } })).status).toBe(201);
  const pgid = server.pid!;
  await sleep(2_000);
  const rssBefore = workerdRss(pgid);
  expect(rssBefore).toBeGreaterThan(0);
  const url = `${server.url.replace(/^http/, 'ws')}/api/v1/namespaces/${FAN_NS}/sync/live`;
  /** When each socket received the poke of the current round (performance.now()). */
  let arrived: number[] = [];
  let round = -1;
  let waiting: (() => void) | undefined;
  let count = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < SOCKETS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, SOCKETS - i) }, (_, j) => {
        const k = i + j;
        const ws = new WebSocket(url, [LIVE_SUBPROTOCOL, `${LIVE_TOKEN_PREFIX}${tokens[k % TOKENS]}`]);
        sockets.push(ws);
        ws.addEventListener('message', (e) => {
          const msg = JSON.parse(String(e.data)) as { type: string };
          if (msg.type !== 'poke' || round < 0 || arrived[k] !== undefined) return;
          arrived[k] = performance.now();
          if (++count === SOCKETS) waiting?.();
        });
        return new Promise<void>((resolve, reject) => {
          ws.addEventListener('open', () => resolve(), { once: true });
          ws.addEventListener('error', () => reject(new Error(`socket ${k} did not open`)), { once: true });
        });
      }),
    );
  }
  // Left alone a moment: the Durable Object may hibernate, as idle sockets' hubs do.
  await sleep(5_000);
  const rssAfter = workerdRss(pgid);
  const lastMs: number[] = [];
  const medianMs: number[] = [];
  const afterAnswer: number[] = [];
  for (round = 0; round < ROUNDS; round++) {
    arrived = new Array(SOCKETS);
    count = 0;
    const all = new Promise<void>((resolve) => (waiting = resolve));
    const t0 = performance.now();
    const res = await server.api(`/namespaces/${FAN_NS}/models`, { method: 'POST', json: { name: `fan${round}` } });
    const answered = performance.now();
    expect(res.status).toBe(201);
    await all;
    const times = arrived.map((t) => t - t0);
    afterAnswer.push(Math.round(Math.max(...arrived) - answered));
    lastMs.push(Math.round(Math.max(...times)));
    medianMs.push(Math.round(median(times)));
    await sleep(1_000);
  }
  for (const ws of sockets) ws.close();
  const perSocket = (rssAfter - rssBefore) / SOCKETS;
  const note = `${SOCKETS} WebSockets from Node (undici) on one namespace, ${TOKENS} read tokens, through wrangler dev to the namespace's Durable Object; then, 5 s later (the object may have hibernated), ${ROUNDS} REST writes one after another, 1 s apart, to a namespace written once before the sockets opened.`;
  report({
    name: 'Live fan-out: a write until the last of 1,000 sockets has its poke, worst of 5',
    value: Math.max(...lastMs),
    unit: 'ms',
    baseline: null,
    goal: '≤ 1000',
    note: `${note} From the write request leaving until the last socket received the poke; each write: ${lastMs.join(', ')} ms (median socket: ${medianMs.join(', ')} ms; last socket after the write's answer: ${afterAnswer.join(', ')} ms).`,
    samples: lastMs,
  });
  report({
    name: 'Live fan-out: workerd memory per idle socket',
    value: Math.max(1, Math.round(perSocket / 1024)),
    unit: 'KiB',
    baseline: null,
    goal: null,
    note: `${note} Resident memory of wrangler's workerd process before opening the sockets (${(rssBefore / 2 ** 20).toFixed(0)} MiB) and 5 s after the last opened (${(rssAfter / 2 ** 20).toFixed(0)} MiB), divided by ${SOCKETS}: the server end of each socket, the dev proxy's included.`,
  });
});
