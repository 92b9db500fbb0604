import { utf8Length } from '../../../shared/encoding.ts';
import { HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { mutationArgs, type MutationResult, type WireMutation } from '../../../shared/sync.ts';
import { parseWith } from '../../../shared/validate.ts';
import { checkClock } from '../../clock.ts';
import { isSeqTakenError, SeqTaken, seqRecord, type QueryBudget } from './budget.ts';
import type { RowCache } from './cache.ts';
import type { Pusher } from './push.ts';

/**
 * Consecutive `metrics.log` mutations are applied together: ONE batch of three statements for
 * the whole run (every point of every mutation, every change-log row, one seq record for the
 * run's seqs under the same compare-and-set as a single mutation's), instead of three
 * statements per mutation. The run commits whole or not at all, so it is as safe as applying
 * its mutations one at a time, and metric logging — most of what a training run pushes —
 * costs a fraction of the production query budget.
 *
 * Each run's points travel as one bound JSON value (and the change-log rows as another, the
 * points as JSON strings in it), which D1 caps at `LIMITS.d1ValueBytes`; the args' bytes bound
 * a run well below that (a stored point, with its defaults and escaping, is under three times
 * the size of the point sent).
 */
const RUN_ARGS_BYTES = Math.floor(LIMITS.d1ValueBytes / 3);

/** The run of `metrics.log` mutations starting at `i` (possibly empty), within the byte cap. */
export function metricRunAt(mutations: WireMutation[], i: number): WireMutation[] {
  const run: WireMutation[] = [];
  let bytes = 0;
  for (let j = i; j < mutations.length && mutations[j]!.name === 'metrics.log'; j++) {
    const size = utf8Length(JSON.stringify(mutations[j]!.args));
    if (run.length && bytes + size > RUN_ARGS_BYTES) break;
    run.push(mutations[j]!);
    bytes += size;
  }
  return run;
}

interface Ready {
  seq: number;
  hlc: string;
  parentId: string;
  points: { id: string; key: string; value: number; step: number; wallclock: number }[];
}

/**
 * Applies the longest prefix of `run` whose mutations are all fine (a clock in bounds, valid
 * args, a live parent) as one batch, and answers them `applied`. Answers nothing when that
 * prefix holds fewer than two: the caller then applies the first mutation alone, which gives
 * a bad one its own answer.
 */
export async function applyMetricRun(db: D1Database, budget: QueryBudget, cache: RowCache, who: Pusher, run: WireMutation[]): Promise<MutationResult[]> {
  if (run.length < 2) return [];
  const ready: Ready[] = [];
  const now = Date.now();
  for (const m of run) {
    try {
      checkClock(m.hlc);
      const args = parseWith(mutationArgs['metrics.log'], m.args, 'metrics.log arguments');
      if ((await cache.parent(args.parentId)) === 'deleted') break;
      const points = args.points.map((p) => ({ id: p.id, key: p.key, value: p.value, step: p.step ?? 0, wallclock: p.wallclock ?? now }));
      ready.push({ seq: m.seq, hlc: m.hlc, parentId: args.parentId, points });
    } catch (err) {
      if (err instanceof HangarError) break;
      throw err;
    }
  }
  if (ready.length < 2) return [];
  const statements = [
    db
      .prepare(
        `INSERT OR IGNORE INTO metrics (id, namespace, parent_id, key, value, step, wallclock)
         SELECT p.value ->> 0, ?1, p.value ->> 5, p.value ->> 1, p.value ->> 2, p.value ->> 3, p.value ->> 4 FROM json_each(?2) p`,
      )
      .bind(who.namespace, JSON.stringify(ready.flatMap((r) => r.points.map((p) => [p.id, p.key, p.value, p.step, p.wallclock, r.parentId])))),
    // The same change-log rows as logMetrics writes one by one: entity `metrics`, op `log`.
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at)
         SELECT ?1, 'metrics', c.value ->> 0, 'log', c.value ->> 1, c.value ->> 2, ?2 FROM json_each(?3) c ORDER BY c.key`,
      )
      .bind(who.namespace, now, JSON.stringify(ready.map((r) => [r.parentId, JSON.stringify({ points: r.points }), r.hlc]))),
    seqRecord(db, who, ready[0]!.seq, ready.at(-1)!.seq),
  ];
  budget.take(statements.length, 1);
  try {
    await db.batch(statements);
  } catch (err) {
    throw isSeqTakenError(err) ? new SeqTaken(ready[0]!.seq) : err;
  }
  return ready.map((r) => ({ seq: r.seq, status: 'applied' }));
}
