// The web app as a user meets it: the production build (service worker and all) served by
// `vite preview`, driven through its pages in real Chromium, then offline.
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { focused, go, heading, IRIS, shoot, tabTo, trainIris, waitForServiceWorker } from './fixtures/app/ui.ts';

let app: AppServer;
let outDir: string;
/** The journey stops the server to go offline; the next test gets it back (on another port). */
let stopped = false;

beforeAll(async () => {
  outDir = await buildApp('app-dist');
  app = await serveApp(outDir);
}, 120_000);

afterEach(async () => {
  if (stopped) app = await serveApp(outDir);
  stopped = false;
});

afterAll(() => app?.stop());

const at = (path: string) => `${app.url}${path}`;
const fixtures = new URL('./fixtures/app/', import.meta.url).pathname;

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
    // Many rows from a CSV: one table row each.
    await page.getByLabel(/^A CSV file with the columns/).setInputFiles(IRIS);
    await expect.poll(() => page.getByRole('table').getByRole('row').count(), { timeout: 60_000 }).toBe(151);

    // The training job is listed as completed, with a link to its version.
    await go(page, 'Jobs', 'Jobs');
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Training' }).filter({ hasText: 'completed' }).count()).toBe(1);
    expect(await page.getByRole('row').filter({ hasText: 'Training' }).getByRole('link', { name: 'local/iris/1' }).count()).toBe(1);
    await shoot(page, 'jobs');
    await go(page, 'Models', 'Models');
    await expect.poll(() => page.getByRole('option', { name: /iris/ }).count()).toBe(1);
    await shoot(page, 'models');
    expectNoPageErrors(page);

    // Offline: the server is gone; a deep link reloads from the service worker, data and ML included.
    await app.stop();
    stopped = true;
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
  });

  test('runs the main flow from the keyboard alone, focus always visible', { timeout: 180_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/'));
    // Listening early: Playwright intercepts file choosers only once told to, which takes a round trip.
    const choosing = page.waitForEvent('filechooser', { timeout: 120_000 });
    choosing.catch(() => undefined); // awaited below; a failure before then is the test's own
    await tabTo(page, 'Train');
    await page.keyboard.press('Enter');
    await expect.poll(() => heading(page)).toBe('Train a model');
    // Navigation moves focus to the new page's heading.
    expect(await focused(page)).toMatchObject({ tag: 'h1', name: 'Train a model' });

    await tabTo(page, 'Model name');
    await page.keyboard.type('kbd');
    await tabTo(page, 'CSV file');
    await page.keyboard.press('Space');
    await (await choosing).setFiles(IRIS);
    await tabTo(page, 'Epochs');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('5');
    await tabTo(page, 'Start training');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Trained version 1 of local/kbd' }).count(), { timeout: 120_000 }).toBe(1);

    await tabTo(page, 'Open the trained version');
    await page.keyboard.press('Enter');
    await expect.poll(() => heading(page)).toBe('local/kbd/1');
    await tabTo(page, 'Back to local/kbd');
    await page.keyboard.press('Enter');
    await expect.poll(() => heading(page)).toBe('local/kbd');
    await tabTo(page, 'Alias');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('champion');
    await tabTo(page, 'Move alias');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByText('champion now points at version 1.').count()).toBe(1);

    await tabTo(page, 'Predict');
    await page.keyboard.press('Enter');
    await expect.poll(() => heading(page)).toBe('Predict');
    await tabTo(page, 'Version');
    await page.keyboard.type('local/kbd@champion');
    await page.keyboard.press('Enter');
    for (const [name, value] of [['sepal_length', '6.7'], ['sepal_width', '3.0'], ['petal_length', '5.2'], ['petal_width', '2.3']]) {
      await tabTo(page, name!);
      await page.keyboard.type(value!);
    }
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('table').getByRole('row').count(), { timeout: 60_000 }).toBe(2);
    expectNoPageErrors(page);
  });

  test('says what is wrong with a bad CSV, before training or from the worker', { timeout: 120_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/train'));
    await expect.poll(() => heading(page)).toBe('Train a model');
    await page.getByLabel('Model name').fill('bad');
    await page.getByLabel(/^CSV file/).setInputFiles(`${fixtures}one-column.csv`);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('at least two columns');
    await page.getByRole('button', { name: 'Start training' }).click();
    // Nothing started: no job, no model.
    await go(page, 'Jobs', 'Jobs');
    await expect.poll(() => page.getByText('No jobs yet.').count()).toBe(1);
    await go(page, 'Models', 'Models');
    await expect.poll(() => page.getByRole('link', { name: 'Train one on a CSV file', exact: true }).count()).toBe(1);
    expect(await page.getByRole('option').count()).toBe(0);
    expect(await page.getByText('hangar.newModel').isVisible()).toBe(false);

    // A target with one value passes the header check; the worker's data report refuses it, and says why.
    await go(page, 'Train', 'Train a model');
    await page.getByLabel('Model name').fill('bad');
    await page.getByLabel(/^CSV file/).setInputFiles(`${fixtures}constant-target.csv`);
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: 60_000 }).toMatch(/"species" has one value/);
    await page.getByRole('button', { name: 'Start training' }).click();
    expect(await page.locator('#form-error').textContent()).toMatch(/"species" has one value/);
    await shoot(page, 'train-error');
  });

  test('cancels a training run from the train page; the jobs page shows it canceled', { timeout: 120_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/train'));
    await trainIris(page, { model: 'long', epochs: 5000 });
    await expect.poll(() => page.getByRole('status').filter({ hasText: /Epoch \d+ of 5000/ }).count(), { timeout: 60_000 }).toBe(1);
    await page.getByRole('button', { name: 'Cancel training' }).click();
    await expect.poll(() => page.getByText('Training was canceled').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByRole('button', { name: 'Start training' }).isEnabled()).toBe(true);
    await go(page, 'Jobs', 'Jobs');
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Training' }).filter({ hasText: 'canceled' }).count()).toBe(1);
    expectNoPageErrors(page);
  });

  test('fits a 360 px wide screen on every page', { timeout: 60_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/'));
    await page.setViewportSize({ width: 360, height: 740 });
    await page.getByLabel('Name', { exact: true }).fill('narrow');
    await page.getByRole('button', { name: 'Create model' }).click();
    await expect.poll(() => heading(page)).toBe('local/narrow');
    for (const [path, title] of [
      ['/', 'Models'],
      ['/models/local/narrow', 'local/narrow'],
      ['/experiments', 'Experiments'],
      ['/train', 'Train a model'],
      ['/predict', 'Predict'],
      ['/jobs', 'Jobs'],
      ['/sync', 'Sync'],
      ['/activity', 'Activity'],
      ['/webhooks', 'Webhooks'],
      ['/settings', 'Settings'],
    ] as const) {
      await page.goto(at(path));
      await expect.poll(() => heading(page)).toBe(title);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `${path} is wider than the screen`).toBeLessThanOrEqual(360);
    }
    await page.goto(at('/train'));
    await shoot(page, 'phone-train');
  });

  test('opens a run from its runs page (its row at once) and follows it live; a deep link reads it afresh', { timeout: 120_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/experiments'));
    await expect.poll(() => heading(page)).toBe('Experiments');
    // The app's own registry: an experiment with one run, a param and two points of loss.
    type Shell = HTMLElement & { hangar: import('../../web/client/index.ts').Hangar };
    const log = (step: number, loss: number) =>
      page.evaluate(
        async ([step, loss]) => {
          const hangar = (document.querySelector('app-shell') as Shell).hangar;
          const run = await (await hangar.model('local', 'live-exp')).version(1);
          await run.logMetrics({ loss }, { step });
          await hangar.flush();
        },
        [step, loss] as const,
      );
    await page.evaluate(async () => {
      const hangar = (document.querySelector('app-shell') as Shell).hangar;
      const exp = await hangar.newExperiment({ namespace: 'local', name: 'live-exp' });
      const run = await exp.newVersion({ name: 'run-1' });
      await run.logParams({ lr: 0.1 });
    });
    await log(1, 0.5);
    await log(2, 0.4);
    const chartPoints = () => page.locator('hangar-metrics-chart').evaluate((el) => (el as HTMLElement & { drawn?: { points: number } }).drawn?.points);
    const finalLoss = () => page.locator('#final-metrics td').textContent();

    await page.getByRole('link', { name: 'live-exp' }).click();
    await page.getByRole('link', { name: 'run-1' }).click();
    await expect.poll(() => heading(page)).toBe('live-exp · run-1');
    expect(await finalLoss()).toBe('0.4000');
    expect(await page.locator('#params tbody tr').allTextContents()).toEqual(['lr0.1']);
    await expect.poll(chartPoints).toBe(2);
    await expect.poll(() => page.locator('#artifacts-heading + p').textContent()).toBe('None.');

    // A point logged while the page is open: the final value and the chart follow it.
    await log(3, 0.3);
    await expect.poll(finalLoss).toBe('0.3000');
    await expect.poll(chartPoints).toBe(3);

    // Another point, then back to the runs page, which reads it; the run opened again from there shows it.
    await log(4, 0.2);
    await expect.poll(finalLoss).toBe('0.2000');
    await page.getByRole('link', { name: 'Back to local/live-exp' }).click();
    await expect.poll(() => page.locator('#runs tbody td.num').textContent()).toBe('0.2000');
    // A point logged while the runs page is open: its final value follows.
    await log(5, 0.1);
    await expect.poll(() => page.locator('#runs tbody td.num').textContent()).toBe('0.1000');
    await page.getByRole('link', { name: 'run-1' }).click();
    await expect.poll(() => heading(page)).toBe('live-exp · run-1');
    expect(await finalLoss()).toBe('0.1000');
    await expect.poll(chartPoints).toBe(5);

    // A deep link: no runs page before it, the run is read from the registry.
    await page.goto(at('/experiments/local/live-exp/runs/1'));
    await expect.poll(() => heading(page)).toBe('live-exp · run-1');
    await expect.poll(finalLoss).toBe('0.1000');
    await expect.poll(chartPoints).toBe(5);
    expectNoPageErrors(page);
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
