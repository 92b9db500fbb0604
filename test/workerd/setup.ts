import { applyD1Migrations, env } from 'cloudflare:test';
import { afterEach } from 'vitest';
import { takeBreaches } from './d1-limits.ts';

// Setup files run outside per-file storage isolation and may run more than once;
// applyD1Migrations only applies what is not applied yet.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// A production D1 limit breached anywhere in a test fails it, even when the Worker caught the
// error and answered 500 (see ./d1-limits.ts).
afterEach(() => {
  const breaches = takeBreaches();
  if (breaches.length) throw new Error(`${breaches.length} production D1 limit breach(es):\n${breaches.join('\n')}`);
});
