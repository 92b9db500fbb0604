import { applyD1Migrations, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

// Migration 0008 makes the tombstones left before it the namespace's trash (DESIGN §3b): a
// deleted model is an entry with the versions deleted together with it; a version deleted on its
// own (before its model, or of a live model) is an entry of its own.

const db = () => env.UPGRADE_DB;
const before = (n: string) => env.TEST_MIGRATIONS.filter((m) => m.name < n);

describe('migration 0008: the trash and the sweeps', () => {
  it('turns every old tombstone into a trash entry, versions deleted with their model inside its entry', async () => {
    await applyD1Migrations(db(), before('0008'));
    const tables = await db().prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>();
    expect(tables.results.map((t) => t.name)).not.toContain('trash');
    const t0 = 1_700_000_000_000;
    const model = (id: string, deletedAt: number | null) =>
      db().prepare("INSERT INTO models (id, namespace, name, created_at, updated_at, deleted_at) VALUES (?, 'up', ?, ?, ?, ?)").bind(id, id, t0, t0, deletedAt);
    const version = (id: string, modelId: string, number: number, deletedAt: number | null) =>
      db()
        .prepare("INSERT INTO versions (id, namespace, model_id, number, status, created_at, updated_at, deleted_at) VALUES (?, 'up', ?, ?, 'ready', ?, ?, ?)")
        .bind(id, modelId, number, t0, t0, deletedAt);
    await db().batch([
      model('live', null),
      version('live-1', 'live', 1, null),
      version('live-2', 'live', 2, t0 + 10),
      model('gone', t0 + 100),
      version('gone-1', 'gone', 1, t0 + 50),
      version('gone-2', 'gone', 2, t0 + 100),
      version('gone-3', 'gone', 3, t0 + 100),
      db().prepare("INSERT INTO blobs (sha256, size, r2_key, created_at) VALUES (?, 1, 'k', ?)").bind('c'.repeat(64), t0),
    ]);
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
    const { results } = await db().prepare('SELECT id, kind, model_id, deleted_at, token_id, purging FROM trash ORDER BY id').all();
    expect(results).toEqual([
      { id: 'gone', kind: 'model', model_id: 'gone', deleted_at: t0 + 100, token_id: null, purging: 0 },
      { id: 'gone-1', kind: 'version', model_id: 'gone', deleted_at: t0 + 50, token_id: null, purging: 0 },
      { id: 'live-2', kind: 'version', model_id: 'live', deleted_at: t0 + 10, token_id: null, purging: 0 },
    ]);
    // Old blobs are not judged yet: the sweep looks at each before its grace period starts.
    expect(await db().prepare('SELECT unreferenced_since FROM blobs').first('unreferenced_since')).toBeNull();
    for (const table of ['blob_deletions', 'sync_cursors', 'change_log_floors', 'sweep_cursors']) {
      expect(await db().prepare(`SELECT COUNT(*) AS n FROM ${table}`).first('n')).toBe(0);
    }
    await expect(db().prepare("INSERT INTO trash (id, namespace, kind, model_id, deleted_at) VALUES ('x', 'up', 'alias', 'x', 0)").run()).rejects.toThrow(/CHECK/);
  });
});
