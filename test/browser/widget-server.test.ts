import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, inject } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { startServer, type HangarServer } from './server.ts';
import { WIDGET_PAGE } from './fixtures/widget/page.ts';

// The widget on a host page served from one origin (the Vite server) reading a Hangar server
// on another (wrangler dev on its own port), with read tokens that allow or do not allow the
// host page's origin.
/** A host page that loads the built widget (dist/widget/hangar-widget.js, built for the test) with a script tag. */
const SCRIPT_TAG_PAGE = '/test/browser/fixtures/widget/script-tag.html';
const root = new URL('../..', import.meta.url).pathname;

let server: HangarServer;
let allowed: string;
let refused: string;

beforeAll(async () => {
  await build({ root, configFile: `${root}vite.widget.config.ts`, logLevel: 'warn', build: { outDir: `${root}test-results/widget-build` } });
  server = await startServer();
  const ok = async (res: Promise<Response>) => {
    const r = await res;
    if (!r.ok) throw new Error(`${r.url} answered ${r.status}: ${await r.text()}`);
  };
  await ok(server.api('/namespaces/team/models', { json: { name: 'churn', task: 'tabular' } }));
  await ok(server.api('/namespaces/team/models', { json: { name: 'fraud', task: 'anomaly' } }));
  for (const label of ['q2', 'q3']) await ok(server.api('/namespaces/team/models/churn/versions', { json: { version: label } }));
  for (const n of [1, 2]) {
    const metrics = Array.from({ length: 20 }, (_, step) => ({ key: 'loss', value: n / (step + 1), step }));
    await ok(server.api(`/namespaces/team/models/churn/versions/${n}/metrics`, { json: { metrics } }));
  }
  await ok(server.api('/namespaces/team/models/churn/aliases/production', { method: 'PUT', json: { version: 2 } }));
  await ok(server.api('/namespaces/team/models/churn/versions/2/metadata/params', { method: 'PUT', json: { epochs: 20 } }));
  // An uploaded artifact with its bytes, and a checkpoint over the same bytes.
  const bytes = new TextEncoder().encode('{"weights":[1,2,3]}');
  const sha256 = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
  const v2 = '/namespaces/team/models/churn/versions/2';
  await ok(server.api(`${v2}/artifacts`, { json: { path: 'model.json', sha256, size: bytes.length } }));
  await ok(server.api(`/namespaces/team/blobs/sha256/${sha256}`, { method: 'PUT', body: bytes }));
  await ok(server.api(`${v2}/checkpoints/epoch_20`, { method: 'PUT', json: { files: [{ path: 'model.json', sha256, size: bytes.length }] } }));
  allowed = await server.token('team', 'read', { origins: [inject('baseUrl')] });
  refused = await server.token('team', 'read', { origins: ['http://elsewhere.example'] });
}, 120_000);

afterAll(() => server?.close());

describe('the widget reading a server from another origin', () => {
  test('renders the server models with a token that allows the page, and hangar-select reaches the host', async ({ browser }) => {
    expect(new URL(server.url).origin).not.toBe(browser.baseUrl);
    const page = await browser.newPage(SCRIPT_TAG_PAGE);
    await page.waitForFunction(() => customElements.get('hangar-models') && customElements.get('hangar-model'));
    await page.evaluate(
      ({ url, token }) => {
        document.body.innerHTML = `<hangar-models server="${url}" token="${token}" namespace="team"></hangar-models>
          <hangar-model server="${url}" token="${token}" ref="team/churn"></hangar-model>`;
      },
      { url: server.url, token: allowed },
    );
    await page.locator('hangar-models [role="option"]', { hasText: 'fraud' }).waitFor();
    expect(await page.locator('hangar-models [role="option"] .name').allTextContents()).toEqual(['churn', 'fraud']);
    await page.locator('hangar-models [role="option"]', { hasText: 'fraud' }).click();

    const versions = page.locator('hangar-model [part="version"]');
    await versions.nth(1).waitFor();
    // Numbered by the server: none provisional.
    expect(await versions.allInnerTexts()).toEqual([expect.stringMatching(/^Version 1\s+ready\s+q2$/), expect.stringMatching(/^Version 2\s+ready\s+q3\s+production$/)]);
    await page.waitForFunction(() => document.querySelector('hangar-model')?.shadowRoot?.querySelector('hangar-metrics-chart')?.drawn);
    expect(await page.evaluate(() => document.querySelector('hangar-model')!.shadowRoot!.querySelector('hangar-metrics-chart')!.drawn)).toEqual({
      series: ['v1 q2', 'v2 q3'],
      points: 20,
    });
    await versions.nth(1).click();
    expect(await page.evaluate(() => window.selections)).toEqual([
      { ref: 'team/fraud', namespace: 'team', model: 'fraud' },
      { ref: 'team/churn/2', namespace: 'team', model: 'churn', version: 2 },
    ]);
    expectNoPageErrors(page);
  });

  test('updates live: a model created and an alias moved on the server show without a reload', async ({ browser }) => {
    const page = await browser.newPage(SCRIPT_TAG_PAGE);
    await page.waitForFunction(() => customElements.get('hangar-models') && customElements.get('hangar-model'));
    await page.evaluate(
      ({ url, token }) => {
        document.body.innerHTML = `<hangar-models server="${url}" token="${token}" namespace="team"></hangar-models>
          <hangar-model server="${url}" token="${token}" ref="team/churn"></hangar-model>`;
      },
      { url: server.url, token: allowed },
    );
    await page.locator('hangar-models [role="option"]', { hasText: 'fraud' }).waitFor();
    const versions = page.locator('hangar-model [part="version"]');
    await versions.nth(1).waitFor();
    const created = await server.api('/namespaces/team/models', { json: { name: 'live-model', task: 'tabular' } });
    expect(created.status).toBe(201);
    await page.locator('hangar-models [role="option"]', { hasText: 'live-model' }).waitFor({ timeout: 20_000 });
    expect((await server.api('/namespaces/team/models/churn/aliases/staging', { method: 'PUT', json: { version: 1 } })).ok).toBe(true);
    await page.locator('hangar-model [part="version"]', { hasText: 'staging' }).waitFor({ timeout: 20_000 });
    expectNoPageErrors(page);
  });

  test('<hangar-version> shows a server version and downloads its artifact with the token', async ({ browser }) => {
    const page = await browser.newPage(SCRIPT_TAG_PAGE);
    await page.evaluate(
      ({ url, token }) => {
        document.body.innerHTML = `<hangar-version server="${url}" token="${token}" ref="team/churn@production"></hangar-version>`;
      },
      { url: server.url, token: allowed },
    );
    const el = page.locator('hangar-version');
    await el.locator('[part="params"]').waitFor();
    expect(await el.locator('[part="header"]').innerText()).toMatch(/team\/churn\s*· Version 2\s*ready/);
    expect(await el.locator('[part="params"]').innerText()).toMatch(/epochs\s+20/);
    expect(await el.locator('[part="checkpoints"]').innerText()).toMatch(/epoch_20\s+default[\s\S]*1 files/);
    await page.waitForFunction(() => document.querySelector('hangar-version')?.shadowRoot?.querySelector('hangar-metrics-chart')?.drawn);
    const [download] = await Promise.all([page.waitForEvent('download'), el.getByRole('button', { name: 'Download model.json' }).first().click()]);
    expect(download.suggestedFilename()).toBe('model.json');
    const stream = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('{"weights":[1,2,3]}');
    expectNoPageErrors(page);
  });

  test('shows an error, and the server refuses, when the token does not allow the page origin', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    const listing = `${server.url}/api/v1/namespaces/team/models`;
    const failed = page.waitForEvent('requestfailed', (r) => r.url().startsWith(listing) && r.method() === 'GET');
    await page.evaluate(
      ({ url, token }) => {
        document.body.innerHTML = `<hangar-models server="${url}" token="${token}" namespace="team"></hangar-models>`;
      },
      { url: server.url, token: refused },
    );
    // The browser got no answer it may read…
    expect((await failed).failure()?.errorText).toBe('net::ERR_FAILED');
    // …because the server refuses that origin with this token (and only this one).
    const asked = await server.api('/namespaces/team/models', { token: refused, headers: { origin: browser.baseUrl } });
    expect(asked.status).toBe(403);
    expect(asked.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await asked.json()) as { error: { code: string } }).error.code).toBe('origin-not-allowed');
    const ok = await server.api('/namespaces/team/models', { token: allowed, headers: { origin: browser.baseUrl } });
    expect([ok.status, ok.headers.get('access-control-allow-origin')]).toEqual([200, browser.baseUrl]);
    const error = page.locator('hangar-models [part="error"]');
    await error.waitFor();
    expect(await error.innerText()).toContain(`does not allow this site (${browser.baseUrl})`);
    expect(await page.locator('hangar-models [role="option"]').count()).toBe(0);
  });

  test('says so when the server URL is not a Hangar server', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    // The page's own origin (the Vite server) answers, but not as Hangar does.
    await page.evaluate((url) => {
      document.body.innerHTML = `<hangar-models server="${url}" token="hgr_x" namespace="team"></hangar-models>`;
    }, browser.baseUrl);
    const error = page.locator('hangar-models [part="error"]');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/is it a Hangar server\?/);
  });
});
