// Upgrade test for migration 0004 (metadata tombstones): rows written under the old schema are
// live keys after it, and the API reads and deletes them as such. This file starts its own
// (per-file isolated) database over: every table dropped, the migrations before 0004 applied.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelId } from '../../shared/ids.ts';
import { call } from './api.ts';

const apply = async (name: string) => {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith(name));
  if (!migration) throw new Error(`no migration ${name}`);
  await env.DB.batch(migration.queries.map((q) => env.DB.prepare(q)));
};

describe('migration 0004 (metadata tombstones)', () => {
  let id = '';

  beforeAll(async () => {
    const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{
      name: string;
    }>();
    await env.DB.batch(results.map((t) => env.DB.prepare(`DROP TABLE "${t.name}"`)));
    for (const name of ['0001', '0002', '0003']) await apply(name);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM pragma_table_info('metadata') WHERE name = 'deleted'").first('n')).toBe(0);
    // Seed under the old schema: a model and two keys, as the old code wrote them.
    id = await modelId('upg', 'old');
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare('INSERT INTO namespaces (name, created_at) VALUES (?, ?)').bind('upg', now),
      env.DB.prepare("INSERT INTO models (id, namespace, name, clocks, created_at, updated_at) VALUES (?, 'upg', 'old', '{}', ?, ?)").bind(id, now, now),
      env.DB.prepare("INSERT INTO metadata (namespace, parent_id, key, value, hlc, updated_at) VALUES ('upg', ?, 'team', '\"growth\"', '000000000000001-000000-dev', ?)").bind(id, now),
      env.DB.prepare("INSERT INTO metadata (namespace, parent_id, key, value, hlc, updated_at) VALUES ('upg', ?, 'lr', '0.1', '000000000000001-000000-dev', ?)").bind(id, now),
    ]);
    await apply('0004');
    // The later migrations too, as a deploy applies them: the API below is today's code.
    for (const m of env.TEST_MIGRATIONS.filter((m) => m.name >= '0005')) await apply(m.name.slice(0, 4));
  });

  it('keeps every old row as a live key', async () => {
    const { results } = await env.DB.prepare('SELECT key, value, hlc, deleted FROM metadata WHERE parent_id = ? ORDER BY key').bind(id).all();
    expect(results).toEqual([
      { key: 'lr', value: '0.1', hlc: '000000000000001-000000-dev', deleted: 0 },
      { key: 'team', value: '"growth"', hlc: '000000000000001-000000-dev', deleted: 0 },
    ]);
    expect((await call('GET', '/namespaces/upg/models/old')).body.metadata).toEqual({ lr: 0.1, team: 'growth' });
    expect((await call('GET', `/namespaces/upg/models?filter=${encodeURIComponent("tags.team = 'growth'")}`)).body.items).toHaveLength(1);
  });

  it('deletes an old key as a tombstone', async () => {
    expect((await call('DELETE', '/namespaces/upg/models/old/metadata/team')).status).toBe(204);
    expect((await call('GET', '/namespaces/upg/models/old/metadata')).body.metadata).toEqual({ lr: 0.1 });
    expect(await env.DB.prepare("SELECT deleted FROM metadata WHERE parent_id = ? AND key = 'team'").bind(id).first('deleted')).toBe(1);
  });
});
