import { z } from 'zod';
import { LIMITS } from './limits.ts';

/** What a trash entry holds: a deleted model (with the versions its delete took) or one deleted version. */
export const TRASH_KINDS = ['model', 'version'] as const;
export type TrashKind = (typeof TRASH_KINDS)[number];

/**
 * One entry of a namespace's trash (DESIGN §3b): a deleted model or version, restorable until
 * `expiresAt` (its delete plus `LIMITS.trashDays`), when the scheduled handler purges it.
 */
export interface TrashEntry {
  /** The deleted model's or version's id; `DELETE …/trash/{id}` purges it. */
  id: string;
  kind: TrashKind;
  /** The model's name (for a version, its model's). */
  model: string;
  modelId: string;
  /** The version's number; null for a model. */
  number: number | null;
  /** Versions that come back with a model entry; 0 for a version. */
  versions: number;
  deletedAt: string;
  /** The token that deleted it (null id: the admin token), or null when not recorded. */
  deletedBy: { tokenId: string | null; tokenName: string | null } | null;
  expiresAt: string;
}

/** Query of `GET /namespaces/{ns}/trash`: newest deletes first, in pages. */
export const trashQuerySchema = z.object({
  pageSize: z.coerce.number().int().min(1).max(LIMITS.pageSizeMax).optional(),
  pageToken: z.string().max(1024).optional(),
});
export type TrashQuery = z.infer<typeof trashQuerySchema>;

/** When an entry deleted at `deletedAtMs` leaves the trash for good. */
export const trashExpiry = (deletedAtMs: number) => deletedAtMs + LIMITS.trashDays * 24 * 60 * 60 * 1000;
