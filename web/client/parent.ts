import { z } from 'zod';
import type { Artifact, FileType } from '../../shared/artifacts.ts';
import type { MetricBucket } from '../../shared/downsample.ts';
import { metadataValueSchema } from '../../shared/metadata.ts';
import type { MetricPoint, MetricSummary } from '../../shared/metrics.ts';
import { LIMITS } from '../../shared/limits.ts';
import { keySchema } from '../../shared/names.ts';
import { parseWith } from '../../shared/validate.ts';
import { listArtifacts, readArtifact, trackArtifacts, uploadArtifacts, type ArtifactUpload, type ReadArtifactOptions } from './artifacts.ts';
import type { ClientContext, ParentRef } from './context.ts';
import { requireLive } from './fields.ts';
import type { HangarDb } from './db.ts';
import { columnPoints, metricSummary as storedSummary, seriesBuckets, seriesColumns } from './metric-store.ts';

const metricValuesSchema = z.record(keySchema, z.number()).refine((v) => Object.keys(v).length <= LIMITS.metricsPerRequest, {
  message: `must hold at most ${LIMITS.metricsPerRequest} keys`,
});
const metricOptionsSchema = z.object({
  step: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  wallclock: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

const plainInt = (n: unknown) => n === undefined || (Number.isSafeInteger(n) && (n as number) >= 0);

/** The common case of `logMetrics` input, checked without zod; anything else goes to zod. */
function plainlyValid(values: Record<string, number>, opts: { step?: number; wallclock?: number }): boolean {
  if (typeof values !== 'object' || values === null || typeof opts !== 'object' || opts === null) return false;
  if (!plainInt(opts.step) || !plainInt(opts.wallclock)) return false;
  let keys = 0;
  for (const key in values) {
    if (!Object.hasOwn(values, key)) continue;
    const value = values[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || key.length === 0 || key.length > LIMITS.keyLength || key.includes('\0')) return false;
    keys++;
  }
  return keys <= LIMITS.metricsPerRequest && Object.keys(opts).every((k) => k === 'step' || k === 'wallclock');
}

/**
 * Per-key summary of a parent's metrics: last (greatest step, then wallclock), min, max, count.
 * A key whose history this device lacks (known from a snapshot) answers from the server's
 * summary with the points stored here since folded in.
 */
export function metricSummary(ctx: ClientContext, parentId: string): Promise<Record<string, MetricSummary>> {
  return storedSummary(ctx.db, parentId);
}

const historyOptionsSchema = z
  .object({
    maxPoints: z.number().int().min(2).max(LIMITS.maxPointsMax).optional(),
    from: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    to: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine((o) => o.from === undefined || o.to === undefined || o.from <= o.to, { message: '`from` must not be greater than `to`' });

/**
 * Makes sure a key's whole history is on this device: a key known only from a snapshot has it
 * fetched from the server (then kept, so it stays viewable offline). Offline, or with no
 * server, what is here is what there is.
 */
export async function ensureHistory(ctx: ClientContext, parent: ParentRef, key: string): Promise<void> {
  if (!ctx.history || (await ctx.db.metricSummaries.get([parent.id, key]))?.asOf === undefined) return;
  await ctx.history.fetch(parent, key);
}

/** A parent's metadata as `{ key: value }`, without tombstones. */
export async function liveMetadata(db: HangarDb, parentId: string): Promise<Record<string, unknown>> {
  const rows = await db.metadata.where('parentId').equals(parentId).toArray();
  return Object.fromEntries(rows.filter((r) => !r.deleted).map((r) => [r.key, r.value]));
}

/**
 * What models and versions share (ModelBox's API): metrics with step and wallclock, metadata,
 * uploaded and tracked artifacts.
 */
export abstract class ParentHandle {
  protected constructor(
    protected readonly ctx: ClientContext,
    readonly id: string,
    readonly namespace: string,
  ) {}

  protected abstract get ref(): ParentRef;

  /**
   * Logs one point per key at `step` (default 0) and `wallclock` (default now, Unix ms).
   * Returns at once; the promise settles when the points are stored. Points logged together
   * are written in few transactions; `hangar.flush()` waits for all of them.
   */
  logMetrics(values: Record<string, number>, opts: { step?: number; wallclock?: number } = {}): Promise<void> {
    // Training loops call this per step: plainly valid input skips zod, which then only
    // runs to say what is wrong.
    if (!plainlyValid(values, opts)) {
      try {
        parseWith(metricValuesSchema, values, 'metrics');
        parseWith(metricOptionsSchema, opts, 'metric options');
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const step = opts.step ?? 0;
    const wallclock = opts.wallclock ?? Date.now();
    const points = Object.keys(values).map((key) => ({ key, value: values[key]!, step, wallclock }));
    return this.ctx.metrics.log(this.id, this.namespace, points);
  }

  /** Per-key summary: `{ loss: { last, min, max, count, lastStep } }`. Includes points not yet flushed once they are stored. */
  async metrics(): Promise<Record<string, MetricSummary>> {
    return metricSummary(this.ctx, this.id);
  }

  /**
   * A metric's points in step order, those with steps in [`from`, `to`] when given; with
   * `maxPoints`, at most that many buckets over [`from`, `to`] (the key's first and last step
   * where left out) of a power-of-two step width, edges at its multiples, each with its last
   * point's step, wallclock and value
   * and the min and max of its values: the buckets the server's history API answers
   * (shared/downsample.ts). Reads only the segments that hold steps in the range; buckets come
   * from the per-level cells, with only the range's cut ends read from the segments.
   */
  async metricHistory(key: string, opts: { maxPoints?: number; from?: number; to?: number } = {}): Promise<(MetricPoint | MetricBucket)[]> {
    parseWith(keySchema, key, 'metric key');
    const o = parseWith(historyOptionsSchema, opts, 'history options');
    // A history this device lacks comes from the server first; offline, what is here is answered.
    // Only Dexie's own promises are awaited unless a fetch is due, so a live query (a chart) keeps
    // following the reads below; once fetched, the summary row it read changes and the query runs again.
    const lacking = this.ctx.history ? (await this.ctx.db.metricSummaries.get([this.id, key]))?.asOf !== undefined : false;
    if (lacking) await ensureHistory(this.ctx, this.ref, key).catch(() => undefined);
    if (o.maxPoints !== undefined) return seriesBuckets(this.ctx.db, this.id, key, o.maxPoints, { from: o.from, to: o.to });
    return columnPoints(await seriesColumns(this.ctx.db, this.id, key, o.from, o.to));
  }

  /** Sets one metadata key (any JSON value up to 64 KiB); the last writer wins. */
  async updateMetadata(key: string, value: unknown): Promise<void> {
    parseWith(keySchema, key, 'metadata key');
    parseWith(metadataValueSchema, value, 'metadata value');
    const { db } = this.ctx;
    await this.ctx.writer.write(`metadata "${key}"`, [db.metadata, db.models, db.versions], async ({ emit, observe }) => {
      await requireLive(db, this.ref);
      // Later than whatever (another tab, an import) wrote this key before.
      const hlc = observe([(await db.metadata.get([this.id, key]))?.hlc]);
      await db.metadata.put({ parentId: this.id, key, namespace: this.namespace, value, hlc });
      emit({ name: 'metadata.set', namespace: this.namespace, args: { parentId: this.id, key, value } });
    });
  }

  /**
   * Deletes one metadata key: a tombstone with its clock that syncs (`metadata.delete`), so a
   * write made before the delete, arriving later, does not bring the key back. Deleting a key
   * that is not set is a no-op.
   */
  async deleteMetadata(key: string): Promise<void> {
    parseWith(keySchema, key, 'metadata key');
    const { db } = this.ctx;
    await this.ctx.writer.write(`metadata "${key}"`, [db.metadata, db.models, db.versions], async ({ emit, observe }) => {
      await requireLive(db, this.ref);
      const row = await db.metadata.get([this.id, key]);
      if (!row || row.deleted) return;
      const hlc = observe([row.hlc]);
      await db.metadata.put({ parentId: this.id, key, namespace: this.namespace, value: null, hlc, deleted: true });
      emit({ name: 'metadata.delete', namespace: this.namespace, args: { parentId: this.id, key } });
    });
  }

  /** All metadata keys and values (deleted keys are not listed). */
  async metadata(): Promise<Record<string, unknown>> {
    return liveMetadata(this.ctx.db, this.id);
  }

  /** Stores files' bytes in the registry (SHA-256 computed streaming) and records them as artifacts. */
  uploadArtifacts(
    files: (ArtifactUpload | Blob)[],
    opts?: { onProgress?(p: { path: string; loaded: number; total: number }): void },
  ): Promise<Artifact[]> {
    return uploadArtifacts(this.ctx, this.ref, files, opts);
  }

  /** Records artifacts whose bytes live elsewhere, by URL. */
  trackArtifacts(
    items: { path: string; url: string; sha256?: string; size?: number; mimeType?: string; fileType?: FileType }[],
  ): Promise<Artifact[]> {
    return trackArtifacts(this.ctx, this.ref, items);
  }

  /** `[{ path, mimeType, fileType, size, sha256, url?, stored }]` */
  artifacts(): Promise<Artifact[]> {
    return listArtifacts(this.ctx, this.id);
  }

  /** An artifact's bytes as a Blob; `onProgress` counts bytes fetched when they come over the network. */
  readArtifact(path: string, opts?: ReadArtifactOptions): Promise<Blob> {
    return readArtifact(this.ctx, this.id, path, opts);
  }
}
