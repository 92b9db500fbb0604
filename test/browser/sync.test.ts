// Sync in real Chromium against the real Worker under `wrangler dev` (local D1 and R2): profiles
// that edit offline and converge, an upload that survives the server stopping or its tab closing,
// a model trained in one profile predicted in another, and tabs of one profile sharing one leader.
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { errorsOf, expectNoPageErrors, launch, test, type Browser } from './browser.ts';
import { JOBS_PAGE } from './fixtures/jobs-tests.ts';
import { startServer, type HangarServer } from './server.ts';

let server: HangarServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('team', 'write');
});
afterAll(() => server?.close());

/** Opens the registry `name` in the page and starts syncing it with the test server. */
async function syncing(page: Page, name = 'synced'): Promise<void> {
  await page.evaluate(
    async ({ url, token, name }) => {
      const hangar = await window.openRegistry({ name });
      await hangar.sync({ url, token, namespaces: ['team'], intervalMs: 3_600_000 });
      (window as unknown as { reg: typeof hangar }).reg = hangar;
    },
    { url: server.url, token, name },
  );
}

/** The replica's contents, comparable across profiles (test/sync/clients.ts). */
const snapshotOf = (page: Page) =>
  page.evaluate(async () => {
    // A dynamic import the test runner leaves alone: it runs in the page, compiled by Vite.
    const load = new Function('path', 'return import(path)') as (path: string) => Promise<typeof import('../sync/clients.ts')>;
    const { snapshot } = await load('/test/sync/clients.ts');
    return snapshot((window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg, 'team');
  });

/** The part number of an upload's part request. */
const partOf = (req: Request) => (req.method() === 'PUT' ? /\/blobs\/uploads\/[^/]+\/parts\/(\d+)$/.exec(req.url()) : null);

/** The parts of the uploads below: a little over 5 × 8 MiB. */
const SIX_PARTS = [1, 2, 3, 4, 5, 6];

/** A new version of `model` gets `size` random bytes as weights.bin; answers their SHA-256. */
function storeWeights(page: Page, model: string, size: number): Promise<string> {
  return page.evaluate(
    async ({ model, size }) => {
      const hangar = (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg;
      const bytes = window.randomBytes(size);
      const v = await (await hangar.newModel({ namespace: 'team', name: model })).newVersion();
      await v.uploadArtifacts([{ path: 'weights.bin', file: new Blob([bytes]) }]);
      return window.sha256Hex(bytes);
    },
    { model, size },
  );
}

/**
 * After an upload was cut and resumed: no finished part went again, and every part reached the
 * server: finished before the cut, sent after it, or the one in flight at the cut (parts go one
 * at a time), which the server received unanswered and lists as received on resuming.
 */
function expectResumedFromFinished(finished: number[], sent: { n: number; resumed: boolean }[]): void {
  const resent = sent.filter((p) => p.resumed).map((p) => p.n);
  expect(resent.filter((n) => finished.includes(n))).toEqual([]);
  const missing = SIX_PARTS.filter((n) => !finished.includes(n) && !resent.includes(n));
  expect(missing.filter((n) => !sent.some((p) => !p.resumed && p.n === n))).toEqual([]);
  expect(missing.length).toBeLessThanOrEqual(1);
}

/** The server holds the blob whole. */
async function expectStored(sha: string, size: number): Promise<void> {
  const head = await server.api(`/namespaces/team/blobs/sha256/${sha}`, { method: 'HEAD' });
  expect({ status: head.status, size: Number(head.headers.get('content-length')) }).toEqual({ status: 200, size });
}

const waitSynced = (page: Page) =>
  page.waitForFunction(() => {
    const s = (window as unknown as { reg: { syncStatus: { value: { pendingMutations: number; syncing: boolean; online: boolean } } } }).reg.syncStatus.value;
    return s.pendingMutations === 0 && !s.syncing && s.online;
  }, undefined, { timeout: 30_000 });

describe('sync in the browser', () => {
  test('two profiles edit offline, come back online and converge, with the conflicts listed', async ({ browser }) => {
    const other = await launch();
    try {
      const a = await browser.newPage();
      const b = await other.newPage();
      await syncing(a);
      await syncing(b);
      await browser.context.setOffline(true);
      await other.context.setOffline(true);

      const offline = await a.evaluate(async () => {
        const hangar = (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg;
        const m = await hangar.newModel({ namespace: 'team', name: 'churn', task: 'tabular' });
        const v = await m.newVersion({ version: 'gold' });
        await v.logMetrics({ loss: 0.5 }, { step: 1 });
        await m.setAlias('production', v);
        await hangar.flush();
        const failed = await hangar.syncNow().then(() => 'synced', (e: Error) => e.name);
        return { failed, status: hangar.syncStatus.value, number: v.number, confirmed: v.numberConfirmed };
      });
      expect(offline).toMatchObject({ failed: 'NetworkError', number: 1, confirmed: false, status: { online: false, error: { code: 'offline' } } });
      expect(offline.status.pendingMutations).toBeGreaterThan(0);
      await b.evaluate(async () => {
        const hangar = (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg;
        const m = await hangar.newModel({ namespace: 'team', name: 'churn', description: 'from b' });
        const v = await m.newVersion({ version: 'gold' });
        await v.logMetrics({ loss: 0.4 }, { step: 1 });
        await v.updateMetadata('params', { lr: 0.01 });
        await m.setAlias('production', v);
      });

      // Back online: the `online` event starts a round in each, without being asked.
      await browser.context.setOffline(false);
      await waitSynced(a);
      await other.context.setOffline(false);
      await waitSynced(b);
      for (const p of [a, b, a]) await p.evaluate(() => (window as unknown as { reg: { syncNow(): Promise<void> } }).reg.syncNow());

      const [sa, sb] = [await snapshotOf(a), await snapshotOf(b)];
      expect(sb).toEqual(sa);
      const churn = (sa as Record<string, { versions: { number: number; label: string | null }[]; points: string[] }>).churn!;
      expect(churn.versions.map((v) => [v.number, v.label])).toEqual([
        [1, 'gold'],
        [2, null],
      ]);
      expect(churn.points).toHaveLength(2);
      const conflicts = await b.evaluate(async () => (await (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg.conflicts()).map((c) => c.kind).sort());
      expect(conflicts).toEqual(['alias', 'version-label']);
      // Chromium logs each request to the server that failed while offline (ERR_INTERNET_DISCONNECTED,
      // or ERR_NETWORK_CHANGED as the connection comes back); nothing else may go wrong: the live
      // socket, in particular, does not dial while the browser is offline.
      const refused = (e: string) => e.startsWith('console.error: Failed to load resource: net::ERR_') && e.includes(server.url);
      for (const p of [a, b]) expect(errorsOf(p).filter((e) => !refused(e))).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test('an upload cut off by the server stopping resumes without sending finished parts again', async ({ browser }) => {
    const page = await browser.newPage();
    // Part requests as the page sends them (recorded as they start, so none is missed when the
    // page's syncNow() returns), and how many were answered before the server went away.
    const sent: { n: number; resumed: boolean }[] = [];
    let answered = 0;
    let restarted = false;
    let stopping: Promise<void> | undefined;
    browser.context.on('request', (req) => {
      const m = partOf(req);
      if (m) sent.push({ n: Number(m[1]), resumed: restarted });
    });
    browser.context.on('requestfinished', (req) => {
      if (!partOf(req) || restarted) return;
      void req.response().then((res) => {
        // Two parts in: the server goes away mid-upload.
        if (res?.ok() && ++answered === 2) stopping ??= server.stop();
      });
    });
    await syncing(page, 'uploads');
    const size = 5 * 8 * 1024 * 1024 + 12345;
    const sha = await storeWeights(page, 'big', size);
    await page.evaluate(() => (window as unknown as { reg: { syncNow(): Promise<void> } }).reg.syncNow().catch(() => undefined));
    await stopping;
    const cut = await page.evaluate(async () => {
      const hangar = (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg;
      await hangar.syncNow().catch(() => undefined);
      const [u] = await hangar.db.uploads.toArray();
      return { status: hangar.syncStatus.value, upload: u };
    });
    expect(cut.status.online).toBe(false);
    // What is left to send: the parts not finished.
    expect(cut.status.pendingBytes).toBe(size - cut.upload!.doneParts.length * 8 * 1024 * 1024);
    const finished = cut.upload!.doneParts;
    expect(finished.length).toBeGreaterThanOrEqual(2);

    restarted = true;
    await server.start();
    await page.evaluate(() => (window as unknown as { reg: { syncNow(): Promise<void> } }).reg.syncNow());
    expectResumedFromFinished(finished, sent);
    await expectStored(sha, size);
    const status = await page.evaluate(() => (window as unknown as { reg: { syncStatus: { value: unknown } } }).reg.syncStatus.value);
    expect(status).toMatchObject({ pendingBytes: 0, pendingMutations: 0, online: true, error: null });
    // The version the bytes belong to is ready on the server.
    const version = await (await server.api('/namespaces/team/models/big/versions/1')).json();
    expect(version.status).toBe('ready');
  });

  test('an upload whose tab closes mid-way goes on in the next tab from the parts it finished', async ({ browser }) => {
    const first = await browser.newPage();
    const sent: { n: number; resumed: boolean }[] = [];
    let second = false;
    let closing: Promise<void> | undefined;
    browser.context.on('request', (req) => {
      const m = partOf(req);
      if (!m) return;
      sent.push({ n: Number(m[1]), resumed: second });
      // Part 3 goes once parts 1 and 2 are recorded as finished: the user closes the tab as it goes.
      if (!second && Number(m[1]) === 3) closing ??= first.close();
    });
    await syncing(first, 'tab-close');
    const size = 5 * 8 * 1024 * 1024 + 777;
    const sha = await storeWeights(first, 'closed', size);
    await first.evaluate(() => void (window as unknown as { reg: { syncNow(): Promise<void> } }).reg.syncNow().catch(() => undefined));
    await expect.poll(() => closing !== undefined, { timeout: 60_000 }).toBe(true);
    await closing;

    second = true;
    const next = await browser.newPage();
    const finished = await next.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'tab-close' });
      const [u] = await hangar.db.uploads.toArray();
      await hangar.close();
      return u!.doneParts;
    });
    expect(finished).toEqual([1, 2]);
    await syncing(next, 'tab-close');
    await next.evaluate(() => (window as unknown as { reg: { syncNow(): Promise<void> } }).reg.syncNow());
    expectResumedFromFinished(finished, sent);
    await expectStored(sha, size);
    expectNoPageErrors(next);
  });

  test('a model trained in one profile is loaded by reference and predicts in another', async ({ browser }) => {
    const other: Browser = await launch();
    try {
      const a = await browser.newPage(JOBS_PAGE);
      await syncing(a, 'trainer');
      const trained = await a.evaluate(async () => {
        const hangar = (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg;
        const version = await hangar
          .trainer('local')
          .train('tabular-classifier', { data: await window.jobsKit.iris(), target: 'species', params: { epochs: 5 }, saveAs: { namespace: 'team', model: 'iris' }, backends: ['cpu'] })
          .result();
        await (await hangar.model('team', 'iris')).setAlias('production', version);
        await hangar.syncNow();
        const rows = window.jobsKit.rowsOf(await (await window.jobsKit.iris()).text()).filter((_, i) => i % 15 === 0);
        for (const row of rows) delete row.species;
        const out = await hangar.predictor('local').predict('team/iris@production', rows).result();
        return { rows, out };
      });

      const b = await other.newPage(JOBS_PAGE);
      await syncing(b, 'predictor');
      const predicted = await b.evaluate(async (rows) => {
        const hangar = (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg;
        await hangar.syncNow();
        const v = await hangar.find('team/iris@production');
        const before = (await hangar.db.blobs.count());
        const out = await hangar.predictor('local').predict('team/iris@production', rows).result();
        return { number: v.number, confirmed: v.numberConfirmed, before, after: await hangar.db.blobs.count(), out };
      }, trained.rows);
      expect(predicted).toMatchObject({ number: 1, confirmed: true, before: 0 });
      // The model's files came down when the model was first loaded.
      expect(predicted.after).toBeGreaterThan(0);
      expect(predicted.out).toEqual(trained.out);
      expectNoPageErrors(b);
    } finally {
      await other.close();
    }
  });

  test('tabs of one profile: one leads the syncing, writes in any tab are pushed, another takes over when it closes', async ({ browser }) => {
    const first = await browser.newPage();
    await syncing(first, 'tabs');
    // The second tab resumes the stored configuration: it follows.
    const second = await browser.newPage();
    await second.evaluate(async () => {
      (window as unknown as { reg: unknown }).reg = await window.openRegistry({ name: 'tabs' });
    });
    const write = (page: Page, name: string) =>
      page.evaluate(async (name) => {
        const hangar = (window as unknown as { reg: import('../../web/client/index.ts').Hangar }).reg;
        await hangar.newModel({ namespace: 'team', name });
        // A follower asks the leading tab for the round.
        await hangar.syncNow();
      }, name);
    await write(second, 'from-follower');
    expect((await server.api('/namespaces/team/models/from-follower')).status).toBe(200);
    await first.close();
    await write(second, 'after-leader-left');
    expect((await server.api('/namespaces/team/models/after-leader-left')).status).toBe(200);
    expectNoPageErrors(second);
  });
});
