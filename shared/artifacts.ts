import { z } from 'zod';
import { MAX_BLOB_BYTES } from './limits.ts';
import { artifactPathSchema, sha256Schema } from './names.ts';

/** ModelBox's file types. */
export const FILE_TYPES = ['MODEL', 'CHECKPOINT', 'TEXT', 'IMAGE', 'AUDIO', 'VIDEO', 'UNDEFINED'] as const;
export type FileType = (typeof FILE_TYPES)[number];

/** A MIME type; its shape also keeps it safe to send back as a Content-Type header. */
export const mimeTypeSchema = z.string().max(255).regex(/^[\w.+-]+\/[\w.+-]+$/, { message: 'must be a MIME type like "application/json"' });

/**
 * Body of `POST …/artifacts`. With `url` the artifact is tracked (bytes kept elsewhere, size
 * and digest optional); without it the bytes are uploaded to Hangar, so `size` and `sha256`
 * are required.
 */
export const registerArtifactSchema = z
  .object({
    path: artifactPathSchema,
    size: z.number().int().min(0).max(MAX_BLOB_BYTES).optional(),
    sha256: sha256Schema.optional(),
    mimeType: mimeTypeSchema.optional(),
    fileType: z.enum(FILE_TYPES).optional(),
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
      .max(2048)
      .optional(),
  })
  .superRefine((a, ctx) => {
    if (a.url) return;
    if (a.size === undefined) ctx.addIssue({ code: 'custom', path: ['size'], message: 'is required for an uploaded artifact' });
    if (a.sha256 === undefined) ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'is required for an uploaded artifact' });
  });
export type RegisterArtifact = z.infer<typeof registerArtifactSchema>;

/** An artifact as the API returns it. */
export interface Artifact {
  path: string;
  mimeType: string;
  fileType: FileType;
  size: number | null;
  sha256: string | null;
  /** Set for a tracked artifact, whose bytes live at this URL. */
  url?: string;
  /** Whether Hangar holds verified bytes for it (always false for a tracked artifact). */
  stored: boolean;
  createdAt: string;
}

const MIME_BY_EXTENSION: Record<string, string> = {
  json: 'application/json',
  bin: 'application/octet-stream',
  onnx: 'application/onnx',
  csv: 'text/csv',
  txt: 'text/plain',
  md: 'text/markdown',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  zip: 'application/zip',
};

/** A MIME type guessed from a path's extension, `application/octet-stream` when unknown. */
export function guessMimeType(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return (ext && MIME_BY_EXTENSION[ext]) || 'application/octet-stream';
}

/** A file type guessed from a MIME type and path, when the caller gave none. */
export function guessFileType(path: string, mimeType: string): FileType {
  if (path.startsWith('checkpoints/')) return 'CHECKPOINT';
  if (/\.(onnx|safetensors|pt|h5|tflite)$/i.test(path) || /(^|\/)model\.json$/.test(path)) return 'MODEL';
  const top = mimeType.split('/')[0];
  if (top === 'text') return 'TEXT';
  if (top === 'image') return 'IMAGE';
  if (top === 'audio') return 'AUDIO';
  if (top === 'video') return 'VIDEO';
  return 'UNDEFINED';
}
