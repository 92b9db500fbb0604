import { z } from 'zod';
import { utf8Length } from './encoding.ts';
import { LIMITS } from './limits.ts';

/** Names of models, versions' names and checkpoint handles. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Namespaces: lower-case, DNS-label-like. */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Aliases (`production`, `champion`). */
export const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
/** `v3` and the like read as version numbers, so no alias may look like one. */
export const RESERVED_ALIAS_PATTERN = /^[vV]\d+$/;

export const nameSchema = z.string().regex(NAME_PATTERN, {
  message: 'must start with a letter or digit and hold at most 128 letters, digits, ".", "_" or "-"',
});

export const namespaceSchema = z.string().regex(NAMESPACE_PATTERN, {
  message: 'must start with a lower-case letter or digit and hold at most 63 lower-case letters, digits or "-"',
});

export const aliasSchema = z
  .string()
  .regex(ALIAS_PATTERN, { message: 'must start with a letter and hold at most 63 letters, digits, "_" or "-"' })
  .refine((s) => !RESERVED_ALIAS_PATTERN.test(s), { message: 'must not look like a version number (v1, v2…)' });

/** Free text of at most `max` characters (owners, descriptions, frameworks). */
export const textSchema = (max: number) => z.string().max(max, { message: `must be at most ${max} characters` });

/** Metric keys, metadata keys. */
export const keySchema = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(LIMITS.keyLength, { message: `must be at most ${LIMITS.keyLength} characters` })
  .refine((s) => !s.includes('\0'), { message: 'must not contain NUL' });


/**
 * Why an artifact path is not acceptable, or `undefined` when it is: relative POSIX, no `..`
 * or `.` segment, no empty segment, no backslash, no NUL, no leading `/`, ≤ 1024 bytes.
 */
export function artifactPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'must not be empty';
  if (utf8Length(path) > LIMITS.artifactPathBytes) return `must be at most ${LIMITS.artifactPathBytes} bytes`;
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.includes('\\')) return 'must use "/" and never a backslash';
  if (path.startsWith('/')) return 'must be relative (no leading "/")';
  for (const segment of path.split('/')) {
    if (segment === '..' || segment === '.') return 'must not contain "." or ".." segments';
    if (segment === '') return 'must not contain empty segments ("//" or a trailing "/")';
  }
  return undefined;
}

export const artifactPathSchema = z.string().superRefine((path, ctx) => {
  const problem = artifactPathProblem(path);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A lower-case hex SHA-256 digest. */
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lower-case hex digits' });
