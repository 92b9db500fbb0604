import { ErrorCode, HangarError } from '../shared/errors.ts';

/**
 * Codes of failures only the command sees (its own machine, its own network); the server's
 * codes come from shared/errors.ts as they are.
 */
export const CliCode = {
  /** The command line is wrong: unknown command or flag, missing or malformed argument. Exit 2. */
  Usage: 'usage',
  /** A file named on the command line does not exist or cannot be read. */
  FileNotFound: 'file-not-found',
  /** A file changed while it was hashed or sent: nothing of it was recorded. */
  FileChanged: 'file-changed',
  /** `pull` would overwrite a file with other contents. */
  FileExists: 'file-exists',
  /** The server could not be reached, or the connection dropped. */
  Network: 'network-error',
  /** The URL answers, but not as a Hangar server. */
  NotHangar: 'not-a-hangar-server',
  /** The version ended `failed` instead of `ready`. */
  VersionFailed: 'version-failed',
  /** The version did not become ready in time. */
  WaitTimeout: 'wait-timeout',
} as const;
export type CliCode = (typeof CliCode)[keyof typeof CliCode];

/** A failure the command reports: a code, a sentence, and what to do about it. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliCode | ErrorCode,
    message: string,
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** Exit status: 2 for a wrong command line, 1 for everything else. */
  get exitCode(): 1 | 2 {
    return this.code === CliCode.Usage ? 2 : 1;
  }
}

export const usage = (message: string, hint = 'Run "hangar --help" or "hangar <command> --help".') =>
  new CliError(CliCode.Usage, message, hint);

const RESUME = 'Run the same command again to resume: only what the server lacks is sent.';

/** What to do about a server error, by code; the server's message says what happened. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.Unauthenticated]: 'Set HANGAR_TOKEN (or --token) to a valid token; an admin makes one with "hangar token create".',
  [ErrorCode.TokenExpired]: 'Ask an admin for a new token ("hangar token create").',
  [ErrorCode.PermissionDenied]: 'Use a token with the role named above; an admin makes one with "hangar token create --namespace NS --role ROLE".',
  [ErrorCode.NamespaceNotFound]: 'Check the namespace, and that your token belongs to it.',
  [ErrorCode.ModelNotFound]: 'Check the name with "hangar ls NAMESPACE".',
  [ErrorCode.VersionNotFound]: 'List the versions with "hangar ls NAMESPACE/MODEL".',
  [ErrorCode.AliasNotFound]: 'List the versions and their aliases with "hangar ls NAMESPACE/MODEL".',
  [ErrorCode.ArtifactConflict]: 'Artifacts are immutable: push the changed file to a new version (another --version).',
  [ErrorCode.VersionLabelTaken]: 'Pick another --version label.',
  [ErrorCode.AliasPreconditionFailed]: 'The alias moved meanwhile: check it with "hangar ls NAMESPACE/MODEL" and decide again.',
  [ErrorCode.DigestMismatch]: RESUME,
  [ErrorCode.SizeMismatch]: RESUME,
  [ErrorCode.UploadNotFound]: RESUME,
  [ErrorCode.UploadIncomplete]: RESUME,
  [ErrorCode.RateLimited]: 'Wait a little and run the command again.',
  [ErrorCode.Internal]: 'Run the command again later; if it persists, report it with the message above.',
  [ErrorCode.InvalidFilter]: 'Fix the --filter expression, e.g. "name LIKE \'churn%\' AND metrics.accuracy > 0.9".',
};

/** Any thrown value as a CliError: server errors keep their code and gain a hint. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof HangarError) {
    return new CliError(err.code, err.message, HINTS[err.code] ?? 'Fix what the message says and run the command again.', err.details);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(ErrorCode.Internal, message, 'This is a bug in the hangar command: report it with the message above.');
}

/** The error as people read it (stderr). */
export function formatError(err: CliError): string {
  return `error [${err.code}]: ${err.message}${err.hint ? `\n  ${err.hint}` : ''}\n`;
}

/** The error as one JSON document (stdout under --json). */
export function errorJson(err: CliError) {
  return { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), ...(err.details ? { details: err.details } : {}) } };
}

export const networkError = (url: string, cause: unknown) =>
  new CliError(
    CliCode.Network,
    `Could not reach ${url}: ${describeCause(cause)}.`,
    'Check the network and --url (or HANGAR_URL), then run the same command again: a push resumes where it stopped.',
  );

function describeCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } })?.cause;
  return inner?.code ?? inner?.message ?? (cause instanceof Error ? cause.message : String(cause));
}
