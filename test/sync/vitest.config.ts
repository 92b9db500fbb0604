import { defineConfig } from 'vitest/config';

// The client library's sync engine in Node (IndexedDB from fake-indexeddb) against the real
// Worker under `wrangler dev` on local D1 and R2: several registries, one server.
export default defineConfig({
  test: {
    name: 'sync',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/sync/**/*.test.ts'],
    setupFiles: ['fake-indexeddb/auto'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
