import { z } from 'zod';
import { LIMITS } from './limits.ts';
import { keySchema } from './names.ts';

/** One metric point as a client sends it. `step` defaults to 0, `wallclock` to now (Unix ms). */
export const metricPointInputSchema = z.object({
  key: keySchema,
  value: z.number(),
  step: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  wallclock: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** A UUID made by the client: a point sent twice is stored once. */
  id: z.uuid().optional(),
});
export type MetricPointInput = z.infer<typeof metricPointInputSchema>;

/** Body of `POST …/metrics`. */
export const logMetricsSchema = z.object({
  metrics: z.array(metricPointInputSchema).max(LIMITS.metricsPerRequest),
});

const stepParam = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * Query of `GET …/metrics/{key}`: pages of points, or `maxPoints` buckets (min, max and last
 * per bucket; a power-of-two width with edges at its multiples, shared/downsample.ts); either
 * within steps `from`..`to` (both included) when given.
 */
export const metricHistoryQuerySchema = z
  .object({
    pageSize: z.coerce.number().int().min(1).max(LIMITS.pageSizeMax).optional(),
    pageToken: z.string().max(512).optional(),
    maxPoints: z.coerce.number().int().min(2).max(LIMITS.maxPointsMax).optional(),
    from: stepParam.optional(),
    to: stepParam.optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'from must not be greater than to', path: ['from'] });

export interface MetricPoint {
  step: number;
  value: number;
  wallclock: number;
}

/** Per-key summary returned by `GET …/metrics`. */
export interface MetricSummary {
  last: number;
  min: number;
  max: number;
  count: number;
  lastStep: number;
}
