import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { AppEnv } from '../../env.ts';

/** MLflow's error codes (its `databricks.proto`) that Hangar answers, with the HTTP status MLflow gives each (`mlflow/exceptions.py`). */
export const MLFLOW_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_CONFLICT: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;
export type MlflowCode = keyof typeof MLFLOW_STATUS;

/** An error in MLflow's terms: `{"error_code": …, "message": …}` with MLflow's status. */
export class MlflowError extends Error {
  override readonly name = 'MlflowError';
  constructor(
    readonly code: MlflowCode,
    message: string,
  ) {
    super(message);
  }
}

export const invalidParameter = (message: string) => new MlflowError('INVALID_PARAMETER_VALUE', message);
export const doesNotExist = (message: string) => new MlflowError('RESOURCE_DOES_NOT_EXIST', message);

/** Hangar's codes in MLflow's terms. */
const BY_HANGAR_CODE: Partial<Record<ErrorCode, MlflowCode>> = {
  'invalid-argument': 'INVALID_PARAMETER_VALUE',
  'invalid-json': 'BAD_REQUEST',
  'invalid-filter': 'INVALID_PARAMETER_VALUE',
  'invalid-page-token': 'INVALID_PARAMETER_VALUE',
  'digest-mismatch': 'INVALID_PARAMETER_VALUE',
  'size-mismatch': 'INVALID_PARAMETER_VALUE',
  'param-changed': 'INVALID_PARAMETER_VALUE',
  'payload-too-large': 'INVALID_PARAMETER_VALUE',
  'clock-skew': 'INVALID_PARAMETER_VALUE',
  unauthenticated: 'UNAUTHENTICATED',
  'token-expired': 'UNAUTHENTICATED',
  'permission-denied': 'PERMISSION_DENIED',
  'origin-not-allowed': 'PERMISSION_DENIED',
  'quota-exceeded': 'PERMISSION_DENIED',
  'route-not-found': 'ENDPOINT_NOT_FOUND',
  'namespace-not-found': 'RESOURCE_DOES_NOT_EXIST',
  'model-not-found': 'RESOURCE_DOES_NOT_EXIST',
  'version-not-found': 'RESOURCE_DOES_NOT_EXIST',
  'alias-not-found': 'RESOURCE_DOES_NOT_EXIST',
  'artifact-not-found': 'RESOURCE_DOES_NOT_EXIST',
  'blob-not-found': 'RESOURCE_DOES_NOT_EXIST',
  'not-in-trash': 'RESOURCE_DOES_NOT_EXIST',
  'model-exists': 'RESOURCE_ALREADY_EXISTS',
  'version-label-taken': 'RESOURCE_ALREADY_EXISTS',
  'artifact-conflict': 'RESOURCE_ALREADY_EXISTS',
  'checkpoint-exists': 'RESOURCE_ALREADY_EXISTS',
  'alias-precondition-failed': 'RESOURCE_CONFLICT',
  'rate-limited': 'REQUEST_LIMIT_EXCEEDED',
};

/** The one error path of MLflow's routes: MLflow's envelope and status, never a 5xx for bad input. */
export function handleMlflowError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof MlflowError) return c.json({ error_code: err.code, message: err.message }, MLFLOW_STATUS[err.code]);
  if (err instanceof HangarError) {
    const code = BY_HANGAR_CODE[err.code] ?? 'INTERNAL_ERROR';
    const headers: Record<string, string> = { 'X-Hangar-Error': err.code };
    const retryAfter = err.details?.retryAfter;
    if (err.code === ErrorCode.RateLimited && typeof retryAfter === 'number') headers['Retry-After'] = String(Math.ceil(retryAfter));
    return c.json({ error_code: code, message: err.message }, MLFLOW_STATUS[code], headers);
  }
  console.error('unexpected error', err);
  return c.json({ error_code: 'INTERNAL_ERROR', message: 'Something went wrong on the server; try again later.' }, 500);
}
