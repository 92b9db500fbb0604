import { applyD1Migrations, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

// Migration 0005 keeps the status a version's creator declared apart from the one served
// (DESIGN §3a). Rows made under the old schema must serve what they served before.

const db = () => env.UPGRADE_DB;
const before = (n: string) => env.TEST_MIGRATIONS.filter((m) => m.name < n);

async function seedOldSchema() {
  await applyD1Migrations(db(), before('0005'));
  const cols = await db().prepare("SELECT name FROM pragma_table_info('versions')").all<{ name: string }>();
  expect(cols.results.map((c) => c.name)).not.toContain('declared_status');
  const now = Date.now();
  const version = (id: string, number: number, status: string) =>
    db()
      .prepare("INSERT INTO versions (id, namespace, model_id, number, status, created_at, updated_at) VALUES (?, 'up', 'm', ?, ?, ?, ?)")
      .bind(id, number, status, now, now);
  const artifact = (id: string, parent: string, sha256: string) =>
    db()
      .prepare("INSERT INTO artifacts (id, namespace, model_id, parent_id, path, mime_type, file_type, size, sha256, created_at) VALUES (?, 'up', 'm', ?, ?, 'application/octet-stream', 'MODEL', 4, ?, ?)")
      .bind(id, parent, `${id}.bin`, sha256, now);
  const stored = 'a'.repeat(64);
  const missing = 'b'.repeat(64);
  await db().batch([
    db().prepare("INSERT INTO models (id, namespace, name, created_at, updated_at) VALUES ('m', 'up', 'm', ?, ?)").bind(now, now),
    db().prepare("INSERT INTO blobs (sha256, size, r2_key, created_at) VALUES (?, 4, 'k', ?)").bind(stored, now),
    db().prepare("INSERT INTO blob_grants (namespace, sha256, created_at) VALUES ('up', ?, ?)").bind(stored, now),
    version('ready', 1, 'ready'),
    artifact('r1', 'ready', stored),
    version('waiting', 2, 'pending'),
    artifact('w1', 'waiting', missing),
    version('declared', 3, 'pending'),
    artifact('d1', 'declared', stored),
    version('failed', 4, 'failed'),
    artifact('f1', 'failed', missing),
  ]);
}

describe('migration 0005: declared version status', () => {
  it('carries every old row over with the status it served, and the declared status that explains it', async () => {
    await seedOldSchema();
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
    const { results } = await db().prepare('SELECT id, status, declared_status FROM versions ORDER BY number').all();
    expect(results).toEqual([
      { id: 'ready', status: 'ready', declared_status: 'ready' },
      // Pending for its bytes only: it becomes ready when they arrive.
      { id: 'waiting', status: 'pending', declared_status: 'ready' },
      // Pending with nothing missing: only its creator can have held it so.
      { id: 'declared', status: 'pending', declared_status: 'pending' },
      { id: 'failed', status: 'failed', declared_status: 'failed' },
    ]);
    // New rows take the column's default and its check.
    const now = Date.now();
    await expect(
      db().prepare("INSERT INTO versions (id, namespace, model_id, number, status, declared_status, created_at, updated_at) VALUES ('x', 'up', 'm', 5, 'ready', 'done', ?, ?)").bind(now, now).run(),
    ).rejects.toThrow(/CHECK/);
  });
});
