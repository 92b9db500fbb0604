// Live sync in real Chromium against the real Worker under `wrangler dev` (its Durable Object
// included): two profiles see each other's writes without syncNow() and without polling, a
// profile whose socket drops catches up when it reconnects, and an idle tab stays quiet.
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { launch, test } from './browser.ts';
import { startServer, type HangarServer } from './server.ts';

let server: HangarServer;
let token: string;
const NS = 'live';

beforeAll(async () => {
  server = await startServer();
  token = await server.token(NS, 'write');
});
afterAll(() => server?.close());

type Reg = import('../../web/client/index.ts').Hangar;

/** Opens a registry and syncs it live; `intervalMs` an hour, so nothing arrives by polling. */
async function syncing(page: Page, name: string, intervalMs = 3_600_000): Promise<void> {
  await page.evaluate(
    async ({ url, token, name, ns, intervalMs }) => {
      const hangar = await window.openRegistry({ name });
      await hangar.sync({ url, token, namespaces: [ns], intervalMs });
      (window as unknown as { reg: Reg }).reg = hangar;
    },
    { url: server.url, token, name, ns: NS, intervalMs },
  );
}

/**
 * Waits until the page is live and no sync round ran for a second: a socket that opens after the
 * first round starts one more (to catch up what it missed), which tests that count requests must
 * not see.
 */
async function settled(page: Page): Promise<void> {
  let seen: unknown = undefined;
  for (;;) {
    await waitLive(page);
    const last = await page.evaluate(() => (window as unknown as { reg: Reg }).reg.syncStatus.value.lastSync);
    if (last === seen) return;
    seen = last;
    await page.waitForTimeout(1000);
  }
}

/** Waits until the page holds its live socket and has finished the rounds it started with. */
const waitLive = (page: Page) =>
  page.waitForFunction(() => {
    const s = (window as unknown as { reg: Reg }).reg.syncStatus.value;
    return s.live && !s.syncing && s.pendingMutations === 0 && s.lastSync !== null;
  }, undefined, { timeout: 30_000 });

/** Resolves when the page's live query over its models sees `model` (no syncNow, no reload). */
const sees = (page: Page, model: string) =>
  page.evaluate(
    ({ ns, model }) =>
      new Promise<void>((resolve) => {
        const hangar = (window as unknown as { reg: Reg }).reg;
        const sub = hangar.live(() => hangar.db.models.where({ namespace: ns, name: model }).first()).subscribe((m) => {
          if (!m) return;
          sub.unsubscribe();
          resolve();
        });
      }),
    { ns: NS, model },
  );

const create = (page: Page, model: string) =>
  page.evaluate(
    async ({ ns, model }) => {
      await (window as unknown as { reg: Reg }).reg.newModel({ namespace: ns, name: model });
    },
    { ns: NS, model },
  );

describe('live sync in the browser', () => {
  test('two profiles see each other’s writes live, with no syncNow() and no polling', async ({ browser }) => {
    const other = await launch();
    try {
      const a = await browser.newPage();
      const b = await other.newPage();
      await syncing(a, 'live-a');
      await syncing(b, 'live-b');
      await Promise.all([waitLive(a), waitLive(b)]);

      const seenByB = sees(b, 'from-a');
      await create(a, 'from-a');
      await seenByB;
      const seenByA = sees(a, 'from-b');
      await create(b, 'from-b');
      await seenByA;
      // A write by another client (a CI job over REST) reaches both.
      const both = Promise.all([sees(a, 'from-ci'), sees(b, 'from-ci')]);
      expect((await server.api(`/namespaces/${NS}/models`, { method: 'POST', json: { name: 'from-ci' } })).status).toBe(201);
      await both;
    } finally {
      await other.close();
    }
  });

  test('a profile whose socket drops catches up when it reconnects', async ({ browser }) => {
    const other = await launch();
    try {
      // B's live sockets pass through a route the test can cut, and refuse while `blocked`.
      let blocked = false;
      const routes: WebSocketRoute[] = [];
      let attempts = 0;
      await other.context.routeWebSocket(/\/sync\/live$/, (ws) => {
        attempts++;
        if (blocked) {
          void ws.close({ code: 4000, reason: 'blocked' });
          return;
        }
        ws.connectToServer();
        routes.push(ws);
      });
      const a = await browser.newPage();
      const b = await other.newPage();
      await syncing(a, 'drop-a');
      await syncing(b, 'drop-b');
      await Promise.all([waitLive(a), waitLive(b)]);

      blocked = true;
      for (const r of routes) await r.close({ code: 4000, reason: 'cut' });
      await b.waitForFunction(() => !(window as unknown as { reg: Reg }).reg.syncStatus.value.live);
      const tried = attempts;
      await create(a, 'while-down');
      await a.evaluate(() => (window as unknown as { reg: Reg }).reg.syncNow());
      // B tries to reconnect (refused while blocked) and has not seen it: no socket, no polling within the hour.
      await expect.poll(() => attempts, { timeout: 30_000 }).toBeGreaterThan(tried);
      expect(await b.evaluate(async (ns) => (await (window as unknown as { reg: Reg }).reg.db.models.where({ namespace: ns, name: 'while-down' }).count()), NS)).toBe(0);

      blocked = false;
      await sees(b, 'while-down');
      await waitLive(b);
    } finally {
      await other.close();
    }
  });

  test('a poke’s rows are applied from the socket: no pull, no push, nothing for the other namespace', async ({ browser }) => {
    const other = await launch();
    try {
      const both = await server.token('*', 'write');
      const a = await browser.newPage();
      const b = await other.newPage();
      for (const [page, name] of [[a, 'only-a'], [b, 'only-b']] as const) {
        await page.evaluate(
          async ({ url, token, name }) => {
            const hangar = await window.openRegistry({ name });
            await hangar.sync({ url, token, namespaces: ['live', 'live-quiet'], intervalMs: 3_600_000 });
            (window as unknown as { reg: Reg }).reg = hangar;
          },
          { url: server.url, token: both, name },
        );
      }
      await Promise.all([settled(a), settled(b)]);
      const requests: string[] = [];
      other.context.on('request', (req) => {
        if (req.url().startsWith(server.url)) requests.push(`${req.method()} ${new URL(req.url()).pathname}`);
      });
      const seen = sees(b, 'poked-only');
      await create(a, 'poked-only');
      await seen;
      await waitLive(b);
      // The poke carried the new rows and B's cursor was where they start: not one request.
      expect(requests).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test('a poke whose rows do not join the cursor (one poke lost) falls back to a pull, and nothing is lost', async ({ browser }) => {
    const other = await launch();
    try {
      // B's pokes pass through the test, which can drop one and records what it passed on.
      let drop = 0;
      const dropped: string[] = [];
      const passed: string[] = [];
      await other.context.routeWebSocket(/\/sync\/live$/, (ws) => {
        const server = ws.connectToServer();
        server.onMessage((m) => {
          const text = String(m);
          if (text.startsWith('{') && drop > 0) {
            drop--;
            dropped.push(text);
            return;
          }
          if (text.startsWith('{')) passed.push(text);
          ws.send(m);
        });
      });
      const a = await browser.newPage();
      const b = await other.newPage();
      await syncing(a, 'gap-a');
      await syncing(b, 'gap-b');
      await Promise.all([settled(a), settled(b)]);
      const requests: string[] = [];
      other.context.on('request', (req) => {
        if (req.url().startsWith(server.url)) requests.push(`${req.method()} ${new URL(req.url()).pathname}`);
      });

      drop = 1;
      await create(a, 'gap-1');
      await a.evaluate(() => (window as unknown as { reg: Reg }).reg.syncNow());
      await expect.poll(() => dropped.length, { timeout: 30_000 }).toBe(1);
      expect(await b.evaluate(async (ns) => (await (window as unknown as { reg: Reg }).reg.db.models.where({ namespace: ns, name: 'gap-1' }).count()), NS)).toBe(0);
      passed.length = 0;

      const both = Promise.all([sees(b, 'gap-1'), sees(b, 'gap-2')]);
      await create(a, 'gap-2');
      await both;
      await waitLive(b);
      // The poke B got carried gap-2's rows from after gap-1's: a gap for B, which pulled both.
      const poke = JSON.parse(passed.find((t) => t.includes('gap-2'))!) as { from: number; changes: { seq: number }[] };
      expect(poke.changes.length).toBeGreaterThan(0);
      expect(poke.from).toBe((JSON.parse(dropped[0]!) as { cursor: number }).cursor);
      expect(requests).toEqual([`GET /api/v1/namespaces/${NS}/sync/pull`]);
      const cursors = await Promise.all(
        [a, b].map((p) => p.evaluate(async (ns) => ((await (window as unknown as { reg: Reg }).reg.db.state.get(`sync.ns.${ns}`))?.value as { cursor: number }).cursor, NS)),
      );
      expect(cursors[1]).toBe(cursors[0]);
    } finally {
      await other.close();
    }
  });

  test('an idle, synced tab makes no requests over a minute while its socket is open', { timeout: 120_000 }, async ({ browser }) => {
    const page = await browser.newPage();
    // The default interval (30 s): without the socket, this tab would poll twice in the minute.
    await syncing(page, 'idle', 30_000);
    await settled(page);
    const requests: string[] = [];
    browser.context.on('request', (req) => {
      if (req.url().startsWith(server.url)) requests.push(`${req.method()} ${req.url()}`);
    });
    await page.waitForTimeout(60_000);
    expect(requests).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { reg: Reg }).reg.syncStatus.value.live)).toBe(true);
  });
});
