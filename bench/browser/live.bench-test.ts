/// <reference types="node" />
// The live figures (DESIGN §6 "Live"): how long a write takes to reach another browser's live
// query over the poke channel, two Chromium profiles against the real Worker (and its Durable
// Object) under `wrangler dev` on loopback. Only through `npm run bench -- live`.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Browser, launch } from '../../test/browser/browser.ts';
import { startServer, type HangarServer } from '../../test/browser/server.ts';
import { report } from './report.ts';

const NS = 'live';
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
}

async function syncing(page: Page, name: string, token: string): Promise<void> {
  await page.evaluate(
    async ({ url, token, name, ns }) => {
      const w = window as unknown as BenchWindow;
      // Every push this page sends, timed as it leaves (the sync engine calls the global fetch).
      w.pushSentAt = [];
      const send = window.fetch.bind(window);
      window.fetch = (input, init) => {
        if (String(input instanceof Request ? input.url : input).endsWith('/sync/push')) w.pushSentAt.push(Date.now());
        return send(input, init);
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
  }
  const note = `${WRITES} models created one after another in profile A (each waited for in B); from the moment A's push request leaves until B's Dexie live query over its models sees the row (B pulls on the poke). Two Chromium profiles, wrangler dev on loopback, clocks of one machine.`;
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
