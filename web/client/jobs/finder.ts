import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { parseRef, type Ref } from '../../../shared/refs.ts';
import type { ModelFiles } from '../../jobs/protocol.ts';
import type { ClientContext } from '../context.ts';
import type { AliasRecord, MetadataRecord, ModelRecord, VersionRecord } from '../db.ts';
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
}

/** References whose resolution a LOCAL finder keeps (the least recently used goes first). */
const CACHED_REFS = 64;

/** A reference resolved once: the rows it came to, checked again before each reuse. */
interface Resolved {
  ref: Ref;
  modelId: string;
  versionId: string;
  module: string;
  config: ModelConfig;
}

/** The tables a find reads. */
const TABLES = ['models', 'versions', 'aliases', 'metadata'] as const;

const live = <R extends { deletedAt: number | null }>(row: R | undefined): R | undefined => (row && row.deletedAt === null ? row : undefined);

/** An IndexedDB request's result. */
const result = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/**
 * LOCAL: looks in this browser's registry. The module comes from the version's `module`
 * metadata, which training and `importModelFiles` set; a version without it has nothing to run.
 *
 * A reference is resolved in one read-only Dexie transaction over models, versions, aliases and
 * metadata, with `hangar.find`'s rules and errors. The last `CACHED_REFS` references resolved are
 * kept with the ids they came to, and before each reuse checked in one read-only transaction,
 * its reads sent together: the model is still live under its name, the reference still points
 * at the same live version (its alias row; the version numbered so; or the latest ready version,
 * read again), and that version's `module` metadata is unchanged. Whatever else happened (an
 * alias moved or deleted, a version made, failed or deleted, the module changed; in this tab or
 * another, by sync or an archive), the check sees it and the reference is resolved afresh. So a
 * find costs one small transaction, and a second one only after a change.
 *
 * The check reads IndexedDB itself, on Dexie's own connection (`db.backendDB()`), and answers
 * once its reads are in: a Dexie transaction (`db.transaction`) answers only after its commit,
 * a round trip longer for nothing to commit, and its zone would follow whoever awaits an answer
 * given earlier. Should the check fail (the connection closed or being reopened), the Dexie
 * resolve answers, as it would have.
 *
 * The model files (artifacts under `model/`) are not read here: `files()` reads them when the
 * model is loaded, which a predictor does once per version (its model cache is keyed by version
 * id; a version's files never change). A cached config's `version` handle is a snapshot, as every
 * handle is: its id is what counts.
 */
export class LocalFinder implements Finder {
  private readonly cache = new LruCache<string, Resolved>(CACHED_REFS);

  constructor(private readonly client: ClientContext) {}

  async find(ref: string): Promise<ModelConfig> {
    const cached = this.cache.get(ref);
    if (cached && (await this.holds(cached).catch(() => false))) return cached.config;
    const r = cached?.ref ?? parseRef(ref);
    const { db } = this.client;
    try {
      const found = await db.transaction('r', [db.models, db.versions, db.aliases, db.metadata], () => this.resolve(ref, r));
      this.cache.set(ref, found);
      return found.config;
    } catch (err) {
      this.cache.delete(ref);
      throw err;
    }
  }

  /** Whether a cached resolution still stands (see the class). */
  private async holds({ ref: r, modelId, versionId, module }: Resolved): Promise<boolean> {
    const tx = this.client.db.backendDB().transaction([...TABLES], 'readonly');
    const versions = tx.objectStore('versions');
    const byNumber = versions.index('[modelId+number]');
    const target: Promise<boolean> =
      r.kind === 'alias'
        ? Promise.all([
            result<AliasRecord | undefined>(tx.objectStore('aliases').get([modelId, r.alias])),
            result<VersionRecord | undefined>(versions.get(versionId)),
          ]).then(([alias, version]) => alias?.versionId === versionId && live(version) !== undefined)
        : r.kind === 'number'
          ? result<VersionRecord | undefined>(byNumber.get([modelId, r.number])).then((version) => live(version)?.id === versionId)
          : latestReady(byNumber, modelId).then((version) => version?.id === versionId);
    const [model, points, meta] = await Promise.all([
      result<ModelRecord | undefined>(tx.objectStore('models').get(modelId)),
      target,
      result<MetadataRecord | undefined>(tx.objectStore('metadata').get([versionId, 'module'])),
    ]);
    return points && meta?.value === module && live(model)?.namespace === r.namespace && model?.name === r.model;
  }

  /** Resolves a reference as `hangar.find` does (same errors), then reads the version's module. */
  private async resolve(ref: string, r: Ref): Promise<Resolved> {
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
    const config: ModelConfig = { ref, version, module, framework: frameworkOf(module), files: () => readModelFiles(version) };
    return { ref: r, modelId: model.id, versionId: row.id, module, config };
  }
}

/** The live ready version of a model with the greatest number (`ns/m`), walking `[modelId+number]` down from the newest. */
function latestReady(byNumber: IDBIndex, modelId: string): Promise<VersionRecord | undefined> {
  return new Promise((resolve, reject) => {
    const req = byNumber.openCursor(IDBKeyRange.bound([modelId, 0], [modelId, Infinity]), 'prev');
    req.onsuccess = () => {
      const cursor = req.result;
      const version = cursor?.value as VersionRecord | undefined;
      if (!cursor || (version!.deletedAt === null && version!.status === 'ready')) resolve(version);
      else cursor.continue();
    };
    req.onerror = () => reject(req.error);
  });
}

/** The LOCAL finder's factory. */
export const localFinder = (ctx: FactoryContext): Finder => new LocalFinder(ctx.client);
