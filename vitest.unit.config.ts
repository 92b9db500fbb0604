import { defineConfig } from 'vitest/config';

// Pure-logic tests that sit beside the code they test, run in Node.
export default defineConfig({
  test: { include: ['shared/**/*.test.ts', 'worker/**/*.test.ts', 'web/**/*.test.ts'] },
});
