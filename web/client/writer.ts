import Dexie, { type Table } from 'dexie';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { HybridClock } from '../../shared/hlc.ts';
import type { HangarDb, OutboxRecord } from './db.ts';
import { COMPACTED_MUTATION, markUnsent, neverSynced } from './outbox-compaction.ts';

/** What a write appends to the outbox: the mutation the server will apply. */
export interface Mutation {
  name: string;
  namespace: string;
  args: unknown;
  /** The clock of the write, when it is older than this transaction (an imported write keeps its own). */
  hlc?: string;
}

/** True for the error a browser throws when the site's storage is full. */
export function isQuotaError(err: unknown): boolean {
  const e = err as { name?: string; inner?: { name?: string } } | null;
  return e?.name === 'QuotaExceededError' || e?.inner?.name === 'QuotaExceededError' || e?.name === Dexie.errnames.QuotaExceeded;
}

/** Turns a storage failure into Hangar's error, saying what was not saved. */
export function storageError(err: unknown, what: string): unknown {
  if (isQuotaError(err)) {
    return new HangarError(
      ErrorCode.QuotaExceeded,
      `The browser's storage for this site is full, so ${what} was not saved. Everything stored before is intact; free space or allow persistent storage, then try again.`,
      { what },
    );
  }
  return err;
}

/** What a write's body gets: its clock, a way to append mutations, and to see others' clocks. */
export interface WriteContext {
  /** The write's clock (later than every clock `observe` has seen). */
  readonly hlc: string;
  /** Appends a mutation to the outbox, in this transaction. */
  emit(m: Mutation): void;
  /**
   * Takes in clocks read from stored rows (another tab's or device's writes) and answers the
   * write's clock, moved past them if needed, so this write wins over what it has read.
   */
  observe(clocks: Iterable<string | undefined>): string;
}

/**
 * Every write of the client library goes through here: it runs in one read-write Dexie
 * transaction that also appends the write's outbox mutations, stamped with the registry's
 * hybrid logical clock. If anything throws, the transaction rolls back and nothing is kept.
 */
export class Writer {
  /**
   * Runs before every write except the metric queue's own, so points logged before a write
   * reach the outbox before it does.
   */
  beforeWrite: (() => Promise<void>) | undefined;

  constructor(
    readonly db: HangarDb,
    public clock: HybridClock,
    /** The device's own clock, before any correction (what the HLC's wall time starts from). */
    readonly deviceNow: () => number = Date.now,
  ) {}

  /**
   * Starts the clock afresh with a new server correction. Needed when the correction moves a
   * long way back (a device that ran fast): the old clock would keep stamping from its last,
   * far-ahead value, which every server refuses.
   */
  resetClock(offsetMs: number): void {
    const fresh = new HybridClock(this.clock.node, this.deviceNow);
    fresh.offsetMs = offsetMs;
    this.clock = fresh;
  }

  async write<T>(what: string, tables: Table[], body: (ctx: WriteContext) => Promise<T>, opts: { flushFirst?: boolean } = {}): Promise<T> {
    // A failed flush has already rejected its own points; it does not stop this write.
    if (opts.flushFirst !== false) await this.beforeWrite?.().catch(() => undefined);
    try {
      return await this.db.transaction('rw', [...tables, this.db.outbox, this.db.state], async () => {
        let hlc = this.clock.now();
        const outbox: OutboxRecord[] = [];
        const clock = this.clock;
        const ctx: WriteContext = {
          get hlc() {
            return hlc;
          },
          emit: (m) => outbox.push({ ...m, hlc: m.hlc ?? hlc, createdAt: Date.now() }),
          observe(clocks) {
            let later = false;
            for (const c of clocks) {
              if (c !== undefined && c >= hlc) {
                clock.receive(c);
                later = true;
              }
            }
            if (later) hlc = clock.now();
            return hlc;
          },
        };
        const result = await body(ctx);
        let kept = outbox;
        // A registry that has never synced keeps no second copy of its metric points: its first
        // sync re-seeds the namespace from the points themselves.
        if (outbox.some((m) => m.name === COMPACTED_MUTATION) && (await neverSynced(this.db))) {
          kept = outbox.filter((m) => m.name !== COMPACTED_MUTATION);
          await markUnsent(this.db, new Set(outbox.filter((m) => m.name === COMPACTED_MUTATION).map((m) => m.namespace)));
        }
        if (kept.length) await this.db.outbox.bulkAdd(kept);
        return result;
      });
    } catch (err) {
      throw storageError(err, what);
    }
  }
}
