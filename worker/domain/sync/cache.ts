import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { ModelRow } from '../../db/models.ts';
import type { VersionRow } from '../../db/versions.ts';
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
   * The parent a mutation names by id (a model's or a version's): `deleted` when it, or the
   * model of a version, has a tombstone; 404 `model-not-found` when the namespace has no such id.
   */
  async parent(id: string): Promise<Parent | 'deleted'> {
    const version = this.models.get(id) ? undefined : await this.version(id);
    const model = await this.model(version?.model_id ?? id);
    if (!model) throw notFound(this.namespace, id);
    if (model.deleted_at !== null || (version && version.deleted_at !== null)) return 'deleted';
    const namespace = this.namespace;
    return version ? { namespace, model, version, id, kind: 'version' } : { namespace, model, id, kind: 'model' };
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

export const notFound = (namespace: string, id: string) =>
  new HangarError(ErrorCode.ModelNotFound, `Namespace "${namespace}" has no model or version with id ${id}.`, { namespace, id });
