import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { WIDGET_PAGE } from './fixtures/widget/page.ts';

// The widget's elements over a client instance (the page's own IndexedDB registry).

/** A registry named `name` with two models; churn has two versions with metrics, an alias, params, lineage and an artifact. */
async function seed(page: Page, name: string): Promise<void> {
  await page.evaluate(async (name) => {
    const hangar = await window.openRegistry({ name });
    const churn = await hangar.newModel({ namespace: 'team', name: 'churn', task: 'tabular', description: 'Who leaves' });
    await hangar.newModel({ namespace: 'team', name: 'fraud', task: 'anomaly' });
    const v1 = await churn.newVersion({ framework: 'tfjs' });
    const v2 = await churn.newVersion({ version: 'q3', framework: 'tfjs' });
    for (let step = 0; step < 50; step++) {
      void v1.logMetrics({ loss: 1 / (step + 1) }, { step });
      void v2.logMetrics({ loss: 0.5 / (step + 1), accuracy: step / 50 }, { step });
    }
    await hangar.flush();
    await v2.update({ metadata: { params: { epochs: 50, lr: 0.01 }, lineage: { module: 'dense-classifier', datasetSha256: 'abc123' }, team: 'growth' } });
    await v2.uploadArtifacts([{ file: new Blob(['{"weights":[]}']), path: 'model.json' }]);
    await churn.setAlias('production', v2);
    await hangar.close();
  }, name);
}

/** Adds an element to the page with the registry `name` as its client. */
async function mount(page: Page, tag: string, attrs: Record<string, string>, name: string): Promise<void> {
  await page.evaluate(
    async ({ tag, attrs, name }) => {
      const el = document.createElement(tag) as HTMLElement & { client: unknown };
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      el.client = await window.openRegistry({ name });
      document.body.append(el);
    },
    { tag, attrs, name },
  );
}

const rows = (page: Page) => page.locator('hangar-models [role="option"] .name');

describe('the widget over a client instance', () => {
  test('<hangar-models> lists, searches and picks models, and follows new ones live', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await seed(page, 'list');
    await mount(page, 'hangar-models', {}, 'list');
    await page.locator('hangar-models [role="option"]', { hasText: 'fraud' }).waitFor();
    expect(await rows(page).allTextContents()).toEqual(['churn', 'fraud']);

    await page.locator('hangar-models [role="option"]', { hasText: 'churn' }).click();
    expect(await page.evaluate(() => window.selections)).toEqual([{ ref: 'team/churn', namespace: 'team', model: 'churn' }]);

    const search = page.getByLabel('Search models');
    await search.fill('frau');
    await expect.poll(() => rows(page).allTextContents()).toEqual(['fraud']);
    await search.fill("task = 'tabular'");
    await expect.poll(() => rows(page).allTextContents()).toEqual(['churn']);
    await search.fill('task = ');
    await page.locator('hangar-models [part="error"]').waitFor();
    expect(await page.locator('hangar-models [part="error"]').textContent()).toMatch(/filter|expect/i);
    await search.fill('nothing-like-this');
    await page.locator('hangar-models [part="empty"]', { hasText: 'No model matches' }).waitFor();

    await search.fill('');
    await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'list' });
      await hangar.newModel({ namespace: 'team', name: 'attrition' });
    });
    await expect.poll(() => rows(page).allTextContents()).toEqual(['attrition', 'churn', 'fraud']);
    expectNoPageErrors(page);
  });

  test('<hangar-models> says what to do when the registry is empty', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await mount(page, 'hangar-models', {}, 'empty');
    await page.locator('hangar-models [part="empty"]', { hasText: 'No models yet' }).waitFor();
    // A host puts its own words there through the `empty` slot.
    await page.evaluate(() => {
      document.querySelector('hangar-models')!.innerHTML = '<p slot="empty">Train your first model.</p>';
    });
    expect(await page.getByText('Train your first model.').isVisible()).toBe(true);
    expect(await page.getByText('No models yet').isVisible()).toBe(false);
    expectNoPageErrors(page);
  });

  test('<hangar-model> shows versions, aliases and a chart comparing versions, and picks a version', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await seed(page, 'model');
    await mount(page, 'hangar-model', { ref: 'team/churn' }, 'model');
    const versions = page.locator('hangar-model [part="version"]');
    await versions.first().waitFor();
    expect(await versions.allInnerTexts()).toEqual([
      expect.stringMatching(/Version 1\s+provisional\s+ready/),
      expect.stringMatching(/Version 2\s+provisional\s+ready\s+q3\s+production/),
    ]);
    expect(await page.locator('hangar-model [part="aliases"] li').innerText()).toMatch(/production\s*→ version 2/);
    await page.waitForFunction(() => document.querySelector('hangar-model')?.shadowRoot?.querySelector('hangar-metrics-chart')?.drawn);
    const drawn = await page.evaluate(() => document.querySelector('hangar-model')!.shadowRoot!.querySelector('hangar-metrics-chart')!.drawn);
    expect(drawn).toEqual({ series: ['v1', 'v2 q3'], points: 50 });

    await page.getByLabel('Metric').selectOption('accuracy');
    await page.waitForFunction(() => document.querySelector('hangar-model')?.shadowRoot?.querySelector('hangar-metrics-chart')?.drawn?.series.length === 2);
    await versions.nth(1).click();
    expect(await page.evaluate(() => window.selections)).toEqual([{ ref: 'team/churn/2', namespace: 'team', model: 'churn', version: 2 }]);
    expectNoPageErrors(page);
  });

  test('<hangar-version> shows params, lineage, metadata, metric charts, artifacts to download and checkpoints', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await seed(page, 'version');
    await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'version' });
      await (await hangar.find('team/churn/2')).saveCheckpoint('epoch_3', { 'weights.bin': new Blob([new Uint8Array(8)]) });
    });
    await mount(page, 'hangar-version', { ref: 'team/churn@production' }, 'version');
    const el = page.locator('hangar-version');
    await el.locator('[part="params"]').waitFor();
    expect(await el.locator('[part="params"]').innerText()).toMatch(/epochs\s+50[\s\S]*lr\s+0\.01/);
    expect(await el.locator('[part="lineage"]').innerText()).toMatch(/dense-classifier/);
    expect(await el.locator('[part="metadata"]').innerText()).toMatch(/team\s+growth/);
    expect(await el.locator('[part="checkpoints"]').innerText()).toMatch(/epoch_3\s+default/);
    await page.waitForFunction(() => [...document.querySelector('hangar-version')!.shadowRoot!.querySelectorAll('hangar-metrics-chart')].every((c) => c.drawn));
    const charts = await page.evaluate(() => [...document.querySelector('hangar-version')!.shadowRoot!.querySelectorAll('hangar-metrics-chart')].map((c) => c.drawn));
    expect(charts).toEqual([
      { series: ['accuracy'], points: 50 },
      { series: ['loss'], points: 50 },
    ]);

    const artifact = el.locator('[part="artifact"]', { hasText: 'model.json' });
    const [download] = await Promise.all([page.waitForEvent('download'), artifact.getByRole('button', { name: 'Download model.json' }).click()]);
    expect(download.suggestedFilename()).toBe('model.json');

    await el.locator('[part="model-link"]').click();
    expect(await page.evaluate(() => window.selections)).toEqual([{ ref: 'team/churn', namespace: 'team', model: 'churn' }]);
    expectNoPageErrors(page);
  });

  test('<hangar-version> shows how much of an artifact has arrived while it downloads', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await seed(page, 'downloading');
    // The client source, with its artifact read held half-way until the test lets it finish.
    await page.evaluate(async () => {
      const load = new Function('path', 'return import(path)') as (path: string) => Promise<typeof import('../../web/widget/source-client.ts')>;
      const { clientSource } = await load('/web/widget/source-client.ts');
      const base = clientSource(await window.openRegistry({ name: 'downloading' }));
      const held = new Promise<void>((resolve) => ((window as unknown as { finish: () => void }).finish = resolve));
      const el = document.createElement('hangar-version') as HTMLElement & { source: unknown };
      el.setAttribute('ref', 'team/churn/2');
      el.source = {
        ...base,
        async readArtifact(t: never, path: string, onProgress?: (p: { loaded: number; total: number }) => void) {
          onProgress?.({ loaded: 6_144, total: 15_360 });
          await held;
          onProgress?.({ loaded: 15_360, total: 15_360 });
          return base.readArtifact(t, path);
        },
      };
      document.body.append(el);
    });
    const artifact = page.locator('hangar-version [part="artifact"]', { hasText: 'model.json' });
    const downloading = page.waitForEvent('download');
    downloading.catch(() => undefined); // awaited below; a failure before then is the test's own
    await artifact.getByRole('button', { name: 'Download model.json' }).click();
    const bar = artifact.getByRole('progressbar', { name: 'Downloading model.json' });
    await expect.poll(() => bar.evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([6_144, 15_360]);
    expect((await artifact.getByRole('status').innerText()).trim()).toBe('6.0 KiB of 15.0 KiB');
    expect(await artifact.getByRole('button', { name: 'Downloading…' }).isDisabled()).toBe(true);
    await page.evaluate(() => (window as unknown as { finish: () => void }).finish());
    expect((await downloading).suggestedFilename()).toBe('model.json');
    await expect.poll(() => bar.count()).toBe(0);
    expectNoPageErrors(page);
  });

  test('<hangar-metrics-chart> draws several keys, zooms from the keyboard, and shows a bad ref as an error', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await seed(page, 'chart');
    await mount(page, 'hangar-metrics-chart', { ref: 'team/churn/2', keys: 'loss,accuracy', x: 'time' }, 'chart');
    await page.waitForFunction(() => document.querySelector('hangar-metrics-chart')?.drawn);
    expect(await page.evaluate(() => document.querySelector('hangar-metrics-chart')!.drawn)).toEqual({ series: ['loss', 'accuracy'], points: expect.any(Number) });
    const chart = page.locator('hangar-metrics-chart');
    expect(await chart.getByRole('button', { name: 'Reset zoom' }).isDisabled()).toBe(true);
    await chart.getByRole('button', { name: 'Zoom in' }).focus();
    await page.keyboard.press('Enter');
    expect(await chart.getByRole('button', { name: 'Reset zoom' }).isDisabled()).toBe(false);

    await mount(page, 'hangar-metrics-chart', { ref: 'team/nope/1', id: 'missing' }, 'chart');
    await page.locator('#missing [part="error"]', { hasText: 'nope' }).waitFor();
    expectNoPageErrors(page);
  });

  test('keyboard only: Tab reaches the list, arrows move, Enter picks and fires hangar-select', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await seed(page, 'keys');
    await mount(page, 'hangar-models', {}, 'keys');
    await page.locator('hangar-models [role="option"]', { hasText: 'fraud' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.querySelector('hangar-models')!.shadowRoot!.activeElement?.getAttribute('part'))).toBe('search-input');
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate(() => document.querySelector('hangar-models')!.shadowRoot!.activeElement?.getAttribute('role'));
    expect(await focused()).toBe('listbox');
    // The focused list shows a visible focus ring.
    expect(await page.locator('hangar-models [part="list"]').evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe('none');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('hangar-models [part~="row-active"] .name').textContent()).toBe('fraud');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => window.selections)).toEqual([{ ref: 'team/fraud', namespace: 'team', model: 'fraud' }]);
    expectNoPageErrors(page);
  });

  test('fits a 360px-wide screen without scrolling sideways', async ({ browser }) => {
    const page = await browser.newPage(WIDGET_PAGE);
    await page.setViewportSize({ width: 360, height: 740 });
    await seed(page, 'narrow');
    for (const [tag, ref] of [['hangar-models', ''], ['hangar-model', 'team/churn'], ['hangar-version', 'team/churn/2']] as const) {
      await mount(page, tag, ref ? { ref } : {}, 'narrow');
    }
    await page.waitForFunction(() => [...document.querySelector('hangar-version')!.shadowRoot!.querySelectorAll('hangar-metrics-chart')].some((c) => c.drawn));
    await page.waitForFunction(() => document.querySelector('hangar-model')?.shadowRoot?.querySelector('hangar-metrics-chart')?.drawn);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await browser.screenshots('widget-360px');
    expectNoPageErrors(page);
  });
});
