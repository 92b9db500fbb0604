// Sync in real Chromium against the real Worker (`wrangler dev`, local D1 and R2) with hostile
// clocks and a server move: a profile whose clock runs a day fast and one a day slow edit the
// same model and converge, and a registry moved from one server to another arrives whole.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, launch, test, type Browser } from './browser.ts';
import { startServer, type HangarServer } from './server.ts';

const DAY = 24 * 3600 * 1000;
let one: HangarServer;
let two: HangarServer;
let tokenOne: string;
let tokenTwo: string;

beforeAll(async () => {
  [one, two] = await Promise.all([startServer(), startServer()]);
  [tokenOne, tokenTwo] = await Promise.all([one.token('team', 'write'), two.token('team', 'write')]);
});
afterAll(async () => {
  await one?.close();
  await two?.close();
});

type Reg = import('../../web/client/index.ts').Hangar;

/** Makes the profile's clock run `skewMs` off: `Date` (and so every clock the library reads) in each of its pages. */
async function skew(browser: Browser, skewMs: number): Promise<void> {
  await browser.context.addInitScript((skewMs) => {
    const Real = Date;
    const now = () => Real.now() + skewMs;
    class Skewed extends Real {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(now());
        else super(...(args as [number]));
      }
      static override now() {
        return now();
      }
    }
    (globalThis as unknown as { Date: DateConstructor }).Date = Skewed as unknown as DateConstructor;
  }, skewMs);
}

/** Opens the registry in the page (kept as `window.reg`), syncing with `server` when given. */
async function open(page: Page, server?: { url: string; token: string }): Promise<void> {
  await page.evaluate(async (server) => {
    const hangar = await window.openRegistry({ name: 'registry' });
    if (server) await hangar.sync({ url: server.url, token: server.token, namespaces: ['team'], intervalMs: 3_600_000 });
    (window as unknown as { reg: typeof hangar }).reg = hangar;
  }, server);
}

const syncNow = (page: Page) => page.evaluate(() => (window as unknown as { reg: Reg }).reg.syncNow());
const description = (page: Page) => page.evaluate(async () => (await (window as unknown as { reg: Reg }).reg.model('team', 'skewed')).description);
const statusOf = (page: Page) => page.evaluate(() => (window as unknown as { reg: Reg }).reg.syncStatus.value);
const snapshotOf = (page: Page) =>
  page.evaluate(async () => {
    const load = new Function('path', 'return import(path)') as (path: string) => Promise<typeof import('../sync/clients.ts')>;
    const { snapshot } = await load('/test/sync/clients.ts');
    return snapshot((window as unknown as { reg: Reg }).reg, 'team');
  });

describe('sync with hostile clocks and a server move', () => {
  test('a profile a day fast and one a day slow edit one model, converge by real time, and keep syncing', async ({ browser }) => {
    const slowBrowser = await launch();
    try {
      await skew(browser, DAY);
      await skew(slowBrowser, -DAY);
      const fast = await browser.newPage();
      const slow = await slowBrowser.newPage();
      expect(await fast.evaluate(() => Date.now())).toBeGreaterThan(Date.now() + DAY - 60_000);

      // Written before the fast profile knew the server's time, then synced.
      await open(fast);
      await fast.evaluate(() => (window as unknown as { reg: Reg }).reg.newModel({ namespace: 'team', name: 'skewed', description: 'fast-1' }));
      await fast.evaluate(({ url, token }) => (window as unknown as { reg: Reg }).reg.sync({ url, token, namespaces: ['team'], intervalMs: 3_600_000 }), { url: one.url, token: tokenOne });
      await syncNow(fast);
      await open(slow, { url: one.url, token: tokenOne });
      await syncNow(slow);
      expect(await description(slow)).toBe('fast-1');

      // Later in real time, though the slow clock reads two days before the fast one.
      await slow.evaluate(async () => void (await (await (window as unknown as { reg: Reg }).reg.model('team', 'skewed')).update({ description: 'slow-1' })));
      await syncNow(slow);
      await syncNow(fast);
      expect(await description(fast)).toBe('slow-1');
      await fast.evaluate(async () => void (await (await (window as unknown as { reg: Reg }).reg.model('team', 'skewed')).update({ description: 'fast-2' })));
      await syncNow(fast);
      await syncNow(slow);
      expect(await description(slow)).toBe('fast-2');

      // Both keep syncing: new versions from each arrive at the other.
      await fast.evaluate(async () => void (await (await (window as unknown as { reg: Reg }).reg.model('team', 'skewed')).newVersion({ name: 'from fast' })));
      await slow.evaluate(async () => void (await (await (window as unknown as { reg: Reg }).reg.model('team', 'skewed')).newVersion({ name: 'from slow' })));
      for (const p of [fast, slow, fast]) await syncNow(p);
      expect(await snapshotOf(slow)).toEqual(await snapshotOf(fast));
      for (const p of [fast, slow]) expect(await statusOf(p)).toMatchObject({ pendingMutations: 0, error: null, conflicts: 0, online: true });
      const server = await (await one.api('/namespaces/team/models/skewed')).json();
      expect(server.description).toBe('fast-2');
      expectNoPageErrors(fast);
      expectNoPageErrors(slow);
    } finally {
      await slowBrowser.close();
    }
  });

  test('a registry moved from one server to another arrives whole, bytes and all', async ({ browser }) => {
    const moving = await browser.newPage();
    await open(moving, { url: one.url, token: tokenOne });
    const weightsSha = await moving.evaluate(async () => {
      const m = await (window as unknown as { reg: Reg }).reg.newModel({ namespace: 'team', name: 'moved', task: 'tabular', metadata: { team: 'growth' } });
      const v = await m.newVersion({ version: 'gold' });
      for (let step = 0; step < 50; step++) void v.logMetrics({ loss: 1 / (step + 1) }, { step });
      const bytes = window.randomBytes(200_000);
      await v.uploadArtifacts([{ path: 'weights.bin', file: new Blob([bytes]) }]);
      await v.saveCheckpoint('epoch_1', { 'w.bin': new Blob([window.randomBytes(1000)]) });
      await m.setAlias('production', v);
      await (window as unknown as { reg: Reg }).reg.syncNow();
      return window.sha256Hex(bytes);
    });
    await moving.evaluate(({ url, token }) => (window as unknown as { reg: Reg }).reg.sync({ url, token, namespaces: ['team'], intervalMs: 3_600_000 }), { url: two.url, token: tokenTwo });
    await syncNow(moving);
    expect(await statusOf(moving)).toMatchObject({ pendingMutations: 0, pendingBytes: 0, error: null, conflicts: 0 });

    const other = await launch();
    try {
      const fresh = await other.newPage();
      await open(fresh, { url: two.url, token: tokenTwo });
      await syncNow(fresh);
      expect(await snapshotOf(fresh)).toEqual(await snapshotOf(moving));
      const read = await fresh.evaluate(async () => {
        const v = await (window as unknown as { reg: Reg }).reg.find('team/moved@production');
        const checkpoint = await v.loadCheckpoint();
        return { weights: await window.sha256Hex(await v.readArtifact('weights.bin')), checkpoint: checkpoint.files.map((f) => f.size), points: (await v.metrics()).loss?.count };
      });
      expect(read).toEqual({ weights: weightsSha, checkpoint: [1000], points: 50 });
      expectNoPageErrors(fresh);
    } finally {
      await other.close();
    }
    expectNoPageErrors(moving);
  });
});
