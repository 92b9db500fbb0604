// The app's activity and webhooks pages against the real Worker (wrangler dev, local D1, R2 and Queue).
import { createServer, type Server } from 'node:http';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { go, heading, shoot } from './fixtures/app/ui.ts';
import { startServer, type HangarServer } from './server.ts';

let app: AppServer;
let server: HangarServer;
let receiver: Server;
let receiverUrl: string;
const received: { headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  [server, app] = await Promise.all([startServer(), buildApp('app-events-dist').then(serveApp)]);
  // A deploy service on this machine: answers 200 to every signed delivery and keeps it.
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hangar`;
}, 180_000);

afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
  await app?.stop();
  await server?.close();
});

async function json(res: Promise<Response>) {
  const r = await res;
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

describe('activity and webhooks pages', () => {
  test('show who did what, and register a webhook that receives signed events', { timeout: 120_000 }, async ({ browser }) => {
    const { token: admin } = (await json(server.api('/tokens', { json: { namespace: 'team', role: 'admin', name: 'release admin' } }))) as { token: string };
    const { token: ci } = (await json(server.api('/tokens', { json: { namespace: 'team', role: 'write', name: 'ci-pipeline' } }))) as { token: string };
    await json(server.api('/namespaces/team/models', { token: ci, json: { name: 'churn', task: 'tabular' } }));
    for (let i = 0; i < 2; i++) await json(server.api('/namespaces/team/models/churn/versions', { token: ci, json: {} }));
    await json(server.api('/namespaces/team/models/churn/aliases/production', { token: admin, method: 'PUT', json: { version: 2 } }));

    const page = await browser.newPage(`${app.url}/settings`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill(admin);
    await page.getByRole('button', { name: 'Check server' }).click();
    await expect.poll(() => page.getByRole('checkbox', { name: 'team' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Start syncing' }).click();
    await expect.poll(() => page.getByText('Syncing team with').count()).toBeGreaterThan(0);

    await go(page, 'Activity', 'Activity');
    const rows = page.getByRole('table', { name: 'Events' }).locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(4);
    const texts = (await rows.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(texts[0]).toMatch(/release admin moved production of churn to version 2$/);
    expect(texts[1]).toMatch(/ci-pipeline created churn version 2$/);
    expect(texts[3]).toMatch(/ci-pipeline created churn$/);
    await shoot(page, 'activity');

    await go(page, 'Webhooks', 'Webhooks');
    await expect.poll(() => page.getByText('No webhooks yet.').count(), { timeout: 15_000 }).toBe(1);
    await page.getByLabel('URL').fill(receiverUrl);
    await page.getByRole('button', { name: 'Register' }).click();
    const secret = (await page.getByTestId('secret').textContent({ timeout: 10_000 }))!.trim();
    expect(secret).toMatch(/^whsec_/);
    await expect.poll(() => page.getByRole('list', { name: 'Webhooks' }).textContent()).toContain('version.ready, alias.moved');

    await page.getByRole('button', { name: `Send a test event to ${receiverUrl}` }).click();
    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(1);
    expect(new StandardWebhook(secret).verify(received[0]!.body, received[0]!.headers)).toMatchObject({ type: 'webhook.test' });

    // A teammate moves the alias: the receiver hears of it, signed, with who moved it.
    await json(server.api('/namespaces/team/models/churn/aliases/production', { token: ci, method: 'PUT', json: { version: 1 } }));
    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(2);
    expect(new StandardWebhook(secret).verify(received[1]!.body, received[1]!.headers)).toMatchObject({
      type: 'alias.moved',
      data: { alias: 'production', model: { name: 'churn' }, version: { number: 1 }, token: { name: 'ci-pipeline' } },
    });

    const deliveries = page.getByRole('table', { name: `Deliveries to ${receiverUrl}` }).locator('tbody tr');
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return (await deliveries.allTextContents()).map((t) => t.replace(/\s+/g, ' '));
        },
        { timeout: 20_000, interval: 500 },
      )
      .toEqual([expect.stringMatching(/alias\.moved delivered 200/), expect.stringMatching(/webhook\.test delivered 200/)]);
    await shoot(page, 'webhooks');

    await page.getByRole('button', { name: `Delete the webhook to ${receiverUrl}` }).click();
    await expect.poll(() => page.getByText('No webhooks yet.').count()).toBe(1);
    expectNoPageErrors(page);
  });

  test('say what is needed without a server or an admin token', { timeout: 60_000 }, async ({ browser }) => {
    const page = await browser.newPage(`${app.url}/activity`);
    await expect.poll(() => heading(page)).toBe('Activity');
    await expect.poll(() => page.getByText('Connect to a server in Settings').count()).toBe(1);
    const writer = await server.token('team', 'write');
    await page.goto(`${app.url}/settings`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token').fill(writer);
    await page.getByRole('button', { name: 'Check server' }).click();
    await expect.poll(() => page.getByRole('checkbox', { name: 'team' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Start syncing' }).click();
    await expect.poll(() => page.getByText('Syncing team with').count()).toBeGreaterThan(0);
    await go(page, 'Webhooks', 'Webhooks');
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 15_000 }).toContain('needs an admin token of team');
  });
});
