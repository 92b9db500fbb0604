import { utf8Length } from '../../../shared/encoding.ts';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import type { MutationName, PushRequest, PushResponse } from '../../../shared/sync.ts';
import type { ClientContext } from '../context.ts';
import type { OutboxRecord } from '../db.ts';
import { learnOffset } from './clock.ts';
import type { SyncHttp } from './http.ts';
import { reseedNamespace } from './reseed.ts';
import { recordConflict, settle, settleTables } from './settle.ts';
import { assertServer, clientIdOf, ERROR, nsKey, nsState } from './state.ts';

/** Body bytes a push stays under, leaving room for the envelope. */
export const PUSH_BYTES = LIMITS.jsonBodyBytes - 16 * 1024;
/** What a mutation adds to a push besides its args (seq, name, clock, punctuation). */
const ENVELOPE_BYTES = 128;

export const mutationBytes = (m: Pick<OutboxRecord, 'args'>) => utf8Length(JSON.stringify(m.args)) + ENVELOPE_BYTES;

/** What pushing and pulling one namespace need. */
export interface RoundEnv {
  ctx: ClientContext;
  http: SyncHttp;
  /** Makes a fresh client id (the server forgot this one). */
  newClient(): Promise<void>;
}

/**
 * Pushes a namespace's outbox in order, in batches within the body limit; re-seeds first when
 * the server lacks what this device holds. A 413 halves the batch; a mutation too large alone is
 * refused here (`payload-too-large`, into conflicts) so it never wedges the outbox. A push the
 * server stopped early (`complete: false`) is followed at once by the rest.
 */
export async function pushNamespace(env: RoundEnv, ns: string): Promise<void> {
  const { db } = env.ctx;
  let maxBatch: number = LIMITS.mutationsPerPush;
  let reseeded = false;
  for (;;) {
    if ((await nsState(db, ns)).reseed) {
      // At most once per push: if the server still lacks the data after, the refusals stay visible.
      if (reseeded) await db.state.put({ key: nsKey(ns), value: { ...(await nsState(db, ns)), reseed: false } });
      else await reseedNamespace(env.ctx, ns);
      reseeded = true;
    }
    const pending = await db.outbox.where('namespace').equals(ns).limit(maxBatch).toArray();
    if (!pending.length) return;
    const batch: OutboxRecord[] = [];
    let bytes = 0;
    for (const m of pending) {
      bytes += mutationBytes(m);
      if (batch.length && bytes > PUSH_BYTES) break;
      batch.push(m);
    }
    if (batch.length === 1 && mutationBytes(batch[0]!) > PUSH_BYTES) {
      await refuseTooLarge(env.ctx, ns, batch[0]!);
      continue;
    }
    const state = await nsState(db, ns);
    const body: PushRequest = {
      clientId: await clientIdOf(db),
      afterSeq: Math.min(state.afterSeq, batch[0]!.seq! - 1),
      mutations: batch.map((m) => ({ seq: m.seq!, name: m.name as MutationName, args: m.args, hlc: m.hlc })),
    };
    let res: PushResponse;
    // What is in the outbox belongs to the server configured now: never send it to another.
    await assertServer(db, env.http.remote);
    const sentAt = env.ctx.writer.deviceNow();
    try {
      res = await env.http.push(ns, body);
    } catch (err) {
      if (err instanceof HangarError && err.code === ErrorCode.PayloadTooLarge) {
        // Too large for the server as sent: send fewer; one alone is refused here.
        if (batch.length === 1) await refuseTooLarge(env.ctx, ns, batch[0]!);
        else maxBatch = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      if (await recover(env, ns, err)) continue;
      throw err;
    }
    await learnOffset(env.ctx, res.serverTime, sentAt, env.ctx.writer.deviceNow());
    // An async scope: Dexie keeps the transaction open across native awaits only inside one.
    await db.transaction('rw', settleTables(db), async () => {
      await assertServer(db, env.http.remote);
      await settle(db, ns, batch, res.results, res.lastMutationSeq);
    });
    // A smaller batch went through: try the full size again.
    if (res.complete !== false) maxBatch = LIMITS.mutationsPerPush;
  }
}

/** A mutation no server can take (its body alone is over the limit): a conflict, not a stuck outbox. */
async function refuseTooLarge(ctx: ClientContext, ns: string, m: OutboxRecord): Promise<void> {
  const { db } = ctx;
  const error = {
    code: ErrorCode.PayloadTooLarge,
    message: `This change is too large to sync (over ${LIMITS.jsonBodyBytes} bytes in one request).`,
    details: { bytes: mutationBytes(m), limit: LIMITS.jsonBodyBytes },
  };
  await db.transaction('rw', settleTables(db), async () => {
    await db.outbox.delete(m.seq!);
    await recordConflict(db, ns, m, { seq: m.seq!, status: 'rejected', error });
  });
}

/** After a refused push: true when the engine fixed its state and the push can be sent again. */
async function recover(env: RoundEnv, ns: string, err: unknown): Promise<boolean> {
  if (!(err instanceof HangarError)) return false;
  const { db } = env.ctx;
  if (err.code === ErrorCode.ClientMismatch) {
    await env.newClient();
    return true;
  }
  if (err.code === ErrorCode.SequenceGap) {
    // The server has forgotten mutations it once applied (restored from an older state):
    // continue from where it is; the error stays visible.
    const last = Number(err.details?.lastMutationSeq ?? 0);
    const s = await nsState(db, ns);
    await db.state.bulkPut([
      { key: nsKey(ns), value: { ...s, afterSeq: last } },
      { key: ERROR, value: { code: err.code, message: err.message } },
    ]);
    return s.afterSeq !== last;
  }
  return false;
}
