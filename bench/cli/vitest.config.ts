import { defineConfig } from 'vitest/config';

// The `hangar` command against the Worker under `wrangler dev` (local D1 and R2), only through
// `npm run bench -- cli` (bench/run.mjs): `npm test` never picks up `*.bench-test.ts`.
export default defineConfig({
  test: {
    name: 'bench-cli',
    root: new URL('../..', import.meta.url).pathname,
    include: ['bench/cli/**/*.bench-test.ts'],
    globalSetup: ['test/cli/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 600_000,
  },
});
