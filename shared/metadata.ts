import { z } from 'zod';
import { jsonDepth, utf8Length } from './encoding.ts';
import { LIMITS } from './limits.ts';
import { keySchema } from './names.ts';

/**
 * Any JSON value nesting at most `LIMITS.metadataDepth` deep and up to
 * `LIMITS.metadataValueBytes` once serialized. The depth is checked first, without
 * recursion, so a hostile value is refused before anything walks it recursively.
 */
export const metadataValueSchema = z
  .unknown()
  .refine((value) => jsonDepth(value, LIMITS.metadataDepth) <= LIMITS.metadataDepth, {
    message: `must nest at most ${LIMITS.metadataDepth} levels deep`,
    abort: true,
  })
  .pipe(z.json())
  .superRefine((value, ctx) => {
    if (utf8Length(JSON.stringify(value)) > LIMITS.metadataValueBytes) {
      ctx.addIssue({ code: 'custom', params: { tooLarge: true }, message: `must be at most ${LIMITS.metadataValueBytes} bytes as JSON` });
    }
  });

/** Inline metadata given on create or update: `{ key: value }`. */
export const metadataMapSchema = z
  .record(keySchema, metadataValueSchema)
  .refine((m) => Object.keys(m).length <= LIMITS.metadataKeysPerRequest, {
    message: `must hold at most ${LIMITS.metadataKeysPerRequest} keys`,
  });

export type Metadata = Record<string, unknown>;
