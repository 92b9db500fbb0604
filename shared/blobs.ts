import { z } from 'zod';
import { MAX_BLOB_BYTES } from './limits.ts';
import { sha256Schema } from './names.ts';

/** Body of `POST /namespaces/{ns}/blobs/uploads`. */
export const startUploadSchema = z.object({
  sha256: sha256Schema,
  size: z.number().int().min(0).max(MAX_BLOB_BYTES),
});

/** Answer to starting an upload: the bytes are here already, or where to send them. */
export type StartUploadResult =
  | { exists: true; sha256: string; size: number }
  | { exists: false; uploadId: string; partSize: number; partCount: number; receivedParts: number[] };

/** How many parts a blob of `size` bytes takes with parts of `partSize`. */
export const partCount = (size: number, partSize: number) => Math.max(1, Math.ceil(size / partSize));

/** The exact size part `n` (1-based) must have. */
export function expectedPartSize(size: number, partSize: number, n: number): number {
  const count = partCount(size, partSize);
  return n < count ? partSize : size - partSize * (count - 1);
}
