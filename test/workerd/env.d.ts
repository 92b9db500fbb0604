// Bindings the test config adds on top of the Worker's own (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    /** An empty database, for upgrade tests that apply the migrations step by step. */
    UPGRADE_DB: D1Database;
    /** A limiter of 3 requests a minute, to put in place of the Worker's in rate-limit tests. */
    TIGHT_RATE_LIMIT: RateLimit;
  }
}
