// Training on a CSV as people have them, through the app's pages in real Chromium: empty cells
// and `NA`s, a text column, an identifier column, free text, dates, a malformed row and a row
// without a target. The data report comes first, training completes with progress, the version
// keeps the report, and prediction answers rows with missing cells and unseen categories.
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { go, heading, shoot } from './fixtures/app/ui.ts';

let app: AppServer;

beforeAll(async () => {
  app = await serveApp(await buildApp('app-messy-dist'));
}, 120_000);

afterAll(() => app?.stop());

const at = (path: string) => `${app.url}${path}`;
const fixtures = new URL('./fixtures/app/', import.meta.url).pathname;
/** An element's text, its runs of white space as one space. */
const text = async (l: Locator) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();

describe('training on a messy CSV', () => {
  test('reports the data, trains with progress, keeps the report with the version, predicts rows with gaps', { timeout: 300_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/train'));
    await expect.poll(() => heading(page)).toBe('Train a model');
    await page.getByLabel('Model name').fill('penguins');
    await page.getByLabel(/^CSV file/).setInputFiles(`${fixtures}messy-penguins.csv`);
    await expect.poll(() => page.getByLabel('Column to predict').inputValue()).toBe('species');

    // The report, before any job: each column's type and what training does, the rows left out.
    const report = page.locator('app-train-page app-data-report');
    await expect.poll(() => report.locator('#report-summary').count(), { timeout: 60_000 }).toBe(1);
    const row = (column: string) => report.locator(`tr[data-column="${column}"]`);
    const cells = async (column: string) => (await row(column).locator('td, th').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(await cells('id')).toEqual(['', 'id', 'identifier-like', '0', '150', expect.stringMatching(/^ignore: whole numbers, each different/)]);
    expect(await cells('island')).toEqual(['', 'island', 'categorical', '11', '3', expect.stringMatching(/^one-hot: 3 values/)]);
    expect(await cells('bill_length_mm')).toEqual(['', 'bill_length_mm', 'numeric', '17', expect.any(String), expect.stringMatching(/^impute: .*training median/)]);
    expect(await cells('observer_note')).toEqual(['', 'observer_note', 'identifier-like', '0', '150', expect.stringMatching(/^ignore: every value differs/)]);
    expect(await cells('seen_on')).toEqual(['', 'seen_on', 'date-like', '0', expect.any(String), expect.stringMatching(/^ignore: dates/)]);
    expect(await cells('species')).toEqual(['', 'species', 'categorical', '1', '3', expect.stringMatching(/^target: 3 classes to predict; 1 row without one left out$/)]);
    expect(await text(report.locator('#report-summary'))).toMatch(/150 rows read .*149 used to predict species from 4 feature columns/);
    const dropped = (await report.locator('#report-dropped li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(dropped).toEqual([
      expect.stringMatching(/^1 row left out: malformed row \(line 61 has 3 cells; the header has 8\), line 61$/),
      expect.stringMatching(/^1 row left out: missing target .*line 42$/),
    ]);

    // A column switched off there is left out of training.
    await report.getByLabel('Use tagged').uncheck();
    await expect.poll(() => cells('tagged')).toEqual(['', 'tagged', 'yes/no', '0', '2', 'ignore: switched off']);
    await expect.poll(() => text(report.locator('#report-summary'))).toMatch(/from 3 feature columns/);
    await shoot(page, 'train-report');

    // Training: progress epoch by epoch to the last, then the version.
    await page.getByLabel('Epochs').fill('40');
    await page.getByRole('button', { name: 'Start training' }).click();
    const bar = page.locator('progress#bar');
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          seen.add(await bar.evaluate((p: HTMLProgressElement) => p.value));
          return page.getByRole('status').filter({ hasText: 'Trained version 1 of local/penguins' }).count();
        },
        { timeout: 120_000, interval: 50 },
      )
      .toBe(1);
    expect(await bar.evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([40, 40]);
    expect([...seen].some((v) => v > 0 && v < 40)).toBe(true);
    const summary = await page.getByRole('status').filter({ hasText: 'Trained version 1' }).textContent();
    expect(Number(/val_accuracy (\d\.\d+)/.exec(summary ?? '')?.[1])).toBeGreaterThan(0.8);

    // The version keeps the report, beside the data set's SHA-256.
    await page.getByRole('link', { name: 'Open the trained version' }).click();
    await expect.poll(() => heading(page)).toBe('local/penguins/1');
    await expect.poll(() => page.locator('#dataset-sha').textContent()).toMatch(/^[0-9a-f]{64}$/);
    const stored = page.locator('app-version-page app-data-report');
    expect(await stored.locator('tr[data-column="tagged"] td').last().textContent()).toMatch(/switched off/);
    expect(await text(stored.locator('#report-summary'))).toMatch(/149 used to predict species from 3 feature columns/);
    await shoot(page, 'version-report');

    // Prediction, one row: a choice list for the category; a value left out is filled in, and said so.
    await page.goto(at(`/predict?ref=${encodeURIComponent('local/penguins/1')}`));
    await expect.poll(() => heading(page)).toBe('Predict');
    const island = page.getByLabel('island', { exact: true });
    await expect.poll(() => island.locator('option').allTextContents()).toEqual(['(missing)', 'Biscoe', 'Dream', 'Torgersen']);
    expect(await page.getByLabel('tagged', { exact: true }).count()).toBe(0);
    await island.selectOption('Biscoe');
    await page.getByLabel('flipper_length_mm', { exact: true }).fill('219');
    await page.getByRole('button', { name: 'Predict species' }).click();
    const predicted = page.getByRole('table').getByRole('row').nth(1).locator('td strong');
    await expect.poll(() => predicted.textContent(), { timeout: 60_000 }).toBe('Gentoo');
    expect(await page.locator('#imputed').textContent()).toMatch(/row 1 bill_length_mm \(missing\) → \d+(\.\d+)?/);

    // Many rows from a CSV: an island never seen in training, `NA` and empty cells.
    await page.getByLabel(/^A CSV file with the columns/).setInputFiles(`${fixtures}predict-messy.csv`);
    await expect.poll(() => page.getByRole('table').getByRole('row').count(), { timeout: 60_000 }).toBe(4);
    const answers = await page.getByRole('table').locator('tbody td strong').allTextContents();
    expect(answers).toHaveLength(3);
    expect(answers[0]).toBe('Gentoo');
    answers.forEach((a) => expect(['Adelie', 'Gentoo', 'Chinstrap']).toContain(a));
    const imputed = await page.locator('#imputed').textContent();
    expect(imputed).toContain('row 2 island (unseen category) → other');
    expect(imputed).toMatch(/row 2 bill_length_mm \(missing\) → /);
    expect(imputed).toMatch(/row 2 flipper_length_mm \(missing\) → /);
    expect(imputed).toContain('row 3 island (missing) → missing');
    await shoot(page, 'predict-gaps');
    expectNoPageErrors(page);
  });

  test('refuses bad data in the report, naming the column; training it leaves no job, model or version', { timeout: 120_000 }, async ({ browser }) => {
    const page = await browser.newPage(at('/train'));
    await expect.poll(() => heading(page)).toBe('Train a model');
    await page.getByLabel('Model name').fill('constant');
    await page.getByLabel(/^CSV file/).setInputFiles(`${fixtures}constant-target.csv`);
    await expect.poll(() => page.locator('#report-error').textContent(), { timeout: 60_000 }).toMatch(/"species" has one value \("setosa"\) in every row/);
    await page.getByRole('button', { name: 'Start training' }).click();
    expect(await page.locator('#form-error').textContent()).toMatch(/"species" has one value/);
    await go(page, 'Jobs', 'Jobs');
    await expect.poll(() => page.getByText('No jobs yet.').count()).toBe(1);

    // Through the library, past the page's own check: the job errors, and no version is left.
    const result = await page.evaluate(async () => {
      const hangar = (document.querySelector('app-shell') as unknown as { hangar: import('../../web/client/index.ts').Hangar }).hangar;
      const job = hangar.trainer('local').train('tabular-regressor', {
        data: new Blob(['a,b,y\n1,2,lo\n2,3,hi\n3,4,lo\n']),
        target: 'y',
        saveAs: { namespace: 'local', model: 'categorical-target' },
      });
      const error = await job.result().then(
        () => null,
        (err: { code: string; message: string }) => ({ code: err.code, message: err.message }),
      );
      const info = await job.info();
      const models = (await hangar.models()).map((m) => m.name);
      return { error, status: info.status, versionId: info.versionId, models };
    });
    expect(result.error).toEqual({ code: 'invalid-dataset', message: expect.stringMatching(/"y" is not numeric \("lo" on line 2\): a regressor predicts numbers/) });
    expect(result).toMatchObject({ status: 'errored', versionId: null });
    expect(result.models).not.toContain('categorical-target');
    expectNoPageErrors(page);
  });
});
