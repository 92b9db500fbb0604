import { defineConfig } from 'vitest/config';

// Tabular training on messy data, in Node on tfjs's cpu backend (the same module code the trainer
// worker runs), only through `npm run bench -- tabular` (bench/run.mjs).
export default defineConfig({
  test: {
    name: 'bench-tabular',
    root: new URL('../..', import.meta.url).pathname,
    include: ['bench/tabular/**/*.bench-test.ts'],
    fileParallelism: false,
    testTimeout: 1_800_000,
  },
});
