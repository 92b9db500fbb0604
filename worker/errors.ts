import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import type { AppEnv } from './env.ts';

/** The one table from error code to HTTP status. A code without a status does not compile. */
export const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  'invalid-argument': 400,
  'invalid-json': 400,
  'invalid-filter': 400,
  'invalid-page-token': 400,
  'digest-mismatch': 400,
  'size-mismatch': 400,
  'invalid-dataset': 400,
  'unknown-module': 400,
  'invalid-model-file': 400,
  unauthenticated: 401,
  'token-expired': 401,
  'permission-denied': 403,
  'origin-not-allowed': 403,
  'route-not-found': 404,
  'namespace-not-found': 404,
  'model-not-found': 404,
  'version-not-found': 404,
  'alias-not-found': 404,
  'artifact-not-found': 404,
  'blob-not-found': 404,
  'upload-not-found': 404,
  'checkpoint-not-found': 404,
  'token-not-found': 404,
  'webhook-not-found': 404,
  'job-not-found': 404,
  'job-stopped': 409,
  'model-exists': 409,
  'version-label-taken': 409,
  'artifact-conflict': 409,
  'checkpoint-exists': 409,
  'upload-incomplete': 409,
  'alias-precondition-failed': 412,
  'protocol-unsupported': 400,
  'sequence-gap': 409,
  'client-mismatch': 403,
  'cursor-ahead': 400,
  'snapshot-required': 410,
  'not-in-trash': 404,
  'param-changed': 409,
  'clock-skew': 400,
  'payload-too-large': 413,
  'range-not-satisfiable': 416,
  'rate-limited': 429,
  // A namespace quota is a refusal the caller must act on, not a server fault: never a 5xx.
  'quota-exceeded': 403,
  'backend-unavailable': 503,
  internal: 500,
};

/** Turns any thrown value into the JSON error envelope with the status from the table. */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof HangarError) {
    const headers: Record<string, string> = { 'X-Hangar-Error': err.code };
    const retryAfter = err.details?.retryAfter;
    if (err.code === ErrorCode.RateLimited && typeof retryAfter === 'number') headers['Retry-After'] = String(Math.ceil(retryAfter));
    return c.json(err.toJSON(), STATUS_BY_CODE[err.code], headers);
  }
  console.error('unexpected error', err);
  const internal = new HangarError(ErrorCode.Internal, 'Something went wrong on the server; try again later.');
  return c.json(internal.toJSON(), 500, { 'X-Hangar-Error': internal.code });
}

export function handleNotFound(c: Context<AppEnv>): Response {
  const err = new HangarError(ErrorCode.RouteNotFound, `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`);
  return c.json(err.toJSON(), 404, { 'X-Hangar-Error': err.code });
}

/** True when D1 refused a write because of a UNIQUE constraint. */
export const isUniqueViolation = (err: unknown) => err instanceof Error && /UNIQUE constraint failed/i.test(err.message);
