import { defineConfig } from 'vitest/config';
import { root, workerdPool } from './pool.ts';

export default defineConfig(async () => ({
  plugins: [await workerdPool()],
  test: {
    root,
    include: ['test/workerd/**/*.test.ts'],
    setupFiles: ['test/workerd/setup.ts'],
    testTimeout: 60_000,
  },
}));
