import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

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
    include: ['test/workerd/**/*.test.ts'],
    setupFiles: ['test/workerd/setup.ts'],
    testTimeout: 60_000,
  },
}));
