import { defineConfig } from 'vitest/config';

// Pure-logic tests that sit beside the code they test, run in Node. Some write thousands of
// rows to fake-indexeddb or train a small tfjs model: on a loaded shared machine they need more
// than vitest's default 5 s.
export default defineConfig({
  test: { include: ['shared/**/*.test.ts', 'worker/**/*.test.ts', 'web/**/*.test.ts'], testTimeout: 30_000 },
});
