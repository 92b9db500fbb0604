import { defineConfig } from 'vitest/config';

// Benchmarks that run in real Chromium against pages a Vite dev server compiles as for the
// browser tests (bench/browser/global-setup.ts, after test/browser/global-setup.ts), but only
// through `npm run bench -- browser`.
export default defineConfig({
  test: {
    name: 'bench-browser',
    root: new URL('../..', import.meta.url).pathname,
    include: ['bench/browser/**/*.bench-test.ts'],
    globalSetup: ['bench/browser/global-setup.ts'],
    // One file at a time, so benchmarks never compete for the machine's cores.
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
  },
});
