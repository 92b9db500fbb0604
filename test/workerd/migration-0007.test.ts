import { applyD1Migrations, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

// Migration 0007 adds experiments (models.kind), lineage (versions.source_version_id) and params.
// Rows made under the old schema must come through as registered models and versions without
// lineage, and the new columns must keep their rules.

const db = () => env.UPGRADE_DB;
const before = (n: string) => env.TEST_MIGRATIONS.filter((m) => m.name < n);

describe('migration 0007: experiments, lineage and params', () => {
  it('makes every old model a registered model and every old version one without lineage', async () => {
    await applyD1Migrations(db(), before('0007'));
    const cols = await db().prepare("SELECT name FROM pragma_table_info('models')").all<{ name: string }>();
    expect(cols.results.map((c) => c.name)).not.toContain('kind');
    const now = Date.now();
    await db().batch([
      db().prepare("INSERT INTO models (id, namespace, name, created_at, updated_at) VALUES ('m', 'up', 'churn', ?, ?)").bind(now, now),
      db().prepare("INSERT INTO versions (id, namespace, model_id, number, status, created_at, updated_at) VALUES ('v', 'up', 'm', 1, 'ready', ?, ?)").bind(now, now),
    ]);

    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
    expect(await db().prepare('SELECT id, name, kind FROM models').all().then((r) => r.results)).toEqual([{ id: 'm', name: 'churn', kind: 'model' }]);
    expect(await db().prepare('SELECT id, status, source_version_id FROM versions').all().then((r) => r.results)).toEqual([
      { id: 'v', status: 'ready', source_version_id: null },
    ]);

    // The kind is one of two; a param is one row per (version, key).
    await expect(
      db().prepare("INSERT INTO models (id, namespace, name, kind, created_at, updated_at) VALUES ('x', 'up', 'x', 'run', ?, ?)").bind(now, now).run(),
    ).rejects.toThrow(/CHECK/);
    const param = (value: string) =>
      db().prepare("INSERT INTO params (namespace, parent_id, key, value, num, hlc, updated_at) VALUES ('up', 'v', 'lr', ?, NULL, '0', ?)").bind(value, now);
    await param('0.1').run();
    await expect(param('0.2').run()).rejects.toThrow(/UNIQUE/);
  });
});
