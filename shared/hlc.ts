import { LIMITS } from './limits.ts';

/**
 * Hybrid logical clocks: wall time plus a counter plus the writer's node id, printed so that
 * string order is clock order (`000001732230000000-000000-<node>`). Every write carries one;
 * last writer wins per field by comparing them.
 */
export type Hlc = string;

const MS_DIGITS = 15;
const COUNTER_DIGITS = 6;
/** The largest counter the format holds; past it the clock moves to the next millisecond. */
export const MAX_HLC_COUNTER = 10 ** COUNTER_DIGITS - 1;

export function formatHlc(ms: number, counter: number, node: string): Hlc {
  return `${String(ms).padStart(MS_DIGITS, '0')}-${String(counter).padStart(COUNTER_DIGITS, '0')}-${node}`;
}

export function parseHlc(hlc: Hlc): { ms: number; counter: number; node: string } | undefined {
  const m = /^(\d{15})-(\d{6})-([A-Za-z0-9_-]{1,64})$/.exec(hlc);
  if (!m) return undefined;
  return { ms: Number(m[1]), counter: Number(m[2]), node: m[3]! };
}

export const isHlc = (s: string): boolean => parseHlc(s) !== undefined;

/**
 * How far (ms) a clock is ahead of `nowMs`, the receiver's (corrected) wall time; 0 when it is
 * not ahead. A clock more than `LIMITS.maxClockDriftMs` ahead is refused everywhere (DESIGN §3).
 */
export function hlcAheadMs(hlc: Hlc, nowMs: number): number {
  const p = parseHlc(hlc);
  return p ? Math.max(0, p.ms - nowMs) : Number.POSITIVE_INFINITY;
}

/** True when `hlc` is a clock and at most `LIMITS.maxClockDriftMs` ahead of `nowMs`. */
export const isHlcWithinDrift = (hlc: Hlc, nowMs: number): boolean => hlcAheadMs(hlc, nowMs) <= LIMITS.maxClockDriftMs;

/**
 * A clock for one node: `now()` for local writes, `receive()` when a remote clock is seen.
 * Its wall time is the device's plus `offsetMs`, the correction learned from a server's time,
 * so a device whose clock runs a day fast or slow still stamps sensible clocks.
 */
export class HybridClock {
  private ms = 0;
  private counter = 0;
  /** Added to the device's wall time: the server's time minus the device's, learned on sync. */
  offsetMs = 0;
  constructor(
    readonly node: string,
    private readonly wallclock: () => number = Date.now,
  ) {}

  /** The corrected wall time this clock stamps with. */
  wall(): number {
    return this.wallclock() + this.offsetMs;
  }

  now(): Hlc {
    const wall = this.wall();
    if (wall > this.ms) {
      this.ms = wall;
      this.counter = 0;
    } else if (this.counter < MAX_HLC_COUNTER) {
      this.counter++;
    } else {
      // The counter is full: borrow the next millisecond rather than leave the format.
      this.ms++;
      this.counter = 0;
    }
    return formatHlc(this.ms, this.counter, this.node);
  }

  /**
   * Takes in a remote clock so the next `now()` is later than it. A clock more than
   * `LIMITS.maxClockDriftMs` ahead of this clock's wall time is not adopted: answers false.
   */
  receive(remote: Hlc): boolean {
    const r = parseHlc(remote);
    if (!r || !isHlcWithinDrift(remote, this.wall())) return false;
    if (r.ms > this.ms || (r.ms === this.ms && r.counter > this.counter)) {
      this.ms = r.ms;
      this.counter = r.counter;
    }
    return true;
  }
}
