import { z } from 'zod';

/**
 * What a namespace uses and may use (DESIGN §3b, §4 `…/usage`). Every figure is a count:
 * - `blobBytes`: bytes of the distinct blobs the namespace holds (uploaded, or proved it holds,
 *   once each however many artifacts name them); a tracked URL holds none.
 * - `metricPoints`: metric points stored in the namespace, of deleted models and versions too
 *   until they are purged.
 * - `models`: models not deleted.
 */
export const QUOTA_NAMES = ['blobBytes', 'metricPoints', 'models'] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

export type UsageFigures = Record<QuotaName, number>;
/** A quota per figure; `null`: none. */
export type Quotas = Record<QuotaName, number | null>;

/** Answer of `GET /namespaces/{ns}/usage` (and of the `PUT`). */
export interface NamespaceUsage {
  namespace: string;
  usage: UsageFigures;
  quotas: Quotas;
}

const quota = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional();

/**
 * Body of `PUT /namespaces/{ns}/usage` (admin): the quotas to set; a field left out keeps its
 * quota, `null` removes it. A quota below what the namespace uses now is refused.
 */
export const setQuotasSchema = z.strictObject({ blobBytes: quota, metricPoints: quota, models: quota });
export type SetQuotas = z.infer<typeof setQuotasSchema>;

/** `details` of a `quota-exceeded` refusal. */
export interface QuotaExceededDetails {
  quota: QuotaName;
  limit: number;
  used: number;
  requested: number;
}
