import type { AliasHistoryEntry } from '../../shared/aliases.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { MODEL_FIELDS, updateModelSchema, type ModelKind, type UpdateModel } from '../../shared/models.ts';
import { aliasSchema } from '../../shared/names.ts';
import { parseWith } from '../../shared/validate.ts';
import { createVersionSchema, type CreateVersion } from '../../shared/versions.ts';
import type { ClientContext, ParentRef } from './context.ts';
import type { ModelRecord, VersionRecord } from './db.ts';
import { ParentHandle } from './parent.ts';
import { VersionHandle } from './version.ts';
import { moveAlias, type ExpectedAlias } from './aliases.ts';
import { applyFields, requireLabelFree, writeMetadataMap } from './fields.ts';
import { filterVersions } from './version-filter.ts';
import type { HangarDb } from './db.ts';

/** Lineage must name a version of the same namespace held here, deleted or not (lineage is history), as the server checks. */
async function requireSource(db: HangarDb, namespace: string, id: string): Promise<void> {
  const row = await db.versions.get(id);
  if (row && row.namespace === namespace) return;
  throw new HangarError(ErrorCode.VersionNotFound, `Namespace "${namespace}" has no version ${id} to name as the source of this version.`, { sourceVersionId: id });
}

const versionNotFound = (model: string, number: number) =>
  new HangarError(ErrorCode.VersionNotFound, `Model "${model}" has no version ${number}.`, { model, version: number });

const notFound = (namespace: string, name: string) =>
  new HangarError(ErrorCode.ModelNotFound, `No model "${name}" in namespace "${namespace}".`, { namespace, model: name });

/** A live model by name, or `model-not-found`. */
export async function getModelRecord(ctx: ClientContext, namespace: string, name: string): Promise<ModelRecord> {
  const row = await ctx.db.models.where('[namespace+name]').equals([namespace, name]).first();
  if (!row || row.deletedAt !== null) throw notFound(namespace, name);
  return row;
}

/** A model: what all its versions share. Fields are a snapshot; `refresh()` reads them again. */
export class ModelHandle extends ParentHandle {
  readonly name: string;
  /** `model` (a registered model) or `experiment` (its versions are runs). */
  readonly kind: ModelKind;
  readonly owner: string | null;
  readonly task: string | null;
  readonly description: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;

  constructor(ctx: ClientContext, row: ModelRecord) {
    super(ctx, row.id, row.namespace);
    this.name = row.name;
    this.kind = row.kind ?? 'model';
    this.owner = row.owner;
    this.task = row.task;
    this.description = row.description;
    this.createdAt = new Date(row.createdAt).toISOString();
    this.updatedAt = new Date(row.updatedAt).toISOString();
  }

  protected get ref(): ParentRef {
    return { kind: 'model', id: this.id, namespace: this.namespace, modelId: this.id };
  }

  /** Reads the model again. */
  async refresh(): Promise<ModelHandle> {
    return new ModelHandle(this.ctx, await getModelRecord(this.ctx, this.namespace, this.name));
  }

  /**
   * Creates a version. Offline it gets the next local number, marked provisional
   * (`numberConfirmed: false`) until the server numbers it; its id never changes. With
   * `status: 'pending'` it stays pending here, on the server and on every device until
   * `markReady()` (DESIGN §3a); without, it is ready at once.
   */
  async newVersion(input: CreateVersion = {}): Promise<VersionHandle> {
    const data = parseWith(createVersionSchema, input, 'version');
    const { db, writer } = this.ctx;
    const id = data.id ?? uuidv7();
    const row = await writer.write(`version of "${this.name}"`, [db.models, db.versions, db.metadata, db.aliases, db.aliasHistory], async ({ hlc, emit }) => {
      await getModelRecord(this.ctx, this.namespace, this.name);
      const existing = await db.versions.get(id);
      if (existing) {
        if (existing.modelId === this.id && existing.deletedAt === null) return existing;
        throw new HangarError(ErrorCode.InvalidArgument, `Version id ${id} is already used elsewhere.`, { id });
      }
      if (data.version) await requireLabelFree(db, this, data.version);
      const source = data.sourceVersionId ?? null;
      if (source !== null) await requireSource(db, this.namespace, source);
      const last = await db.versions.where('[modelId+number]').between([this.id, 0], [this.id, Infinity]).last();
      const now = Date.now();
      const fields = { version: data.version ?? null, name: data.name ?? null, description: data.description ?? null, framework: data.framework ?? null };
      const record: VersionRecord = {
        id,
        modelId: this.id,
        namespace: this.namespace,
        number: (last?.number ?? 0) + 1,
        numberConfirmed: false,
        ...fields,
        // A new version has no artifacts: it serves what its creator declares.
        status: data.status ?? 'ready',
        declaredStatus: data.status ?? 'ready',
        sourceVersionId: source,
        clocks: Object.fromEntries(Object.keys(fields).map((f) => [f, hlc])),
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      await db.versions.add(record);
      // Only the fields the caller gave travel (DESIGN §3: a create never blanks another's values).
      const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null));
      emit({ name: 'version.create', namespace: this.namespace, args: { id, modelId: this.id, ...given, status: record.status, ...(source ? { sourceVersionId: source } : {}) } });
      await writeMetadataMap(this.ctx, { id, namespace: this.namespace }, data.metadata, hlc, emit);
      for (const alias of data.uniqueTags ?? []) await moveAlias(this.ctx, this.ref, alias, record, undefined, emit);
      return record;
    });
    return VersionHandle.load(this.ctx, this.name, row);
  }

  /**
   * The model's live versions (an experiment's runs), by number; with `filter`, those that match
   * it in the API's filter language, with the same rules as the server (`status = 'ready' AND
   * params.lr < 0.01 AND metrics.loss < 0.3`).
   */
  async versions(opts: { filter?: string } = {}): Promise<VersionHandle[]> {
    const rows = (await this.ctx.db.versions.where('[modelId+number]').between([this.id, 0], [this.id, Infinity]).toArray()).filter((r) => r.deletedAt === null);
    const kept = opts.filter ? await filterVersions(this.ctx, rows, opts.filter) : rows;
    return Promise.all(kept.map((r) => VersionHandle.load(this.ctx, this.name, r)));
  }

  /** One version by number, or `version-not-found`. */
  async version(number: number): Promise<VersionHandle> {
    const row = await this.ctx.db.versions.where('[modelId+number]').equals([this.id, number]).first();
    if (!row || row.deletedAt !== null) throw versionNotFound(this.name, number);
    return VersionHandle.load(this.ctx, this.name, row);
  }

  /**
   * Points an alias at a version. With `expected` (a version, its number, or null for "not
   * set"), only if the alias still points there, else `alias-precondition-failed`.
   */
  async setAlias(alias: string, version: VersionHandle | number, opts: { expected?: VersionHandle | number | null } = {}): Promise<void> {
    parseWith(aliasSchema, alias, 'alias');
    const { db, writer } = this.ctx;
    await writer.write(`alias "${alias}"`, [db.models, db.versions, db.aliases, db.aliasHistory], async ({ emit }) => {
      // A handle names its version by id: numbers may change when sync confirms them.
      const target = typeof version === 'number' ? await this.versionRecord(version) : await this.versionRecordById(version.id);
      let expected: ExpectedAlias | undefined;
      if (opts.expected === null) expected = { versionId: null, number: null };
      else if (typeof opts.expected === 'object') expected = { versionId: opts.expected.id, number: opts.expected.number };
      else if (typeof opts.expected === 'number') {
        const n = opts.expected;
        // A version that does not exist cannot be where the alias points.
        expected = { versionId: (await this.versionRecord(n).catch(() => undefined))?.id ?? `missing:${n}`, number: n };
      }
      await moveAlias(this.ctx, this.ref, alias, target, expected, emit);
    });
  }

  /** Removes an alias (kept in its history). */
  async deleteAlias(alias: string): Promise<void> {
    parseWith(aliasSchema, alias, 'alias');
    const { db, writer } = this.ctx;
    await writer.write(`alias "${alias}"`, [db.versions, db.aliases, db.aliasHistory], async ({ emit }) => {
      await moveAlias(this.ctx, this.ref, alias, null, undefined, emit);
    });
  }

  /** `{ production: 3, … }` */
  async aliases(): Promise<Record<string, number>> {
    const rows = await this.ctx.db.aliases.where('[modelId+alias]').between([this.id, ''], [this.id, '\uffff']).toArray();
    const versions = await this.ctx.db.versions.bulkGet(rows.map((r) => r.versionId));
    return Object.fromEntries(rows.map((r, i) => [r.alias, versions[i]?.number ?? 0]));
  }

  /** Every move of an alias, oldest first. */
  async aliasHistory(alias: string): Promise<AliasHistoryEntry[]> {
    // Ids are UUIDv7s made in order, so they sort moves made within one millisecond too.
    const rows = await this.ctx.db.aliasHistory.where('[modelId+alias]').equals([this.id, alias]).sortBy('id');
    const ids = rows.flatMap((r) => [r.versionId, r.previousVersionId]).filter((x): x is string => x !== null);
    const numbers = new Map((await this.ctx.db.versions.bulkGet(ids)).flatMap((v) => (v ? [[v.id, v.number] as const] : [])));
    return rows.map((r) => ({
      alias: r.alias,
      version: r.versionId ? (numbers.get(r.versionId) ?? null) : null,
      previousVersion: r.previousVersionId ? (numbers.get(r.previousVersionId) ?? null) : null,
      at: new Date(r.at).toISOString(),
    }));
  }

  /** Updates fields (null clears one) and metadata keys; the last writer wins per field. */
  async update(input: UpdateModel): Promise<ModelHandle> {
    const data = parseWith(updateModelSchema, input, 'model update');
    const { db, writer } = this.ctx;
    await writer.write(`model "${this.name}"`, [db.models, db.metadata], async ({ emit, observe }) => {
      const row = await getModelRecord(this.ctx, this.namespace, this.name);
      // Later than every field clock stored, so this edit wins over what it has read.
      const hlc = observe(Object.values(row.clocks));
      const fields: Record<string, string | null> = {};
      for (const f of MODEL_FIELDS) if (data[f] !== undefined) fields[f] = data[f];
      await db.models.put(applyFields(row, fields, hlc));
      emit({ name: 'model.update', namespace: this.namespace, args: { id: this.id, fields } });
      await writeMetadataMap(this.ctx, { id: this.id, namespace: this.namespace }, data.metadata, hlc, emit);
    });
    return this.refresh();
  }

  /** Deletes the model and its versions (tombstones, so the delete syncs). */
  async delete(): Promise<void> {
    const { db, writer } = this.ctx;
    await writer.write(`model "${this.name}"`, [db.models, db.versions, db.aliases], async ({ emit }) => {
      const row = await getModelRecord(this.ctx, this.namespace, this.name);
      const now = Date.now();
      await db.models.put({ ...row, deletedAt: now, updatedAt: now });
      await db.versions.where('modelId').equals(this.id).modify((v) => {
        v.deletedAt ??= now;
      });
      await db.aliases.where('[modelId+alias]').between([this.id, ''], [this.id, '\uffff']).delete();
      emit({ name: 'model.delete', namespace: this.namespace, args: { id: this.id } });
    });
    // Its artifacts' bytes go now, unless another live artifact or an upload still needs them.
    await this.ctx.gc?.collect();
  }

  private async versionRecordById(id: string): Promise<VersionRecord> {
    const row = await this.ctx.db.versions.get(id);
    if (!row || row.modelId !== this.id) {
      throw new HangarError(ErrorCode.InvalidArgument, `That version belongs to another model than "${this.name}".`, { model: this.name, versionId: id });
    }
    if (row.deletedAt !== null) throw versionNotFound(this.name, row.number);
    return row;
  }

  private async versionRecord(number: number): Promise<VersionRecord> {
    const row = await this.ctx.db.versions.where('[modelId+number]').equals([this.id, number]).first();
    if (!row || row.deletedAt !== null) throw versionNotFound(this.name, number);
    return row;
  }
}
