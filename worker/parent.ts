import type { Context } from 'hono';
import { getModelRow, type ModelRow } from './db/models.ts';
import { getVersionRow, type VersionRow } from './db/versions.ts';
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
