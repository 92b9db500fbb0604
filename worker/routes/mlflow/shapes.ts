import type { MetricSummary } from '../../../shared/metrics.ts';
import type { Params } from '../../../shared/params.ts';
import { metadataOf } from '../../db/metadata.ts';
import { metricSummaries } from '../../db/metrics.ts';
import type { ModelRow } from '../../db/models.ts';
import { paramsOf } from '../../db/params.ts';
import type { VersionRow } from '../../db/versions.ts';
import { experimentIdOf, KEY_END_TIME, KEY_RUN_LINK, KEY_SOURCE, KEY_STAGE, KEY_START_TIME, KEY_STATUS, KEY_USER_ID, stageOf, tagsOf } from './common.ts';

/** MLflow's JSON shapes (its service.proto and model_registry.proto), built from Hangar's rows. */

export function experimentJson(m: ModelRow, metadata: Record<string, unknown>) {
  const id = experimentIdOf(m);
  return {
    experiment_id: id,
    name: m.name,
    artifact_location: `mlflow-artifacts:/${id}`,
    lifecycle_stage: m.deleted_at === null ? 'active' : 'deleted',
    last_update_time: m.updated_at,
    creation_time: m.created_at,
    tags: tagsOf(metadata),
  };
}

/** A run's MLflow status: pending → RUNNING, ready → FINISHED, failed → FAILED (KILLED when it was killed). */
export function runStatus(v: Pick<VersionRow, 'status'>, metadata: Record<string, unknown>): string {
  if (v.status === 'ready') return 'FINISHED';
  if (v.status === 'failed') return metadata[KEY_STATUS] === 'KILLED' ? 'KILLED' : 'FAILED';
  return metadata[KEY_STATUS] === 'SCHEDULED' ? 'SCHEDULED' : 'RUNNING';
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

export function runInfoJson(v: VersionRow, experiment: ModelRow, metadata: Record<string, unknown>) {
  const experimentId = experimentIdOf(experiment);
  const end = num(metadata[KEY_END_TIME]);
  const user = metadata[KEY_USER_ID];
  return {
    run_id: v.id,
    run_uuid: v.id,
    run_name: v.name ?? '',
    experiment_id: experimentId,
    user_id: typeof user === 'string' ? user : '',
    status: runStatus(v, metadata),
    start_time: num(metadata[KEY_START_TIME]) ?? v.created_at,
    ...(end !== undefined ? { end_time: end } : {}),
    artifact_uri: `mlflow-artifacts:/${experimentId}/${v.id}/artifacts`,
    lifecycle_stage: 'active',
  };
}

export function runJson(v: VersionRow, experiment: ModelRow, metadata: Record<string, unknown>, params: Params, metrics: Record<string, MetricSummary>) {
  return {
    info: runInfoJson(v, experiment, metadata),
    data: {
      // The summary keeps a key's last value and step; its time is the run's last update.
      metrics: Object.entries(metrics).map(([key, s]) => ({ key, value: s.last, timestamp: v.updated_at, step: s.lastStep })),
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
      tags: tagsOf(metadata),
    },
    inputs: {},
  };
}

/** Many runs of one experiment or several, with their data: three queries and one per run for its metrics. */
export async function runsJson(db: D1Database, rows: VersionRow[], experiments: Map<string, ModelRow>) {
  const ids = rows.map((r) => r.id);
  const [metadata, params, metrics] = await Promise.all([
    metadataOf(db, ids),
    paramsOf(db, ids),
    Promise.all(ids.map((id) => metricSummaries(db, id))),
  ]);
  return rows.map((r, i) => runJson(r, experiments.get(r.model_id)!, metadata.get(r.id) ?? {}, params.get(r.id) ?? {}, metrics[i] ?? {}));
}

const VERSION_STATUS = { pending: 'PENDING_REGISTRATION', ready: 'READY', failed: 'FAILED_REGISTRATION' } as const;

export function modelVersionJson(model: ModelRow, v: VersionRow, metadata: Record<string, unknown>, aliases: string[]) {
  const source = metadata[KEY_SOURCE];
  const link = metadata[KEY_RUN_LINK];
  return {
    name: model.name,
    version: String(v.number),
    creation_timestamp: v.created_at,
    last_updated_timestamp: v.updated_at,
    user_id: '',
    current_stage: stageOf(metadata[KEY_STAGE]) ?? 'None',
    description: v.description ?? '',
    source: typeof source === 'string' ? source : `mlflow-artifacts:/models/${model.name}/versions/${v.number}/artifacts`,
    run_id: v.source_version_id ?? '',
    status: VERSION_STATUS[v.status],
    ...(typeof link === 'string' ? { run_link: link } : {}),
    tags: tagsOf(metadata),
    aliases,
  };
}

export function registeredModelJson(
  m: ModelRow,
  metadata: Record<string, unknown>,
  aliases: Record<string, number>,
  latest: ReturnType<typeof modelVersionJson>[],
) {
  return {
    name: m.name,
    creation_timestamp: m.created_at,
    last_updated_timestamp: m.updated_at,
    description: m.description ?? '',
    latest_versions: latest,
    tags: tagsOf(metadata),
    aliases: Object.entries(aliases).map(([alias, version]) => ({ alias, version: String(version) })),
  };
}
