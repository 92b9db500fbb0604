import type { z } from 'zod';
import { ErrorCode, HangarError } from './errors.ts';

/** A zod failure as `invalid-argument`, each issue in `details.issues` with a dotted path. */
export function invalid(what: string, error: z.ZodError): HangarError {
  const issues = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  const summary = first ? `${first.path ? `${first.path} ` : ''}${first.message}` : 'is invalid';
  return new HangarError(ErrorCode.InvalidArgument, `Invalid ${what}: ${summary}.`, { issues });
}

/**
 * An issue that says the input is too large rather than wrong: a batch (array) past its
 * limit, or a value a schema marks `tooLarge`. Those answer `payload-too-large` (413).
 */
function isTooLarge(issue: z.core.$ZodIssue): boolean {
  return (issue.code === 'too_big' && issue.origin === 'array') || (issue.code === 'custom' && issue.params?.tooLarge === true);
}

/**
 * Parses a value with a schema, or throws `invalid-argument` naming every issue
 * (`payload-too-large` when the input is only too big). The server and the browser both
 * validate through this, so both answer bad input with the same code.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const err = invalid(what, result.error);
  if (!result.error.issues.every(isTooLarge)) throw err;
  throw new HangarError(ErrorCode.PayloadTooLarge, err.message, err.details);
}
