import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { MetricRecord } from './db.ts';
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
    return new Promise((resolve, reject) => {
      const records = points.map((p) => ({ ...p, id: uuidv7(p.wallclock), parentId }));
      this.pending.push({ parentId, namespace, points: records, resolve, reject });
      this.queuedPoints += records.length;
      // The points' own promises carry any failure, so these background flushes swallow it.
      if (this.queuedPoints >= FLUSH_AT_POINTS) this.flush().catch(() => undefined);
      else this.scheduled ??= setTimeout(() => this.flush().catch(() => undefined), 0);
    });
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
    if (batch.length) this.inFlight = this.inFlight.catch(() => undefined).then(() => this.write(batch));
    return this.inFlight;
  }

  private async write(batch: Pending[]): Promise<void> {
    const { db } = this.writer;
    try {
      await this.writer.write('metric points', [db.metrics], async ({ emit }) => {
        await db.metrics.bulkPut(batch.flatMap((p) => p.points));
        for (const [parentId, { namespace, points }] of groupByParent(batch)) {
          for (let i = 0; i < points.length; i += LIMITS.metricsPerRequest) {
            const slice = points.slice(i, i + LIMITS.metricsPerRequest).map(({ id, key, value, step, wallclock }) => ({ id, key, value, step, wallclock }));
            emit({ name: 'metrics.log', namespace, args: { parentId, points: slice } });
          }
        }
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
      throw err;
    }
  }
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
