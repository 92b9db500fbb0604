import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';

/** The repository's root. */
export const root = path.resolve(import.meta.dirname, '../..');

/**
 * The workerd pool that runs the Worker from wrangler.toml with real local D1 and R2, the
 * migrations bound for `setup.ts` to apply, and the admin token the tests use. The workerd
 * tests and the workerd benchmarks share it.
 */
export async function workerdPool() {
  return cloudflareTest({
    wrangler: { configPath: path.join(root, 'wrangler.toml') },
    miniflare: {
      // A second, empty database, for tests that apply the migrations step by step (upgrades).
      d1Databases: { UPGRADE_DB: 'upgrade-db' },
      bindings: {
        TEST_MIGRATIONS: await readD1Migrations(path.join(root, 'worker/migrations')),
        HANGAR_ADMIN_TOKEN: 'hgr_test_admin_token',
      },
    },
  });
}
