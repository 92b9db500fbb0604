import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { modelId } from '../../../shared/ids.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { metadataValueSchema } from '../../../shared/metadata.ts';
import { keySchema, textSchema } from '../../../shared/names.ts';
import { paramValueSchema } from '../../../shared/params.ts';
import { parseWith } from '../../../shared/validate.ts';
import { serverHlc } from '../../clock.ts';
import { compileFilter, compileValue } from '../../db/filter-sql.ts';
import { metadataOf } from '../../db/metadata.ts';
import { metricHistoryPage } from '../../db/metrics.ts';
import type { ModelRow } from '../../db/models.ts';
import { getVersionRowById, type VersionRow } from '../../db/versions.ts';
import { metadataDeleteWrites, metadataWrites, setMetadata } from '../../domain/metadata.ts';
import { logMetrics } from '../../domain/metrics.ts';
import { createModel } from '../../domain/models.ts';
import { checkParams, paramWrites, setParams } from '../../domain/params.ts';
import { restoreVersionRow } from '../../domain/trash.ts';
import { createVersion, deleteVersion, updateVersion } from '../../domain/versions.ts';
import type { AppEnv } from '../../env.ts';
import { getModelRowById, type Parent } from '../../parent.ts';
import {
  access,
  db,
  decodeOffset,
  DEFAULT_EXPERIMENT_ID,
  DEFAULT_EXPERIMENT_NAME,
  encodeOffset,
  experimentById,
  int64,
  KEY_END_TIME,
  KEY_START_TIME,
  KEY_STATUS,
  KEY_USER_ID,
  ns,
  readRequest,
  repeated,
  runById,
  tagSchema,
} from './common.ts';
import { invalidParameter } from './errors.ts';
import { tagsToMetadata } from './experiments.ts';
import { parseOrderClause, translateFilter } from './search.ts';
import { runInfoJson, runsJson } from './shapes.ts';

/** `…/api/2.0/mlflow/runs/*` and `metrics/get-history`: a run is a version of an experiment. */
export const runs = new Hono<AppEnv>();

const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
const runId = z.object({ run_id: z.string().optional(), run_uuid: z.string().optional() });
const idOf = (b: { run_id?: string | undefined; run_uuid?: string | undefined }) => {
  const id = b.run_id ?? b.run_uuid;
  if (!id) throw invalidParameter("Missing value for required parameter 'run_id'.");
  return id;
};
const ctxOf = (c: Context<AppEnv>) => ({ hlc: serverHlc(), tokenId: c.get('caller').tokenId });

/** The experiment a run is created in; the Default experiment ("0") is made on first use. */
async function experimentForRun(c: Context<AppEnv>, id: string): Promise<ModelRow> {
  if (id === DEFAULT_EXPERIMENT_ID) {
    const existing = await getModelRowById(db(c), ns(c), await modelId(ns(c), DEFAULT_EXPERIMENT_NAME));
    if (!existing || existing.deleted_at !== null) await createModel(db(c), ns(c), { name: DEFAULT_EXPERIMENT_NAME, kind: 'experiment' }, serverHlc()).catch(() => undefined);
  }
  return experimentById(c, id);
}

async function runReply(c: Context<AppEnv>, run: VersionRow, experiment: ModelRow) {
  const [json] = await runsJson(db(c), [run], new Map([[experiment.id, experiment]]));
  return { run: json };
}

runs.post('/runs/create', async function createRun(c) {
  access(c, 'write');
  const body = await readRequest(
    c,
    z.object({
      experiment_id: z.string().default(DEFAULT_EXPERIMENT_ID),
      user_id: z.string().max(256).optional(),
      run_name: textSchema(256).optional(),
      start_time: int64.optional(),
      tags: z.array(tagSchema).max(LIMITS.metadataKeysPerRequest - 3).optional(),
    }),
  );
  const experiment = await experimentForRun(c, body.experiment_id);
  const tags = tagsToMetadata(body.tags);
  const name = body.run_name ?? tags['mlflow.runName'];
  const metadata: Record<string, string | number> = { ...tags, ...(body.user_id ? { [KEY_USER_ID]: body.user_id } : {}), ...(body.start_time !== undefined ? { [KEY_START_TIME]: body.start_time } : {}) };
  if (name !== undefined && tags['mlflow.runName'] === undefined) metadata['mlflow.runName'] = name;
  const run = await createVersion(db(c), experiment, { status: 'pending', ...(name ? { name } : {}), metadata }, ctxOf(c));
  return c.json(await runReply(c, run, experiment));
});

runs.get('/runs/get', async function getRun(c) {
  access(c, 'read');
  const { run, experiment } = await runById(c, idOf(await readRequest(c, runId)));
  return c.json(await runReply(c, run, experiment));
});

runs.post('/runs/update', async function updateRun(c) {
  access(c, 'write');
  const body = await readRequest(c, runId.extend({ status: z.enum(RUN_STATUSES).optional(), end_time: int64.optional(), run_name: textSchema(256).optional() }));
  const { run, experiment, parent } = await runById(c, idOf(body));
  const hlc = serverHlc();
  const metadata: Record<string, string | number> = {};
  if (body.end_time !== undefined) metadata[KEY_END_TIME] = body.end_time;
  if (body.status) metadata[KEY_STATUS] = body.status;
  if (body.run_name !== undefined) metadata['mlflow.runName'] = body.run_name;
  // RUNNING and SCHEDULED leave the version pending; a finished run is ready, a failed or killed one failed (DESIGN §3a).
  const status = body.status === 'FINISHED' ? 'ready' : body.status === 'FAILED' || body.status === 'KILLED' ? 'failed' : undefined;
  // A failed version stays failed: a run marked FINISHED after it failed keeps its failure.
  const settle = status === 'ready' && run.declared_status === 'failed' ? undefined : status;
  await updateVersion(db(c), experiment, run, { ...(body.run_name !== undefined ? { name: body.run_name } : {}), ...(settle ? { status: settle } : {}), metadata }, hlc);
  const after = (await getVersionRowById(db(c), parent.namespace, run.id))!;
  return c.json({ run_info: runInfoJson(after, experiment, (await metadataOf(db(c), [run.id])).get(run.id) ?? {}) });
});

runs.post('/runs/delete', async function deleteRun(c) {
  access(c, 'write');
  const { run, experiment } = await runById(c, idOf(await readRequest(c, runId)));
  await deleteVersion(db(c), experiment, run, ctxOf(c));
  return c.json({});
});

/** A deleted run is in the namespace's trash (DESIGN §3b) until purged: restored from there. */
runs.post('/runs/restore', async function restoreRun(c) {
  access(c, 'write');
  const { run, experiment } = await runById(c, idOf(await readRequest(c, runId)), { deleted: true });
  await restoreVersionRow(db(c), experiment, run, serverHlc());
  return c.json({});
});

/** A double as MLflow's JSON carries it: a number, or protobuf's "NaN", "Infinity" and "-Infinity". */
const metricValue = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)], { message: 'must be a number' });
const metricSchema = z.object({ key: keySchema, value: metricValue, timestamp: int64.pipe(z.number().min(0)), step: int64.pipe(z.number().min(0)).optional() });
type MlMetric = z.infer<typeof metricSchema>;
const toPoint = (m: MlMetric) => ({ key: m.key, value: m.value, wallclock: m.timestamp, step: m.step ?? 0 });

/** The run's tag counting, per metric key, the NaN and infinite values that were not stored. */
export const NON_FINITE_TAG = 'hangar.nonfinite_metrics';
/** Metric keys that tag lists at most (the rest count under "…"), so it stays far under a metadata value's size. */
const NON_FINITE_KEYS = 200;

/**
 * Logs a run's metric values. Hangar's points are finite numbers, so a NaN or infinite value (a
 * loss that diverged) is not stored as a point; it is counted under its key in the run's
 * `hangar.nonfinite_metrics` tag (count, last step, last value), and the training script goes on,
 * as it would against MLflow's own server.
 */
async function logRunMetrics(c: Context<AppEnv>, parent: Parent, metrics: MlMetric[], hlc: string): Promise<void> {
  const finite = metrics.filter((m) => Number.isFinite(m.value));
  if (finite.length) await logMetrics(db(c), parent, finite.map(toPoint), hlc);
  const skipped = metrics.filter((m) => !Number.isFinite(m.value));
  if (!skipped.length) return;
  type Count = { count: number; lastStep: number; lastValue: string };
  const was = (await metadataOf(db(c), [parent.id])).get(parent.id)?.[NON_FINITE_TAG];
  const counts: Record<string, Count> = was !== null && typeof was === 'object' && !Array.isArray(was) ? { ...(was as Record<string, Count>) } : {};
  for (const m of skipped) {
    const key = m.key in counts || Object.keys(counts).length < NON_FINITE_KEYS ? m.key : '…';
    counts[key] = { count: (counts[key]?.count ?? 0) + 1, lastStep: m.step ?? 0, lastValue: String(m.value) };
  }
  await setMetadata(db(c), parent, NON_FINITE_TAG, counts, hlc);
}

runs.post('/runs/log-metric', async function logMetric(c) {
  access(c, 'write');
  const body = await readRequest(c, runId.extend(metricSchema.shape));
  const { parent } = await runById(c, idOf(body));
  await logRunMetrics(c, parent, [body], serverHlc());
  return c.json({});
});

runs.post('/runs/log-parameter', async function logParameter(c) {
  access(c, 'write');
  const body = await readRequest(c, runId.extend({ key: keySchema, value: paramValueSchema }));
  const { parent } = await runById(c, idOf(body));
  await setParams(db(c), parent, [{ key: body.key, value: body.value }], serverHlc());
  return c.json({});
});

runs.post('/runs/set-tag', async function setTag(c) {
  access(c, 'write');
  const body = await readRequest(c, runId.extend({ key: keySchema, value: z.string() }));
  parseWith(metadataValueSchema, body.value, 'tag value');
  const { parent } = await runById(c, idOf(body));
  await setMetadata(db(c), parent, body.key, body.value, serverHlc());
  if (body.key === 'mlflow.runName') await updateVersion(db(c), parent.model, parent.version!, { name: body.value.slice(0, 256) }, serverHlc());
  return c.json({});
});

runs.post('/runs/delete-tag', async function deleteTag(c) {
  access(c, 'write');
  const body = await readRequest(c, runId.extend({ key: keySchema }));
  const { parent } = await runById(c, idOf(body));
  const tags = (await metadataOf(db(c), [parent.id])).get(parent.id) ?? {};
  if (!Object.hasOwn(tags, body.key)) throw invalidParameter(`No tag with name: ${body.key} in run with id ${parent.id}`);
  await db(c).batch(metadataDeleteWrites(db(c), parent, body.key, serverHlc()));
  return c.json({});
});

runs.post('/runs/log-batch', async function logBatch(c) {
  access(c, 'write');
  const raw = await readRequest(c, z.looseObject({}));
  // Counted before the schema, so an oversize batch names MLflow's limit.
  const count = (k: string) => (Array.isArray(raw[k]) ? (raw[k] as unknown[]).length : 0);
  if (count('metrics') > LIMITS.mlflowBatchMetrics) {
    throw invalidParameter(`A batch logging request can contain at most ${LIMITS.mlflowBatchMetrics} metrics. Got ${count('metrics')} metrics.`);
  }
  if (count('params') + count('tags') > LIMITS.mlflowBatchParamsAndTags) {
    throw invalidParameter(`A batch logging request can contain at most ${LIMITS.mlflowBatchParamsAndTags} params and tags. Got ${count('params') + count('tags')}.`);
  }
  const body = parseWith(
    runId.extend({
      metrics: z.array(metricSchema).optional(),
      params: z.array(z.object({ key: keySchema, value: paramValueSchema })).optional(),
      tags: z.array(tagSchema).optional(),
    }),
    raw,
    'request',
  );
  const { parent } = await runById(c, idOf(body));
  const params = body.params ?? [];
  const tags = tagsToMetadata(body.tags);
  const hlc = serverHlc();
  // Everything is checked before anything is written: a changed param refuses the whole batch.
  await checkParams(db(c), parent, params);
  const writes = [...paramWrites(db(c), parent, params, hlc), ...metadataWrites(db(c), parent.namespace, parent.id, tags, hlc)];
  if (writes.length) await db(c).batch(writes);
  if (body.metrics?.length) await logRunMetrics(c, parent, body.metrics, hlc);
  return c.json({});
});

runs.post('/runs/log-model', async function logModel(c) {
  access(c, 'write');
  const body = await readRequest(c, runId.extend({ model_json: z.string().max(LIMITS.metadataValueBytes / 2) }));
  const { parent } = await runById(c, idOf(body));
  let model: unknown;
  try {
    model = JSON.parse(body.model_json);
  } catch {
    throw invalidParameter('model_json is not valid JSON.');
  }
  // As MLflow's server does: the run's `mlflow.log-model.history` tag lists every model logged.
  const key = 'mlflow.log-model.history';
  const current = (await metadataOf(db(c), [parent.id])).get(parent.id)?.[key];
  let history: unknown[] = [];
  try {
    history = typeof current === 'string' ? (JSON.parse(current) as unknown[]) : [];
  } catch {
    history = [];
  }
  const value = JSON.stringify([...(Array.isArray(history) ? history : []), model]);
  parseWith(metadataValueSchema, value, 'mlflow.log-model.history');
  await setMetadata(db(c), parent, key, value, serverHlc());
  return c.json({});
});

runs.get('/metrics/get-history', async function getMetricHistory(c) {
  access(c, 'read');
  const body = await readRequest(c, runId.extend({ metric_key: keySchema, page_token: z.string().max(512).optional(), max_results: int64.optional() }));
  const { parent } = await runById(c, idOf(body));
  const pageSize = Math.min(Math.max(body.max_results ?? LIMITS.maxPointsMax, 1), LIMITS.maxPointsMax);
  const page = await metricHistoryPage(db(c), parent.id, body.metric_key, { pageSize, ...(body.page_token ? { pageToken: body.page_token } : {}) });
  return c.json({
    metrics: page.points.map((p) => ({ key: body.metric_key, value: p.value, timestamp: p.wallclock, step: p.step })),
    ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
  });
});

/** Runs per page of a search: each run's metric summary is one D1 query. */
const SEARCH_PAGE_MAX = 100;
const STATUS_VALUES: Record<string, string> = { RUNNING: 'pending', SCHEDULED: 'pending', FINISHED: 'ready', FAILED: 'failed', KILLED: 'failed' };
const RUN_FIELDS = { run_id: 'id', run_name: 'name', status: 'status', start_time: 'created_at', created: 'created_at' };

async function searchRuns(c: Context<AppEnv>) {
  access(c, 'read');
  const q = await readRequest(
    c,
    z.object({
      experiment_ids: repeated(z.string()).optional(),
      filter: z.string().max(LIMITS.filterLength).optional(),
      run_view_type: z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']).optional(),
      max_results: int64.optional(),
      order_by: repeated(z.string().max(300)).optional(),
      page_token: z.string().max(256).optional(),
    }),
  );
  const ids = q.experiment_ids ?? [];
  if (ids.length > 100) throw invalidParameter('At most 100 experiment ids in one search.');
  const experiments = new Map<string, ModelRow>();
  for (const id of ids) {
    const m = await experimentById(c, id);
    experiments.set(m.id, m);
  }
  if (experiments.size === 0 || q.run_view_type === 'DELETED_ONLY') return c.json({ runs: [] });
  const node = translateFilter(q.filter, Object.keys(RUN_FIELDS), RUN_FIELDS, {
    status: (v) => (typeof v === 'string' ? (STATUS_VALUES[v.toUpperCase()] ?? v) : v),
  });
  const target = { alias: 't', fields: { id: 'id', name: 'name', status: 'status', created_at: 'created_at' } };
  const filter = compileFilter(node, target);
  const orders = (q.order_by ?? []).map((o) => parseOrderClause(o, RUN_FIELDS));
  const orderSql: string[] = [];
  const orderParams: (string | number)[] = [];
  for (const o of orders) {
    const v = compileValue(o.field, target);
    // Missing values last, as MLflow orders them.
    orderSql.push(`${v.sql} IS NULL`, `${v.sql} ${o.desc ? 'DESC' : 'ASC'}`);
    orderParams.push(...v.params, ...v.params);
  }
  orderSql.push('t.created_at DESC', 't.id');
  const offset = decodeOffset(q.page_token);
  const size = Math.min(Math.max(q.max_results ?? 1000, 1), SEARCH_PAGE_MAX);
  const { results } = await db(c)
    .prepare(
      `SELECT t.* FROM versions t WHERE t.model_id IN (SELECT value FROM json_each(?)) AND t.deleted_at IS NULL AND ${filter.sql}
       ORDER BY ${orderSql.join(', ')} LIMIT ? OFFSET ?`,
    )
    .bind(JSON.stringify([...experiments.keys()]), ...filter.params, ...orderParams, size + 1, offset)
    .all<VersionRow>();
  const page = results.slice(0, size);
  return c.json({
    runs: await runsJson(db(c), page, experiments),
    ...(results.length > size ? { next_page_token: encodeOffset(offset + size) } : {}),
  });
}
runs.post('/runs/search', searchRuns);
