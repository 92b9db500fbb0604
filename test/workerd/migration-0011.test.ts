import { applyD1Migrations, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_LIMITS } from '../../shared/webhooks.ts';
import { DAY_MS } from '../../worker/scheduled/budget.ts';
import { runSweeps } from '../../worker/scheduled/index.ts';

// Migration 0011 indexes webhook deliveries by state for the scheduled sweep (DESIGN §3b):
// deliveries written before it keep every field, and the sweep handles them like new ones.

const db = () => env.UPGRADE_DB;

describe('migration 0011: webhook delivery indexes', () => {
  it('keeps existing deliveries, indexes them by state, and the sweep drops the finished ones past retention', async () => {
    await applyD1Migrations(db(), env.TEST_MIGRATIONS.filter((m) => m.name < '0011'));
    const now = Date.now();
    const old = now - (WEBHOOK_LIMITS.retentionDays + 1) * DAY_MS;
    const statuses = ['pending', 'retrying', 'delivered', 'failed'];
    await db().batch(
      statuses.flatMap((status) => [
        db()
          .prepare("INSERT INTO webhook_deliveries (id, webhook_id, namespace, event, payload, status, attempts, next_attempt_at, created_at, updated_at) VALUES (?, 'wh', 'ns', 'model.created', '{}', ?, 1, ?, ?, ?)")
          // The open ones' next attempts are due long after the sweep below: none is late.
          .bind(`msg_${status}`, status, status === 'retrying' || status === 'pending' ? now + DAY_MS : null, old, status === 'pending' ? now : old),
        db().prepare("INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES (?, 1, ?, 200, NULL, 3)").bind(`msg_${status}`, old),
      ]),
    );
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
    const indexes = await db().prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_deliveries' AND name NOT LIKE 'sqlite_%' ORDER BY name").all<{ name: string }>();
    expect(indexes.results.map((r) => r.name)).toEqual(['webhook_deliveries_done', 'webhook_deliveries_open', 'webhook_deliveries_webhook']);
    const rows = () => db().prepare('SELECT id, status, attempts FROM webhook_deliveries ORDER BY id').all().then((r) => r.results);
    expect(await rows()).toEqual(statuses.map((s) => ({ id: `msg_${s}`, status: s, attempts: 1 })).sort((a, b) => a.id.localeCompare(b.id)));

    const report = await runSweeps({ ...env, DB: db() }, now);
    expect(report.webhooks).toEqual({ requeued: 0, deleted: 2 });
    expect(await rows()).toEqual([
      { id: 'msg_pending', status: 'pending', attempts: 1 },
      { id: 'msg_retrying', status: 'retrying', attempts: 1 },
    ]);
    expect((await db().prepare('SELECT delivery_id FROM webhook_attempts ORDER BY delivery_id').all()).results).toEqual([{ delivery_id: 'msg_pending' }, { delivery_id: 'msg_retrying' }]);
  });
});
