import { defineConfig } from 'vitest/config';

// The fault campaign's trials: the client library in Node (IndexedDB from fake-indexeddb)
// against the real Worker under `wrangler dev` on local D1 and R2. Run by test/soak/run.mjs.
export default defineConfig({
  test: {
    name: 'soak-trials',
    root: new URL('../../..', import.meta.url).pathname,
    include: ['test/soak/trials/**/*.test.ts'],
    setupFiles: ['fake-indexeddb/auto'],
    fileParallelism: false,
    testTimeout: 24 * 3600_000,
    hookTimeout: 180_000,
  },
});
