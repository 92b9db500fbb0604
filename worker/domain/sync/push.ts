import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { MutationResult, PushRequest, PushResponse, WireMutation } from '../../../shared/sync.ts';
import { mutationArgs } from '../../../shared/sync.ts';
import { parseWith } from '../../../shared/validate.ts';
import { checkClock } from '../../clock.ts';
import type { Caller } from '../../env.ts';
import { appliers, type Ctx } from './appliers.ts';
import { countedDb, FINISH, isSeqTakenError, MutationDb, OutOfBudget, QueryBudget, SeqTaken, seqRecord } from './budget.ts';
import { RowCache } from './cache.ts';
import { Alone, FlushFirst, planStep, rejection, Run, type RunCtx } from './runs.ts';
import type { Outcome } from './outcomes.ts';

/** The client a push is from, as the seq record names it. */
export interface Pusher {
  namespace: string;
  clientId: string;
  tokenId: string | null;
}

interface ClientRow {
  token_id: string | null;
  last_seq: number;
}

/**
 * Applies a push (DESIGN §6): each new mutation once, in order, its writes and the client's
 * seq record in one batch under a compare-and-set (budget.ts `seqRecord`); consecutive
 * mutations share that batch and that seq record (runs.ts), each answered on its own. Mutations at or
 * below `last_seq` were applied before: they get the answer they got then. Answers the client
 * acknowledged (`afterSeq`) are dropped.
 *
 * Production limits: the push spends at most `budget` D1 queries and stops before the mutation
 * that would pass it, answering `complete: false` with the answers of the prefix it handled;
 * the client sends the rest. It also stops early when another push of this client took a seq.
 */
export async function push(db: D1Database, caller: Caller, namespace: string, body: PushRequest, budget = new QueryBudget()): Promise<PushResponse> {
  const counted = countedDb(db, budget);
  const who: Pusher = { namespace, clientId: body.clientId, tokenId: caller.tokenId };
  const [found] = await counted.batch<ClientRow>([
    db.prepare('SELECT token_id, last_seq FROM sync_clients WHERE namespace = ? AND client_id = ?').bind(namespace, body.clientId),
    // The client has the answers up to `afterSeq` (it only says so once it has them), so their
    // stored copies go; only for the client's own token, and never past what was applied.
    db
      .prepare(
        `DELETE FROM sync_results WHERE namespace = ?1 AND client_id = ?2 AND seq <= ?3 AND EXISTS (
           SELECT 1 FROM sync_clients WHERE namespace = ?1 AND client_id = ?2 AND token_id IS ?4 AND last_seq >= ?3)`,
      )
      .bind(namespace, body.clientId, body.afterSeq, caller.tokenId),
  ]);
  const client = found?.results[0];
  if (client && client.token_id !== caller.tokenId) {
    throw new HangarError(ErrorCode.ClientMismatch, 'This client id is used by another token; a new token starts a new client id.', { clientId: body.clientId });
  }
  let last = client?.last_seq ?? 0;
  if (body.afterSeq > last) {
    throw new HangarError(
      ErrorCode.SequenceGap,
      `The client says the server applied its mutations up to ${body.afterSeq}, but the server has them up to ${last}.`,
      { afterSeq: body.afterSeq, lastMutationSeq: last },
    );
  }
  const replays = body.mutations.filter((m) => m.seq <= last);
  const results = await replayed(counted, who, replays);
  const fresh = body.mutations.filter((m) => m.seq > last);
  // Reads keep in hand what the run being built needs to commit (runs.ts), or what one
  // mutation applied alone needs to finish.
  let run: Run | undefined;
  const reads = countedDb(db, budget, undefined, () => budget.take(1, run ? run.need() + FINISH : FINISH));
  const cache = new RowCache(reads, namespace);
  const done = (r: MutationResult) => {
    results.push(r);
    last = r.seq;
  };
  try {
    for (let i = 0; i < fresh.length; ) {
      i = await applyRun(db, reads, budget, cache, who, fresh, i, done, (r) => (run = r));
    }
  } catch (err) {
    if (err instanceof SeqTaken) return afterTaken(db, who, body, results);
    if (!(err instanceof OutOfBudget)) throw err;
  }
  const complete = results.length === body.mutations.length;
  return { results, lastMutationSeq: last, complete, serverTime: Date.now() };
}

/**
 * Applies the run of mutations starting at `fresh[i]` (runs.ts): as many as plan into one
 * batch within the budget, or the first alone when it is not for a run. Answers through `done`,
 * in order, and returns the index of the next mutation; throws `OutOfBudget` when the budget
 * is spent (after committing what fitted) and `SeqTaken` when another push took a seq.
 */
async function applyRun(
  db: D1Database,
  reads: D1Database,
  budget: QueryBudget,
  cache: RowCache,
  who: Pusher,
  fresh: WireMutation[],
  i: number,
  done: (r: MutationResult) => void,
  building: (run: Run | undefined) => void,
): Promise<number> {
  const run = new Run(db, who);
  building(run);
  await cache.prefetch(fresh.slice(i));
  let alone = false;
  let stop: OutOfBudget | undefined;
  let j = i;
  for (; j < fresh.length; j++) {
    const m = fresh[j]!;
    const ctx: RunCtx = { db, cache, run, namespace: who.namespace, hlc: m.hlc, tokenId: who.tokenId };
    let step;
    try {
      step = await planStep(ctx, m);
    } catch (err) {
      if (err instanceof Alone || err instanceof FlushFirst) {
        alone = run.empty;
        break;
      }
      if (err instanceof OutOfBudget) {
        stop = err;
        break;
      }
      if (!(err instanceof HangarError)) throw err;
      step = rejection(err);
    }
    if (!budget.fits(run.need() + run.cost(step))) {
      if (run.empty) stop = new OutOfBudget();
      break;
    }
    run.add(m, step);
  }
  if (!run.empty) {
    const answers = await run.commit(budget, cache);
    building(undefined);
    if (answers) answers.forEach(done);
    else {
      // A constraint refused the batch (another writer got there first): nothing of it was
      // written, so its mutations are applied one at a time, each answering its own race.
      cache.forget();
      cache.forgetWrites();
      for (const p of run.planned) {
        done(await applyOne(db, budget, cache, who, p.m));
        cache.forgetWrites();
      }
    }
  }
  building(undefined);
  if (stop) throw stop;
  if (alone) {
    done(await applyOne(db, budget, cache, who, fresh[j]!));
    // What it changed besides models and versions (aliases, artifacts) is read again.
    cache.forgetWrites();
    return j + 1;
  }
  return j;
}

/**
 * Another push of this client applied a seq this one was about to apply (a tab handover, a
 * retry that overtook its original). Nothing of ours was written for it; answer what the other
 * push stored for the seqs it has applied, stop there, and let the client send the rest.
 */
async function afterTaken(db: D1Database, who: Pusher, body: PushRequest, ours: MutationResult[]): Promise<PushResponse> {
  const row = await db.prepare('SELECT last_seq FROM sync_clients WHERE namespace = ? AND client_id = ?').bind(who.namespace, who.clientId).first<ClientRow>();
  const last = row?.last_seq ?? 0;
  const handled = new Set(ours.map((r) => r.seq));
  const theirs = await replayed(db, who, body.mutations.filter((m) => !handled.has(m.seq) && m.seq <= last));
  const results = [...ours, ...theirs].sort((a, b) => a.seq - b.seq);
  return { results, lastMutationSeq: last, complete: results.length === body.mutations.length, serverTime: Date.now() };
}

/** The answers of mutations applied before: what was stored for them, else `applied`. */
async function replayed(db: D1Database, who: Pusher, mutations: WireMutation[]): Promise<MutationResult[]> {
  if (!mutations.length) return [];
  const { results } = await db
    .prepare('SELECT seq, result FROM sync_results WHERE namespace = ? AND client_id = ? AND seq IN (SELECT value FROM json_each(?))')
    .bind(who.namespace, who.clientId, JSON.stringify(mutations.map((m) => m.seq)))
    .all<{ seq: number; result: string }>();
  const stored = new Map(results.map((r) => [r.seq, JSON.parse(r.result) as MutationResult]));
  return mutations.map((m) => stored.get(m.seq) ?? { seq: m.seq, status: 'applied' });
}

/** Stores a non-`applied` answer so a retried push gets the same one. */
export const storeResult = (db: D1Database, who: Pusher, r: MutationResult) =>
  db.prepare('INSERT OR REPLACE INTO sync_results (namespace, client_id, seq, result) VALUES (?, ?, ?, ?)').bind(who.namespace, who.clientId, r.seq, JSON.stringify(r));

/**
 * Applies one mutation: its writes, its seq record and (unless `applied`) its answer in one
 * batch. (The benchmark's peer applies every mutation this way, with no run and no cache.)
 */
export async function applyOne(db: D1Database, budget: QueryBudget, cache: RowCache, who: Pusher, m: WireMutation): Promise<MutationResult> {
  const seqWrite = seqRecord(db, who, m.seq, m.seq);
  const mdb = new MutationDb(db, budget, m.seq, seqWrite);
  let stored = false;
  const ctx: Ctx = {
    db: mdb.db,
    cache,
    namespace: who.namespace,
    hlc: m.hlc,
    tokenId: who.tokenId,
    willConflict(outcome: Outcome) {
      if (!mdb.committed && outcome.status === 'conflict') {
        mdb.extra.push(storeResult(db, who, { seq: m.seq, ...outcome }));
        stored = true;
      }
    },
    alsoWrite(statement) {
      if (!mdb.committed) mdb.extra.push(statement);
    },
  };
  let result: MutationResult;
  try {
    checkClock(m.hlc);
    const args = parseWith(mutationArgs[m.name], m.args, `${m.name} arguments`);
    const outcome = await (appliers[m.name] as (ctx: Ctx, args: unknown) => Promise<Outcome>)(ctx, args);
    result = { seq: m.seq, ...outcome };
  } catch (err) {
    if (!(err instanceof HangarError)) throw err;
    result = { seq: m.seq, status: 'rejected', error: err.toJSON().error };
  }
  const answer = result.status !== 'applied' && !stored ? [storeResult(db, who, result)] : [];
  if (!mdb.committed) {
    // Nothing written yet (a rejection, a conflict found by reading, a no-op): the seq record
    // and the answer alone, still under the compare-and-set. budget.ts keeps room for these two.
    const rest = [seqWrite, ...answer];
    budget.take(rest.length);
    try {
      await db.batch(rest);
    } catch (err) {
      throw isSeqTakenError(err) ? new SeqTaken(m.seq) : err;
    }
  } else if (answer.length) {
    // A conflict found after the writes committed (an alias moved between read and write): the
    // seq is already ours, so storing its answer cannot apply anything twice.
    budget.spend(1);
    await db.batch(answer);
  }
  return result;
}
