import { isHlcWithinDrift } from '../../../shared/hlc.ts';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { Change, PullResponse } from '../../../shared/sync.ts';
import { applyChanges, applyTables, pendingOf, renumberProvisional } from './apply.ts';
import { learnOffset } from './clock.ts';
import { bootstrapNamespace } from './snapshot.ts';
import type { Carried } from './live.ts';
import type { RoundEnv } from './push.ts';
import { assertServer, clientIdOf, nsKey, nsState } from './state.ts';

/**
 * Pulls a namespace's change log page by page and applies each with the pending local writes
 * kept on top, in one transaction with the new cursor. The clock takes in the latest pulled
 * clock through the bounded `receive`: one far ahead is never adopted.
 */
export async function pullNamespace(env: RoundEnv, ns: string): Promise<void> {
  const { ctx, http } = env;
  const { db } = ctx;
  const clientId = await clientIdOf(db);
  // Nothing pulled here yet, or a bootstrap cut short: the snapshot first (sync/snapshot.ts).
  let bootstrapped = false;
  const start = await nsState(db, ns);
  if (start.bootstrap || (start.cursor === 0 && !start.bootstrapped)) {
    try {
      await bootstrapNamespace(env, ns);
    } catch (err) {
      // A server from before snapshots (no such route): replay its log from the start instead.
      if (!(err instanceof HangarError && err.code === ErrorCode.RouteNotFound)) throw err;
    }
    bootstrapped = true;
  }
  for (;;) {
    const state = await nsState(db, ns);
    let page: PullResponse;
    const sentAt = env.ctx.writer.deviceNow();
    try {
      page = await http.pull(ns, { clientId, cursor: state.cursor });
    } catch (err) {
      // The log no longer reaches this cursor (compacted): bootstrap again, then pull from there.
      if (err instanceof HangarError && err.code === ErrorCode.SnapshotRequired && !bootstrapped) {
        await bootstrapNamespace(env, ns);
        bootstrapped = true;
        continue;
      }
      // The server's log is shorter than what was pulled (restored from an older state):
      // pull it again from the start; what is here already merges as the same data.
      if (!(err instanceof HangarError && err.code === ErrorCode.CursorAhead && state.cursor > 0)) throw err;
      await db.state.put({ key: nsKey(ns), value: { ...state, cursor: 0 } });
      continue;
    }
    await learnOffset(ctx, page.serverTime, sentAt, ctx.writer.deviceNow());
    await applyPage(env, ns, page);
    if (!page.more) return;
  }
}

/**
 * Applies the rows a live poke carried (shared/live.ts `Poke`) as the page a pull would have
 * answered: the changes after this device's cursor, when that cursor is within [`from`,
 * `cursor`), so the cursor moves only over rows it has. True when applied (the cursor is at the
 * poke's); false when a pull is needed instead: a gap (the cursor below `from`), nothing pulled
 * here yet or a bootstrap under way, or the cursor moved meanwhile.
 */
export async function applyPoked(env: RoundEnv, ns: string, cursor: number, carried: Carried): Promise<boolean> {
  const state = await nsState(env.ctx.db, ns);
  if (state.bootstrap || (state.cursor === 0 && !state.bootstrapped)) return false;
  if (state.cursor >= cursor) return true;
  if (state.cursor < carried.from) return false;
  const page = {
    changes: carried.changes.filter((c) => c.seq > state.cursor),
    cursor,
    // A poke says nothing of this device's own seqs: the outbox keeps what it holds until a push or pull says more.
    lastMutationSeq: 0,
  };
  return applyPage(env, ns, page, state.cursor);
}

/**
 * One page in one transaction: acknowledged outbox entries leave, the changes apply with the
 * pending writes kept on top, and the cursor moves to the page's. With `expectCursor`, nothing
 * is written (false) unless the stored cursor is still that one.
 */
async function applyPage(env: RoundEnv, ns: string, page: Pick<PullResponse, 'changes' | 'cursor' | 'lastMutationSeq'>, expectCursor?: number): Promise<boolean> {
  const { ctx, http } = env;
  const { db } = ctx;
  return db.transaction('rw', [...applyTables(db), db.outbox, db.state], async () => {
    await assertServer(db, http.remote);
    if (expectCursor !== undefined && (await nsState(db, ns)).cursor !== expectCursor) return false;
    // Entries the server has applied leave the outbox; the rest stay on top of what is pulled.
    await db.outbox
      .where('namespace')
      .equals(ns)
      .filter((m) => m.seq! <= page.lastMutationSeq)
      .delete();
    const pending = pendingOf(await db.outbox.where('namespace').equals(ns).toArray());
    const touched = await applyChanges(db, ns, page.changes, pending);
    await renumberProvisional(db, touched);
    const latest = latestWithinDrift(page.changes, ctx.writer.clock.wall());
    if (latest) ctx.writer.clock.receive(latest);
    const fresh = await nsState(db, ns);
    await db.state.put({ key: nsKey(ns), value: { ...fresh, cursor: page.cursor, afterSeq: Math.max(fresh.afterSeq, page.lastMutationSeq) } });
    return true;
  });
}

/** The latest clock of a page that the clock may take in (a far-ahead one is skipped, not adopted). */
function latestWithinDrift(changes: Change[], now: number): string {
  let max = '';
  for (const c of changes) if (c.hlc > max && isHlcWithinDrift(c.hlc, now)) max = c.hlc;
  return max;
}
