/**
 * Hangar's one error type and its stable codes.
 *
 * Every failure a client can see carries one of these codes. The comment on each says what
 * a client should do about it. The worker maps each code to an HTTP status in one table
 * (`worker/errors.ts`); the browser keeps the code across Web Worker boundaries.
 */
export const ErrorCode = {
  /** The request is malformed or a value breaks a rule: show the message, fix the input. */
  InvalidArgument: 'invalid-argument',
  /** The body is not valid JSON: fix the client. */
  InvalidJson: 'invalid-json',
  /** The filter expression does not parse: show the message with its position. */
  InvalidFilter: 'invalid-filter',
  /** The page token is not one this server issued: restart listing from the first page. */
  InvalidPageToken: 'invalid-page-token',
  /** No token, or a token the server does not know: ask the user to sign in again. */
  Unauthenticated: 'unauthenticated',
  /** The token has expired: ask an admin for a new one. */
  TokenExpired: 'token-expired',
  /** The token's role is too low for this call: ask for a token with a higher role. */
  PermissionDenied: 'permission-denied',
  /** The browser origin is not one the token allows: use the token from an allowed site. */
  OriginNotAllowed: 'origin-not-allowed',
  /** No such route: fix the URL. */
  RouteNotFound: 'route-not-found',
  /** The namespace does not exist or the token may not see it. */
  NamespaceNotFound: 'namespace-not-found',
  /** The model does not exist (or was deleted). */
  ModelNotFound: 'model-not-found',
  /** The version does not exist (or was deleted). */
  VersionNotFound: 'version-not-found',
  /** The alias is not set on this model. */
  AliasNotFound: 'alias-not-found',
  /** No artifact at that path. */
  ArtifactNotFound: 'artifact-not-found',
  /** The artifact's bytes have not been uploaded yet, or this namespace may not read them: upload them. */
  BlobNotFound: 'blob-not-found',
  /** The upload does not exist, was completed or was aborted: start a new upload. */
  UploadNotFound: 'upload-not-found',
  /** No checkpoint with that handle. */
  CheckpointNotFound: 'checkpoint-not-found',
  /** No token with that id. */
  TokenNotFound: 'token-not-found',
  /** No webhook with that id in the namespace. */
  WebhookNotFound: 'webhook-not-found',
  /** No job with that id: never made here, or purged after its retention time. */
  JobNotFound: 'job-not-found',
  /** The job was canceled or interrupted, so it has no result: resume or run it again. */
  JobStopped: 'job-stopped',
  /** A model with that name already exists in the namespace: open it instead. */
  ModelExists: 'model-exists',
  /** Another version of the model already has that label: pick another label. */
  VersionLabelTaken: 'version-label-taken',
  /** An artifact with that path but different bytes exists: artifacts are immutable, use a new path. */
  ArtifactConflict: 'artifact-conflict',
  /** A checkpoint with that handle exists with other files: checkpoints are immutable, use a new handle. */
  CheckpointExists: 'checkpoint-exists',
  /** Not every part has arrived: upload the parts listed in `details.missingParts`, then complete again. */
  UploadIncomplete: 'upload-incomplete',
  /** The alias no longer points where the caller expected: reload and decide again. */
  AliasPreconditionFailed: 'alias-precondition-failed',
  /** The uploaded bytes do not hash to the announced SHA-256: nothing was stored; upload again. */
  DigestMismatch: 'digest-mismatch',
  /** The uploaded bytes are not the announced size: nothing was stored; upload again. */
  SizeMismatch: 'size-mismatch',
  /** The body or batch is larger than a limit in `shared/limits.ts`: split it. */
  PayloadTooLarge: 'payload-too-large',
  /** The requested byte range lies outside the blob. */
  RangeNotSatisfiable: 'range-not-satisfiable',
  /** Too many requests: retry after the delay in `details.retryAfter`. */
  RateLimited: 'rate-limited',
  /**
   * A quota is full: in the browser, the origin's storage (free space or ask for persistent
   * storage); on the server, a namespace quota set by an admin (`details` holds the quota, the
   * use and what the write asked for). Nothing was written.
   */
  QuotaExceeded: 'quota-exceeded',
  /** The training data cannot be used (empty, no such target column, a feature that is not a number): show the message, fix the data. */
  InvalidDataset: 'invalid-dataset',
  /** No module of that type id: pick one of `details.known`. */
  UnknownModule: 'unknown-module',
  /** The model's files are missing or are not a model the module can load: pick other files. */
  InvalidModelFile: 'invalid-model-file',
  /** None of the requested ML backends can run here: allow another backend (`details.tried` says why each failed). */
  BackendUnavailable: 'backend-unavailable',
  /** The server cannot serve this client's sync protocol version: update the app (`details.supported`). */
  ProtocolUnsupported: 'protocol-unsupported',
  /** The client says the server applied mutations it has no record of: the server's state is older than the client's; see `details`. */
  SequenceGap: 'sequence-gap',
  /** This client id belongs to another token: a new token starts a new client id. */
  ClientMismatch: 'client-mismatch',
  /** The pull cursor is past the end of the change log: it came from another server; pull again from 0. */
  CursorAhead: 'cursor-ahead',
  /** The pull cursor is older than the compacted change log: bootstrap from `…/sync/snapshot`, then pull from its cursor. */
  SnapshotRequired: 'snapshot-required',
  /** The item was purged from the trash (or never was in it): it cannot be restored. */
  NotInTrash: 'not-in-trash',
  /** A param already holds another value: params are write-once, log the new value under another key. */
  ParamChanged: 'param-changed',
  /** A write's clock is further ahead of the server's time than `LIMITS.maxClockDriftMs`: correct the device's clock (sync learns the server's time) and write again. */
  ClockSkew: 'clock-skew',
  /** A bug on our side: retry later and report it. */
  Internal: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The JSON body of every error response: `{"error": {"code", "message", "details"}}`. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** The one error type. `code` is stable; `message` is a sentence for people. */
export class HangarError extends Error {
  override readonly name = 'HangarError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toJSON(): ErrorEnvelope {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }

  /** Rebuilds an error from an envelope (an HTTP body, or a message from a Web Worker). */
  static fromEnvelope(body: unknown): HangarError | undefined {
    const e = (body as Partial<ErrorEnvelope> | null)?.error;
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') return undefined;
    return new HangarError(e.code as ErrorCode, e.message, e.details);
  }
}
