import { applyD1Migrations, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { SweepBudget } from '../../worker/scheduled/budget.ts';
import { mergeSmallSegments } from '../../worker/scheduled/metric-segments.ts';
import { encodeSegment } from '../../worker/db/segment-codec.ts';

// Migration 0012 indexes small metric segments and the change log's metric rows for the sweep's
// merge (DESIGN §3b). Segments and rows written before it are found by the new indexes: the merge
// leaves a parent alone while a metric row names it, and merges it once none does.

const db = () => env.UPGRADE_DB;

describe('migration 0012: indexes for merging small segments', () => {
  it('keeps what was there before, and the merge finds it', async () => {
    await applyD1Migrations(db(), env.TEST_MIGRATIONS.filter((m) => m.name < '0012'));
    const now = Date.now();
    await db().prepare("INSERT INTO metric_series (namespace, parent_id, key, count, min, max, last, first_step, last_step, last_wallclock, last_id) VALUES ('ns', 'p', 'loss', 3, 0, 2, 2, 0, 2, 0, 'c')").run();
    const segment = (id: string, step: number) =>
      db()
        .prepare("INSERT INTO metric_segments (series, id_max, id_min, step_min, step_max, n, min, max, last, last_wallclock, data) SELECT id, ?, ?, ?, ?, 1, ?, ?, ?, 0, ? FROM metric_series WHERE parent_id = 'p'")
        .bind(id, id, step, step, step, step, step, encodeSegment([{ id, step, wallclock: 0, value: step }]));
    await db().batch([
      segment('a', 0),
      segment('b', 1),
      segment('c', 2),
      db().prepare("INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at) VALUES ('ns', 'metrics', 'p', 'log', '{}', 'h', ?)").bind(now),
    ]);
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
    const indexes = await db().prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('metric_segments_small', 'change_log_metrics') ORDER BY name").all<{ name: string }>();
    expect(indexes.results.map((r) => r.name)).toEqual(['change_log_metrics', 'metric_segments_small']);
    const run = () => mergeSmallSegments({ env: { ...env, DB: db() }, now, budget: new SweepBudget(100), limit: 1000 });
    expect(await run()).toEqual({ series: 0, read: 0, written: 0 });
    await db().prepare("DELETE FROM change_log WHERE entity_id = 'p'").run();
    expect(await run()).toEqual({ series: 1, read: 3, written: 1 });
    expect((await db().prepare('SELECT n, id_min, id_max, step_min, step_max FROM metric_segments').all()).results).toEqual([{ n: 3, id_min: 'a', id_max: 'c', step_min: 0, step_max: 2 }]);
  });
});
