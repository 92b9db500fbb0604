import { defineConfig } from 'vitest/config';
import { root, workerdPool } from '../../test/workerd/pool.ts';

// Benchmarks that run in workerd against real (local) D1, like the workerd tests, but only
// through `npm run bench` (bench/run.mjs): `npm test` never picks up `*.bench-test.ts`.
export default defineConfig(async () => ({
  plugins: [await workerdPool()],
  test: {
    root,
    include: ['bench/workerd/**/*.bench-test.ts'],
    setupFiles: ['test/workerd/setup.ts'],
    // One file at a time, so benchmarks never compete for the machine's cores.
    fileParallelism: false,
    testTimeout: 600_000,
  },
}));
