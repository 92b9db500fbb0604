import { defineConfig } from 'vitest/config';
import { root, workerdPool } from '../../workerd/pool.ts';

// The malformed-input sweep: every route of the real Worker in workerd with real local D1 and
// R2. Counts and the seed come from the environment (test/soak/run.mjs sets them).
export default defineConfig(async () => ({
  plugins: [await workerdPool()],
  test: {
    name: 'soak-sweep',
    root,
    include: ['test/soak/sweep/**/*.test.ts'],
    setupFiles: ['test/workerd/setup.ts'],
    testTimeout: 24 * 3600_000,
    hookTimeout: 120_000,
    provide: {
      sweepRuns: Number(process.env.SOAK_SWEEP_RUNS ?? 200),
      sweepSeed: Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 32)),
      sweepRoute: process.env.SOAK_SWEEP_ROUTE ?? '',
      sweepRouteMs: Number(process.env.SOAK_SWEEP_ROUTE_MS ?? 0),
    },
  },
}));
