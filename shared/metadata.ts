import { z } from 'zod';
import { LIMITS } from './limits.ts';
import { keySchema } from './names.ts';

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** Any JSON value up to `LIMITS.metadataValueBytes` once serialized. */
export const metadataValueSchema = z.json().superRefine((value, ctx) => {
  if (utf8Length(JSON.stringify(value)) > LIMITS.metadataValueBytes) {
    ctx.addIssue({ code: 'custom', message: `must be at most ${LIMITS.metadataValueBytes} bytes as JSON` });
  }
});

/** Inline metadata given on create or update: `{ key: value }`. */
export const metadataMapSchema = z
  .record(keySchema, metadataValueSchema)
  .refine((m) => Object.keys(m).length <= LIMITS.metadataKeysPerRequest, {
    message: `must hold at most ${LIMITS.metadataKeysPerRequest} keys`,
  });

export type Metadata = Record<string, unknown>;
