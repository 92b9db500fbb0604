// The app's settings and sync pages against the real Worker (wrangler dev, local D1 and R2).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { go, heading, shoot } from './fixtures/app/ui.ts';
import { startServer, type HangarServer } from './server.ts';

let app: AppServer;
let server: HangarServer;

beforeAll(async () => {
  [server, app] = await Promise.all([startServer(), buildApp('app-sync-dist').then(serveApp)]);
}, 180_000);

afterAll(async () => {
  await app?.stop();
  await server?.close();
});

describe('the sync page', () => {
  test('refuses a URL that is not Hangar and a token the server does not know, with nothing saved', async ({ browser }) => {
    const page = await browser.newPage(`${app.url}/settings`);
    await expect.poll(() => heading(page)).toBe('Settings');
    // The app's own origin answers every path with index.html: a web server, not a Hangar API.
    await page.getByLabel('Server URL').fill(app.url);
    await page.getByLabel('Token').fill('hgr_whatever');
    await page.getByRole('button', { name: 'Check server' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('it is not a Hangar server');

    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill('hgr_not_a_token_this_server_made');
    await page.getByRole('button', { name: 'Check server' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('The server does not accept this token');
    expect(await page.getByRole('button', { name: 'Start syncing' }).count()).toBe(0);

    await go(page, 'Sync', 'Sync');
    expect(await page.getByText('Not syncing').count()).toBe(1);
  });

  test('syncs with the server, shows its status, and resolves an alias conflict from the page', { timeout: 120_000 }, async ({ browser }) => {
    // On the server: team/churn with three versions, `production` on version 1.
    const json = async (res: Promise<Response>) => {
      const r = await res;
      if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
      return r.json();
    };
    await json(server.api('/namespaces/team/models', { json: { name: 'churn', task: 'tabular' } }));
    for (let i = 0; i < 3; i++) await json(server.api('/namespaces/team/models/churn/versions', { json: {} }));
    await json(server.api('/namespaces/team/models/churn/aliases/production', { method: 'PUT', json: { version: 1 } }));
    const token = await server.token('team', 'write');

    const page = await browser.newPage(`${app.url}/settings`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Check server' }).click();
    await expect.poll(() => page.getByRole('checkbox', { name: 'team' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Start syncing' }).click();
    await expect.poll(() => page.getByText('Syncing team with').count()).toBeGreaterThan(0);

    await go(page, 'Sync', 'Sync');
    await expect.poll(() => page.locator('dd', { hasText: 'Never' }).count(), { timeout: 30_000 }).toBe(0);
    expect(await page.getByTestId('pending').textContent()).toBe('0');
    expect(await page.getByText('No conflicts.').count()).toBe(1);
    await shoot(page, 'sync');

    // A teammate moves `production` to 3 on the server while this browser, offline and so not
    // told (live pokes would tell it at once), moves it to 2.
    // Within the app (a reload would sync, and learn of the move first).
    await go(page, 'Models', 'Models');
    await page.getByRole('option', { name: /churn/ }).click();
    await expect.poll(() => heading(page)).toBe('team/churn');
    await browser.context.setOffline(true);
    await json(server.api('/namespaces/team/models/churn/aliases/production', { method: 'PUT', json: { version: 3 } }));
    await page.getByLabel('Alias', { exact: true }).fill('production');
    await page.locator('app-model-page').getByRole('combobox', { name: /^Version/ }).selectOption('2');
    await page.getByRole('button', { name: 'Move alias' }).click();
    await expect.poll(() => page.getByText('production now points at version 2.').count()).toBe(1);
    await browser.context.setOffline(false);

    await go(page, 'Sync', 'Sync');
    const conflict = page.getByRole('listitem').filter({ hasText: 'alias' });
    await expect.poll(() => conflict.count(), { timeout: 30_000 }).toBe(1);
    expect(await conflict.textContent()).toMatch(/This browser\s*alias production, version 2, expected 1\s*The server\s*version 3/);
    await shoot(page, 'sync-conflict');
    await conflict.getByRole('button', { name: /^Take theirs/ }).click();
    await expect.poll(() => page.getByText('No conflicts.').count()).toBe(1);

    // The server's move stands here too.
    await page.goto(`${app.url}/models/team/churn`);
    await expect.poll(() => page.locator('app-model-page').getByText('production → version 3').count()).toBeGreaterThan(0);
    const alias = await json(server.api('/namespaces/team/models/churn/aliases/production'));
    expect(alias.version).toBe(3);
    expectNoPageErrors(page);
  });

  test('says so on the sync page when the token may read but not write', { timeout: 120_000 }, async ({ browser }) => {
    const token = await server.token('team', 'read');
    const page = await browser.newPage(`${app.url}/settings`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Check server' }).click();
    await page.getByRole('button', { name: 'Start syncing' }).click();
    await expect.poll(() => page.getByText('Syncing team with').count()).toBeGreaterThan(0);

    // A local change in the namespace: the server refuses it for this token's role.
    await go(page, 'Models', 'Models');
    await page.getByLabel('Namespace').fill('team');
    await page.getByLabel('Name', { exact: true }).fill('readonly');
    await page.getByRole('button', { name: 'Create model' }).click();
    await expect.poll(() => heading(page)).toBe('team/readonly');
    await go(page, 'Sync', 'Sync');
    await page.getByRole('button', { name: 'Sync now' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.count(), { timeout: 30_000 }).toBe(1);
    expect(await alert.textContent()).toMatch(/Sync stopped: .*write token.*connect again in Settings/s);
    expect(await page.getByTestId('pending').textContent()).toBe('1');
    await shoot(page, 'sync-read-token');
  });

  test('keeps a server version offline: every artifact downloaded, readable with the server stopped', { timeout: 120_000 }, async ({ browser }) => {
    const json = async (res: Promise<Response>) => {
      const r = await res;
      if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
      return r.status === 204 ? null : r.json();
    };
    const bytes = new TextEncoder().encode('weights '.repeat(4096));
    const sha256 = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
    await json(server.api('/namespaces/team/models', { json: { name: 'pinned' } }));
    await json(server.api('/namespaces/team/models/pinned/versions', { json: {} }));
    await json(server.api('/namespaces/team/models/pinned/versions/1/artifacts', { json: { path: 'model/weights.bin', size: bytes.byteLength, sha256 } }));
    await json(server.api(`/namespaces/team/blobs/sha256/${sha256}`, { method: 'PUT', body: bytes }));

    const page = await browser.newPage(`${app.url}/settings`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill(await server.token('team', 'write'));
    await page.getByRole('button', { name: 'Check server' }).click();
    await page.getByRole('button', { name: 'Start syncing' }).click();
    await go(page, 'Sync', 'Sync');
    await expect.poll(() => page.locator('dd', { hasText: 'Never' }).count(), { timeout: 30_000 }).toBe(0);

    await go(page, 'Models', 'Models');
    await page.getByRole('option', { name: /pinned/ }).click();
    await expect.poll(() => heading(page)).toBe('team/pinned');
    await page.getByRole('button', { name: /Version 1/ }).first().click();
    await expect.poll(() => heading(page)).toBe('team/pinned/1');
    await page.getByRole('button', { name: 'Keep offline' }).click();
    await expect.poll(() => page.getByText('Every artifact of this version is in this browser.').count(), { timeout: 30_000 }).toBe(1);

    await server.stop();
    try {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download model/weights.bin' }).click()]);
      const fs = (await import('node:fs/promises' as string)) as { readFile(path: string): Promise<Uint8Array> };
      expect((await fs.readFile(await download.path())).byteLength).toBe(bytes.byteLength);
    } finally {
      await server.start();
    }
  });
});
