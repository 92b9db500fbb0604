import { z } from 'zod';
import { LIMITS, MAX_BLOB_BYTES } from './limits.ts';
import { artifactPathSchema, sha256Schema } from './names.ts';
import { mimeTypeSchema, type Artifact } from './artifacts.ts';

/** The handle loaded when none is named; saving a checkpoint moves it unless told not to. */
export const DEFAULT_HANDLE = 'default';

/** Body of `PUT …/versions/{number}/checkpoints/{handle}`. */
export const saveCheckpointSchema = z.object({
  files: z
    .array(
      z.object({
        path: artifactPathSchema,
        size: z.number().int().min(0).max(MAX_BLOB_BYTES),
        sha256: sha256Schema,
        mimeType: mimeTypeSchema.optional(),
      }),
    )
    .min(1)
    .max(LIMITS.filesPerCheckpoint),
  setAsDefault: z.boolean().optional(),
});
export type SaveCheckpoint = z.infer<typeof saveCheckpointSchema>;

/** Where a checkpoint's files live among the version's artifacts. */
export const checkpointPrefix = (handle: string) => `checkpoints/${handle}/`;

export interface Checkpoint {
  handle: string;
  /** For `default`: the handle it points at. */
  target?: string;
  /** Paths relative to the checkpoint. */
  files: (Artifact & { file: string })[];
  createdAt: string;
  updatedAt: string;
}
