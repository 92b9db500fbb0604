import { applyD1Migrations, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

// Migration 0010 keeps each namespace's usage in a row (quotas, DESIGN §3b); the row of a
// namespace made under the old schema must hold what it uses at the upgrade. Its points are
// counted from the per-key summaries of migration 0009 (which runs first), so the points here
// are written as the schema before 0009 held them, and both migrations carry them over.

const db = () => env.UPGRADE_DB;
const before = (n: string) => env.TEST_MIGRATIONS.filter((m) => m.name < n);

describe('migration 0010: namespace usage', () => {
  it('counts the points, live models and granted blob bytes of every existing namespace, with no quotas', async () => {
    await applyD1Migrations(db(), before('0009'));
    const tables = await db().prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'namespace_usage'").all();
    expect(tables.results).toEqual([]);
    const now = Date.now();
    const model = (id: string, ns: string, deleted: number | null) =>
      db().prepare('INSERT INTO models (id, namespace, name, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?)').bind(id, ns, id, now, now, deleted);
    const point = (id: string, ns: string, parent: string, key = 'loss') =>
      db().prepare('INSERT INTO metrics (id, namespace, parent_id, key, value, step, wallclock) VALUES (?, ?, ?, ?, 1, 0, ?)').bind(id, ns, parent, key, now);
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
      // Two keys of one parent: two summary rows after 0009.
      point('p5', 'two', 'c', 'acc'),
      point('p6', 'two', 'c', 'acc'),
      blob('x'.repeat(64), 100),
      blob('y'.repeat(64), 20),
      grant('one', 'x'.repeat(64)),
      grant('one', 'y'.repeat(64)),
      grant('two', 'x'.repeat(64)),
    ]);
    // 0009 moves the points into series and segments and drops the old table.
    await applyD1Migrations(db(), before('0010'));
    expect(await db().prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'metrics'").first('n')).toBe(0);
    expect((await db().prepare('SELECT namespace, SUM(count) AS n FROM metric_series GROUP BY namespace ORDER BY namespace').all()).results).toEqual([
      { namespace: 'one', n: 3 },
      { namespace: 'two', n: 3 },
    ]);
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
    const { results } = await db()
      .prepare('SELECT namespace, metric_points, models, blob_bytes, quota_metric_points, quota_models, quota_blob_bytes FROM namespace_usage ORDER BY namespace')
      .all();
    expect(results).toEqual([
      { namespace: 'empty', metric_points: 0, models: 0, blob_bytes: 0, quota_metric_points: null, quota_models: null, quota_blob_bytes: null },
      { namespace: 'one', metric_points: 3, models: 2, blob_bytes: 120, quota_metric_points: null, quota_models: null, quota_blob_bytes: null },
      { namespace: 'two', metric_points: 3, models: 1, blob_bytes: 100, quota_metric_points: null, quota_models: null, quota_blob_bytes: null },
    ]);
    // The quotas' checks hold from now on.
    await expect(db().prepare("UPDATE namespace_usage SET quota_models = 1 WHERE namespace = 'one'").run()).rejects.toThrow(/CHECK constraint failed: models_quota/);
  });
});
