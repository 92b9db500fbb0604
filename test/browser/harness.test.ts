// The harness's own tests: what every browser test relies on works in this Chromium. They run
// on a page with Dexie alone, so they hold whatever state the client library is in.
import { describe, expect } from 'vitest';
import { DEXIE_PAGE, expectNoPageErrors, HARNESS, overrideQuota, test } from './browser.ts';

const MiB = 2 ** 20;

declare global {
  interface Window {
    seen?: Promise<number>;
  }
}

describe('the browser harness', () => {
  test('stores rows in the page’s IndexedDB and reads them back', async ({ browser }) => {
    const page = await browser.newPage(DEXIE_PAGE);
    const count = await page.evaluate(async () => {
      const db = new window.Dexie('notes');
      db.version(1).stores({ notes: 'id' });
      await db.table('notes').bulkPut(Array.from({ length: 100 }, (_, id) => ({ id, text: `note ${id}` })));
      return db.table('notes').count();
    });
    expect(count).toBe(100);
    expectNoPageErrors(page);
  });

  test('keeps IndexedDB data across a reload', async ({ browser }) => {
    const page = await browser.newPage(DEXIE_PAGE);
    await page.evaluate(async () => {
      const db = new window.Dexie('notes');
      db.version(1).stores({ notes: 'id' });
      await db.table('notes').put({ id: 1, text: 'kept' });
    });
    await browser.reload(page);
    const note = await page.evaluate(async () => {
      const db = new window.Dexie('notes');
      db.version(1).stores({ notes: 'id' });
      return db.table('notes').get(1);
    });
    expect(note).toEqual({ id: 1, text: 'kept' });
    expectNoPageErrors(page);
  });

  test('shows each tab the other tab’s IndexedDB writes, live queries included', async ({ browser }) => {
    const writer = await browser.newPage(DEXIE_PAGE);
    const reader = await browser.newPage(DEXIE_PAGE);
    const put = (id: number) =>
      writer.evaluate(async (id) => {
        const db = new window.Dexie('notes');
        db.version(1).stores({ notes: 'id' });
        await db.table('notes').put({ id, text: `note ${id}` });
      }, id);
    await put(1);
    expect(
      await reader.evaluate(async () => {
        const db = new window.Dexie('notes');
        db.version(1).stores({ notes: 'id' });
        return db.table('notes').get(1);
      }),
    ).toEqual({ id: 1, text: 'note 1' });

    // Dexie tells other tabs of a commit (over a BroadcastChannel), so a live query in one tab
    // follows writes made in another: what the library's live views rely on.
    await reader.evaluate(() => {
      const db = new window.Dexie('notes');
      db.version(1).stores({ notes: 'id' });
      window.seen = new Promise((resolve) => {
        window.Dexie.liveQuery(() => db.table('notes').count()).subscribe((n) => n === 2 && resolve(n));
      });
    });
    await put(2);
    expect(await reader.evaluate(() => window.seen)).toBe(2);
    expectNoPageErrors(writer);
    expectNoPageErrors(reader);
  });

  test('starts a module Web Worker that reads the page’s IndexedDB and replies', async ({ browser }) => {
    const page = await browser.newPage(DEXIE_PAGE);
    const reply = await page.evaluate(async () => {
      const db = new window.Dexie('notes');
      db.version(1).stores({ notes: 'id' });
      await db.table('notes').bulkPut([{ id: 1 }, { id: 2 }, { id: 3 }]);
      db.close();
      const worker = new Worker('/test/browser/fixtures/echo.worker.ts', { type: 'module' });
      const answer = new Promise((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(`the worker failed: ${e.message}`));
      });
      worker.postMessage({ database: 'notes', table: 'notes' });
      try {
        return await answer;
      } finally {
        worker.terminate();
      }
    });
    expect(reply).toEqual({ count: 3, inWorker: true });
    expectNoPageErrors(page);
  });

  test('fails a write beyond the origin’s quota with QuotaExceededError', async ({ browser }) => {
    const page = await browser.newPage(DEXIE_PAGE);
    expect(await overrideQuota(page, 4 * MiB)).toEqual({ usage: 0, quota: 4 * MiB });

    // Random bytes: Chromium may compress what it stores, and zeros would shrink to nothing.
    const write = (bytes: number) =>
      page.evaluate(async (bytes) => {
        const data = new Uint8Array(bytes);
        for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
        const db = new window.Dexie('files');
        db.version(1).stores({ files: 'path' });
        try {
          await db.table('files').put({ path: `${bytes}.bin`, blob: new Blob([data]) });
          return 'stored';
        } catch (e) {
          // Dexie turns the aborted transaction into an AbortError holding the browser's error.
          const error = e as Error & { inner?: Error };
          return `${error.name} (${error.inner?.name})`;
        } finally {
          db.close();
        }
      }, bytes);

    expect(await write(1 * MiB)).toBe('stored');
    expect(await write(8 * MiB)).toBe('AbortError (QuotaExceededError)');
    // With the override lifted, the same write fits.
    await overrideQuota(page);
    expect(await write(8 * MiB)).toBe('stored');
    expectNoPageErrors(page);
  });

  test('puts the client library on window, or makes openRegistry say why it cannot', async ({ browser }) => {
    const page = await browser.newPage(HARNESS);
    const { library, error } = (await page.evaluate(() => window.harnessReady))!;
    const opened = await page.evaluate(() =>
      window.openRegistry({ name: 'harness' }).then(
        (hangar) => ({ ok: typeof hangar.newModel === 'function' }),
        (e: Error) => ({ ok: false, message: e.message }),
      ),
    );
    if (library) expect(opened).toEqual({ ok: true });
    else expect(opened).toEqual({ ok: false, message: error });
    // A library that fails to load leaves its own errors in the console; a missing one none.
    if (library || error?.includes('does not exist yet')) expectNoPageErrors(page);
  });
});
