import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { parseWith } from '../../shared/validate.ts';
import { VERSION_FIELDS, updateVersionSchema, type UpdateVersion, type VersionStatus } from '../../shared/versions.ts';
import type { ArtifactUpload } from './artifacts.ts';
import type { Checkpoint } from '../../shared/checkpoints.ts';
import { listCheckpoints, loadCheckpoint, saveCheckpoint, type CheckpointList, type LoadedCheckpoint } from './checkpoints.ts';
import type { ClientContext, ParentRef } from './context.ts';
import type { VersionRecord } from './db.ts';
import { moveAlias } from './aliases.ts';
import { applyFields, requireLabelFree, writeMetadataMap } from './fields.ts';
import { ParentHandle } from './parent.ts';
import { logParams, paramsOf } from './params.ts';
import type { Params } from '../../shared/params.ts';
import { pinParent } from './sync/blobs.ts';
import { fetchParentHistory } from './sync/history.ts';
import { localStatus, nextDeclared } from './version-status.ts';

/** One trained result of a model. Fields are a snapshot; `refresh()` reads them again. */
export class VersionHandle extends ParentHandle {
  readonly modelId: string;
  /** The model's name. */
  readonly model: string;
  /** 1, 2, 3… per model. Provisional while `numberConfirmed` is false: the server may renumber it on sync. */
  readonly number: number;
  readonly numberConfirmed: boolean;
  /** The optional label, unique per model. */
  readonly version: string | null;
  readonly name: string | null;
  readonly description: string | null;
  readonly framework: string | null;
  readonly status: VersionStatus;
  /** The aliases pointing at this version. */
  readonly uniqueTags: string[];
  /** Lineage: the id of the version (an experiment's run) this one was registered from, or null. */
  readonly sourceVersionId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;

  private constructor(ctx: ClientContext, modelName: string, row: VersionRecord, uniqueTags: string[]) {
    super(ctx, row.id, row.namespace);
    this.modelId = row.modelId;
    this.model = modelName;
    this.number = row.number;
    this.numberConfirmed = row.numberConfirmed;
    this.version = row.version;
    this.name = row.name;
    this.description = row.description;
    this.framework = row.framework;
    this.status = row.status;
    this.uniqueTags = uniqueTags;
    this.sourceVersionId = row.sourceVersionId ?? null;
    this.createdAt = new Date(row.createdAt).toISOString();
    this.updatedAt = new Date(row.updatedAt).toISOString();
  }

  /** A handle over a stored row, with the aliases that point at it. */
  static async load(ctx: ClientContext, modelName: string, row: VersionRecord): Promise<VersionHandle> {
    const aliases = await ctx.db.aliases.where('versionId').equals(row.id).toArray();
    return new VersionHandle(ctx, modelName, row, aliases.map((a) => a.alias).sort());
  }

  protected get ref(): ParentRef {
    return { kind: 'version', id: this.id, namespace: this.namespace, modelId: this.modelId };
  }

  private async record(): Promise<VersionRecord> {
    const row = await this.ctx.db.versions.get(this.id);
    if (!row || row.deletedAt !== null) {
      throw new HangarError(ErrorCode.VersionNotFound, `Version ${this.number} of "${this.model}" no longer exists.`, { model: this.model, version: this.number });
    }
    return row;
  }

  /** Reads the version again (its number may have been confirmed, its status changed). */
  async refresh(): Promise<VersionHandle> {
    return VersionHandle.load(this.ctx, this.model, await this.record());
  }

  /**
   * Updates fields (null clears one), metadata keys, or the status (DESIGN §3a): `ready` once
   * its creator is done, `failed`. A failed version stays failed (`invalid-argument`).
   */
  async update(input: UpdateVersion): Promise<VersionHandle> {
    const data = parseWith(updateVersionSchema, input, 'version update');
    const { db, writer } = this.ctx;
    const label = `Version ${this.number} of "${this.model}"`;
    await writer.write(`version ${this.number} of "${this.model}"`, [db.versions, db.metadata, db.artifacts, db.blobs], async ({ emit, observe }) => {
      const row = await this.record();
      const hlc = observe(Object.values(row.clocks));
      if (data.version) await requireLabelFree(db, { id: this.modelId, name: this.model }, data.version, this.id);
      const fields: Record<string, string | null> = {};
      for (const f of VERSION_FIELDS) if (data[f] !== undefined) fields[f] = data[f];
      const next = applyFields(row, fields, hlc);
      if (data.status) {
        next.declaredStatus = nextDeclared(row, label, data.status);
        next.status = await localStatus(db, this.id, next.declaredStatus);
      }
      await db.versions.put(next);
      emit({ name: 'version.update', namespace: this.namespace, args: { id: this.id, fields, ...(data.status ? { status: data.status } : {}) } });
      await writeMetadataMap(this.ctx, { id: this.id, namespace: this.namespace }, data.metadata, hlc, emit);
    });
    return this.refresh();
  }

  /**
   * Says the version is done (DESIGN §3a): a version created `pending` becomes `ready` here once
   * its files' bytes are here, and on the server and every device once they have arrived there.
   */
  markReady(): Promise<VersionHandle> {
    return this.update({ status: 'ready' });
  }

  /** Marks the version `failed` (its training failed or was canceled): final, and never `ns/m`. */
  markFailed(): Promise<VersionHandle> {
    return this.update({ status: 'failed' });
  }

  /** Deletes the version (a tombstone); aliases that pointed at it are removed, with history. */
  async delete(): Promise<void> {
    const { db, writer } = this.ctx;
    await writer.write(`version ${this.number} of "${this.model}"`, [db.versions, db.aliases, db.aliasHistory], async ({ emit }) => {
      const row = await this.record();
      const now = Date.now();
      await db.versions.put({ ...row, deletedAt: now, updatedAt: now });
      for (const a of await db.aliases.where('versionId').equals(this.id).toArray()) {
        await moveAlias(this.ctx, this.ref, a.alias, null, undefined, emit);
      }
      emit({ name: 'version.delete', namespace: this.namespace, args: { id: this.id } });
    });
    // Its artifacts' bytes go now, unless another live artifact or an upload still needs them.
    await this.ctx.gc?.collect();
  }

  /**
   * Sets one param (MLflow's `log_param`): a string (numbers and booleans are written as text)
   * set once. The same value again changes nothing; another value is `param-changed`.
   */
  logParam(key: string, value: string | number | boolean): Promise<void> {
    return logParams(this.ctx, this.ref, { [key]: value });
  }

  /** Sets several params at once, write-once each; if one is refused, none is written. */
  logParams(params: Record<string, string | number | boolean>): Promise<void> {
    return logParams(this.ctx, this.ref, params);
  }

  /** The version's params, `{ lr: '0.01', optimizer: 'adam' }`. */
  params(): Promise<Params> {
    return paramsOf(this.ctx.db, this.id);
  }

  /** Lineage: the version this one was registered from (an experiment's run), or null when none is held here. */
  async source(): Promise<VersionHandle | null> {
    if (!this.sourceVersionId) return null;
    return versionById(this.ctx, this.sourceVersionId);
  }

  /** Lineage the other way: live versions registered from this one (a run's registered model versions). */
  async registered(): Promise<VersionHandle[]> {
    const rows = await this.ctx.db.versions.where('sourceVersionId').equals(this.id).filter((v) => v.deletedAt === null).toArray();
    const out = await Promise.all(rows.map((r) => versionById(this.ctx, r.id)));
    return out.filter((v): v is VersionHandle => v !== null);
  }

  /** Saves files as a named checkpoint (`epoch_3`); moves `default` unless `setAsDefault: false`. */
  saveCheckpoint(handle: string, files: ArtifactUpload[] | Record<string, Blob>, opts?: { setAsDefault?: boolean }): Promise<Checkpoint> {
    return saveCheckpoint(this.ctx, this.ref, handle, files, opts);
  }

  /** Loads a checkpoint's files; with no handle, the `default` one. */
  loadCheckpoint(handle?: string): Promise<LoadedCheckpoint> {
    return loadCheckpoint(this.ctx, this.id, handle);
  }

  /** The version's checkpoint handles and which one `default` names. */
  checkpoints(): Promise<CheckpointList> {
    return listCheckpoints(this.ctx, this.id);
  }

  /**
   * Keeps the version for offline use: downloads from the sync server every artifact's bytes
   * (checkpoints included) not yet on this device, verified against their SHA-256, and the
   * whole history of every metric key known here only by its summary (a bootstrapped device).
   */
  async pin(opts: { onProgress?: (p: { loaded: number; total: number }) => void } = {}): Promise<void> {
    await fetchParentHistory(this.ctx.db, this.ctx.history, this.ref);
    await pinParent(this.ctx, this.id, opts.onProgress);
  }
}

/** A live version by id, with its model's name; null when it is not held here or deleted. */
export async function versionById(ctx: ClientContext, id: string): Promise<VersionHandle | null> {
  const row = await ctx.db.versions.get(id);
  if (!row || row.deletedAt !== null) return null;
  const model = await ctx.db.models.get(row.modelId);
  if (!model || model.deletedAt !== null) return null;
  return VersionHandle.load(ctx, model.name, row);
}
