import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { metadataValueSchema } from '../../../shared/metadata.ts';
import { keySchema, nameSchema } from '../../../shared/names.ts';
import { formatFilter } from '../../../shared/filter.ts';
import { parseWith } from '../../../shared/validate.ts';
import { serverHlc } from '../../clock.ts';
import { metadataOf } from '../../db/metadata.ts';
import { getModelRow, listModels, type ModelRow } from '../../db/models.ts';
import { setMetadata } from '../../domain/metadata.ts';
import { createModel, deleteModel } from '../../domain/models.ts';
import { restoreModelRow } from '../../domain/trash.ts';
import type { AppEnv } from '../../env.ts';
import { access, db, experimentById, int64, ns, readRequest, repeated, tagSchema } from './common.ts';
import { doesNotExist, invalidParameter, MlflowError } from './errors.ts';
import { translateFilter } from './search.ts';
import { experimentJson } from './shapes.ts';

/** `…/api/2.0/mlflow/experiments/*`: an experiment is a model of kind `experiment`. */
export const experiments = new Hono<AppEnv>();

/** MLflow's names are looser than Hangar's: say which rule a name breaks. */
export function checkName(name: string, what: string): string {
  const r = nameSchema.safeParse(name);
  if (!r.success) throw invalidParameter(`${what} name '${name}' is not a valid Hangar name: 1–128 characters of A–Z, a–z, 0–9, '.', '_', '-', starting with a letter or digit.`);
  return r.data;
}

/** MLflow's tags as metadata: string values, each checked as a metadata key and value. */
export function tagsToMetadata(tags: { key: string; value: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) {
    parseWith(keySchema, t.key, 'tag key');
    parseWith(metadataValueSchema, t.value, 'tag value');
    Object.defineProperty(out, t.key, { value: t.value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

async function experimentReply(d: D1Database, m: ModelRow) {
  return { experiment: experimentJson(m, (await metadataOf(d, [m.id])).get(m.id) ?? {}) };
}

experiments.post('/create', async function createExperiment(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), artifact_location: z.string().optional(), tags: z.array(tagSchema).max(LIMITS.metadataKeysPerRequest).optional() }));
  const name = checkName(body.name, 'Experiment');
  try {
    const id = await createModel(db(c), ns(c), { name, kind: 'experiment', metadata: tagsToMetadata(body.tags) }, serverHlc());
    return c.json({ experiment_id: name === 'Default' ? '0' : id });
  } catch (err) {
    if (err instanceof HangarError && err.code === ErrorCode.ModelExists) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
    }
    throw err;
  }
});

experiments.get('/get', async function getExperiment(c) {
  access(c, 'read');
  const { experiment_id } = await readRequest(c, z.object({ experiment_id: z.string() }));
  return c.json(await experimentReply(db(c), await experimentById(c, experiment_id, { deleted: true })));
});

experiments.get('/get-by-name', async function getExperimentByName(c) {
  access(c, 'read');
  const { experiment_name } = await readRequest(c, z.object({ experiment_name: z.string() }));
  const row = await getModelRow(db(c), ns(c), experiment_name).catch(() => undefined);
  if (!row || row.kind !== 'experiment') throw doesNotExist(`Experiment '${experiment_name}' does not exist.`);
  return c.json(await experimentReply(db(c), row));
});

const searchSchema = z.object({
  max_results: int64.optional(),
  page_token: z.string().max(1024).optional(),
  filter: z.string().max(LIMITS.filterLength).optional(),
  order_by: repeated(z.string().max(200)).optional(),
  view_type: z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']).optional(),
});
const ORDER = { name: 'name', creation_time: 'created_at', last_update_time: 'updated_at', experiment_id: 'name' } as const;

async function searchExperiments(c: Context<AppEnv>) {
  access(c, 'read');
  const q = await readRequest(c, searchSchema);
  if (q.view_type === 'DELETED_ONLY') return c.json({ experiments: [] });
  const node = translateFilter(q.filter, ['name', 'creation_time', 'last_update_time'], { creation_time: 'created_at', last_update_time: 'updated_at' });
  const filter = `kind = 'experiment'${node ? ` AND (${formatFilter(node)})` : ''}`;
  const [first] = q.order_by ?? [];
  let orderBy: string | undefined;
  if (first) {
    const m = /^\s*(?:attributes?\.)?(\w+)(?:\s+(ASC|DESC))?\s*$/i.exec(first);
    const column = m ? ORDER[m[1] as keyof typeof ORDER] : undefined;
    if (!column) throw invalidParameter(`Invalid order_by clause '${first}'.`);
    orderBy = `${column} ${(m![2] ?? 'ASC').toUpperCase()}`;
  }
  const pageSize = Math.min(Math.max(q.max_results ?? 1000, 1), LIMITS.pageSizeMax);
  const page = await listModels(db(c), ns(c), { filter, orderBy, pageSize, pageToken: q.page_token });
  const d = db(c);
  const rows = await Promise.all(page.items.map((m) => getModelRow(d, ns(c), m.name)));
  const metadata = await metadataOf(d, rows.map((r) => r.id));
  return c.json({
    experiments: rows.map((r) => experimentJson(r, metadata.get(r.id) ?? {})),
    ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
  });
}
experiments.post('/search', searchExperiments);
experiments.get('/search', searchExperiments);

experiments.post('/delete', async function deleteExperiment(c) {
  access(c, 'write');
  const { experiment_id } = await readRequest(c, z.object({ experiment_id: z.string() }));
  await deleteModel(db(c), await experimentById(c, experiment_id), serverHlc());
  return c.json({});
});

/** A deleted experiment is in the namespace's trash until purged: restored with the runs its delete took. */
experiments.post('/restore', async function restoreExperiment(c) {
  access(c, 'write');
  const { experiment_id } = await readRequest(c, z.object({ experiment_id: z.string() }));
  await restoreModelRow(db(c), await experimentById(c, experiment_id, { deleted: true }), serverHlc());
  return c.json({});
});

experiments.post('/set-experiment-tag', async function setExperimentTag(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ experiment_id: z.string(), key: keySchema, value: z.string() }));
  parseWith(metadataValueSchema, body.value, 'tag value');
  const m = await experimentById(c, body.experiment_id);
  await setMetadata(db(c), { namespace: m.namespace, id: m.id }, body.key, body.value, serverHlc());
  return c.json({});
});
