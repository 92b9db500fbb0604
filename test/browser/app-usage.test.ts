// The app's settings page shows the synced namespace's use against its quotas, from the real Worker.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { startServer, type HangarServer } from './server.ts';

let app: AppServer;
let server: HangarServer;

beforeAll(async () => {
  [server, app] = await Promise.all([startServer(), buildApp('app-usage-dist').then(serveApp)]);
}, 180_000);

afterAll(async () => {
  await app?.stop();
  await server?.close();
});

async function json(res: Promise<Response>) {
  const r = await res;
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

describe('settings: server use and quotas', () => {
  test('shows each figure of the synced namespace against its quota, and "no quota" where none is set', { timeout: 120_000 }, async ({ browser }) => {
    const { token } = (await json(server.api('/tokens', { json: { namespace: 'quota', role: 'write', name: 'team' } }))) as { token: string };
    await json(server.api('/namespaces/quota/models', { token, json: { name: 'churn' } }));
    await json(server.api('/namespaces/quota/models', { token, json: { name: 'fraud' } }));
    await json(server.api('/namespaces/quota/models/churn/metrics', { token, json: { metrics: Array.from({ length: 600 }, (_, i) => ({ key: 'loss', value: i, step: i })) } }));
    await json(server.api('/namespaces/quota/usage', { method: 'PUT', json: { models: 5, metricPoints: 1000 } }));

    const page = await browser.newPage(`${app.url}/settings`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Check server' }).click();
    await expect.poll(() => page.getByRole('checkbox', { name: 'quota' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Start syncing' }).click();
    const usage = page.locator('dl[data-namespace="quota"]');
    await expect.poll(() => usage.count(), { timeout: 15_000 }).toBe(1);
    const text = async (q: string) => (await usage.locator(`dd[data-quota="${q}"]`).textContent())!.replace(/\s+/g, ' ').trim();
    expect(await text('models')).toBe('2 of 5');
    expect(await text('metricPoints')).toBe('600 of 1,000');
    expect(await text('blobBytes')).toBe('0 B (no quota)');
    expect(await page.getByRole('meter', { name: 'Models used' }).getAttribute('max')).toBe('5');
    expect(await page.getByRole('meter', { name: 'Metric points used' }).evaluate((m) => (m as HTMLMeterElement).value)).toBe(600);
  });
});
