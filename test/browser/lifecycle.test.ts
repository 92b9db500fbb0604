// DESIGN §3a in real Chromium against the real Worker under `wrangler dev`: a training run synced
// while it trains is pending on a second browser (its own profile) and on the server until it
// finishes, then ready; `ns/m` gives the previous ready version until then.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, launch, test, type Browser } from './browser.ts';
import { JOBS_PAGE } from './fixtures/jobs-tests.ts';
import { startServer, type HangarServer } from './server.ts';

let server: HangarServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('team', 'write');
});
afterAll(() => server?.close());

type Reg = import('../../web/client/index.ts').Hangar;

/** Opens registry `name` in the page and syncs it with the test server (rounds after each write). */
async function syncing(page: Page, name: string): Promise<void> {
  await page.evaluate(
    async ({ url, token, name }) => {
      const hangar = await window.openRegistry({ name });
      await hangar.sync({ url, token, namespaces: ['team'], intervalMs: 3_600_000 });
      (window as unknown as { reg: Reg }).reg = hangar;
    },
    { url: server.url, token, name },
  );
}

/** What the server serves for a version of team/iris: its status and whether its checkpoint files' bytes arrived. */
async function onServer(number: number) {
  const base = `/namespaces/team/models/iris/versions/${number}`;
  const version = (await (await server.api(base)).json()) as { status: string };
  const artifacts = (await (await server.api(`${base}/artifacts`)).json()) as { items: { path: string; stored: boolean }[] };
  const checkpoints = artifacts.items.filter((a) => a.path.startsWith('checkpoints/'));
  return { status: version.status, storedCheckpointFiles: checkpoints.filter((a) => a.stored).length };
}

/** Profile B's view after a sync: the trained version's status, and what `team/iris` resolves to. */
const seenFrom = (page: Page) =>
  page.evaluate(async () => {
    const hangar = (window as unknown as { reg: Reg }).reg;
    await hangar.syncNow();
    return { trained: (await hangar.find('team/iris/2')).status, latest: (await hangar.find('team/iris')).number };
  });

describe('version lifecycle in the browser', () => {
  test('a training run synced while it trains is pending on a second browser and the server until it finishes, then ready', async ({ browser }) => {
    // A version that is ready already: `team/iris` resolves to it until training finishes.
    await server.api('/namespaces/team/models', { json: { name: 'iris', task: 'tabular' } });
    expect((await server.api('/namespaces/team/models/iris/versions', { json: { name: 'before' } })).status).toBe(201);

    const other: Browser = await launch();
    try {
      const a = await browser.newPage(JOBS_PAGE);
      await syncing(a, 'trainer');
      const b = await other.newPage(JOBS_PAGE);
      await syncing(b, 'watcher');

      // A trains until its first checkpoints are saved, then its page closes mid-run (the job is
      // interrupted, to resume): a run stopped half-way, whatever the machine's speed.
      const id = await a.evaluate(async () => {
        const hangar = (window as unknown as { reg: Reg }).reg;
        await hangar.syncNow();
        const job = hangar.trainer('local').train('tabular-classifier', {
          data: await window.jobsKit.iris(),
          target: 'species',
          params: { epochs: 100 },
          saveAs: { namespace: 'team', model: 'iris' },
          checkpointEvery: 5,
          backends: ['cpu'],
        });
        await new Promise<void>((resolve) => {
          const poll = async () => (((await job.info()).lastCheckpoint?.epoch ?? 0) >= 10 ? resolve() : setTimeout(poll, 20));
          void poll();
        });
        return job.id;
      });
      await browser.reload(a);
      await syncing(a, 'trainer');
      const halfway = await a.evaluate(async (id) => {
        const hangar = (window as unknown as { reg: Reg }).reg;
        await hangar.syncNow();
        const info = await (await hangar.trainer('local').get(id)).info();
        const version = await hangar.db.versions.get(info.versionId!);
        return { job: info.status, number: version!.number, status: version!.status, pendingBytes: hangar.syncStatus.value.pendingBytes };
      }, id);
      expect(halfway).toEqual({ job: 'interrupted', number: 2, status: 'pending', pendingBytes: 0 });

      // Its checkpoints' bytes are all on the server, and still it is pending there and on B.
      expect(await onServer(2)).toMatchObject({ status: 'pending' });
      expect((await onServer(2)).storedCheckpointFiles).toBeGreaterThan(0);
      expect(await seenFrom(b)).toEqual({ trained: 'pending', latest: 1 });

      // The run resumes and finishes: A marks its version ready once its final files are saved.
      const finished = await a.evaluate(async (id) => {
        const hangar = (window as unknown as { reg: Reg }).reg;
        const job = await hangar.trainer('local').resume(id);
        const version = await job.result();
        await hangar.syncNow();
        return { status: version.status, latest: (await hangar.find('team/iris')).number, pendingBytes: hangar.syncStatus.value.pendingBytes };
      }, id);
      expect(finished).toEqual({ status: 'ready', latest: 2, pendingBytes: 0 });
      expect((await onServer(2)).status).toBe('ready');
      expect(await seenFrom(b)).toEqual({ trained: 'ready', latest: 2 });
      // A's own version stayed ready through the pulls.
      expect(await a.evaluate(async () => (await (window as unknown as { reg: Reg }).reg.find('team/iris/2')).status)).toBe('ready');
      expectNoPageErrors(a);
      expectNoPageErrors(b);
    } finally {
      await other.close();
    }
  });
});
