import type { Context } from 'hono';
import type { z } from 'zod';
import { parseWith } from '../shared/validate.ts';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { LIMITS } from '../shared/limits.ts';
import type { AppEnv } from './env.ts';

export { invalid, parseWith } from '../shared/validate.ts';

/**
 * Reads the JSON body: 413 past `LIMITS.jsonBodyBytes` (checked on the bytes, whatever
 * Content-Length claims), 400 `invalid-json` when it does not parse.
 */
export async function readJsonBody(c: Context<AppEnv>): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > LIMITS.jsonBodyBytes) throw tooLarge(declared);
  // Read the stream ourselves and stop at the limit: a chunked body declares no length.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = c.req.raw.body?.getReader();
  for (let r = await reader?.read(); reader && r && !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > LIMITS.jsonBodyBytes) {
      await reader.cancel();
      throw tooLarge(size);
    }
    chunks.push(r.value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HangarError(ErrorCode.InvalidJson, 'The request body is not valid JSON.');
  }
}

const tooLarge = (size: number) =>
  new HangarError(ErrorCode.PayloadTooLarge, `The request body is larger than the limit of ${LIMITS.jsonBodyBytes} bytes (${size} bytes read).`, {
    limit: LIMITS.jsonBodyBytes,
  });

/** Reads and validates the JSON body. */
export async function readBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  return parseWith(schema, await readJsonBody(c), 'request body');
}

/** Reads and validates the query string. */
export function readQuery<S extends z.ZodType>(c: Context<AppEnv>, schema: S): z.infer<S> {
  return parseWith(schema, c.req.query(), 'query');
}

/** Milliseconds to the ISO 8601 string the API returns. */
export const iso = (ms: number) => new Date(ms).toISOString();
