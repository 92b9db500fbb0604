import Dexie, { type ObservabilitySet } from 'dexie';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { parseRef, type Ref } from '../../../shared/refs.ts';
import type { ModelFiles } from '../../jobs/protocol.ts';
import type { ClientContext } from '../context.ts';
import type { VersionRecord } from '../db.ts';
import { getModelRecord } from '../model.ts';
import { VersionHandle } from '../version.ts';
import { LruCache } from './cache.ts';
import type { FactoryContext } from './context.ts';
import { frameworkOf, type Framework } from './initializer.ts';
import { readModelFiles } from './models.ts';

/** A version resolved for running: which version, which module runs it, and its files on demand. */
export interface ModelConfig {
  /** The reference as given (`team/iris@production`). */
  ref: string;
  /** The version it resolved to; its id keys the model cache. */
  version: VersionHandle;
  /** The module that runs its files (the version's `module` metadata). */
  module: string;
  framework: Framework;
  /** Reads the version's model files (not needed when the model is already loaded). */
  files(): Promise<ModelFiles>;
}

/** Turns a reference (`ns/m@alias`, `ns/m/3`, `ns/m`) into a model config (caikit's finder). */
export interface Finder {
  find(ref: string): Promise<ModelConfig>;
  /** Lets go of what it holds when the registry closes. */
  close?(): void;
}

/** References whose resolution a LOCAL finder keeps (the least recently used goes first). */
const CACHED_REFS = 64;

/** The tables a find reads: a write to any of them forgets every resolution kept. */
const TABLES = ['models', 'versions', 'aliases', 'metadata'] as const;

const live = <R extends { deletedAt: number | null }>(row: R | undefined): R | undefined => (row && row.deletedAt === null ? row : undefined);

/**
 * LOCAL: looks in this browser's registry. The module comes from the version's `module`
 * metadata, which training and `importModelFiles` set; a version without it has nothing to run.
 *
 * A reference is resolved in one read-only Dexie transaction over models, versions, aliases and
 * metadata, with `hangar.find`'s rules and errors. The last `CACHED_REFS` references resolved are
 * kept, and a find of one of them reads nothing: a stream of predictions pays only the worker's
 * round trip. They are all forgotten as soon as any of those four tables changes in this
 * registry's database (an alias moved or deleted, a version made, failed or deleted, a module
 * changed, a model deleted; in this tab, or in another tab or worker of the origin, by sync or
 * an archive): Dexie's `storagemutated` event tells of every committed write made through Dexie,
 * here at once and elsewhere over its BroadcastChannel (so another tab's write is seen when its
 * message arrives, a few milliseconds later). A resolution under way when such a write commits is
 * answered but not kept. With the database closed nothing is kept, and finds fail as they would.
 *
 * The model files (artifacts under `model/`) are not read here: `files()` reads them when the
 * model is loaded, which a predictor does once per version (its model cache is keyed by version
 * id; a version's files never change). A cached config's `version` handle is a snapshot, as every
 * handle is: its id is what counts.
 */
export class LocalFinder implements Finder {
  private readonly cache = new LruCache<string, ModelConfig>(CACHED_REFS);
  /** Counts the changes seen: a resolution started before the last one is not kept. */
  private changes = 0;
  /** The observability keys (`idb://<db>/<table>/…`) of the tables a find reads. */
  private readonly watched: string[];
  private readonly onMutated = (parts: ObservabilitySet) => {
    for (const key in parts) {
      if (this.watched.some((prefix) => key.startsWith(prefix))) {
        this.changes++;
        this.cache.clear();
        return;
      }
    }
  };

  constructor(private readonly client: ClientContext) {
    this.watched = TABLES.map((t) => `idb://${client.db.name}/${t}/`);
    Dexie.on('storagemutated', this.onMutated);
  }

  async find(ref: string): Promise<ModelConfig> {
    const { db } = this.client;
    if (!db.isOpen()) this.cache.clear();
    const cached = this.cache.get(ref);
    if (cached) return cached;
    const r = parseRef(ref);
    const changes = this.changes;
    const found = await db.transaction('r', [db.models, db.versions, db.aliases, db.metadata], () => this.resolve(ref, r));
    if (changes === this.changes && db.isOpen()) this.cache.set(ref, found);
    return found;
  }

  /** Stops listening for changes (the registry closes). */
  close(): void {
    Dexie.on.storagemutated.unsubscribe(this.onMutated);
    this.cache.clear();
  }

  /** Resolves a reference as `hangar.find` does (same errors), then reads the version's module. */
  private async resolve(ref: string, r: Ref): Promise<ModelConfig> {
    const { db } = this.client;
    const model = await getModelRecord(this.client, r.namespace, r.model);
    let row: VersionRecord | undefined;
    if (r.kind === 'number') {
      row = live(await db.versions.where('[modelId+number]').equals([model.id, r.number]).first());
      if (!row) throw new HangarError(ErrorCode.VersionNotFound, `Model "${r.model}" has no version ${r.number}.`, { model: r.model, version: r.number });
    } else if (r.kind === 'alias') {
      const alias = await db.aliases.get([model.id, r.alias]);
      row = live(alias && (await db.versions.get(alias.versionId)));
      if (!row) throw new HangarError(ErrorCode.AliasNotFound, `Model "${r.model}" has no alias "${r.alias}".`, { ref });
    } else {
      row = await db.versions
        .where('[modelId+number]')
        .between([model.id, 0], [model.id, Infinity])
        .reverse()
        .filter((v) => v.deletedAt === null && v.status === 'ready')
        .first();
      if (!row) throw new HangarError(ErrorCode.VersionNotFound, `Model "${r.model}" has no ready version yet.`, { ref });
    }
    const [version, meta] = await Promise.all([VersionHandle.load(this.client, model.name, row), db.metadata.get([row.id, 'module']).then((m) => (m?.deleted ? undefined : m))]);
    const module = meta?.value;
    if (typeof module !== 'string' || !module) {
      throw new HangarError(
        ErrorCode.InvalidArgument,
        `Version ${version.number} of "${version.model}" names no module to run it: train it with a trainer, or register its files with importModelFiles.`,
        { ref },
      );
    }
    return { ref, version, module, framework: frameworkOf(module), files: () => readModelFiles(version) };
  }
}

/** The LOCAL finder's factory. */
export const localFinder = (ctx: FactoryContext): Finder => new LocalFinder(ctx.client);
