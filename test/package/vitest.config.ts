import { defineConfig } from 'vitest/config';

// The npm package as another project gets it: packed, installed from the tarball into fresh
// projects outside the repository, type-checked, built with Vite and run in Chromium.
export default defineConfig({
  test: {
    name: 'package',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/package/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
});
