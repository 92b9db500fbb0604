import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { formatFilter } from '../../../shared/filter.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { metadataValueSchema } from '../../../shared/metadata.ts';
import { aliasSchema, keySchema, textSchema } from '../../../shared/names.ts';
import { parseWith } from '../../../shared/validate.ts';
import { serverHlc } from '../../clock.ts';
import { getAlias } from '../../db/aliases.ts';
import { insertArtifacts, listArtifactRows } from '../../db/artifacts.ts';
import { settleVersionStatus } from '../../db/blobs.ts';
import { compileFilter } from '../../db/filter-sql.ts';
import { metadataOf } from '../../db/metadata.ts';
import { aliasesOf, getModelRow, listModels, type ModelRow } from '../../db/models.ts';
import { getVersionRow, getVersionRowById, type VersionRow } from '../../db/versions.ts';
import { deleteAlias, setAlias } from '../../domain/aliases.ts';
import { newArtifactRow } from '../../domain/artifacts.ts';
import { metadataDeleteWrites, setMetadata } from '../../domain/metadata.ts';
import { createModel, deleteModel, updateModel } from '../../domain/models.ts';
import { createVersion, deleteVersion, updateVersion } from '../../domain/versions.ts';
import type { AppEnv } from '../../env.ts';
import { access, db, decodeOffset, encodeOffset, int64, KEY_RUN_LINK, KEY_SOURCE, KEY_STAGE, ns, readRequest, registeredModel, repeated, runById, stageOf, STAGES, tagSchema, type Stage } from './common.ts';
import { doesNotExist, invalidParameter, MlflowError } from './errors.ts';
import { checkName, tagsToMetadata } from './experiments.ts';
import { translateFilter } from './search.ts';
import { modelVersionJson, registeredModelJson } from './shapes.ts';

/** `…/api/2.0/mlflow/registered-models/*` and `model-versions/*`: registered models are models of kind `model`. */
export const registry = new Hono<AppEnv>();

const ctxOf = (c: Context<AppEnv>) => ({ hlc: serverHlc(), tokenId: c.get('caller').tokenId });

async function versionsJson(d: D1Database, model: ModelRow, rows: VersionRow[]) {
  const ids = rows.map((r) => r.id);
  const metadata = await metadataOf(d, ids);
  const aliases = await aliasesOf(d, [model.id]);
  const byVersion = new Map<number, string[]>();
  for (const [alias, n] of Object.entries(aliases.get(model.id) ?? {})) byVersion.set(n, [...(byVersion.get(n) ?? []), alias]);
  return rows.map((r) => modelVersionJson(model, r, metadata.get(r.id) ?? {}, byVersion.get(r.number) ?? []));
}

/** The newest live version in each stage (of those asked for; every stage when none is), in version order. */
async function latestPerStage(d: D1Database, model: ModelRow, stages: readonly Stage[] = STAGES): Promise<VersionRow[]> {
  // One row per stage: SQLite takes a bare column's values from the row that gives MAX().
  const { results } = await d
    .prepare(
      `SELECT v.*, COALESCE(m.value, ?3) AS stage_json, MAX(v.number) AS top FROM versions v
       LEFT JOIN metadata m ON m.parent_id = v.id AND m.key = ?2 AND m.deleted = 0
       WHERE v.model_id = ?1 AND v.deleted_at IS NULL GROUP BY stage_json`,
    )
    .bind(model.id, KEY_STAGE, JSON.stringify('None'))
    .all<VersionRow & { stage_json: string; top: number }>();
  return results
    .filter((r) => stages.includes(stageOf(JSON.parse(r.stage_json)) ?? 'None'))
    .map(({ stage_json: _stage, top: _top, ...row }) => row as VersionRow)
    .sort((a, b) => a.number - b.number);
}

async function registeredModelReply(d: D1Database, m: ModelRow) {
  const [metadata, aliases, latest] = await Promise.all([metadataOf(d, [m.id]), aliasesOf(d, [m.id]), latestPerStage(d, m)]);
  return registeredModelJson(m, metadata.get(m.id) ?? {}, aliases.get(m.id) ?? {}, await versionsJson(d, m, latest));
}

/** A version of a registered model by its number as MLflow sends it (a string). */
async function versionOf(c: Context<AppEnv>, name: string, version: string | number) {
  const model = await registeredModel(c, name);
  const row = await getVersionRow(db(c), model, String(version)).catch(() => undefined);
  if (!row) throw doesNotExist(`Model Version (name=${name}, version=${version}) not found`);
  return { model, row };
}

registry.post('/registered-models/create', async function createRegisteredModel(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), description: textSchema(LIMITS.descriptionLength).optional(), tags: z.array(tagSchema).max(LIMITS.metadataKeysPerRequest).optional() }));
  const name = checkName(body.name, 'Registered model');
  try {
    await createModel(db(c), ns(c), { name, kind: 'model', ...(body.description ? { description: body.description } : {}), metadata: tagsToMetadata(body.tags) }, serverHlc());
  } catch (err) {
    if (err instanceof HangarError && err.code === ErrorCode.ModelExists) throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
    throw err;
  }
  return c.json({ registered_model: await registeredModelReply(db(c), await registeredModel(c, name)) });
});

registry.get('/registered-models/get', async function getRegisteredModel(c) {
  access(c, 'read');
  const { name } = await readRequest(c, z.object({ name: z.string() }));
  return c.json({ registered_model: await registeredModelReply(db(c), await registeredModel(c, name)) });
});

async function searchRegisteredModels(c: Context<AppEnv>) {
  access(c, 'read');
  const q = await readRequest(c, z.object({ filter: z.string().max(LIMITS.filterLength).optional(), max_results: int64.optional(), order_by: repeated(z.string().max(200)).optional(), page_token: z.string().max(1024).optional() }));
  const node = translateFilter(q.filter, ['name'], {});
  const [first] = q.order_by ?? [];
  let orderBy: string | undefined;
  if (first) {
    const m = /^\s*(name|last_updated_timestamp|creation_timestamp|timestamp)(?:\s+(ASC|DESC))?\s*$/i.exec(first);
    if (!m) throw invalidParameter(`Invalid order_by clause '${first}'.`);
    const column = { name: 'name', last_updated_timestamp: 'updated_at', timestamp: 'updated_at', creation_timestamp: 'created_at' }[m[1]!.toLowerCase()]!;
    orderBy = `${column} ${(m[2] ?? 'ASC').toUpperCase()}`;
  }
  const pageSize = Math.min(Math.max(q.max_results ?? 100, 1), LIMITS.pageSizeMax);
  const page = await listModels(db(c), ns(c), { filter: node ? formatFilter(node) : undefined, orderBy, pageSize, pageToken: q.page_token });
  const d = db(c);
  const out = [];
  for (const m of page.items) out.push(await registeredModelReply(d, await getModelRow(d, ns(c), m.name)));
  return c.json({ registered_models: out, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
}
registry.get('/registered-models/search', searchRegisteredModels);
registry.post('/registered-models/search', searchRegisteredModels);

registry.delete('/registered-models/delete', async function deleteRegisteredModel(c) {
  access(c, 'write');
  const { name } = await readRequest(c, z.object({ name: z.string() }));
  await deleteModel(db(c), await registeredModel(c, name), serverHlc());
  return c.json({});
});

registry.patch('/registered-models/update', async function updateRegisteredModel(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), description: textSchema(LIMITS.descriptionLength).optional() }));
  const model = await registeredModel(c, body.name);
  if (body.description !== undefined) await updateModel(db(c), model, { description: body.description }, serverHlc());
  return c.json({ registered_model: await registeredModelReply(db(c), await registeredModel(c, body.name)) });
});

registry.post('/registered-models/set-tag', async function setRegisteredModelTag(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), key: keySchema, value: z.string() }));
  parseWith(metadataValueSchema, body.value, 'tag value');
  const model = await registeredModel(c, body.name);
  await setMetadata(db(c), { namespace: model.namespace, id: model.id }, body.key, body.value, serverHlc());
  return c.json({});
});

registry.delete('/registered-models/delete-tag', async function deleteRegisteredModelTag(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), key: keySchema }));
  const model = await registeredModel(c, body.name);
  await db(c).batch(metadataDeleteWrites(db(c), { namespace: model.namespace, id: model.id }, body.key, serverHlc()));
  return c.json({});
});

registry.post('/registered-models/alias', async function setRegisteredModelAlias(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), alias: aliasSchema, version: z.union([z.string(), z.number()]) }));
  const { model, row } = await versionOf(c, body.name, body.version);
  await setAlias(db(c), model, body.alias, row, undefined, ctxOf(c));
  return c.json({});
});

registry.delete('/registered-models/alias', async function deleteRegisteredModelAlias(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), alias: aliasSchema }));
  const model = await registeredModel(c, body.name);
  await deleteAlias(db(c), model, body.alias, ctxOf(c)).catch((err: unknown) => {
    if (err instanceof HangarError && err.code === ErrorCode.AliasNotFound) return; // as MLflow: deleting a missing alias is harmless
    throw err;
  });
  return c.json({});
});

registry.get('/registered-models/alias', async function getModelVersionByAlias(c) {
  access(c, 'read');
  const body = await readRequest(c, z.object({ name: z.string(), alias: z.string() }));
  const model = await registeredModel(c, body.name);
  const alias = await getAlias(db(c), model.id, body.alias);
  if (!alias) throw doesNotExist(`Registered model alias ${body.alias} not found.`);
  const row = (await getVersionRowById(db(c), model.namespace, alias.versionId))!;
  return c.json({ model_version: (await versionsJson(db(c), model, [row]))[0] });
});

registry.post('/registered-models/get-latest-versions', async function getLatestVersions(c) {
  access(c, 'read');
  const body = await readRequest(c, z.object({ name: z.string(), stages: repeated(z.string()).optional() }));
  const model = await registeredModel(c, body.name);
  const stages = body.stages?.length ? body.stages.map((s) => stageOf(s) ?? badStage(s)) : STAGES;
  return c.json({ model_versions: await versionsJson(db(c), model, await latestPerStage(db(c), model, stages)) });
});

const badStage = (s: string): never => {
  throw invalidParameter(`Invalid Model Version stage: ${s}. Value must be one of ${STAGES.join(', ')}.`);
};

/**
 * MLflow's stages (deprecated there in favour of aliases, still used by older code): kept in the
 * version's internal metadata, so they sync like any metadata. `archive_existing_versions` moves
 * the model's other versions in that stage to `Archived`.
 */
registry.post('/model-versions/transition-stage', async function transitionStage(c) {
  access(c, 'write');
  const body = await readRequest(
    c,
    z.object({ name: z.string(), version: z.union([z.string(), z.number()]), stage: z.string(), archive_existing_versions: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional() }),
  );
  const stage = stageOf(body.stage) ?? badStage(body.stage);
  const { model, row } = await versionOf(c, body.name, body.version);
  const hlc = serverHlc();
  const parentOf = (v: VersionRow) => ({ namespace: model.namespace, model, version: v, id: v.id, kind: 'version' as const });
  if (body.archive_existing_versions && (stage === 'Staging' || stage === 'Production')) {
    for (const other of await versionsInStage(db(c), model, stage)) if (other.id !== row.id) await setMetadata(db(c), parentOf(other), KEY_STAGE, 'Archived', hlc);
  }
  await setMetadata(db(c), parentOf(row), KEY_STAGE, stage, hlc);
  const after = (await getVersionRowById(db(c), model.namespace, row.id))!;
  return c.json({ model_version: (await versionsJson(db(c), model, [after]))[0] });
});

/** The model's live versions whose stage is `stage`. */
async function versionsInStage(d: D1Database, model: ModelRow, stage: Stage): Promise<VersionRow[]> {
  const { results } = await d
    .prepare(
      `SELECT v.* FROM versions v JOIN metadata m ON m.parent_id = v.id AND m.key = ?2 AND m.deleted = 0
       WHERE v.model_id = ?1 AND v.deleted_at IS NULL AND m.value = ?3`,
    )
    .bind(model.id, KEY_STAGE, JSON.stringify(stage))
    .all<VersionRow>();
  return results;
}

/**
 * Where a model version's files come from: `runs:/<run>/<path>`, or a run's artifact URI
 * (`mlflow-artifacts:/<experiment>/<run>/artifacts/<path>`, or its http(s) form).
 */
export function parseSource(source: string): { runId: string; path: string } | undefined {
  const runs = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
  if (runs) return { runId: runs[1]!, path: (runs[2] ?? '').replace(/\/+$/, '') };
  const artifacts = /(?:^mlflow-artifacts:(?:\/\/[^/]*)?|\/mlflow-artifacts\/artifacts)\/+[^/]+\/([^/]+)\/artifacts(?:\/(.*))?$/.exec(source);
  if (artifacts) return { runId: artifacts[1]!, path: (artifacts[2] ?? '').replace(/\/+$/, '') };
  return undefined;
}

registry.post('/model-versions/create', async function createModelVersion(c) {
  access(c, 'write');
  const body = await readRequest(
    c,
    z.object({
      name: z.string(),
      source: z.string().max(LIMITS.artifactPathBytes + 512),
      run_id: z.string().optional(),
      tags: z.array(tagSchema).max(LIMITS.metadataKeysPerRequest - 2).optional(),
      run_link: z.string().max(2048).optional(),
      description: textSchema(LIMITS.descriptionLength).optional(),
    }),
  );
  const model = await registeredModel(c, body.name);
  const parsed = parseSource(body.source);
  const runId = body.run_id || parsed?.runId;
  if (!runId) throw invalidParameter(`Cannot tell the run of source '${body.source}': use runs:/<run_id>/<path> or give run_id.`);
  const { run, parent } = await runById(c, runId);
  const path = parsed && parsed.runId === runId ? parsed.path : '';
  const files = (await listArtifactRows(db(c), run.id, path ? `${path}/` : '')).filter((a) => !a.path.startsWith('checkpoints/'));
  const exact = path ? (await listArtifactRows(db(c), run.id, path)).filter((a) => a.path === path) : [];
  if (files.length === 0 && exact.length === 0 && path) throw invalidParameter(`Run ${run.id} has no artifacts under '${path}'.`);
  const metadata: Record<string, string> = { ...tagsToMetadata(body.tags), [KEY_SOURCE]: body.source, ...(body.run_link ? { [KEY_RUN_LINK]: body.run_link } : {}) };
  const hlc = serverHlc();
  const version = await createVersion(db(c), model, { sourceVersionId: run.id, ...(body.description ? { description: body.description } : {}), metadata }, { hlc, tokenId: c.get('caller').tokenId });
  // The run's files under the source path become the version's, sharing their blobs: rows only, no bytes copied.
  const target = { namespace: parent.namespace, model, version, id: version.id, kind: 'version' as const };
  const rows = [...exact.map((a) => ({ a, rel: a.path.slice(a.path.lastIndexOf('/') + 1) })), ...files.map((a) => ({ a, rel: a.path.slice(path ? path.length + 1 : 0) }))].map(({ a, rel }) =>
    newArtifactRow(target, { path: rel, ...(a.size !== null ? { size: a.size } : {}), ...(a.sha256 ? { sha256: a.sha256 } : {}), mimeType: a.mime_type, fileType: a.file_type as never, ...(a.url ? { url: a.url } : {}) }),
  );
  if (rows.length) await db(c).batch([...insertArtifacts(db(c), rows, 'version', hlc), ...settleVersionStatus(db(c), version.id, hlc)]);
  const stored = (await getVersionRowById(db(c), model.namespace, version.id))!;
  return c.json({ model_version: (await versionsJson(db(c), model, [stored]))[0] });
});

registry.get('/model-versions/get', async function getModelVersion(c) {
  access(c, 'read');
  const body = await readRequest(c, z.object({ name: z.string(), version: z.string() }));
  const { model, row } = await versionOf(c, body.name, body.version);
  return c.json({ model_version: (await versionsJson(db(c), model, [row]))[0] });
});

registry.patch('/model-versions/update', async function updateModelVersion(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), version: z.union([z.string(), z.number()]), description: textSchema(LIMITS.descriptionLength).optional() }));
  const { model, row } = await versionOf(c, body.name, body.version);
  if (body.description !== undefined) await updateVersion(db(c), model, row, { description: body.description }, serverHlc());
  const after = (await getVersionRowById(db(c), model.namespace, row.id))!;
  return c.json({ model_version: (await versionsJson(db(c), model, [after]))[0] });
});

registry.delete('/model-versions/delete', async function deleteModelVersion(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), version: z.union([z.string(), z.number()]) }));
  const { model, row } = await versionOf(c, body.name, body.version);
  await deleteVersion(db(c), model, row, ctxOf(c));
  return c.json({});
});

registry.post('/model-versions/set-tag', async function setModelVersionTag(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), version: z.union([z.string(), z.number()]), key: keySchema, value: z.string() }));
  parseWith(metadataValueSchema, body.value, 'tag value');
  const { row } = await versionOf(c, body.name, body.version);
  await setMetadata(db(c), { namespace: row.namespace, id: row.id }, body.key, body.value, serverHlc());
  return c.json({});
});

registry.delete('/model-versions/delete-tag', async function deleteModelVersionTag(c) {
  access(c, 'write');
  const body = await readRequest(c, z.object({ name: z.string(), version: z.union([z.string(), z.number()]), key: keySchema }));
  const { row } = await versionOf(c, body.name, body.version);
  await db(c).batch(metadataDeleteWrites(db(c), { namespace: row.namespace, id: row.id }, body.key, serverHlc()));
  return c.json({});
});

registry.get('/model-versions/get-download-uri', async function getDownloadUri(c) {
  access(c, 'read');
  const body = await readRequest(c, z.object({ name: z.string(), version: z.string() }));
  const { model, row } = await versionOf(c, body.name, body.version);
  return c.json({ artifact_uri: `mlflow-artifacts:/models/${model.name}/versions/${row.number}/artifacts` });
});

const SEARCH_PAGE_MAX = 200;
async function searchModelVersions(c: Context<AppEnv>) {
  access(c, 'read');
  const q = await readRequest(c, z.object({ filter: z.string().max(LIMITS.filterLength).optional(), max_results: int64.optional(), order_by: repeated(z.string().max(200)).optional(), page_token: z.string().max(256).optional() }));
  const node = translateFilter(q.filter, ['name', 'run_id', 'version_number'], { version_number: 'number' });
  const target = { alias: 't', fields: { name: 'model_name', run_id: 'source_version_id', number: 'number' } };
  const filter = compileFilter(node, target);
  const offset = decodeOffset(q.page_token);
  const size = Math.min(Math.max(q.max_results ?? SEARCH_PAGE_MAX, 1), SEARCH_PAGE_MAX);
  const { results } = await db(c)
    .prepare(
      `SELECT t.* FROM (SELECT v.*, m.name AS model_name FROM versions v JOIN models m ON m.id = v.model_id
         WHERE v.namespace = ? AND m.kind = 'model' AND m.deleted_at IS NULL AND v.deleted_at IS NULL) t
       WHERE ${filter.sql} ORDER BY t.model_name, t.number DESC LIMIT ? OFFSET ?`,
    )
    .bind(ns(c), ...filter.params, size + 1, offset)
    .all<VersionRow & { model_name: string }>();
  const out = [];
  const models = new Map<string, ModelRow>();
  for (const r of results.slice(0, size)) {
    const model = models.get(r.model_id) ?? (await getModelRow(db(c), ns(c), r.model_name));
    models.set(r.model_id, model);
    out.push((await versionsJson(db(c), model, [r]))[0]);
  }
  return c.json({ model_versions: out, ...(results.length > size ? { next_page_token: encodeOffset(offset + size) } : {}) });
}
registry.get('/model-versions/search', searchModelVersions);
registry.post('/model-versions/search', searchModelVersions);
