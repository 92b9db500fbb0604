import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { HangarDb, MetricRecord } from './db.ts';
import { insertPoints, metricTables } from './metric-store.ts';
import type { Writer } from './writer.ts';

/** The points one parent has queued for the next batch, and the promise all their callers share. */
interface Group {
  parentId: string;
  namespace: string;
  points: MetricRecord[];
  stored: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Queued points that trigger a flush at once rather than on the next task. */
const FLUSH_AT_POINTS = 20_000;

function newGroup(parentId: string, namespace: string): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const stored = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A training loop need not await each call: a failure then is no unhandled rejection, and
  // a caller who awaits still sees it.
  stored.catch(() => undefined);
  return { parentId, namespace, points: [], stored, resolve, reject };
}

/**
 * Batches metric points: `log` queues them and returns a promise that settles once they are
 * stored (so nothing acknowledged is lost on reload), and a training loop that does not
 * await pays almost nothing per call — calls for one parent within a batch share one promise.
 * Points queued within one task are written together in one transaction, with outbox
 * mutations of at most `LIMITS.metricsPerRequest` points each.
 */
export class MetricQueue {
  private open = new Map<string, Group>();
  private queuedPoints = 0;
  private scheduled: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly writer: Writer) {}

  log(parentId: string, namespace: string, points: Omit<MetricRecord, 'id' | 'parentId'>[]): Promise<void> {
    let group = this.open.get(parentId);
    if (!group) this.open.set(parentId, (group = newGroup(parentId, namespace)));
    // Ids take the time of logging, not the caller's wallclock (which may be anything).
    for (const p of points) group.points.push({ id: uuidv7(), parentId, key: p.key, value: p.value, step: p.step, wallclock: p.wallclock });
    this.queuedPoints += points.length;
    // The points' own promises carry any failure, so these background flushes swallow it.
    if (this.queuedPoints >= FLUSH_AT_POINTS) this.flush().catch(() => undefined);
    else this.scheduled ??= setTimeout(() => this.flush().catch(() => undefined), 0);
    return group.stored;
  }

  /**
   * Writes everything queued so far; resolves when it (and any earlier flush) is stored, and
   * rejects if this batch could not be stored.
   */
  flush(): Promise<void> {
    clearTimeout(this.scheduled);
    this.scheduled = undefined;
    const batch = [...this.open.values()];
    this.open = new Map();
    this.queuedPoints = 0;
    if (!batch.length) return this.inFlight;
    const done = this.inFlight.then(() => this.write(batch));
    // The chain itself never rejects: one failed batch must not fail every later flush.
    this.inFlight = done.catch(() => undefined);
    return done;
  }

  private async write(batch: Group[]): Promise<void> {
    const { db } = this.writer;
    let dead = new Set<string>();
    try {
      await this.writer.write(
        'metric points',
        [...metricTables(db), db.models, db.versions],
        async ({ emit }) => {
          // Points of a model or version deleted since they were logged are refused, not kept.
          dead = await deadParents(db, batch.map((g) => g.parentId));
          const live = batch.filter((g) => !dead.has(g.parentId));
          for (const g of live) await insertPoints(db, g.parentId, g.points);
          for (const { parentId, namespace, points } of live) {
            for (let i = 0; i < points.length; i += LIMITS.metricsPerRequest) {
              const slice = points.slice(i, i + LIMITS.metricsPerRequest).map(({ id, key, value, step, wallclock }) => ({ id, key, value, step, wallclock }));
              emit({ name: 'metrics.log', namespace, args: { parentId, points: slice } });
            }
          }
        },
        { flushFirst: false },
      );
      for (const g of batch) {
        if (!dead.has(g.parentId)) g.resolve();
        else g.reject(new HangarError(ErrorCode.VersionNotFound, 'The model or version these points were logged on has been deleted; they were not kept.', { parentId: g.parentId }));
      }
    } catch (err) {
      for (const g of batch) g.reject(err);
      throw err;
    }
  }
}

/** Which of these ids are no live model or version. */
async function deadParents(db: HangarDb, ids: string[]): Promise<Set<string>> {
  const [models, versions] = await Promise.all([db.models.bulkGet(ids), db.versions.bulkGet(ids)]);
  return new Set(ids.filter((_, i) => (models[i] ?? versions[i])?.deletedAt !== null));
}
