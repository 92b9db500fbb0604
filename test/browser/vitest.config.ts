import { defineConfig } from 'vitest/config';

// Tests that run in Node and drive real Chromium (playwright-core) against pages a Vite dev
// server compiles from the repository: real IndexedDB, Web Workers and service workers.
export default defineConfig({
  test: {
    name: 'browser',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/browser/global-setup.ts'],
    // One file at a time: every file starts its own Chromium, and the machine has two cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
