import type { Context } from 'hono';
import { z } from 'zod';
import { b64url, unb64url } from '../../../shared/encoding.ts';
import { modelId } from '../../../shared/ids.ts';
import { parseWith } from '../../../shared/validate.ts';
import { canSee, requireRole } from '../../auth.ts';
import { getModelRow, type ModelRow } from '../../db/models.ts';
import { getVersionRowById, type VersionRow } from '../../db/versions.ts';
import type { AppEnv } from '../../env.ts';
import { readJsonBody } from '../../http.ts';
import { getModelRowById, type Parent } from '../../parent.ts';
import { NAMESPACE_PATTERN } from '../../../shared/names.ts';
import { doesNotExist, invalidParameter, MlflowError } from './errors.ts';
import type { Role } from '../../../shared/tokens.ts';

/** The experiment MLflow clients use when none is set: id "0", named "Default". */
export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';

/** Metadata keys Hangar keeps for MLflow's run fields that have no column; never shown as tags. */
export const INTERNAL_PREFIX = 'hangar.mlflow.';
export const KEY_START_TIME = `${INTERNAL_PREFIX}start_time`;
export const KEY_END_TIME = `${INTERNAL_PREFIX}end_time`;
export const KEY_USER_ID = `${INTERNAL_PREFIX}user_id`;
/** The MLflow status a run was given last (`KILLED` is a failed version that was killed). */
export const KEY_STATUS = `${INTERNAL_PREFIX}status`;
export const KEY_SOURCE = `${INTERNAL_PREFIX}source`;
export const KEY_RUN_LINK = `${INTERNAL_PREFIX}run_link`;
/** A registered version's stage (MLflow's deprecated stages; aliases are the current way). */
export const KEY_STAGE = `${INTERNAL_PREFIX}stage`;
/** MLflow's stages, as it spells them; a version never moved is in `None`. */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
/** A stage as MLflow takes it (any case), or undefined. */
export const stageOf = (s: unknown): Stage | undefined => (typeof s === 'string' ? STAGES.find((t) => t.toLowerCase() === s.toLowerCase()) : undefined);

/** An int64 as MLflow's JSON carries it: a number, or a string of digits. */
export const int64 = z.union([z.number().int(), z.string().regex(/^-?\d{1,18}$/).transform(Number)]);
/** A repeated field: an array, or one value (a query string with the key once). */
export const repeated = <T extends z.ZodType>(item: T) => z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), z.array(item));
export const tagSchema = z.object({ key: z.string(), value: z.string().optional().default('') });

export const ns = (c: Context<AppEnv>) => c.req.param('ns')!;
export const db = (c: Context<AppEnv>) => c.env.DB;

/** Checks the namespace and the caller's role (a search sent as POST is a read). */
export function access(c: Context<AppEnv>, role: Role): void {
  const namespace = c.req.param('ns') ?? '';
  const caller = c.get('caller');
  if (!NAMESPACE_PATTERN.test(namespace) || !canSee(caller, namespace)) {
    throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No namespace "${namespace}" that this token can see.`);
  }
  requireRole(caller, role);
}

/** The request's fields: the query string for GET, else the JSON body (the query when there is none). */
export async function readRequest<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  let input: unknown;
  if (c.req.method === 'GET' || c.req.method === 'HEAD') input = queryObject(c);
  else {
    const length = c.req.header('content-length');
    input = length === '0' || !c.req.raw.body ? queryObject(c) : await readJsonBody(c);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalidParameter('The request body must be a JSON object.');
  return parseWith(schema, input, 'request');
}

function queryObject(c: Context<AppEnv>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(c.req.queries())) out[key] = values.length === 1 ? values[0]! : values;
  return out;
}

/** Offset page tokens of the searches. */
export const encodeOffset = (offset: number) => b64url(JSON.stringify({ o: offset }));
export function decodeOffset(token: string | undefined): number {
  if (!token) return 0;
  try {
    const o = (JSON.parse(unb64url(token)) as { o?: unknown }).o;
    if (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) return o;
  } catch {
    // falls through
  }
  throw invalidParameter('Invalid page token; start again from the first page.');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An experiment's id as MLflow sees it: "0" for Default, else the model's id. */
export const experimentIdOf = (m: Pick<ModelRow, 'id' | 'name'>) => (m.name === DEFAULT_EXPERIMENT_NAME ? DEFAULT_EXPERIMENT_ID : m.id);

/** A live experiment by its MLflow id, or RESOURCE_DOES_NOT_EXIST. */
export async function experimentById(c: Context<AppEnv>, id: string, opts: { deleted?: boolean } = {}): Promise<ModelRow> {
  const namespace = ns(c);
  const row = id === DEFAULT_EXPERIMENT_ID
    ? await getModelRowById(db(c), namespace, await modelId(namespace, DEFAULT_EXPERIMENT_NAME))
    : UUID.test(id)
      ? await getModelRowById(db(c), namespace, id.toLowerCase())
      : undefined;
  if (!row || row.kind !== 'experiment' || (row.deleted_at !== null && !opts.deleted)) {
    throw doesNotExist(`No experiment with id "${id}".`);
  }
  return row;
}

/** A live registered model by name, or RESOURCE_DOES_NOT_EXIST. */
export async function registeredModel(c: Context<AppEnv>, name: string): Promise<ModelRow> {
  const row = await getModelRow(db(c), ns(c), name).catch(() => undefined);
  if (!row || row.kind !== 'model') throw doesNotExist(`Registered Model with name=${name} not found`);
  return row;
}

/** A live run (a version of an experiment; a deleted one too with `deleted`) by its id, with its live experiment, or RESOURCE_DOES_NOT_EXIST. */
export async function runById(c: Context<AppEnv>, runId: string, opts: { deleted?: boolean } = {}): Promise<{ run: VersionRow; experiment: ModelRow; parent: Parent }> {
  const notFound = () => doesNotExist(`Run '${runId}' not found`);
  if (!UUID.test(runId)) throw notFound();
  const namespace = ns(c);
  const run = await getVersionRowById(db(c), namespace, runId.toLowerCase());
  if (!run || (run.deleted_at !== null && !opts.deleted)) throw notFound();
  const experiment = await getModelRowById(db(c), namespace, run.model_id);
  if (!experiment || experiment.kind !== 'experiment' || experiment.deleted_at !== null) throw notFound();
  return { run, experiment, parent: { namespace, model: experiment, version: run, id: run.id, kind: 'version' } };
}


/** Metadata (JSON values) as MLflow's string tags, without Hangar's internal keys. */
export function tagsOf(metadata: Record<string, unknown>): { key: string; value: string }[] {
  return Object.entries(metadata)
    .filter(([key]) => !key.startsWith(INTERNAL_PREFIX))
    .map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) }));
}
