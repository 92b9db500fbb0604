/**
 * Every limit Hangar enforces, in one place. The worker and the browser both check these,
 * so a request the browser accepts is one the server accepts.
 */
export const LIMITS = {
  /** Metric points in one request (REST) or one `logMetrics` flush. */
  metricsPerRequest: 1000,
  /** Bytes in one JSON request body. */
  jsonBodyBytes: 1024 * 1024,
  /** Characters in a metric key, metadata key or tag key. */
  keyLength: 250,
  /** Bytes of a metadata value once serialized as JSON. */
  metadataValueBytes: 64 * 1024,
  /** How deeply a metadata value may nest arrays and objects (SQLite's JSON functions stop at 1000). */
  metadataDepth: 64,
  /** Bytes of a LIKE pattern as the database sees it (D1 refuses LIKE/GLOB patterns over 50). */
  likePatternBytes: 50,
  /** Latest expiry a token may have (the largest date JavaScript represents). */
  maxTimestampMs: 8_640_000_000_000_000,
  /** Characters in a description. */
  descriptionLength: 4000,
  /** Bytes (UTF-8) in an artifact path. */
  artifactPathBytes: 1024,
  /** Characters in a filter expression. */
  filterLength: 2000,
  /** Nesting depth of parentheses and NOT in a filter expression. */
  filterDepth: 32,
  /** Default and largest page size of a listing. */
  pageSizeDefault: 50,
  pageSizeMax: 1000,
  /** Largest `maxPoints` of a downsampled metric history. */
  maxPointsMax: 10_000,
  /**
   * Points in one stored metric segment (DESIGN §3b). A request's points for a key become one
   * segment (a request holds at most `metricsPerRequest`); migration 0009 cuts old rows into
   * segments of this many. About 19 bytes a point packed, so a segment stays near 20 KB, far
   * under D1's 1 MB per stored value, and a history page reads few of them.
   */
  metricSegmentPoints: 1000,
  /**
   * A segment of at most this many points is small: the scheduled sweep merges a key's small
   * segments (one a request, from a client logging a point at a time) into full ones. Half a
   * full segment, so any two fit in one. Migration 0012's partial index names the same number.
   */
  metricSegmentSmall: 500,
  /** Size of every part of a multipart upload but the last (R2 refuses parts under 5 MiB). */
  uploadPartBytes: 8 * 1024 * 1024,
  /** R2 allows at most 10,000 parts, which bounds a blob's size. */
  uploadMaxParts: 10_000,
  /** Largest blob accepted in one `PUT /blobs/sha256/{hex}`; larger ones use multipart. */
  singlePutBytes: 32 * 1024 * 1024,
  /**
   * Bytes of one training data set (a CSV, or rows as JSON) a training job or data report takes:
   * the browser parses it in a worker and holds its cells in memory.
   */
  trainingDataBytes: 512 * 1024 * 1024,
  /** Distinct values of a categorical feature given their own one-hot slot; rarer ones share the "other" slot. */
  categoricalVocabulary: 30,
  /** Allowed browser origins on one token. */
  originsPerToken: 32,
  /** Unique tags (aliases) set when a version is created. */
  uniqueTagsPerVersion: 32,
  /** Metadata keys given inline when a model or version is created or patched. */
  metadataKeysPerRequest: 100,
  /** Files in one checkpoint. */
  filesPerCheckpoint: 1000,
  /** Mutations in one sync push (the body also stays under `jsonBodyBytes`). */
  mutationsPerPush: 500,
  /** Default and largest number of change-log rows in one pull page. */
  pullPageMax: 1000,
  /** Bytes of change data a pull page stops at (a page always holds at least one change). */
  pullPageBytes: 4 * 1024 * 1024,
  /** Rows (models, versions, metadata keys, aliases, artifacts, checkpoints, metric summaries) in one page of `…/sync/snapshot`. */
  snapshotPageRows: 2000,
  /** Live sockets (`…/sync/live`) one token may hold open on one namespace; past it, `rate-limited`. */
  liveSocketsPerToken: 1000,
  /** Live sockets one namespace holds in all; past it, `rate-limited`. */
  liveSocketsPerNamespace: 10_000,
  /**
   * Bytes (UTF-8 JSON) a live poke may take when it carries the change-log rows it announces
   * (shared/live.ts): a poke whose rows would not fit carries none, and its clients pull. A
   * client sets aside the rows of a larger message and pulls.
   */
  livePokeBytes: 16 * 1024,
  /**
   * How far ahead of the receiver's time a clock may be (DESIGN §3). A write stamped later is
   * refused (`clock-skew`), never stored or adopted, so one bad clock cannot win every field.
   */
  maxClockDriftMs: 5 * 60 * 1000,
  /**
   * Cloudflare's production D1 limits (DESIGN §6), which local D1 does not enforce: queries in
   * one Worker invocation (each statement of a `batch()` counts), bound parameters and bytes of
   * one statement, bytes of one stored value.
   */
  d1QueriesPerInvocation: 1000,
  d1BoundParameters: 100,
  d1StatementBytes: 100 * 1000,
  d1ValueBytes: 1000 * 1000,
  /**
   * Seconds a rate-limited client waits (`Retry-After`): the period of the Worker's rate
   * limiters in wrangler.toml (`simple.period`), after which the count starts again.
   */
  rateLimitRetryAfterS: 10,
  /** Times the CLI and the widget send a request again after a 429, waiting as told each time. */
  rateLimitRetries: 5,
  /** The longest a client waits on one Retry-After before sending again. */
  rateLimitMaxWaitS: 60,
  /** Days a deleted model or version stays in the namespace's trash, restorable, before it is purged (DESIGN §3b). */
  trashDays: 30,
  /** Days the change log keeps rows a known client has not pulled; a client further behind bootstraps from a snapshot. */
  changeLogRetentionDays: 30,
  /** Hours an unreferenced blob (or an abandoned upload) is kept before the scheduled sweep deletes it, so an upload in flight is never lost. */
  blobGraceHours: 24,
  /** MLflow's own limits (its REST reference), checked on its routes: metrics, and params plus tags, in one `log-batch`. */
  mlflowBatchMetrics: 1000,
  mlflowBatchParamsAndTags: 100,
  /** Bytes of one param value, as MLflow allows. */
  paramValueBytes: 6000,
  /**
   * Bytes of one part of an MLflow multipart artifact upload (the client's
   * `MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE`, 10 MiB unless set), under a Worker's 100 MB request body.
   */
  mlflowPartBytes: 64 * 1024 * 1024,
} as const;

/** The largest blob Hangar stores: every part full. */
export const MAX_BLOB_BYTES = LIMITS.uploadPartBytes * LIMITS.uploadMaxParts;
