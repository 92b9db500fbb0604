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
        // Local development and the tests allow webhook receivers on loopback (DESIGN §4).
        WEBHOOK_PRIVATE_ADDRESSES: 'allow',
      },
      // The suites send thousands of requests a second with one token: the Worker's limiters
      // are lifted here, and the rate-limit tests use the tight one below in their place.
      ratelimits: {
        TOKEN_RATE_LIMIT: { simple: { limit: 1_000_000_000, period: 10 } },
        ADDRESS_RATE_LIMIT: { simple: { limit: 1_000_000_000, period: 10 } },
        TIGHT_RATE_LIMIT: { simple: { limit: 3, period: 60 } },
      },
    },
  });
}
