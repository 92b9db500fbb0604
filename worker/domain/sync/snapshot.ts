import { b64url, unb64url } from '../../../shared/encoding.ts';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import type { SnapshotPage } from '../../../shared/snapshot.ts';

/**
 * `…/sync/snapshot` (DESIGN §6 "Bootstrap"): the namespace's current state in pages, each read
 * in ONE batch together with the change log's position (`cursor`), so what a page holds is
 * exactly the state at that cursor. Sections come in order, each by keyset on its primary key;
 * a page takes as many rows of consecutive sections as `LIMITS.snapshotPageRows` allows. The
 * metric summaries come last, on pages of their own: a summary counts exactly the points
 * logged up to its page's cursor, which is what a client needs to add the points it pulls
 * after that cursor without counting any twice.
 *
 * Every page costs two D1 queries for a metric page and at most eight otherwise.
 */

/** The namespace's live parents (models, and versions of live models): what children belong to. */
const PARENTS = `parents(id) AS (
  SELECT id FROM models WHERE namespace = ?1 AND deleted_at IS NULL
  UNION ALL SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id
  WHERE m.namespace = ?1 AND m.deleted_at IS NULL AND v.deleted_at IS NULL)`;
const LIVE_MODELS = '(SELECT id FROM models WHERE namespace = ?1 AND deleted_at IS NULL)';
const LIVE_VERSIONS = `(SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id
  WHERE m.namespace = ?1 AND m.deleted_at IS NULL AND v.deleted_at IS NULL)`;

type Row = Record<string, unknown>;

interface Section {
  name: Exclude<keyof SnapshotPage, 'cursor' | 'nextPageToken'>;
  /** The keyset's columns' values of a row, in order. */
  key: (r: Row) => (string | number)[];
  /** The key before every row. */
  start: (string | number)[];
  /** The query: `?1` the namespace, `?2`… the key after which rows start, `?L` the limit. */
  sql: string;
  map: (r: Row) => unknown;
}

const json = (s: unknown) => JSON.parse(s as string) as never;

const SECTIONS: Section[] = [
  {
    name: 'models',
    key: (r) => [r.id as string],
    start: [''],
    sql: `SELECT id, name, kind, owner, task, description, clocks, created_at, deleted_at FROM models
          WHERE namespace = ?1 AND id > ?2 ORDER BY id LIMIT ?L`,
    map: (r) => ({ id: r.id, name: r.name, kind: r.kind, owner: r.owner, task: r.task, description: r.description, clocks: json(r.clocks), createdAt: r.created_at, deletedAt: r.deleted_at }),
  },
  {
    name: 'versions',
    key: (r) => [r.model_id as string, r.number as number],
    start: ['', 0],
    sql: `SELECT id, model_id, number, version, name, description, framework, status, source_version_id, clocks, created_at, deleted_at FROM versions
          WHERE model_id IN (SELECT id FROM models WHERE namespace = ?1) AND (model_id, number) > (?2, ?3)
          ORDER BY model_id, number LIMIT ?L`,
    map: (r) => ({
      id: r.id,
      modelId: r.model_id,
      number: r.number,
      version: r.version,
      name: r.name,
      description: r.description,
      framework: r.framework,
      status: r.status,
      sourceVersionId: r.source_version_id,
      clocks: json(r.clocks),
      createdAt: r.created_at,
      deletedAt: r.deleted_at,
    }),
  },
  {
    name: 'metadata',
    key: (r) => [r.parent_id as string, r.key as string],
    start: ['', ''],
    sql: `WITH ${PARENTS} SELECT parent_id, key, value, hlc, deleted FROM metadata
          WHERE parent_id IN parents AND (parent_id, key) > (?2, ?3) ORDER BY parent_id, key LIMIT ?L`,
    map: (r) => ({ parentId: r.parent_id, key: r.key, value: r.deleted ? null : json(r.value), hlc: r.hlc, deleted: r.deleted === 1 }),
  },
  {
    name: 'aliases',
    key: (r) => [r.model_id as string, r.alias as string],
    start: ['', ''],
    sql: `SELECT model_id, alias, version_id FROM aliases
          WHERE model_id IN ${LIVE_MODELS} AND (model_id, alias) > (?2, ?3) ORDER BY model_id, alias LIMIT ?L`,
    map: (r) => ({ modelId: r.model_id, alias: r.alias, versionId: r.version_id }),
  },
  {
    name: 'artifacts',
    key: (r) => [r.parent_id as string, r.path as string],
    start: ['', ''],
    sql: `WITH ${PARENTS} SELECT id, model_id, parent_id, path, mime_type, file_type, size, sha256, url, created_at FROM artifacts
          WHERE parent_id IN parents AND (parent_id, path) > (?2, ?3) ORDER BY parent_id, path LIMIT ?L`,
    map: (r) => ({
      id: r.id,
      modelId: r.model_id,
      parentId: r.parent_id,
      path: r.path,
      mimeType: r.mime_type,
      fileType: r.file_type,
      size: r.size,
      sha256: r.sha256,
      url: r.url,
      createdAt: r.created_at,
    }),
  },
  {
    name: 'checkpoints',
    key: (r) => [r.version_id as string, r.handle as string],
    start: ['', ''],
    sql: `SELECT version_id, handle, target FROM checkpoints
          WHERE version_id IN ${LIVE_VERSIONS} AND (version_id, handle) > (?2, ?3) ORDER BY version_id, handle LIMIT ?L`,
    map: (r) => ({ versionId: r.version_id, handle: r.handle, target: r.target }),
  },
  {
    name: 'params',
    key: (r) => [r.parent_id as string, r.key as string],
    start: ['', ''],
    sql: `WITH ${PARENTS} SELECT parent_id, key, value, hlc FROM params
          WHERE parent_id IN parents AND (parent_id, key) > (?2, ?3) ORDER BY parent_id, key LIMIT ?L`,
    map: (r) => ({ parentId: r.parent_id, key: r.key, value: r.value, hlc: r.hlc }),
  },
  {
    // A key's summary is its `metric_series` row (worker/db/metrics.ts), kept current in the
    // batch of every write of its points: one row per key, no point read.
    name: 'metrics',
    key: (r) => [r.parent_id as string, r.key as string],
    start: ['', ''],
    sql: `WITH ${PARENTS} SELECT parent_id, key, count, min, max, last, last_step, last_wallclock, last_id FROM metric_series
          WHERE parent_id IN parents AND (parent_id, key) > (?2, ?3) ORDER BY parent_id, key LIMIT ?L`,
    map: (r) => ({
      parentId: r.parent_id,
      key: r.key,
      count: r.count,
      min: r.min,
      max: r.max,
      last: r.last,
      lastStep: r.last_step,
      lastWallclock: r.last_wallclock,
      lastId: r.last_id,
    }),
  },
];
const METRICS = SECTIONS.length - 1;

/** Where a page resumes: the section, and the key of the last row sent from it. */
interface Token {
  s: number;
  k: (string | number)[];
}

function decodeToken(token: string | undefined): Token {
  if (token === undefined) return { s: 0, k: SECTIONS[0]!.start };
  try {
    const t = JSON.parse(unb64url(token)) as Partial<Token>;
    const section = typeof t.s === 'number' ? SECTIONS[t.s] : undefined;
    if (section && Array.isArray(t.k) && t.k.length === section.start.length && t.k.every((v, i) => typeof v === typeof section.start[i])) return t as Token;
  } catch {
    // falls through to the error below
  }
  throw new HangarError(ErrorCode.InvalidPageToken, 'The page token is not valid for this snapshot; start again from the first page.');
}

const encodeToken = (t: Token) => b64url(JSON.stringify(t));

function statement(db: D1Database, ns: string, section: Section, after: (string | number)[], limit: number): D1PreparedStatement {
  const at = after.length + 2;
  return db.prepare(section.sql.replace('?L', `?${at}`)).bind(ns, ...after, limit);
}

/** One page of the namespace's snapshot (see the file's comment). */
export async function snapshotPage(db: D1Database, namespace: string, pageToken: string | undefined): Promise<SnapshotPage> {
  const from = decodeToken(pageToken);
  const size = LIMITS.snapshotPageRows;
  // This page's sections: the metric summaries alone, or every section before them.
  const sections = from.s === METRICS ? [METRICS] : SECTIONS.slice(from.s, METRICS).map((_, i) => from.s + i);
  const [end, ...results] = await db.batch<Row>([
    db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"),
    ...sections.map((s, i) => statement(db, namespace, SECTIONS[s]!, i === 0 ? from.k : SECTIONS[s]!.start, size + 1)),
  ]);
  const page: SnapshotPage = {
    cursor: (end?.results[0]?.seq as number | undefined) ?? 0,
    models: [],
    versions: [],
    metadata: [],
    aliases: [],
    artifacts: [],
    checkpoints: [],
    params: [],
    metrics: [],
  };
  let room = size;
  for (const [i, s] of sections.entries()) {
    const section = SECTIONS[s]!;
    const rows = results[i]?.results ?? [];
    const taken = rows.slice(0, room);
    (page[section.name] as unknown[]).push(...taken.map(section.map));
    room -= taken.length;
    if (taken.length < rows.length) {
      const last = taken.at(-1);
      page.nextPageToken = encodeToken({ s, k: last ? section.key(last) : i === 0 ? from.k : section.start });
      return page;
    }
  }
  // Every section before the summaries is sent: they follow on pages of their own.
  if (from.s !== METRICS) page.nextPageToken = encodeToken({ s: METRICS, k: SECTIONS[METRICS]!.start });
  return page;
}
