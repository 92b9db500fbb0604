import type { Context } from 'hono';
import type { z } from 'zod';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import { LIMITS } from '../shared/limits.ts';
import type { AppEnv } from './env.ts';

/** Zod issues as `details.issues`, each with a dotted path and a message. */
export function invalid(what: string, error: z.ZodError): HangarError {
  const issues = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  const summary = first ? `${first.path ? `${first.path} ` : ''}${first.message}` : 'is invalid';
  return new HangarError(ErrorCode.InvalidArgument, `Invalid ${what}: ${summary}.`, { issues });
}

/** Parses a value with a schema, or throws `invalid-argument` naming every issue. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(what, result.error);
  return result.data;
}

/**
 * Reads the JSON body: 413 past `LIMITS.jsonBodyBytes` (checked on the bytes, whatever
 * Content-Length claims), 400 `invalid-json` when it does not parse.
 */
export async function readJsonBody(c: Context<AppEnv>): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > LIMITS.jsonBodyBytes) throw tooLarge(declared);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > LIMITS.jsonBodyBytes) throw tooLarge(bytes.byteLength);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HangarError(ErrorCode.InvalidJson, 'The request body is not valid JSON.');
  }
}

const tooLarge = (size: number) =>
  new HangarError(ErrorCode.PayloadTooLarge, `The request body is ${size} bytes; the limit is ${LIMITS.jsonBodyBytes}.`, {
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
