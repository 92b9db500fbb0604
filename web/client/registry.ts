import { localTrash, restore, type LocalTrashEntry } from './trash.ts';
import { liveQuery, type Observable } from 'dexie';
import { z } from 'zod';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { parseFilter, evaluateFilter, filterNamesField, type FilterNode } from '../../shared/filter.ts';
import { HybridClock } from '../../shared/hlc.ts';
import { modelId } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { createModelSchema, MODEL_FIELDS, MODEL_FILTER_FIELDS, MODEL_ORDER_FIELDS, type CreateModel } from '../../shared/models.ts';
import { namespaceSchema } from '../../shared/names.ts';
import { parseRef } from '../../shared/refs.ts';
import { parseWith } from '../../shared/validate.ts';
import { exportModel, importModel, type ArchiveOptions } from './archive.ts';
import { BlobCollector } from './blob-gc.ts';
import { collectGarbage } from './blob-store.ts';
import type { ClientContext } from './context.ts';
import { HangarDb, type ModelRecord } from './db.ts';
import { writeMetadataMap } from './fields.ts';
import { jobsSettings, type JobsOptions } from './jobs/context.ts';
import { JobsHub } from './jobs/hub.ts';
import type { Job, JobInfo } from './jobs/job.ts';
import type { ImportModelFiles } from './jobs/models.ts';
import type { Predictor } from './jobs/predictor.ts';
import type { Trainer } from './jobs/trainer.ts';
import type { PredictOutput } from '../jobs/protocol.ts';
import { MetricQueue } from './metrics-queue.ts';
import { compactOutbox } from './outbox-compaction.ts';
import { getModelRecord, ModelHandle } from './model.ts';
import { metricTables } from './metric-store.ts';
import { dropParentData } from './parent-data.ts';
import { liveMetadata, metricSummary } from './parent.ts';
import { requestPersistence, storageInfo, type StorageInfo } from './storage.ts';
import { versionById, type VersionHandle } from './version.ts';
import { Writer } from './writer.ts';
import { listConflicts, resolveConflict, type Conflict } from './sync/conflicts.ts';
import { SyncEngine, type LiveValue, type SyncOptions, type SyncStatus } from './sync/engine.ts';

/** Options of `openRegistry`. */
export interface OpenOptions {
  /** The IndexedDB database name; one registry per name. Default `hangar`. */
  name?: string;
  /** Ask the browser to keep the data under storage pressure. Default true. */
  persist?: boolean;
  /** Training and prediction jobs: retention, concurrency, checkpoint interval, model cache size… */
  jobs?: JobsOptions;
  /** The `fetch` sync uses; default the global one. */
  fetch?: typeof fetch;
  /**
   * The device's clock in ms since the epoch (default `Date.now`), from which write clocks are
   * stamped once corrected by the server's time. Simulations use it to run a registry fast or slow.
   */
  now?: () => number;
}

/** Options of `hangar.models()`. */
export interface ListModelsOptions {
  namespace?: string;
  /** The filter language of the API: `task = 'tabular' AND metrics.accuracy > 0.9`. */
  filter?: string;
  /** `name`, `created_at` or `updated_at`, then `ASC` or `DESC`. Default `name ASC`. */
  orderBy?: string;
  limit?: number;
  /** Which kind to list when the filter does not name `kind`: `model` (the default), `experiment`, or `all`. */
  kind?: 'model' | 'experiment' | 'all';
}

const listModelsOptionsSchema = z.object({
  kind: z.enum(['model', 'experiment', 'all']).optional(),
  namespace: namespaceSchema.optional(),
  filter: z.string().max(LIMITS.filterLength).optional(),
  orderBy: z.string().max(64).optional(),
  limit: z.number().int().min(1).optional(),
});

const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');

/** The whole registry in this browser: what `openRegistry` returns. */
export class Hangar {
  private readonly hub: JobsHub;
  private readonly syncEngine: SyncEngine;

  private constructor(
    private readonly ctx: ClientContext,
    /** This registry's id towards a server, kept across reloads. */
    readonly clientId: string,
    jobs?: JobsOptions,
    fetcher?: typeof fetch,
  ) {
    this.hub = new JobsHub(this, ctx, jobs);
    this.syncEngine = new SyncEngine(ctx, fetcher);
  }

  /** Opens (creating if needed) the registry in IndexedDB. */
  static async open(opts: OpenOptions = {}): Promise<Hangar> {
    const jobs = jobsSettings(opts.jobs);
    const db = new HangarDb(opts.name ?? 'hangar');
    await db.open();
    // Read or made in one transaction, so tabs opening at once agree on one id.
    const clientId = await db.transaction('rw', db.state, async () => {
      const stored = (await db.state.get('clientId'))?.value as string | undefined;
      if (stored) return stored;
      const made = randomHex(8);
      await db.state.put({ key: 'clientId', value: made });
      return made;
    });
    // Tabs of one registry share its client id; each gets its own clock node so two tabs
    // never stamp the same clock.
    const now = opts.now ?? Date.now;
    const writer = new Writer(db, new HybridClock(`${clientId}-${randomHex(3)}`, now), now);
    const ctx: ClientContext = { db, writer, metrics: new MetricQueue(writer), gc: new BlobCollector(db) };
    writer.beforeWrite = () => ctx.metrics.flush();
    await collectGarbage(db);
    await compactOutbox(db);
    const hangar = new Hangar(ctx, clientId, jobs, opts.fetch);
    // Jobs a closed page left running become `interrupted`; finished ones past retention go.
    await hangar.hub.start();
    await hangar.syncEngine.resume();
    if (opts.persist !== false) void requestPersistence();
    return hangar;
  }

  /** The underlying Dexie database, for live queries and tools. */
  get db(): HangarDb {
    return this.ctx.db;
  }

  /**
   * Creates a model. Its id comes from (namespace, name), so the same model created on two
   * devices offline is one model.
   */
  async newModel(input: CreateModel & { namespace: string }): Promise<ModelHandle> {
    const namespace = parseWith(namespaceSchema, input.namespace, 'namespace');
    const data = parseWith(createModelSchema, input, 'model');
    const id = await modelId(namespace, data.name);
    const { db, writer } = this.ctx;
    const row = await writer.write(`model "${data.name}"`, [db.models, db.metadata, db.params, ...metricTables(db), db.artifacts, db.checkpoints], async ({ hlc, emit }) => {
      const existing = await db.models.get(id);
      if (existing && existing.deletedAt === null) {
        throw new HangarError(ErrorCode.ModelExists, `A model "${data.name}" already exists in namespace "${namespace}".`, { namespace, model: data.name });
      }
      if (existing) {
        // As on the server, a revived model starts afresh: the deleted one's own metadata,
        // metrics and artifacts go; its versions stay deleted and keep their numbers.
        await dropParentData(db, id);
      }
      const now = Date.now();
      // Only the fields given travel and carry a clock (DESIGN §3): a create on another device
      // that set them, or an update, is never blanked by this one.
      const fields = Object.fromEntries(MODEL_FIELDS.filter((f) => data[f] !== undefined && data[f] !== null).map((f) => [f, data[f]]));
      const kind = data.kind ?? 'model';
      const record: ModelRecord = {
        id,
        namespace,
        name: data.name,
        kind,
        owner: null,
        task: null,
        description: null,
        ...fields,
        clocks: Object.fromEntries(Object.keys(fields).map((f) => [f, hlc])),
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      await db.models.put(record);
      // `kind` travels only when it is not the default, so a version-2 server is never sent it needlessly.
      emit({ name: 'model.create', namespace, args: { id, name: data.name, ...(kind !== 'model' ? { kind } : {}), ...fields } });
      await writeMetadataMap(this.ctx, { id, namespace }, data.metadata, hlc, emit);
      return record;
    });
    return new ModelHandle(this.ctx, row);
  }

  /** Experiments (models of kind `experiment`, whose versions are runs): `models({ ...opts, kind: 'experiment' })`. */
  experiments(opts: Omit<ListModelsOptions, 'kind'> = {}): Promise<ModelHandle[]> {
    return this.models({ ...opts, kind: 'experiment' });
  }

  /** Creates an experiment: a model of kind `experiment`, whose versions are its runs. */
  newExperiment(input: Omit<CreateModel, 'kind'> & { namespace: string }): Promise<ModelHandle> {
    return this.newModel({ ...input, kind: 'experiment' });
  }

  /** A version by id (a run's lineage, a job's version), or `version-not-found`. */
  async versionById(id: string): Promise<VersionHandle> {
    const v = await versionById(this.ctx, id);
    if (!v) throw new HangarError(ErrorCode.VersionNotFound, `No version ${id} here.`, { id });
    return v;
  }

  /** A model by namespace and name, or `model-not-found`. */
  async model(namespace: string, name: string): Promise<ModelHandle> {
    return new ModelHandle(this.ctx, await getModelRecord(this.ctx, namespace, name));
  }

  /**
   * Models, filtered with the same language and rules as the server: registered models only
   * (kind `model`) unless the filter names `kind` (`kind = 'experiment'` lists experiments) or
   * `kind` is given.
   */
  async models(opts: ListModelsOptions = {}): Promise<ModelHandle[]> {
    parseWith(listModelsOptionsSchema, opts, 'listing options');
    const given = parseFilter(opts.filter ?? '', MODEL_FILTER_FIELDS);
    const kindFilter = opts.kind === 'all' || filterNamesField(given, 'kind') ? undefined : parseFilter(`kind = '${opts.kind ?? 'model'}'`, MODEL_FILTER_FIELDS);
    const filter: FilterNode | undefined = kindFilter && given ? { type: 'and', items: [kindFilter, given] } : (kindFilter ?? given);
    const [field = 'name', dir = 'ASC'] = (opts.orderBy ?? 'name ASC').trim().split(/\s+/);
    if (!(MODEL_ORDER_FIELDS as readonly string[]).includes(field.toLowerCase()) || !/^(ASC|DESC)$/i.test(dir)) {
      throw new HangarError(ErrorCode.InvalidArgument, `Invalid orderBy: use one of ${MODEL_ORDER_FIELDS.join(', ')}, then ASC or DESC.`);
    }
    const collection = opts.namespace ? this.ctx.db.models.where('namespace').equals(opts.namespace) : this.ctx.db.models.toCollection();
    const rows = (await collection.toArray()).filter((r) => r.deletedAt === null);
    const kept: ModelRecord[] = [];
    // What the filter reads is known once; each row then loads only that.
    const text = JSON.stringify(filter ?? null);
    const needs = { tags: text.includes('"tag"'), metrics: text.includes('"metric"') };
    for (const row of rows) if (!filter || (await this.matches(filter, needs, row))) kept.push(row);
    const key = field.toLowerCase() === 'name' ? 'name' : field.toLowerCase() === 'created_at' ? 'createdAt' : 'updatedAt';
    const sign = /^desc$/i.test(dir) ? -1 : 1;
    kept.sort((a, b) => sign * (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.id < b.id ? -1 : 1));
    return kept.slice(0, opts.limit ?? kept.length).map((r) => new ModelHandle(this.ctx, r));
  }

  private async matches(filter: FilterNode, needs: { tags: boolean; metrics: boolean }, row: ModelRecord): Promise<boolean> {
    const tags = needs.tags ? await liveMetadata(this.ctx.db, row.id) : {};
    const metrics = needs.metrics
      ? Object.fromEntries(Object.entries(await metricSummary(this.ctx, row.id)).map(([k, s]) => [k, s.last]))
      : {};
    const fields = { name: row.name, kind: row.kind ?? 'model', owner: row.owner, task: row.task, description: row.description, created_at: row.createdAt, updated_at: row.updatedAt };
    return evaluateFilter(filter, { fields, tags, metrics });
  }

  /**
   * Finds a version: `ns/m@alias`, `ns/m/3`, or `ns/m` for the latest ready version.
   * Looks in this browser's registry.
   */
  async find(ref: string): Promise<VersionHandle> {
    const r = parseRef(ref);
    const model = await this.model(r.namespace, r.model);
    if (r.kind === 'number') return model.version(r.number);
    if (r.kind === 'alias') {
      const alias = await this.ctx.db.aliases.get([model.id, r.alias]);
      const target = alias && (await this.ctx.db.versions.get(alias.versionId));
      if (!target || target.deletedAt !== null) {
        throw new HangarError(ErrorCode.AliasNotFound, `Model "${r.model}" has no alias "${r.alias}".`, { ref });
      }
      return model.version(target.number);
    }
    const ready = (await model.versions()).filter((v) => v.status === 'ready');
    const latest = ready[ready.length - 1];
    if (!latest) throw new HangarError(ErrorCode.VersionNotFound, `Model "${r.model}" has no ready version yet.`, { ref });
    return latest;
  }

  /** Deleted models and versions held here, restorable until the server purges them (DESIGN §3b). */
  trash(namespace?: string): Promise<LocalTrashEntry[]> {
    return localTrash(this.ctx, namespace);
  }

  /** Restores `ns/model` (with the versions its delete took) or `ns/model/3` from the trash; syncs as `model.restore` / `version.restore`. */
  restore(ref: string): Promise<void> {
    return restore(this.ctx, ref);
  }

  /** Waits until every metric point logged so far is stored, and the bytes of anything deleted are given back. */
  async flush(): Promise<void> {
    await this.ctx.metrics.flush();
    // Bytes a delete freed are given back by then too.
    await this.ctx.gc?.idle();
  }

  /**
   * A live query: runs `query` now and again whenever the data it read changes, in this tab
   * or another. `hangar.live(() => hangar.models()).subscribe(render)`.
   */
  live<T>(query: () => Promise<T>): Observable<T> {
    // Dexie follows a querier's reads across native awaits only when the querier is itself an
    // async function: a plain one returning a promise (`() => runsOf(x)`) would be followed only
    // up to its first await, and miss changes to anything read after it.
    return liveQuery(async () => await query());
  }

  /** Bytes used and available, and whether the browser keeps the data under pressure. */
  storage(): Promise<StorageInfo> {
    return storageInfo();
  }

  /** Asks the browser again to keep this registry's data (true when granted). */
  persist(): Promise<boolean> {
    return requestPersistence();
  }

  /** One zip holding a model with its versions, metrics, metadata, artifacts and checkpoints; `onProgress` counts bytes written. */
  exportModel(namespace: string, name: string, opts?: ArchiveOptions): Promise<Blob> {
    return exportModel(this.ctx, namespace, name, opts);
  }

  /** Imports an archive made by `exportModel` (`onProgress` counts blob bytes stored); importing the same archive again changes nothing. */
  importModel(archive: Blob, opts?: ArchiveOptions): Promise<{ namespace: string; name: string }> {
    return importModel(this.ctx, archive, opts);
  }

  /** A trainer by type name (`local`; others registered with `trainers.register`). Unknown type: `invalid-argument`. */
  trainer(type: string): Trainer {
    return this.hub.trainer(type);
  }

  /** A predictor by type name (`local`; others registered with `predictors.register`). Unknown type: `invalid-argument`. */
  predictor(type: string): Predictor {
    return this.hub.predictor(type);
  }

  /** Every training and prediction job kept, newest first. */
  jobs(): Promise<JobInfo[]> {
    return this.hub.jobs();
  }

  /** A job by id (`local:…`), whichever page started it. */
  job(id: string): Promise<Job<VersionHandle> | Job<PredictOutput>> {
    return this.hub.job(id);
  }

  /** Registers existing model files (`tfjs-import`, `onnx-import`) as a new version a predictor can run. */
  importModelFiles(input: ImportModelFiles): Promise<VersionHandle> {
    return this.hub.importModelFiles(input);
  }

  /** How many local writes wait in the outbox for sync to push them. */
  async pendingMutations(): Promise<number> {
    return this.ctx.db.outbox.count();
  }

  /**
   * Starts syncing with a Hangar server (remembered across reloads): pushes local writes,
   * pulls others', uploads and downloads artifact bytes, in the background.
   */
  sync(opts: SyncOptions): Promise<void> {
    return this.syncEngine.configure(opts);
  }

  /** Stops syncing and forgets the server; local data stays. */
  stopSync(): Promise<void> {
    return this.syncEngine.stop();
  }

  /** Live: online/offline, pending mutations and bytes, last sync, conflicts, errors. */
  get syncStatus(): LiveValue<SyncStatus> {
    return this.syncEngine.status;
  }

  /** Syncs now; resolves once everything local is pushed and everything new is pulled. */
  syncNow(): Promise<void> {
    return this.syncEngine.syncNow();
  }

  /** Open conflicts: writes the server did not take as they were, kept until resolved. */
  conflicts(): Promise<Conflict[]> {
    return listConflicts(this.ctx);
  }

  /** Keeps the server's value (`theirs`) or writes the losing change again (`mine`). */
  resolveConflict(id: string, choice: 'mine' | 'theirs'): Promise<void> {
    return resolveConflict(this.ctx, id, choice);
  }

  /** Closes the database; the object is unusable afterwards. */
  async close(): Promise<void> {
    this.syncEngine.close();
    await this.hub.close();
    await this.ctx.metrics.flush().catch(() => undefined);
    await this.ctx.gc?.idle();
    this.ctx.gc?.close();
    this.ctx.db.close();
  }
}

/** Opens the registry kept in this browser's IndexedDB. */
export function openRegistry(opts: OpenOptions = {}): Promise<Hangar> {
  return Hangar.open(opts);
}
