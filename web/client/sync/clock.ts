import { formatHlc, parseHlc } from '../../../shared/hlc.ts';
import { LIMITS } from '../../../shared/limits.ts';
import type { ClientContext } from '../context.ts';
import type { Clocks } from '../db.ts';
import { OFFSET } from './state.ts';

/** A correction that moves less than this is kept in memory only (each answer's jitter is not worth a write). */
const PERSIST_STEP_MS = 1000;
/** Milliseconds of rounding either side of a round trip (clocks in whole ms, a server's time frozen per request). */
const SLACK_MS = 5;

/** Registries whose first correction is stored. */
const recorded = new WeakSet<object>();

/** Whether an offset agrees with an answer's time, given when the request left and the answer came. */
const isWithin = (offset: number, serverTime: number, sentAt: number, receivedAt: number) =>
  offset >= serverTime - receivedAt - SLACK_MS && offset <= serverTime - sentAt + SLACK_MS;

/** Loads the stored server correction into the registry's clock (at open, before any write syncs). */
export async function loadOffset(ctx: ClientContext): Promise<void> {
  const stored = (await ctx.db.state.get(OFFSET))?.value;
  if (typeof stored === 'number' && Number.isFinite(stored)) ctx.writer.clock.offsetMs = stored;
}

/**
 * Takes in a correction another tab learned (it leads and syncs; this one only writes). A jump
 * past the allowed drift starts the clock afresh: the leader has moved the stored clocks already.
 */
export function adoptOffset(ctx: ClientContext, offset: number): void {
  const { writer } = ctx;
  if (Math.abs(offset - writer.clock.offsetMs) > LIMITS.maxClockDriftMs) writer.resetClock(offset);
  else writer.clock.offsetMs = offset;
}

/**
 * Learns the server's time from an answer: the device's time when the server answered is taken
 * as the middle of the round trip, and the clock stamps with `device time + offset` from now on.
 * When the correction jumps by more than the allowed drift (a device a day fast or slow, on its
 * first sync), the clocks this device stamped before are moved by the same amount, so its own
 * earlier writes keep their order among everyone's and none is left far in the future; after the
 * first correction, only clocks left far ahead move (the device clock was changed since).
 */
export async function learnOffset(ctx: ClientContext, serverTime: unknown, sentAt: number, receivedAt: number): Promise<void> {
  if (typeof serverTime !== 'number' || !Number.isFinite(serverTime) || receivedAt < sentAt) return;
  const { writer, db } = ctx;
  const before = writer.clock.offsetMs;
  // The first answer is recorded even when it changes nothing: a later jump then reads as the
  // device clock changing, not as clocks stamped before any correction.
  if (!recorded.has(db)) {
    if ((await db.state.get(OFFSET)) === undefined && isWithin(before, serverTime, sentAt, receivedAt)) await db.state.put({ key: OFFSET, value: before });
    recorded.add(db);
  }
  // The answer only says the offset lies between these two (the server answered at some moment
  // of the round trip). A correction already inside them is kept: moving it by the noise of each
  // round trip would reorder writes of devices whose clocks agree.
  if (isWithin(before, serverTime, sentAt, receivedAt)) return;
  const offset = Math.round(serverTime - (sentAt + receivedAt) / 2);
  const delta = offset - before;
  const learnedBefore = (await db.state.get(OFFSET)) !== undefined;
  if (Math.abs(delta) <= LIMITS.maxClockDriftMs) {
    writer.clock.offsetMs = offset;
    if (Math.abs(delta) >= PERSIST_STEP_MS || !learnedBefore) await db.state.put({ key: OFFSET, value: offset });
    return;
  }
  // Before any correction, every clock here was stamped by the raw device clock: all move. Once
  // one was learned, a jump means the device clock itself changed (set right, or wrong): what was
  // stamped before was corrected and stays, except clocks now far ahead, which are surely wrong.
  await shiftOwnClocks(ctx, delta, offset, learnedBefore ? 'far-ahead' : 'all');
}

/** Moves clocks this registry stamped (any tab's node) by `delta`, never past the corrected now. */
async function shiftOwnClocks(ctx: ClientContext, delta: number, offset: number, which: 'all' | 'far-ahead'): Promise<void> {
  const { db, writer } = ctx;
  const clientId = (await db.state.get('clientId'))?.value as string | undefined;
  await db.transaction('rw', [db.models, db.versions, db.metadata, db.outbox, db.state], async () => {
    writer.resetClock(offset);
    const ceiling = writer.clock.wall();
    const shift = (hlc: string): string => {
      const p = parseHlc(hlc);
      if (!p || !clientId || !p.node.startsWith(`${clientId}-`)) return hlc;
      if (which === 'far-ahead' && p.ms <= ceiling + LIMITS.maxClockDriftMs) return hlc;
      return formatHlc(Math.max(0, Math.min(ceiling, p.ms + delta)), p.counter, p.node);
    };
    const shiftClocks = (clocks: Clocks): Clocks => Object.fromEntries(Object.entries(clocks).map(([f, c]) => [f, shift(c)]));
    await db.models.toCollection().modify((r) => void (r.clocks = shiftClocks(r.clocks)));
    await db.versions.toCollection().modify((r) => void (r.clocks = shiftClocks(r.clocks)));
    await db.metadata.toCollection().modify((r) => void (r.hlc = shift(r.hlc)));
    await db.outbox.toCollection().modify((r) => void (r.hlc = shift(r.hlc)));
    await db.state.put({ key: OFFSET, value: offset });
  });
  // Clocks shifted up to now: the next stamp comes after all of them.
  writer.clock.receive(formatHlc(writer.clock.wall(), 0, writer.clock.node));
}
