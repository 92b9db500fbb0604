import { z } from 'zod';
import { LIMITS } from './limits.ts';
import { metadataMapSchema, type Metadata } from './metadata.ts';
import { aliasSchema, nameSchema, textSchema as text } from './names.ts';


export const VERSION_STATUSES = ['pending', 'ready', 'failed'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** Body of `POST …/models/{model}/versions`. The server assigns `number`. */
export const createVersionSchema = z.object({
  /** A UUID made by the client, so a retried create makes one version. */
  id: z.uuid().optional(),
  /** An optional label, unique per model (`2024-q3`). */
  version: nameSchema.optional(),
  name: text(256).optional(),
  description: text(LIMITS.descriptionLength).optional(),
  framework: text(64).optional(),
  metadata: metadataMapSchema.optional(),
  /** Aliases to point at the new version (ModelBox's unique tags). */
  uniqueTags: z.array(aliasSchema).max(LIMITS.uniqueTagsPerVersion).optional(),
  /**
   * `pending` keeps the version pending until its creator marks it `ready` (DESIGN §3a); absent,
   * it is ready at creation and waits only for its artifacts' bytes.
   */
  status: z.enum(VERSION_STATUSES).optional(),
  /**
   * Lineage: the version (of any model of the namespace, typically an experiment's run) this one
   * was registered from. Set at create only, never changed.
   */
  sourceVersionId: z.uuid().optional(),
});
export type CreateVersion = z.infer<typeof createVersionSchema>;

/** Body of `PATCH …/versions/{number}`; `null` clears a field. A status is `ready` (the creator is done) or `failed`. */
export const updateVersionSchema = z.object({
  version: nameSchema.nullable().optional(),
  name: text(256).nullable().optional(),
  description: text(LIMITS.descriptionLength).nullable().optional(),
  framework: text(64).nullable().optional(),
  status: z.enum(['ready', 'failed']).optional(),
  metadata: metadataMapSchema.optional(),
});
export type UpdateVersion = z.infer<typeof updateVersionSchema>;

export const VERSION_FIELDS = ['version', 'name', 'description', 'framework'] as const;

/** A model version as the API returns it. */
export interface ModelVersion {
  id: string;
  modelId: string;
  namespace: string;
  model: string;
  number: number;
  version: string | null;
  name: string | null;
  description: string | null;
  framework: string | null;
  /**
   * DESIGN §3a: `failed` if marked so; `pending` while its creator holds it pending (created
   * `pending`, not yet marked `ready`) or an uploaded artifact's bytes have not arrived and
   * verified; else `ready`. `ns/m` is the latest `ready` version.
   */
  status: VersionStatus;
  metadata: Metadata;
  /** The aliases pointing at this version. */
  uniqueTags: string[];
  /** The version (an experiment's run) this one was registered from, or null. */
  sourceVersionId: string | null;
  createdAt: string;
  updatedAt: string;
}

export const VERSION_FILTER_FIELDS = ['number', 'version', 'name', 'description', 'framework', 'status', 'created_at', 'updated_at'] as const;
export const VERSION_ORDER_FIELDS = ['number', 'created_at', 'updated_at'] as const;
