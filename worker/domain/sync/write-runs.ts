import { utf8Length } from '../../../shared/encoding.ts';
import { HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { mutationArgs, type MutationName, type MutationResult, type WireMutation } from '../../../shared/sync.ts';
import { parseWith } from '../../../shared/validate.ts';
import { checkClock } from '../../clock.ts';
import { metadataDeleteWrites, metadataWrites } from '../metadata.ts';
import { modelUpdateWrites } from '../models.ts';
import { isSeqTakenError, OutOfBudget, SeqTaken, seqRecord, type QueryBudget } from './budget.ts';
import type { RowCache } from './cache.ts';
import type { Pusher } from './push.ts';
import { currentActor } from '../../actor.ts';

/**
 * Runs of plain writes. `metrics.log`, `metadata.set`, `metadata.delete` and `model.update`
 * need nothing but their parent's row (cached) to be applied, and their statements cannot fail
 * (clock-guarded upserts and updates, INSERT OR IGNORE, change-log inserts). So consecutive
 * ones are applied together: ONE batch for the run, with ONE seq record for its seqs under the
 * same compare-and-set as a single mutation's, instead of a batch and a seq record each. The
 * run commits whole or not at all, so it is as safe as applying its mutations one at a time.
 *
 * Within a run, consecutive `metrics.log` go further: all their points in one statement and all
 * their change-log rows in another (three statements for any number of them, with the seq
 * record), so metric logging — most of what a training run pushes — costs little of the
 * production query budget. Points travel as one bound JSON value, which D1 caps at
 * `LIMITS.d1ValueBytes`; the args' bytes bound a run well below that (a stored point, with its
 * defaults and escaping, is under three times the size of the point sent).
 */
const RUN_ARGS_BYTES = Math.floor(LIMITS.d1ValueBytes / 3);

const PLAIN: ReadonlySet<MutationName> = new Set(['metrics.log', 'metadata.set', 'metadata.delete', 'model.update']);

/** The run of plain writes starting at `i` (possibly empty), within the byte cap. */
export function writeRunAt(mutations: WireMutation[], i: number): WireMutation[] {
  const run: WireMutation[] = [];
  let bytes = 0;
  for (let j = i; j < mutations.length && PLAIN.has(mutations[j]!.name); j++) {
    const size = utf8Length(JSON.stringify(mutations[j]!.args));
    if (run.length && bytes + size > RUN_ARGS_BYTES) break;
    run.push(mutations[j]!);
    bytes += size;
  }
  return run;
}

type Point = [id: string, key: string, value: number, step: number, wallclock: number, parentId: string];
interface Log {
  parentId: string;
  hlc: string;
  points: Point[];
}

/** What one plain write adds to the run: its metric points, or its statements; `deleted` when its parent is gone. */
async function stepOf(db: D1Database, cache: RowCache, who: Pusher, m: WireMutation, now: number): Promise<{ log: Log } | { writes: D1PreparedStatement[] } | 'deleted'> {
  checkClock(m.hlc);
  if (m.name === 'model.update') {
    const { id, fields } = parseWith(mutationArgs['model.update'], m.args, 'model.update arguments');
    const model = await cache.model(id);
    if (!model || model.deleted_at !== null) return 'deleted';
    return { writes: modelUpdateWrites(db, model, fields, m.hlc) };
  }
  const args = parseWith(mutationArgs[m.name as 'metrics.log' | 'metadata.set' | 'metadata.delete'], m.args, `${m.name} arguments`);
  const parent = await cache.parent(args.parentId);
  if (parent === 'deleted') return 'deleted';
  if ('points' in args) return { log: { parentId: parent.id, hlc: m.hlc, points: args.points.map((p) => [p.id, p.key, p.value, p.step ?? 0, p.wallclock ?? now, parent.id]) } };
  if ('value' in args) return { writes: metadataWrites(db, who.namespace, parent.id, { [args.key]: args.value }, m.hlc) };
  return { writes: metadataDeleteWrites(db, parent, args.key, m.hlc) };
}

/** Statements of consecutive metrics.log mutations: their points, then their change-log rows. */
function metricStatements(db: D1Database, namespace: string, now: number, logs: Log[]) {
  return [
    db
      .prepare(
        `INSERT OR IGNORE INTO metrics (id, namespace, parent_id, key, value, step, wallclock)
         SELECT p.value ->> 0, ?1, p.value ->> 5, p.value ->> 1, p.value ->> 2, p.value ->> 3, p.value ->> 4 FROM json_each(?2) p`,
      )
      .bind(namespace, JSON.stringify(logs.flatMap((l) => l.points))),
    // The same change-log rows as logMetrics writes one by one: entity `metrics`, op `log`.
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
         SELECT ?1, 'metrics', c.value ->> 0, 'log', c.value ->> 1, c.value ->> 2, ?2, ?4, ?5 FROM json_each(?3) c ORDER BY c.key`,
      )
      .bind(
        namespace,
        now,
        JSON.stringify(
          logs.map((l) => {
            const points = l.points.map(([id, key, value, step, wallclock]) => ({ id, key, value, step, wallclock }));
            return [l.parentId, JSON.stringify({ points }), l.hlc];
          }),
        ),
        currentActor().id,
        currentActor().name,
      ),
  ];
}

/**
 * Applies the longest prefix of `run` whose mutations are all fine (a clock in bounds, valid
 * args, a live parent) as one batch, and answers them `applied`. Answers nothing when that
 * prefix holds fewer than two: the caller then applies the first mutation alone, which gives
 * a bad one its own answer.
 */
export async function applyWriteRun(db: D1Database, budget: QueryBudget, cache: RowCache, who: Pusher, run: WireMutation[]): Promise<MutationResult[]> {
  if (run.length < 2) return [];
  const now = Date.now();
  const statements: D1PreparedStatement[] = [];
  let logs: Log[] = [];
  const flushLogs = () => {
    if (logs.length) statements.push(...metricStatements(db, who.namespace, now, logs));
    logs = [];
  };
  const done: WireMutation[] = [];
  for (const m of run) {
    let step: { log: Log } | { writes: D1PreparedStatement[] } | 'deleted';
    try {
      step = await stepOf(db, cache, who, m, now);
    } catch (err) {
      // A bad mutation (or one not found) ends the run; applied alone, it gets its own answer.
      // A read past the budget ends it too: what is done so far may still be written.
      if (err instanceof HangarError || err instanceof OutOfBudget) break;
      throw err;
    }
    if (step === 'deleted') break;
    // The run stops where its batch, with the seq record and one statement in hand, would not
    // fit in the push's budget; what is left goes in the next run or the next push.
    const size = 'log' in step ? statements.length + 2 : statements.length + (logs.length ? 2 : 0) + step.writes.length;
    if (!budget.fits(size + 1, 1)) break;
    if ('log' in step) logs.push(step.log);
    else {
      flushLogs();
      statements.push(...step.writes);
    }
    done.push(m);
  }
  if (done.length < 2) return [];
  flushLogs();
  statements.push(seqRecord(db, who, done[0]!.seq, done.at(-1)!.seq));
  budget.take(statements.length, 1);
  try {
    await db.batch(statements);
  } catch (err) {
    throw isSeqTakenError(err) ? new SeqTaken(done[0]!.seq) : err;
  }
  return done.map((m) => ({ seq: m.seq, status: 'applied' }));
}
