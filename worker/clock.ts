import { ErrorCode, HangarError } from '../shared/errors.ts';
import { hlcAheadMs, HybridClock } from '../shared/hlc.ts';
import { LIMITS } from '../shared/limits.ts';
import { clockVerdict } from '../shared/rules.ts';

// One clock per isolate. Writes made through REST are stamped with it; writes that arrive
// through sync carry the client's own clock.
//
// Its node id is unique per isolate (a random suffix): two isolates stamping in the same
// millisecond with the same counter then still differ, and string order breaks the tie the
// same way everywhere, so no write is dropped for "equal" clocks. Equal clock strings can
// only come from one writer repeating one write, which LWW treats as already applied.
//
// Made on first use: workerd refuses random values in a module's global scope (only in a handler).
let clock: HybridClock | undefined;
const serverClock = () => (clock ??= new HybridClock(`server-${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`));

/** The clock of a write made on the server now. */
export const serverHlc = () => serverClock().now();

/**
 * Takes in a client's clock, so the server's next writes are later than what it has seen. The
 * bounded `receive` never adopts a clock more than `LIMITS.maxClockDriftMs` ahead (answers false).
 */
export const observeHlc = (hlc: string): boolean => serverClock().receive(hlc);

/**
 * DESIGN §3's clock row: a write stamped more than `LIMITS.maxClockDriftMs` ahead of the
 * server's time is refused with `clock-skew`, never stored or adopted, so one bad clock cannot
 * win every field or wedge the namespace. A clock within bounds is observed.
 */
export function checkClock(hlc: string): void {
  const now = Date.now();
  if (clockVerdict(hlc, now) !== 'ok') {
    throw new HangarError(
      ErrorCode.ClockSkew,
      `This change is stamped ${Math.round(hlcAheadMs(hlc, now) / 1000)} s ahead of the server's time, more than the ${LIMITS.maxClockDriftMs / 1000} s allowed; correct the device's clock by the server's time and stamp it again.`,
      { hlc, serverTime: now, maxClockDriftMs: LIMITS.maxClockDriftMs },
    );
  }
  observeHlc(hlc);
}
