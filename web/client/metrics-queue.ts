import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import type { HangarDb, MetricRecord } from './db.ts';
import type { Writer } from './writer.ts';

interface Pending {
  parentId: string;
  namespace: string;
  points: MetricRecord[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Queued points that trigger a flush at once rather than on the next task. */
const FLUSH_AT_POINTS = 20_000;

/**
 * Batches metric points: `log` queues them and returns a promise that settles once they are
 * stored (so nothing acknowledged is lost on reload), and a training loop that does not
 * await pays nothing per call. Points queued within one task are written together in one
 * transaction, with outbox mutations of at most `LIMITS.metricsPerRequest` points each.
 */
export class MetricQueue {
  private pending: Pending[] = [];
  private queuedPoints = 0;
  private scheduled: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly writer: Writer) {}

  log(parentId: string, namespace: string, points: Omit<MetricRecord, 'id' | 'parentId'>[]): Promise<void> {
    const logged = new Promise<void>((resolve, reject) => {
      // Ids take the time of logging, not the caller's wallclock (which may be anything).
      const records = points.map((p) => ({ ...p, id: uuidv7(), parentId }));
      this.pending.push({ parentId, namespace, points: records, resolve, reject });
      this.queuedPoints += records.length;
      // The points' own promises carry any failure, so these background flushes swallow it.
      if (this.queuedPoints >= FLUSH_AT_POINTS) this.flush().catch(() => undefined);
      else this.scheduled ??= setTimeout(() => this.flush().catch(() => undefined), 0);
    });
    // A training loop need not await each call: a failure then is no unhandled rejection,
    // and a caller who awaits still sees it.
    logged.catch(() => undefined);
    return logged;
  }

  /**
   * Writes everything queued so far; resolves when it (and any earlier flush) is stored, and
   * rejects if this batch could not be stored.
   */
  flush(): Promise<void> {
    clearTimeout(this.scheduled);
    this.scheduled = undefined;
    const batch = this.pending;
    this.pending = [];
    this.queuedPoints = 0;
    if (!batch.length) return this.inFlight;
    const done = this.inFlight.then(() => this.write(batch));
    // The chain itself never rejects: one failed batch must not fail every later flush.
    this.inFlight = done.catch(() => undefined);
    return done;
  }

  private async write(batch: Pending[]): Promise<void> {
    const { db } = this.writer;
    let dead = new Set<string>();
    try {
      await this.writer.write(
        'metric points',
        [db.metrics, db.models, db.versions],
        async ({ emit }) => {
          // Points of a model or version deleted since they were logged are refused, not kept.
          dead = await deadParents(db, new Set(batch.map((p) => p.parentId)));
          const live = batch.filter((p) => !dead.has(p.parentId));
          await db.metrics.bulkPut(live.flatMap((p) => p.points));
          for (const [parentId, { namespace, points }] of groupByParent(live)) {
          for (let i = 0; i < points.length; i += LIMITS.metricsPerRequest) {
            const slice = points.slice(i, i + LIMITS.metricsPerRequest).map(({ id, key, value, step, wallclock }) => ({ id, key, value, step, wallclock }));
            emit({ name: 'metrics.log', namespace, args: { parentId, points: slice } });
          }
        }
        },
        { flushFirst: false },
      );
      for (const p of batch) {
        if (dead.has(p.parentId)) p.reject(new HangarError(ErrorCode.VersionNotFound, 'The model or version these points were logged on has been deleted; they were not kept.', { parentId: p.parentId }));
        else p.resolve();
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
      throw err;
    }
  }
}

/** Which of these ids are no live model or version. */
async function deadParents(db: HangarDb, ids: Set<string>): Promise<Set<string>> {
  const list = [...ids];
  const [models, versions] = await Promise.all([db.models.bulkGet(list), db.versions.bulkGet(list)]);
  return new Set(list.filter((_, i) => (models[i] ?? versions[i])?.deletedAt !== null));
}

function groupByParent(batch: Pending[]) {
  const groups = new Map<string, { namespace: string; points: MetricRecord[] }>();
  for (const p of batch) {
    const g = groups.get(p.parentId) ?? { namespace: p.namespace, points: [] };
    g.points.push(...p.points);
    groups.set(p.parentId, g);
  }
  return groups;
}
