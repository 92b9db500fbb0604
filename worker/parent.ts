import type { Context } from 'hono';
import { getModelRow, type ModelRow } from './db/models.ts';
import { getVersionRow, getVersionRowById, type VersionRow } from './db/versions.ts';
import { ErrorCode, HangarError } from '../shared/errors.ts';
import type { AppEnv } from './env.ts';

/**
 * What metrics, metadata and artifacts hang off: a model, or one of its versions. Routes
 * mounted under both `…/models/{model}` and `…/models/{model}/versions/{number}` resolve
 * their parent with this.
 */
export interface Parent {
  namespace: string;
  model: ModelRow;
  version?: VersionRow;
  /** The model's id or the version's. */
  id: string;
  kind: 'model' | 'version';
}

export async function resolveParent(c: Context<AppEnv>): Promise<Parent> {
  const namespace = c.req.param('ns')!;
  const model = await getModelRow(c.env.DB, namespace, c.req.param('model')!);
  const number = c.req.param('number');
  if (number === undefined) return { namespace, model, id: model.id, kind: 'model' };
  const version = await getVersionRow(c.env.DB, model, number);
  return { namespace, model, version, id: version.id, kind: 'version' };
}

/** A model by id within a namespace, deleted or not. */
export async function getModelRowById(db: D1Database, namespace: string, id: string): Promise<ModelRow | undefined> {
  return (await db.prepare('SELECT * FROM models WHERE id = ? AND namespace = ?').bind(id, namespace).first<ModelRow>()) ?? undefined;
}

/**
 * The parent with this id (a model's or a version's), as sync mutations name it. `deleted`
 * when it, or the model of a version, has a tombstone; 404 when the namespace has no such id.
 */
export async function parentById(db: D1Database, namespace: string, id: string): Promise<Parent | 'deleted'> {
  const version = await getVersionRowById(db, namespace, id);
  const model = await getModelRowById(db, namespace, version?.model_id ?? id);
  if (!model) {
    throw new HangarError(ErrorCode.ModelNotFound, `Namespace "${namespace}" has no model or version with id ${id}.`, { namespace, id });
  }
  if (model.deleted_at !== null || (version && version.deleted_at !== null)) return 'deleted';
  return version ? { namespace, model, version, id, kind: 'version' } : { namespace, model, id, kind: 'model' };
}
