import { defineConfig } from 'vitest/config';

// The `hangar` command as users run it: the built dist/cli/hangar.mjs in its own Node process,
// against the real Worker under `wrangler dev` on local D1 and R2.
export default defineConfig({
  test: {
    name: 'cli',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/cli/**/*.test.ts'],
    globalSetup: ['test/cli/global-setup.ts'],
    // Each file starts its own server; the machine has two cores.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
