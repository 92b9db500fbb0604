// The web app as a user meets it: the production build (service worker and all) served by
// `vite preview`, driven through its pages in real Chromium, then offline.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { go, shoot, heading, trainIris, waitForServiceWorker } from './fixtures/app/ui.ts';

let app: AppServer;
let outDir: string;

beforeAll(async () => {
  outDir = await buildApp('app-dist');
  app = await serveApp(outDir);
}, 120_000);

afterAll(() => app?.stop());

const at = (path: string) => `${app.url}${path}`;

describe('the app', () => {
  test('trains on a CSV, sets an alias and predicts; then, server stopped, deep links and prediction still work', { timeout: 300_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/'));
    await waitForServiceWorker(page);
    expect(await heading(page)).toBe('Models');

    // A model, made on the models page, opens on its own page with an empty state that says what to do.
    await page.getByLabel('Name', { exact: true }).fill('iris');
    await page.getByRole('button', { name: 'Create model' }).click();
    await expect.poll(() => heading(page)).toBe('local/iris');
    await expect.poll(() => page.getByRole('link', { name: 'Train this model' }).count()).toBe(1);
    expect(new URL(page.url()).pathname).toBe('/models/local/iris');

    // Training from the train page: progress to the last epoch, the chart drawn, a link to the version.
    await go(page, 'Train', 'Train a model');
    await trainIris(page, { model: 'iris', epochs: 30 });
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Trained version 1 of local/iris' }).count(), { timeout: 120_000 }).toBe(1);
    const bar = page.locator('progress#bar');
    expect(await bar.evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([30, 30]);
    expect(await page.locator('app-progress-chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('app-progress-chart [role=img]').getAttribute('aria-label')).toMatch(/^Training chart, epoch 30: .*accuracy/);
    await shoot(page, 'train');

    // The version: its artifacts (the model files) listed for download.
    await page.getByRole('link', { name: 'Open the trained version' }).click();
    await expect.poll(() => heading(page)).toBe('local/iris/1');
    await expect.poll(() => page.getByRole('button', { name: 'Download model/model.json', exact: true }).count()).toBe(1);
    await expect.poll(() => page.locator('hangar-version hangar-metrics-chart canvas').count()).toBeGreaterThan(0);
    await shoot(page, 'version');

    // The model: an alias moved to the version, metrics compared across versions.
    await page.getByRole('link', { name: 'Back to local/iris' }).click();
    await expect.poll(() => heading(page)).toBe('local/iris');
    await page.getByLabel('Alias', { exact: true }).fill('production');
    await page.getByRole('button', { name: 'Move alias' }).click();
    await expect.poll(() => page.getByText('production now points at version 1.').count()).toBe(1);
    await expect.poll(() => page.locator('hangar-model hangar-metrics-chart canvas').count()).toBeGreaterThan(0);
    await shoot(page, 'model');

    // Predict with the alias: one row typed in, a table out.
    await go(page, 'Predict', 'Predict');
    const predicted = await predictSetosa(page, 'local/iris@production');
    expect(predicted).toBe('setosa');
    await shoot(page, 'predict');

    // The training job is listed as completed, with a link to its version.
    await go(page, 'Jobs', 'Jobs');
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Training' }).filter({ hasText: 'completed' }).count()).toBe(1);
    expect(await page.getByRole('row').filter({ hasText: 'Training' }).getByRole('link', { name: 'local/iris/1' }).count()).toBe(1);
    await shoot(page, 'jobs');
    expectNoPageErrors(page);

    // Offline: the server is gone; a deep link reloads from the service worker, data and ML included.
    await app.stop();
    await expect(fetch(at('/')).then((r) => r.status)).rejects.toThrow();
    await page.goto(at('/models/local/iris/versions/1'));
    await expect.poll(() => heading(page)).toBe('local/iris/1');
    await expect.poll(() => page.getByRole('button', { name: 'Download model/model.json', exact: true }).count()).toBe(1);
    await shoot(page, 'offline-version');
    await page.goto(at('/predict'));
    expect(await predictSetosa(page, 'local/iris/1')).toBe('setosa');
    // Training offline too: the trainer worker and tfjs come from the precache.
    await page.goto(at('/train'));
    await trainIris(page, { model: 'iris', epochs: 3 });
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Trained version 2 of local/iris' }).count(), { timeout: 120_000 }).toBe(1);
    expectNoPageErrors(page);
    app = await serveApp(outDir);
  });
});

/** Chooses a version on the predict page, types one Iris setosa row, answers the predicted class. */
async function predictSetosa(page: Page, ref: string): Promise<string> {
  await expect.poll(() => heading(page)).toBe('Predict');
  await page.getByLabel(/^Version/).fill(ref);
  await page.getByRole('button', { name: 'Use this version' }).click();
  const values = { sepal_length: '5.1', sepal_width: '3.5', petal_length: '1.4', petal_width: '0.2' };
  for (const [name, value] of Object.entries(values)) await page.getByLabel(name, { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Predict species' }).click();
  const cell = page.getByRole('table').getByRole('row').nth(1).locator('td strong');
  await expect.poll(() => cell.count(), { timeout: 60_000 }).toBe(1);
  return (await cell.textContent())!.trim();
}
