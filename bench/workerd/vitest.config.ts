import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Benchmarks that run in workerd against real (local) D1, like the workerd tests, but only
// through `npm run bench` (bench/run.mjs): `npm test` never picks up `*.bench-test.ts`.
const root = path.resolve(import.meta.dirname, '../..');

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: path.join(root, 'wrangler.toml') },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, 'worker/migrations')),
          HANGAR_ADMIN_TOKEN: 'hgr_test_admin_token',
        },
      },
    }),
  ],
  test: {
    root,
    include: ['bench/workerd/**/*.bench-test.ts'],
    setupFiles: ['test/workerd/setup.ts'],
    // One file at a time, so benchmarks never compete for the machine's cores.
    fileParallelism: false,
    testTimeout: 600_000,
  },
}));
