import { applyD1Migrations, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

// Migration 0010 keeps each namespace's usage in a row (quotas, DESIGN §3b); the row of a
// namespace made under the old schema must hold what it uses at the upgrade.

const db = () => env.UPGRADE_DB;
const before = (n: string) => env.TEST_MIGRATIONS.filter((m) => m.name < n);

describe('migration 0010: namespace usage', () => {
  it('counts the points, live models and granted blob bytes of every existing namespace, with no quotas', async () => {
    await applyD1Migrations(db(), before('0010'));
    const tables = await db().prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'namespace_usage'").all();
    expect(tables.results).toEqual([]);
    const now = Date.now();
    const model = (id: string, ns: string, deleted: number | null) =>
      db().prepare('INSERT INTO models (id, namespace, name, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?)').bind(id, ns, id, now, now, deleted);
    const point = (id: string, ns: string, parent: string) =>
      db().prepare("INSERT INTO metrics (id, namespace, parent_id, key, value, step, wallclock) VALUES (?, ?, ?, 'loss', 1, 0, ?)").bind(id, ns, parent, now);
    const blob = (sha: string, size: number) => db().prepare("INSERT INTO blobs (sha256, size, r2_key, created_at) VALUES (?, ?, 'k', ?)").bind(sha, size, now);
    const grant = (ns: string, sha: string) => db().prepare('INSERT INTO blob_grants (namespace, sha256, created_at) VALUES (?, ?, ?)').bind(ns, sha, now);
    await db().batch([
      ...['one', 'two', 'empty'].map((ns) => db().prepare('INSERT INTO namespaces (name, created_at) VALUES (?, ?)').bind(ns, now)),
      model('a', 'one', null),
      model('b', 'one', null),
      model('gone', 'one', now),
      model('c', 'two', null),
      point('p1', 'one', 'a'),
      point('p2', 'one', 'a'),
      // A deleted model's points still take room until purged.
      point('p3', 'one', 'gone'),
      point('p4', 'two', 'c'),
      blob('x'.repeat(64), 100),
      blob('y'.repeat(64), 20),
      grant('one', 'x'.repeat(64)),
      grant('one', 'y'.repeat(64)),
      grant('two', 'x'.repeat(64)),
    ]);
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
    const { results } = await db()
      .prepare('SELECT namespace, metric_points, models, blob_bytes, quota_metric_points, quota_models, quota_blob_bytes FROM namespace_usage ORDER BY namespace')
      .all();
    expect(results).toEqual([
      { namespace: 'empty', metric_points: 0, models: 0, blob_bytes: 0, quota_metric_points: null, quota_models: null, quota_blob_bytes: null },
      { namespace: 'one', metric_points: 3, models: 2, blob_bytes: 120, quota_metric_points: null, quota_models: null, quota_blob_bytes: null },
      { namespace: 'two', metric_points: 1, models: 1, blob_bytes: 100, quota_metric_points: null, quota_models: null, quota_blob_bytes: null },
    ]);
    // The quotas' checks hold from now on.
    await expect(db().prepare("UPDATE namespace_usage SET quota_models = 1 WHERE namespace = 'one'").run()).rejects.toThrow(/CHECK constraint failed: models_quota/);
  });
});
