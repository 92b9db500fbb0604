import type { Alias } from '../../../shared/aliases.ts';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { WireMutation } from '../../../shared/sync.ts';
import { getAlias } from '../../db/aliases.ts';
import { getArtifactRow, type StoredArtifactRow } from '../../db/artifacts.ts';
import { grantedSizes, storedSql as storedSqlOf } from '../../db/blobs.ts';
import { readBlobRoom } from '../../db/usage.ts';
import { getCheckpointRow } from '../../db/checkpoints.ts';
import type { ModelRow } from '../../db/models.ts';
import { deleteClock } from '../models.ts';
import type { VersionRow } from '../../db/versions.ts';
import { probesOf, seriesKey, storedIds, type IdProbe } from '../../db/metrics.ts';
import type { Parent } from '../../parent.ts';

/**
 * Model and version rows as one push reads them: each read once, then answered from memory, so
 * a push of 500 `metrics.log` on one version reads its parent once, not 500 times (D1 counts
 * every query against the invocation's limit). The appliers use these rows for identity,
 * liveness (tombstones and their clocks) and a version's status; a mutation that changes any of
 * those forgets the rows it touched (`forget`), and a model delete forgets everything.
 */
export class RowCache {
  private readonly models = new Map<string, ModelRow | null>();
  private readonly versions = new Map<string, VersionRow | null>();
  /**
   * What a run of mutations reads besides models and versions, keyed `parent\0name`: artifacts
   * by path, checkpoints by handle (whether one exists), aliases by name; and the sizes of
   * blobs the namespace was granted. Prefetched for a run (`prefetch`), kept up to date with
   * what the run writes (`note*`), and forgotten whole by `forgetWrites` when a mutation outside
   * a run may have changed them.
   */
  private readonly artifacts = new Map<string, StoredArtifactRow | null>();
  private readonly checkpoints = new Map<string, boolean>();
  private readonly aliases = new Map<string, Alias | null>();
  private readonly sizes = new Map<string, number | null>();
  /**
   * Point ids known to be stored, by `parent\0key`: read for the probes in `probed` (every id
   * stored within a probe's id and step ranges), and noted as a run writes them.
   */
  private readonly pointIds = new Map<string, Set<string>>();
  private readonly probed = new Set<string>();
  private room: Promise<{ limit: number | null; used: number }> | undefined;

  constructor(
    private readonly db: D1Database,
    private readonly namespace: string,
  ) {}

  /** A model by id within the namespace, deleted or not. */
  async model(id: string): Promise<ModelRow | undefined> {
    if (!this.models.has(id)) {
      const row = await this.db.prepare('SELECT * FROM models WHERE id = ? AND namespace = ?').bind(id, this.namespace).first<ModelRow>();
      this.models.set(id, row ?? null);
    }
    return this.models.get(id) ?? undefined;
  }

  /** A version by id within the namespace, deleted or not. */
  async version(id: string): Promise<VersionRow | undefined> {
    if (!this.versions.has(id)) {
      const row = await this.db.prepare('SELECT * FROM versions WHERE id = ? AND namespace = ?').bind(id, this.namespace).first<VersionRow>();
      this.versions.set(id, row ?? null);
    }
    return this.versions.get(id) ?? undefined;
  }

  /**
   * The parent a mutation stamped `hlc` names by id (a model's or a version's): `deleted` when
   * it, or the model of a version, has a tombstone, or when the model was deleted after the
   * write was made and has been created again since (a revived model starts afresh, so a write
   * older than its delete never lands on it); 404 `model-not-found` when the namespace has no
   * such id.
   */
  async parent(id: string, hlc: string): Promise<Parent | 'deleted'> {
    const version = this.models.get(id) ? undefined : await this.version(id);
    const model = await this.model(version?.model_id ?? id);
    if (!model) throw notFound(this.namespace, id);
    if (model.deleted_at !== null || (version && version.deleted_at !== null)) return 'deleted';
    if (!version && hlc <= deleteClock(model)) return 'deleted';
    const namespace = this.namespace;
    return version ? { namespace, model, version, id, kind: 'version' } : { namespace, model, id, kind: 'model' };
  }

  /**
   * Reads in a few queries what these mutations will look up (models and versions by id, the
   * models of those versions, artifacts at the paths registered, checkpoint handles saved,
   * aliases set, sizes of blobs named), skipping what is known. Args are not checked yet:
   * only string fields are taken, and a lookup prefetching missed reads on its own.
   */
  async prefetch(mutations: WireMutation[]): Promise<void> {
    const ids = new Set<string>();
    const artifacts: [string, string][] = [];
    const checkpoints: [string, string][] = [];
    const aliases: [string, string][] = [];
    const digests = new Set<string>();
    const probes: IdProbe[] = [];
    const str = (x: unknown): x is string => typeof x === 'string' && x.length <= 200;
    for (const m of mutations) {
      const a = (m.args ?? {}) as Record<string, unknown>;
      for (const k of ['id', 'modelId', 'parentId', 'versionId']) if (str(a[k]) && !this.models.has(a[k]) && !this.versions.has(a[k])) ids.add(a[k]);
      if (m.name === 'artifact.register' && str(a.parentId) && str(a.path) && !this.artifacts.has(key(a.parentId, a.path))) artifacts.push([a.parentId, a.path]);
      if (m.name === 'artifact.register' && str(a.sha256) && a.url === undefined && !this.sizes.has(a.sha256)) digests.add(a.sha256);
      if (m.name === 'checkpoint.save' && str(a.versionId) && str(a.handle) && !this.checkpoints.has(key(a.versionId, a.handle))) checkpoints.push([a.versionId, a.handle]);
      if (m.name === 'checkpoint.save' && Array.isArray(a.files)) for (const f of a.files as { sha256?: unknown }[]) if (str(f?.sha256) && !this.sizes.has(f.sha256)) digests.add(f.sha256);
      if (m.name === 'alias.set' && str(a.modelId) && str(a.alias) && !this.aliases.has(key(a.modelId, a.alias))) aliases.push([a.modelId, a.alias]);
      if (m.name === 'metrics.log' && str(a.parentId) && Array.isArray(a.points)) {
        const points = (a.points as { id?: unknown; key?: unknown; step?: unknown }[]).filter(
          (p) => str(p?.id) && str(p.key) && (p.step === undefined || Number.isSafeInteger(p.step)),
        ) as { id: string; key: string; step?: number }[];
        probes.push(...probesOf(a.parentId, points.map((p) => ({ id: p.id, key: p.key, step: p.step ?? 0 }))));
      }
    }
    // Kept to one bound value of D1's 1 MB: a probe left out is read when its mutation is planned.
    let probeBytes = 0;
    await this.probe(probes.filter((p) => (probeBytes += 200 + p.key.length) < 900_000));
    if (ids.size) {
      const json = JSON.stringify([...ids]);
      const versions = await this.db
        .prepare('SELECT * FROM versions WHERE namespace = ? AND id IN (SELECT value FROM json_each(?))')
        .bind(this.namespace, json)
        .all<VersionRow>();
      for (const id of ids) this.versions.set(id, null);
      for (const v of versions.results) this.versions.set(v.id, v);
      const modelIds = [...new Set([...ids, ...versions.results.map((v) => v.model_id)])].filter((id) => !this.models.has(id));
      const models = await this.db
        .prepare('SELECT * FROM models WHERE namespace = ? AND id IN (SELECT value FROM json_each(?))')
        .bind(this.namespace, JSON.stringify(modelIds))
        .all<ModelRow>();
      for (const id of modelIds) this.models.set(id, null);
      for (const m of models.results) this.models.set(m.id, m);
    }
    if (artifacts.length) {
      const { results } = await this.db
        .prepare(
          `SELECT a.*, (a.url IS NULL AND ${storedSqlOf('a')}) AS stored FROM json_each(?) p JOIN artifacts a ON a.parent_id = p.value ->> 0 AND a.path = p.value ->> 1`,
        )
        .bind(JSON.stringify(artifacts))
        .all<StoredArtifactRow>();
      for (const [p, path] of artifacts) this.artifacts.set(key(p, path), null);
      for (const r of results) this.artifacts.set(key(r.parent_id, r.path), r);
    }
    if (checkpoints.length) {
      const { results } = await this.db
        .prepare('SELECT c.version_id, c.handle FROM json_each(?) p JOIN checkpoints c ON c.version_id = p.value ->> 0 AND c.handle = p.value ->> 1')
        .bind(JSON.stringify(checkpoints))
        .all<{ version_id: string; handle: string }>();
      for (const [v, h] of checkpoints) this.checkpoints.set(key(v, h), false);
      for (const r of results) this.checkpoints.set(key(r.version_id, r.handle), true);
    }
    if (aliases.length) {
      const { results } = await this.db
        .prepare(
          `SELECT a.model_id, a.alias, a.version_id, a.updated_at, v.number FROM json_each(?) p
           JOIN aliases a ON a.model_id = p.value ->> 0 AND a.alias = p.value ->> 1 JOIN versions v ON v.id = a.version_id`,
        )
        .bind(JSON.stringify(aliases))
        .all<{ model_id: string; alias: string; version_id: string; updated_at: number; number: number }>();
      for (const [m, a] of aliases) this.aliases.set(key(m, a), null);
      for (const r of results) this.aliases.set(key(r.model_id, r.alias), { alias: r.alias, version: r.number, versionId: r.version_id, updatedAt: new Date(r.updated_at).toISOString() });
    }
    if (digests.size) {
      const sizes = await grantedSizes(this.db, this.namespace, [...digests]);
      for (const d of digests) this.sizes.set(d, sizes.get(d) ?? null);
    }
  }

  /**
   * Reads the point ids stored within these probes' ranges (one query), unless each was read.
   * What `knownIds` answers for a series then holds every stored id a write within them may
   * repeat.
   */
  async probe(probes: readonly IdProbe[]): Promise<void> {
    const probeKey = (p: IdProbe) => JSON.stringify([p.parentId, p.key, p.idMin, p.idMax, p.stepMin, p.stepMax]);
    const todo = probes.filter((p) => !this.probed.has(probeKey(p)));
    if (!todo.length) return;
    const found = await storedIds(this.db, todo);
    for (const p of todo) this.probed.add(probeKey(p));
    for (const [k, ids] of found) {
      const known = this.pointIds.get(k);
      if (known) for (const id of ids) known.add(id);
      else this.pointIds.set(k, ids);
    }
  }

  /** Point ids of a series known to be stored (see `probe`). */
  knownIds(parentId: string, key: string): Set<string> | undefined {
    return this.pointIds.get(seriesKey(parentId, key));
  }

  /** Point ids a run writes. */
  notePoints(parentId: string, points: readonly { id: string; key: string }[]): void {
    for (const p of points) {
      const k = seriesKey(parentId, p.key);
      let known = this.pointIds.get(k);
      if (!known) this.pointIds.set(k, (known = new Set()));
      known.add(p.id);
    }
  }

  /** Forgets the point ids known (a mutation outside a run may have written or deleted points). */
  forgetPoints(): void {
    this.pointIds.clear();
    this.probed.clear();
  }

  /** The artifact at `path` of a parent, as stored or as this push wrote it. */
  async artifact(parentId: string, path: string): Promise<StoredArtifactRow | undefined> {
    const k = key(parentId, path);
    if (!this.artifacts.has(k)) this.artifacts.set(k, (await getArtifactRow(this.db, parentId, path)) ?? null);
    return this.artifacts.get(k) ?? undefined;
  }

  /** Whether a version has a checkpoint of this handle. */
  async checkpoint(versionId: string, handle: string): Promise<boolean> {
    const k = key(versionId, handle);
    if (!this.checkpoints.has(k)) this.checkpoints.set(k, !!(await getCheckpointRow(this.db, versionId, handle)));
    return this.checkpoints.get(k)!;
  }

  /** Where a model's alias points. */
  async alias(modelId: string, alias: string): Promise<Alias | undefined> {
    const k = key(modelId, alias);
    if (!this.aliases.has(k)) this.aliases.set(k, (await getAlias(this.db, modelId, alias)) ?? null);
    return this.aliases.get(k) ?? undefined;
  }

  /** The namespace's blob bytes quota and use (db/usage.ts), read once per push. */
  blobRoom(): Promise<{ limit: number | null; used: number }> {
    return (this.room ??= readBlobRoom(this.db, this.namespace));
  }

  /** Sizes of the blobs with these digests the namespace was granted (digest → size). */
  async grantedSizes(digests: string[]): Promise<Map<string, number>> {
    const unknown = digests.filter((d) => !this.sizes.has(d));
    if (unknown.length) {
      const found = await grantedSizes(this.db, this.namespace, unknown);
      for (const d of unknown) this.sizes.set(d, found.get(d) ?? null);
    }
    const out = new Map<string, number>();
    for (const d of digests) {
      const n = this.sizes.get(d);
      if (n !== null && n !== undefined) out.set(d, n);
    }
    return out;
  }

  /** What a run wrote: an artifact, a checkpoint, an alias move. */
  noteArtifact(row: StoredArtifactRow): void {
    this.artifacts.set(key(row.parent_id, row.path), row);
  }
  noteCheckpoint(versionId: string, handle: string): void {
    this.checkpoints.set(key(versionId, handle), true);
  }
  noteAlias(modelId: string, alias: string, to: Alias | null): void {
    this.aliases.set(key(modelId, alias), to);
  }

  /** Forgets where an alias points (a move whose outcome only its batch's result tells). */
  forgetAlias(modelId: string, alias: string): void {
    this.aliases.delete(key(modelId, alias));
  }

  /** Forgets the artifacts, checkpoints, aliases and point ids known (a mutation applied alone may have changed them). */
  forgetWrites(): void {
    this.forgetPoints();
    this.artifacts.clear();
    this.checkpoints.clear();
    this.aliases.clear();
  }

  /** Keeps a row a mutation just wrote (as it wrote it), so the next mutations need not read it. */
  remember(row: { kind: 'model'; row: ModelRow } | { kind: 'version'; row: VersionRow }): void {
    if (row.kind === 'model') this.models.set(row.row.id, row.row);
    else this.versions.set(row.row.id, row.row);
  }

  /** Forgets the rows of these ids, or every row when none is given. */
  forget(...ids: string[]): void {
    if (!ids.length) {
      this.models.clear();
      this.versions.clear();
    }
    for (const id of ids) {
      this.models.delete(id);
      this.versions.delete(id);
    }
  }
}

const key = (parent: string, name: string) => `${parent}\0${name}`;

export const notFound = (namespace: string, id: string) =>
  new HangarError(ErrorCode.ModelNotFound, `Namespace "${namespace}" has no model or version with id ${id}.`, { namespace, id });
