// Bindings the test config adds on top of the Worker's own (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    /** An empty database, for upgrade tests that apply the migrations step by step. */
    UPGRADE_DB: D1Database;
  }
}
