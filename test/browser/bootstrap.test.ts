// Bootstrap in real Chromium against the real Worker (wrangler dev, local D1): a new browser
// reads the snapshot of a namespace with a long metric history, moves little, and a history it
// asks for stays viewable once the server is gone, across a reload too.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { bucketWidth } from '../../shared/downsample.ts';
import { errorsOf, test } from './browser.ts';
import { startServer, type HangarServer } from './server.ts';

let server: HangarServer;
let token: string;
const POINTS = 20_000;
/** Steps 0..POINTS − 1 in at most 500 buckets: of the least power-of-two width that leaves at most 500. */
const BUCKETS = Math.floor((POINTS - 1) / bucketWidth(0, POINTS - 1, 500)) + 1;
let replayBytes = 0;

async function ok(res: Promise<Response>) {
  const r = await res;
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  return r;
}

beforeAll(async () => {
  server = await startServer();
  token = await server.token('boot', 'write');
  await ok(server.api('/namespaces/boot/models', { json: { name: 'churn', task: 'tabular' } }));
  for (let i = 0; i < 10; i++) await ok(server.api('/namespaces/boot/models/churn/versions', { json: { name: `run ${i + 1}` } }));
  for (let from = 0; from < POINTS; from += 1000) {
    const metrics = Array.from({ length: 1000 }, (_, i) => ({ key: 'loss', value: 1 / (from + i + 1), step: from + i }));
    await ok(server.api('/namespaces/boot/models/churn/versions/1/metrics', { json: { metrics } }));
  }
  await ok(server.api('/namespaces/boot/models/churn/aliases/production', { method: 'PUT', json: { version: 1 } }));
  // What replaying the history moves: every page of the change log.
  let cursor = 0;
  for (let more = true; more; ) {
    const r = await ok(server.api(`/namespaces/boot/sync/pull?clientId=${crypto.randomUUID()}&cursor=${cursor}`, { headers: { 'hangar-protocol': '2' } }));
    const text = await r.text();
    replayBytes += Buffer.byteLength(text);
    ({ cursor, more } = JSON.parse(text) as { cursor: number; more: boolean });
  }
}, 180_000);
afterAll(() => server?.close());

type Reg = import('../../web/client/index.ts').Hangar;

/** Opens the registry and syncs it, counting the bytes of every answer the registry's sync gets. */
function open(page: Page, sync: boolean) {
  return page.evaluate(
    async ({ url, token, sync }) => {
      const w = window as unknown as { reg: Reg; received: number };
      w.received = 0;
      const counting: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        const body = await res.arrayBuffer();
        w.received += body.byteLength;
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      };
      w.reg = await window.openRegistry({ name: 'bootstrapped', fetch: counting });
      if (sync) {
        await w.reg.sync({ url, token, namespaces: ['boot'], intervalMs: 3_600_000, live: false });
        await w.reg.syncNow();
      }
    },
    { url: server.url, token, sync },
  );
}

describe('bootstrap in Chromium', () => {
  test('a long history is not replayed; a chart of it, once drawn, stays viewable with the server stopped and after a reload', { timeout: 180_000 }, async ({ browser }) => {
    const page = await browser.newPage();
    await open(page, true);
    const first = await page.evaluate(async () => {
      const w = window as unknown as { reg: Reg; received: number };
      const v = await w.reg.find('boot/churn@production');
      return { received: w.received, points: (await w.reg.db.metricSegments.toArray()).reduce((n, s) => n + s.count, 0), loss: (await v.metrics()).loss, versions: (await (await w.reg.model('boot', 'churn')).versions()).length };
    });
    expect(first.versions).toBe(10);
    expect(first.loss).toEqual({ count: POINTS, min: 1 / POINTS, max: 1, last: 1 / POINTS, lastStep: POINTS - 1 });
    expect(first.points).toBe(0);
    expect(first.received).toBeLessThan(replayBytes / 50);

    // A chart asks: the history comes now, and is kept.
    const chart = await page.evaluate(async () => {
      const v = await (window as unknown as { reg: Reg }).reg.find('boot/churn/1');
      return (await v.metricHistory('loss', { maxPoints: 500 })).length;
    });
    expect(chart).toBe(BUCKETS);

    await server.stop();
    try {
      const offline = await page.evaluate(async () => {
        const v = await (window as unknown as { reg: Reg }).reg.find('boot/churn/1');
        const all = await v.metricHistory('loss');
        return { n: all.length, last: all.at(-1)!.step, summary: (await v.metrics()).loss };
      });
      expect(offline).toEqual({ n: POINTS, last: POINTS - 1, summary: { count: POINTS, min: 1 / POINTS, max: 1, last: 1 / POINTS, lastStep: POINTS - 1 } });
      await browser.reload(page);
      await open(page, false);
      const reloaded = await page.evaluate(async () => {
        const v = await (window as unknown as { reg: Reg }).reg.find('boot/churn/1');
        return (await v.metricHistory('loss', { maxPoints: 500 })).length;
      });
      expect(reloaded).toBe(BUCKETS);
    } finally {
      await server.start();
    }
    // The reopened registry resumes syncing and finds the server gone: only that is logged.
    expect(errorsOf(page).filter((e) => !e.includes('net::ERR_CONNECTION_REFUSED'))).toEqual([]);
  });
});
