/**
 * Hybrid logical clocks: wall time plus a counter plus the writer's node id, printed so that
 * string order is clock order (`000001732230000000-000000-<node>`). Every write carries one;
 * last writer wins per field by comparing them.
 */
export type Hlc = string;

const MS_DIGITS = 15;
const COUNTER_DIGITS = 6;

export function formatHlc(ms: number, counter: number, node: string): Hlc {
  return `${String(ms).padStart(MS_DIGITS, '0')}-${String(counter).padStart(COUNTER_DIGITS, '0')}-${node}`;
}

export function parseHlc(hlc: Hlc): { ms: number; counter: number; node: string } | undefined {
  const m = /^(\d{15})-(\d{6})-([A-Za-z0-9_-]{1,64})$/.exec(hlc);
  if (!m) return undefined;
  return { ms: Number(m[1]), counter: Number(m[2]), node: m[3]! };
}

export const isHlc = (s: string): boolean => parseHlc(s) !== undefined;

/** A clock for one node: `now()` for local writes, `receive()` when a remote clock is seen. */
export class HybridClock {
  private ms = 0;
  private counter = 0;
  constructor(
    readonly node: string,
    private readonly wallclock: () => number = Date.now,
  ) {}

  now(): Hlc {
    const wall = this.wallclock();
    if (wall > this.ms) {
      this.ms = wall;
      this.counter = 0;
    } else {
      this.counter++;
    }
    return formatHlc(this.ms, this.counter, this.node);
  }

  receive(remote: Hlc): void {
    const r = parseHlc(remote);
    if (!r) return;
    if (r.ms > this.ms || (r.ms === this.ms && r.counter > this.counter)) {
      this.ms = r.ms;
      this.counter = r.counter;
    }
  }
}
