// The named export, not the default: under Node's module resolution (node16) TypeScript reads dexie's
// default export as its whole CommonJS module, and the published HangarDb type would not extend Dexie.
import { Dexie, type EntityTable, type Transaction } from 'dexie';
import type { FileType } from '../../shared/artifacts.ts';
import type { ModelKind } from '../../shared/models.ts';
import type { VersionStatus } from '../../shared/versions.ts';
import type { Backend, TrainingData } from '../jobs/protocol.ts';
import { buildCells } from './metric-cells.ts';
import { buildSeries, packSegmentColumns, seriesPointsIn } from './metric-store.ts';

/** Per-field clocks: field name → hybrid logical clock of its last write. */
export type Clocks = Record<string, string>;

export interface ModelRecord {
  id: string;
  namespace: string;
  name: string;
  /**
   * `model` (a registered model) or `experiment` (its versions are runs), fixed at create.
   * Set on every row from schema version 5 on (the upgrade gives older rows `model`).
   */
  kind?: ModelKind;
  owner: string | null;
  task: string | null;
  description: string | null;
  clocks: Clocks;
  createdAt: number;
  updatedAt: number;
  /** Tombstone: set when deleted; the row stays so a delete can sync. */
  deletedAt: number | null;
}

export interface VersionRecord {
  id: string;
  modelId: string;
  namespace: string;
  number: number;
  /** False while the number is this device's guess, before the server has numbered it. */
  numberConfirmed: boolean;
  version: string | null;
  name: string | null;
  description: string | null;
  framework: string | null;
  /** The status served (DESIGN §3a): what `ns/m` and the finder go by. */
  status: VersionStatus;
  /**
   * The status this device declared as the version's creator (or when it marked it ready or
   * failed); absent on versions only pulled. Not indexed, so no schema version is needed.
   */
  declaredStatus?: VersionStatus;
  /**
   * The status the server last served for it, kept even while a change made here waits to be
   * answered (when `status` stays this device's own); taken up once the change is answered.
   */
  servedStatus?: VersionStatus;
  /** Lineage: the version (an experiment's run) this one was registered from; set at create only. */
  sourceVersionId?: string | null;
  clocks: Clocks;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
  /** The server purged it from the trash: a bare tombstone (its number is never given again), not restorable. */
  purged?: boolean;
}

export interface MetadataRecord {
  parentId: string;
  key: string;
  namespace: string;
  value: unknown;
  hlc: string;
  /**
   * A tombstone (DESIGN §3): the key was deleted at `hlc`, so a write older than that never
   * brings it back. Not indexed, so no schema version is needed; reads skip these rows.
   */
  deleted?: boolean;
}

/** A version's param (DESIGN §1): set once, never changed (shared/params.ts). */
export interface ParamRecord {
  parentId: string;
  key: string;
  namespace: string;
  value: string;
  hlc: string;
}

/** One metric point. Stored in segments (`metricSegments`) since schema version 4; the `metrics` table of versions 1–3 held one row each. */
export interface MetricRecord {
  id: string;
  parentId: string;
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

/**
 * A column of a segment as stored (`web/client/metric-store.ts` `packColumn`), in the smallest
 * of these forms that holds every value exactly: integers in a progression (`first + i × stride`:
 * steps logged one by one), integers as differences from the one before (`first`, then `deltas`:
 * wallclocks from `Date.now()`), numbers a float32 holds (tfjs metrics), or float64. Reading a
 * chart reads every segment of the range, so its bytes are most of the time it takes. Schema
 * versions 4 and 5 held every column as a Float64Array, which is still read as it is.
 */
export type PackedColumn = Float64Array | Float32Array | { first: number; stride: number } | { first: number; deltas: Int8Array | Int16Array | Int32Array };

/**
 * Up to `SEGMENT_POINTS` points of one (parent, key), in order (step, wallclock, id), as packed
 * columns (`web/client/metric-store.ts`). Segments of a series never overlap but at an equal step.
 */
export interface MetricSegmentRecord {
  id: string;
  parentId: string;
  key: string;
  /** The first and last point's steps. */
  minStep: number;
  maxStep: number;
  count: number;
  /** The least and greatest value. */
  min: number;
  max: number;
  steps: PackedColumn;
  values: PackedColumn;
  wallclocks: PackedColumn;
}

/**
 * The point ids of a segment (same `id`), comma-separated, in its order: apart, so a chart reads
 * only the columns, and each record stays under the size past which Chromium stores a value as a
 * separate file (64 KiB), which costs far more to write and read.
 */
export interface MetricIdsRecord {
  id: string;
  ids: string;
}

/**
 * Per-level summaries of a series (`web/client/metric-cells.ts`): of level `level`, the cells
 * (width 2^level steps, cell c holding steps c × 2^level … (c + 1) × 2^level − 1) that hold
 * points, up to BLOCK_CELLS of them in order, keyed by the first; per cell its points' count,
 * min and max and its last point's value, step and wallclock, as columns. Kept in the
 * transaction that writes the series' segments, so a chart of N buckets reads about N cells
 * instead of every point.
 */
export interface MetricCellsRecord {
  parentId: string;
  key: string;
  level: number;
  /** The first cell's number (`cell[0]`). */
  first: number;
  /** The cells' numbers, ascending. */
  cell: Float64Array;
  count: Float64Array;
  min: Float64Array;
  max: Float64Array;
  last: Float64Array;
  lastStep: Float64Array;
  lastWallclock: Float64Array;
}

/**
 * A (parent, key)'s summary, kept current in the transaction that writes its points. A key known
 * from a snapshot (DESIGN §6 "Bootstrap") starts from the server's summary, with `asOf` set while
 * its history is not on this device; once the history is fetched, the summary is made from it.
 */
export interface MetricSummaryRecord {
  parentId: string;
  key: string;
  count: number;
  min: number;
  max: number;
  /** The value, step, wallclock and id of the last point (greatest step, then wallclock, then id). */
  last: number;
  lastStep: number;
  lastWallclock: number;
  lastId: string;
  /**
   * Set while this key's history is not on this device (its summary came from a snapshot): the
   * change-log cursor the summary counts points up to. A point pulled at a change at or before it
   * is in the summary already; one pulled after it, or logged here, is folded in once.
   */
  asOf?: number;
}

export interface AliasRecord {
  modelId: string;
  alias: string;
  versionId: string;
  updatedAt: number;
}

export interface AliasHistoryRecord {
  id: string;
  modelId: string;
  alias: string;
  versionId: string | null;
  previousVersionId: string | null;
  at: number;
}

export interface ArtifactRecord {
  id: string;
  namespace: string;
  modelId: string;
  /** The model's id or the version's. */
  parentId: string;
  path: string;
  mimeType: string;
  fileType: FileType;
  size: number | null;
  sha256: string | null;
  url: string | null;
  createdAt: number;
}

/** Bytes kept once per digest, as chunks in `blobChunks`. */
export interface BlobRecord {
  sha256: string;
  size: number;
  /** Where its chunks are: `blobChunks` rows `[chunksId+index]`. */
  chunksId: string;
  chunkCount: number;
  createdAt: number;
}

export interface BlobChunkRecord {
  chunksId: string;
  index: number;
  data: Blob;
}

export interface CheckpointRecord {
  versionId: string;
  handle: string;
  /** For `default`: the handle it points at. */
  target: string | null;
  createdAt: number;
  updatedAt: number;
}

/** One local write, waiting to be pushed to the server. */
export interface OutboxRecord {
  seq?: number;
  name: string;
  namespace: string;
  args: unknown;
  hlc: string;
  createdAt: number;
}

/** Small per-registry values: the client id, the sync cursor… */
export interface StateRecord {
  key: string;
  value: unknown;
}

/** A job's state: queued → running → completed | errored | canceled; `interrupted` when its page closed mid-run. */
export type JobStatus = 'queued' | 'running' | 'completed' | 'errored' | 'canceled' | 'interrupted';

/** What a training job was asked, kept whole (the dataset Blob too) so an interrupted job can resume. */
export interface TrainJobRequest {
  data: TrainingData;
  target: string;
  params: Record<string, unknown>;
  backends: Backend[];
  checkpointEvery: number;
  saveAs: { namespace: string; model: string };
}

/** A training or prediction job (`web/client/jobs/`), kept so it outlives its page. */
export interface JobRecord {
  /** `<trainer or predictor type>:<uuidv7>`, e.g. `local:0190…`. */
  id: string;
  type: 'train' | 'predict';
  module: string;
  status: JobStatus;
  progress: { epoch: number; epochs: number; metrics: Record<string, number> } | null;
  submitted: number;
  started: number | null;
  completed: number | null;
  error: { code: string; message: string } | null;
  /** A training job's request; a prediction's reference (its rows are not kept). */
  request: TrainJobRequest | { ref: string };
  /** The version trained, or the version a prediction ran. */
  versionId: string | null;
  lastCheckpoint: { epoch: number } | null;
  backend: Backend | null;
}

/** A write the server did not take as it was (DESIGN §3), kept until the user resolves it. */
export interface ConflictRecord {
  id: string;
  kind: 'alias' | 'version-label' | 'artifact' | 'deleted' | 'rejected';
  namespace: string;
  /** The pushed mutation that lost: its name and arguments. */
  mutation: { name: string; args: unknown };
  /** What the server holds instead (its answer's `server`, or the error for `rejected`). */
  theirs: unknown;
  message: string;
  at: number;
  /** 0 while open, 1 once resolved (an index needs a number, not a boolean). */
  resolved: 0 | 1;
}

/** A blob on its way to the server: which parts have arrived, so an upload resumes. */
export interface UploadRecord {
  namespace: string;
  sha256: string;
  size: number;
  uploadId: string | null;
  partSize: number;
  /** Part numbers (1-based) the server has confirmed. */
  doneParts: number[];
  /** True once the server holds the bytes. */
  done: boolean;
  /**
   * The sync server (its URL) that `uploadId`, `doneParts` and `done` speak of. A record of
   * another server says nothing about the current one, so the blob is queued again (a download
   * or upload that was in flight while the device moved to another server). Records written
   * before this field existed have none and count as the current server's.
   */
  server?: string;
}

/** The registry's IndexedDB database. */
export class HangarDb extends Dexie {
  models!: EntityTable<ModelRecord, 'id'>;
  versions!: EntityTable<VersionRecord, 'id'>;
  metadata!: Dexie.Table<MetadataRecord, [string, string]>;
  metricSegments!: EntityTable<MetricSegmentRecord, 'id'>;
  metricSummaries!: Dexie.Table<MetricSummaryRecord, [string, string]>;
  metricIds!: EntityTable<MetricIdsRecord, 'id'>;
  metricCells!: Dexie.Table<MetricCellsRecord, [string, string, number, number]>;
  aliases!: Dexie.Table<AliasRecord, [string, string]>;
  aliasHistory!: EntityTable<AliasHistoryRecord, 'id'>;
  artifacts!: EntityTable<ArtifactRecord, 'id'>;
  blobs!: EntityTable<BlobRecord, 'sha256'>;
  blobChunks!: Dexie.Table<BlobChunkRecord, [string, number]>;
  checkpoints!: Dexie.Table<CheckpointRecord, [string, string]>;
  outbox!: EntityTable<OutboxRecord, 'seq'>;
  state!: EntityTable<StateRecord, 'key'>;
  jobs!: EntityTable<JobRecord, 'id'>;
  conflicts!: EntityTable<ConflictRecord, 'id'>;
  uploads!: Dexie.Table<UploadRecord, [string, string]>;
  params!: Dexie.Table<ParamRecord, [string, string]>;

  constructor(name: string) {
    // No query cache: with Dexie's optimistic cache on, a live query whose reads another live
    // query had cached (a run's chart after its runs page) stopped following new points. Every
    // live query reads IndexedDB again after a change that touches it.
    super(name, { cache: 'disabled' });
    this.version(1).stores({
      models: 'id, &[namespace+name], namespace, task, updatedAt',
      versions: 'id, [modelId+number], [modelId+version], modelId',
      metadata: '[parentId+key], parentId',
      // No parentId index: the compound index answers "all points of a parent" as a range,
      // and one index less makes logging points cheaper.
      metrics: 'id, [parentId+key+step]',
      aliases: '[modelId+alias], versionId',
      aliasHistory: 'id, [modelId+alias]',
      artifacts: 'id, &[parentId+path], parentId, sha256',
      blobs: 'sha256, chunksId',
      blobChunks: '[chunksId+index]',
      checkpoints: '[versionId+handle], versionId',
      outbox: '++seq',
      state: 'key',
    });
    // Version 2 adds the jobs table; every table of version 1 stays as it is.
    this.version(2).stores({ jobs: 'id, status, submitted' });
    // Version 3 adds sync: conflicts, blob uploads, and the outbox by namespace.
    this.version(3).stores({ conflicts: 'id, resolved', uploads: '[namespace+sha256]', outbox: '++seq, namespace' });
    // Version 4 keeps metric points in segments with a summary per key (DESIGN §7): every row of
    // the `metrics` table is carried over, point for point, and the table goes. The summaries
    // also hold what a snapshot brings for keys whose history is not here yet (DESIGN §6
    // "Bootstrap"); a registry from before has every point's history, so none of its rows is marked.
    this.version(4)
      .stores({ metrics: null, metricSegments: 'id, [parentId+key+minStep]', metricSummaries: '[parentId+key], parentId', metricIds: 'id' })
      .upgrade(async (tx) => segmentMetrics(tx));
    // Version 5 adds experiments and runs (DESIGN §1): the params table, and every model a kind.
    this.version(5)
      .stores({ params: '[parentId+key], parentId' })
      .upgrade(async (tx) => {
        await tx
          .table('models')
          .toCollection()
          .modify((m: ModelRecord) => {
            m.kind ??= 'model';
          });
      });
    // Version 6 packs the columns of every metric segment (PackedColumn): the same points, in
    // the same segments, in fewer bytes.
    this.version(6)
      .stores({})
      .upgrade(async (tx) => {
        await tx
          .table('metricSegments')
          .toCollection()
          .modify((s: MetricSegmentRecord) => {
            const packed = packSegmentColumns(s);
            s.steps = packed.steps;
            s.values = packed.values;
            s.wallclocks = packed.wallclocks;
          });
      });
    // Version 7 adds the per-level cells of every series (MetricCellsRecord), made from the
    // points stored, so a chart reads only the buckets it draws.
    this.version(7)
      .stores({ metricCells: '[parentId+key+level+first]' })
      .upgrade(async (tx) => cellMetrics(tx));
    // Version 8 indexes versions by the version they were registered from, so a run's
    // registered versions (VersionHandle.registered) are read without scanning every version.
    this.version(8).stores({ versions: 'id, [modelId+number], [modelId+version], modelId, sourceVersionId' });
  }
}

/**
 * The version 4 upgrade: the `metrics` rows of each (parent, key), read one series at a time
 * through the compound index (so memory holds one series, not the table), become its segments
 * and summary. Runs in the upgrade transaction: it all happens, or the database stays at version 3.
 */
async function segmentMetrics(tx: Transaction): Promise<void> {
  const rows = tx.table<MetricRecord, string>('metrics');
  const index = rows.orderBy('[parentId+key+step]');
  let next = await index.first();
  while (next) {
    const { parentId, key } = next;
    const series = await rows.where('[parentId+key+step]').between([parentId, key, Dexie.minKey], [parentId, key, Dexie.maxKey]).toArray();
    const { segments, ids, summary } = buildSeries(parentId, key, series);
    await tx.table('metricSegments').bulkAdd(segments);
    await tx.table('metricIds').bulkAdd(ids);
    await tx.table('metricSummaries').add(summary);
    next = await rows.where('[parentId+key+step]').above([parentId, key, Dexie.maxKey]).first();
  }
}

/**
 * The version 7 upgrade: the cells of each (parent, key), made from its points read one series
 * at a time through the segments' index. Runs in the upgrade transaction: it all happens, or the
 * database stays at version 6.
 */
async function cellMetrics(tx: Transaction): Promise<void> {
  const segments = tx.table<MetricSegmentRecord, string>('metricSegments');
  let next = await segments.orderBy('[parentId+key+minStep]').first();
  while (next) {
    const { parentId, key } = next;
    const series = await segments.where('[parentId+key+minStep]').between([parentId, key, Dexie.minKey], [parentId, key, Dexie.maxKey]).toArray();
    const ids = await tx.table<MetricIdsRecord, string>('metricIds').bulkGet(series.map((s) => s.id));
    const cells = buildCells(parentId, key, seriesPointsIn(series, ids.map((r) => r?.ids ?? '')));
    if (cells.length) await tx.table('metricCells').bulkAdd(cells);
    next = await segments.where('[parentId+key+minStep]').above([parentId, key, Dexie.maxKey]).first();
  }
}
