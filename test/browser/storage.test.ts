import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';

const MiB = 1024 * 1024;

// Deleting gives the space back (DESIGN §3b): the blobs and chunks of a deleted model go as
// soon as the delete commits, and the browser's own count of the site's storage drops.
describe('storage given back', () => {
  test('deleting a model with a large artifact drops navigator.storage.estimate() by about its size', async ({ browser }) => {
    const page = await browser.newPage();
    const size = 48 * MiB;
    const result = await page.evaluate(async (size) => {
      const usage = async () => (await navigator.storage.estimate()).usage ?? 0;
      const hangar = await window.openRegistry({ name: 'estimate', persist: false });
      const keep = await (await hangar.newModel({ namespace: 'team', name: 'keep' })).newVersion();
      await keep.uploadArtifacts([{ file: new Blob([window.randomBytes(1 << 20)]), path: 'small.bin' }]);
      const model = await hangar.newModel({ namespace: 'team', name: 'big' });
      const v = await model.newVersion();
      await v.uploadArtifacts([{ file: new Blob([window.randomBytes(size)]), path: 'weights.bin' }]);
      const before = await usage();
      await model.delete();
      const counts = { blobs: await hangar.db.blobs.count(), chunks: await hangar.db.blobChunks.count() };
      // Chromium deletes the blob files once the transaction commits and updates its count
      // right after: wait for that (the test's own timeout bounds the wait).
      let after = await usage();
      while (before - after < size * 0.99) {
        await new Promise((r) => setTimeout(r, 50));
        after = await usage();
      }
      const kept = (await keep.readArtifact('small.bin')).size;
      return { before, after, counts, kept };
    }, size);
    expect(result.counts).toEqual({ blobs: 1, chunks: 1 });
    expect(result.kept).toBe(1 << 20);
    expect(result.before - result.after).toBeGreaterThanOrEqual(size * 0.99);
    expectNoPageErrors(page);
  });
});
