import { type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core';
import { test as base, expect, inject } from 'vitest';

/** Debian's Chromium (.ci/run installs it when missing); CHROMIUM_PATH picks another build. */
export const CHROMIUM = import.meta.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The page that puts the client library (and Dexie) on `window`: see fixtures/harness.ts. */
export const HARNESS = '/test/browser/fixtures/harness.html';

/** A page with only Dexie on `window`, for tests that must not depend on the library. */
export const DEXIE_PAGE = '/test/browser/fixtures/dexie.html';

const root = new URL('../..', import.meta.url).pathname;

// Headless and quiet: no GPU, no network of Chromium's own, /tmp instead of a small /dev/shm.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface Browser {
  context: BrowserContext;
  /** The Vite dev server's origin, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string;
  /** Opens `path` (default: the harness page) in a new tab; resolves once the page is ready. */
  newPage(path?: string): Promise<Page>;
  /** Reloads a page and waits until it is ready again, as `newPage` does. */
  reload(page: Page): Promise<void>;
  /** Saves a screenshot of every open page to test-results/browser/<name>-<n>.png. */
  screenshots(name: string): Promise<void>;
  /** Closes Chromium; its profile directory goes with it. */
  close(): Promise<void>;
}

const pageErrors = new WeakMap<Page, string[]>();

/** The console errors and uncaught exceptions a page has had so far. */
export function errorsOf(page: Page): string[] {
  return pageErrors.get(page) ?? [];
}

export function expectNoPageErrors(page: Page): void {
  expect(errorsOf(page), `errors in ${page.url()}`).toEqual([]);
}

/** Logs what goes wrong in a page into the test's output, and keeps the errors for `expectNoPageErrors`. */
function watch(page: Page): void {
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const { url, lineNumber } = msg.location();
    const line = `console.${msg.type()}: ${msg.text()}${url ? ` (${url}:${lineNumber + 1})` : ''}`;
    console.error(`[${page.url()}] ${line}`);
    if (msg.type() === 'error') errors.push(line);
  });
  page.on('pageerror', (err) => {
    const line = `uncaught: ${err.stack ?? err.message}`;
    console.error(`[${page.url()}] ${line}`);
    errors.push(line);
  });
  page.on('crash', () => errors.push('the page crashed'));
}

const quotaSessions = new WeakMap<Page, CDPSession>();

/**
 * Makes Chromium hold the page's origin to `bytes` of storage (no `bytes`: lifts the override),
 * over the DevTools protocol, and answers what Chromium then counts. Writes past the quota fail
 * with QuotaExceededError (Dexie: an AbortError whose `inner` is the QuotaExceededError).
 * - The override lasts as long as the CDP session that set it: the session is kept open with
 *   the page (detaching it would lift the override).
 * - `navigator.storage.estimate()` in the page does not show it: this Chromium reports a fixed
 *   quota there (usage + 10 GiB), so read usage and quota from this function's answer instead.
 */
export async function overrideQuota(page: Page, bytes?: number): Promise<{ usage: number; quota: number }> {
  const origin = new URL(page.url()).origin;
  let cdp = quotaSessions.get(page);
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    quotaSessions.set(page, cdp);
  }
  await cdp.send('Storage.overrideQuotaForOrigin', bytes === undefined ? { origin } : { origin, quotaSize: bytes });
  const { usage, quota } = await cdp.send('Storage.getUsageAndQuota', { origin });
  return { usage, quota };
}

/** Waits for the harness page (if it is one) to have put the library on `window`. */
async function ready(page: Page): Promise<void> {
  await page.evaluate(() => window.harnessReady);
}

/**
 * Starts Chromium with a fresh profile in a temporary directory (Playwright makes it for the
 * empty `userDataDir` and deletes it on close): a persistent context, so storage behaves as in
 * a user's browser (quota, persistence across reloads), yet no test sees another's data.
 */
export async function launch(options: { args?: string[] } = {}): Promise<Browser> {
  const baseUrl = inject('baseUrl');
  const context = await chromium.launchPersistentContext('', {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...(options.args ?? [])],
    baseURL: baseUrl,
  });
  // A persistent context opens with one blank tab: reuse it for the first page.
  let blank: Page | undefined = context.pages()[0];
  return {
    context,
    baseUrl,
    async newPage(path = HARNESS) {
      const page = blank ?? (await context.newPage());
      blank = undefined;
      watch(page);
      await page.goto(path);
      await ready(page);
      return page;
    },
    async reload(page) {
      await page.reload();
      await ready(page);
    },
    async screenshots(name) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').slice(0, 100);
      const pages = context.pages().filter((p) => p.url() !== 'about:blank');
      await Promise.all(pages.map((p, i) => p.screenshot({ path: `${root}test-results/browser/${slug}-${i + 1}.png` }).catch(() => {})));
    },
    close: () => context.close(),
  };
}

/**
 * `test` with a `browser` fixture: a fresh Chromium per test, screenshots into test-results/
 * when the test fails, closed afterwards.
 */
export const test = base.extend<{ browser: Browser }>({
  browser: async ({ task }, use) => {
    const browser = await launch();
    try {
      await use(browser);
    } finally {
      if (task.result?.state === 'fail') await browser.screenshots(`${task.file.name.split('/').pop()}-${task.name}`);
      await browser.close();
    }
  },
});
