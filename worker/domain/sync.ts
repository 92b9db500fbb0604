import { registerArtifactSchema } from '../../shared/artifacts.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { modelId } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { Change, ConflictKind, MutationArgs, MutationName, MutationResult, PullResponse, PushRequest, PushResponse, WireMutation } from '../../shared/sync.ts';
import { mutationArgs } from '../../shared/sync.ts';
import { parseWith } from '../../shared/validate.ts';
import { observeHlc } from '../clock.ts';
import { getAlias } from '../db/aliases.ts';
import { getVersionRowById } from '../db/versions.ts';
import type { Caller } from '../env.ts';
import { getModelRowById, parentById, type Parent } from '../parent.ts';
import { deleteAlias, setAlias } from './aliases.ts';
import { registerArtifact } from './artifacts.ts';
import { saveCheckpoint } from './checkpoints.ts';
import { deleteMetadata, setMetadata } from './metadata.ts';
import { logMetrics } from './metrics.ts';
import { createModel, deleteModel, updateModel } from './models.ts';
import { createVersion, deleteVersion, updateVersion } from './versions.ts';

/** What applying one mutation came to, before it gets its seq. */
type Outcome = { status: 'applied' } | { status: 'conflict'; kind: ConflictKind; message: string; server: unknown };

const APPLIED: Outcome = { status: 'applied' };

/**
 * A D1 database whose first `batch()` also carries `extra` statements: a mutation's writes, the
 * client's new `last_seq` and (for a conflict) its stored answer commit together or not at all.
 */
class Recorder {
  committed = false;
  readonly db: D1Database;

  constructor(
    inner: D1Database,
    readonly extra: D1PreparedStatement[],
  ) {
    this.db = {
      prepare: (query) => inner.prepare(query),
      batch: async <T>(statements: D1PreparedStatement[]) => {
        const all = this.committed ? statements : [...statements, ...this.extra];
        const results = await inner.batch<T>(all);
        this.committed = true;
        return results.slice(0, statements.length);
      },
      exec: (query) => inner.exec(query),
      withSession: (constraint) => inner.withSession(constraint),
      dump: () => inner.dump(),
    };
  }
}

interface Ctx {
  db: D1Database;
  namespace: string;
  hlc: string;
  tokenId: string | null;
  /** Called before a domain function whose batch must also store a conflict answer. */
  willConflict(outcome: Outcome): void;
}

const deleted = (what: string, server: unknown = { deleted: true }): Outcome => ({
  status: 'conflict',
  kind: 'deleted',
  message: `${what} was deleted on the server; a delete wins over a concurrent change, which is kept here.`,
  server,
});

async function parentOrDeleted(ctx: Ctx, id: string): Promise<Parent | Outcome> {
  const parent = await parentById(ctx.db, ctx.namespace, id);
  return parent === 'deleted' ? deleted('The model or version') : parent;
}
const isOutcome = (x: Parent | Outcome): x is Outcome => 'status' in x;

/** Applies one mutation through the same domain functions as REST. */
const appliers: { [N in MutationName]: (ctx: Ctx, args: MutationArgs<N>) => Promise<Outcome> } = {
  async 'model.create'(ctx, { id, name, ...fields }) {
    if ((await modelId(ctx.namespace, name)) !== id) {
      throw new HangarError(ErrorCode.InvalidArgument, `Model id ${id} is not the id of "${name}" in namespace "${ctx.namespace}".`, { id, name });
    }
    // Two devices that create the same model make the same model: the second create merges
    // its fields by clock, as an update would.
    const existing = await getModelRowById(ctx.db, ctx.namespace, id);
    if (existing && existing.deleted_at === null) await updateModel(ctx.db, existing, fields, ctx.hlc);
    else await createModel(ctx.db, ctx.namespace, { name, ...definedOnly(fields) }, ctx.hlc);
    return APPLIED;
  },
  async 'model.update'(ctx, { id, fields }) {
    const model = await getModelRowById(ctx.db, ctx.namespace, id);
    if (!model) throw notFound(ctx, id);
    if (model.deleted_at !== null) return deleted(`Model "${model.name}"`);
    await updateModel(ctx.db, model, fields, ctx.hlc);
    return APPLIED;
  },
  async 'model.delete'(ctx, { id }) {
    const model = await getModelRowById(ctx.db, ctx.namespace, id);
    if (!model) throw notFound(ctx, id);
    if (model.deleted_at === null) await deleteModel(ctx.db, model, ctx.hlc);
    return APPLIED;
  },
  async 'version.create'(ctx, { id, modelId: parentModel, status, ...fields }) {
    const model = await getModelRowById(ctx.db, ctx.namespace, parentModel);
    if (!model) throw notFound(ctx, parentModel);
    if (model.deleted_at !== null) return deleted(`Model "${model.name}"`);
    const input = { id, ...definedOnly(fields), ...(status ? { status } : {}) };
    let outcome: Outcome = APPLIED;
    try {
      await createVersion(ctx.db, model, input, ctx);
    } catch (err) {
      if (!(err instanceof HangarError && err.code === ErrorCode.VersionLabelTaken)) throw err;
      // First to arrive keeps the label; this one is kept with its label cleared.
      outcome = await labelConflict(ctx, model.id, fields.version ?? null);
      ctx.willConflict(outcome);
      await createVersion(ctx.db, model, { ...input, version: undefined }, ctx);
    }
    return outcome;
  },
  async 'version.update'(ctx, { id, fields, status }) {
    const parent = await parentOrDeleted(ctx, id);
    if (isOutcome(parent)) return parent;
    if (!parent.version) throw notFound(ctx, id);
    const input = { ...fields, ...(status ? { status } : {}) };
    try {
      await updateVersion(ctx.db, parent.model, parent.version, input, ctx.hlc);
      return APPLIED;
    } catch (err) {
      if (!(err instanceof HangarError && err.code === ErrorCode.VersionLabelTaken)) throw err;
      const outcome = await labelConflict(ctx, parent.model.id, fields.version ?? null);
      ctx.willConflict(outcome);
      const { version: _label, ...rest } = input;
      await updateVersion(ctx.db, parent.model, parent.version, rest, ctx.hlc);
      return outcome;
    }
  },
  async 'version.delete'(ctx, { id }) {
    const row = await getVersionRowById(ctx.db, ctx.namespace, id);
    if (!row) throw notFound(ctx, id);
    const model = await getModelRowById(ctx.db, ctx.namespace, row.model_id);
    if (row.deleted_at === null && model) await deleteVersion(ctx.db, model, row, ctx);
    return APPLIED;
  },
  async 'metadata.set'(ctx, { parentId, key, value }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    await setMetadata(ctx.db, parent, key, value, ctx.hlc);
    return APPLIED;
  },
  async 'metadata.delete'(ctx, { parentId, key }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    await deleteMetadata(ctx.db, parent, key, ctx.hlc);
    return APPLIED;
  },
  async 'metrics.log'(ctx, { parentId, points }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    await logMetrics(ctx.db, parent, points, ctx.hlc);
    return APPLIED;
  },
  async 'alias.set'(ctx, { modelId: id, alias, versionId, expectedVersionId }) {
    const model = await getModelRowById(ctx.db, ctx.namespace, id);
    if (!model) throw notFound(ctx, id);
    if (model.deleted_at !== null) return deleted(`Model "${model.name}"`);
    const target = await getVersionRowById(ctx.db, ctx.namespace, versionId);
    if (!target || target.model_id !== model.id) throw notFound(ctx, versionId);
    if (target.deleted_at !== null) return deleted(`Version ${target.number} of "${model.name}"`);
    const current = await getAlias(ctx.db, model.id, alias);
    if ((current?.versionId ?? null) !== expectedVersionId) return aliasConflict(alias, current);
    try {
      await setAlias(ctx.db, model, alias, target, { number: current?.version ?? null, versionId: expectedVersionId }, ctx);
      return APPLIED;
    } catch (err) {
      if (err instanceof HangarError && err.code === ErrorCode.AliasPreconditionFailed) return aliasConflict(alias, await getAlias(ctx.db, model.id, alias));
      throw err;
    }
  },
  async 'alias.delete'(ctx, { modelId: id, alias, expectedVersionId }) {
    const model = await getModelRowById(ctx.db, ctx.namespace, id);
    if (!model) throw notFound(ctx, id);
    if (model.deleted_at !== null) return APPLIED;
    const current = await getAlias(ctx.db, model.id, alias);
    if ((current?.versionId ?? null) !== expectedVersionId) return aliasConflict(alias, current);
    if (current) await deleteAlias(ctx.db, model, alias, ctx);
    return APPLIED;
  },
  async 'artifact.register'(ctx, { parentId, id: _id, ...body }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    const input = parseWith(registerArtifactSchema, definedOnly(body), 'artifact');
    try {
      await registerArtifact(ctx.db, parent, input, ctx.hlc);
      return APPLIED;
    } catch (err) {
      if (err instanceof HangarError && err.code === ErrorCode.ArtifactConflict) {
        return { status: 'conflict', kind: 'artifact', message: err.message, server: err.details?.existing ?? null };
      }
      throw err;
    }
  },
  async 'checkpoint.save'(ctx, { versionId, handle, ...input }) {
    const parent = await parentOrDeleted(ctx, versionId);
    if (isOutcome(parent)) return parent;
    if (!parent.version) throw notFound(ctx, versionId);
    try {
      await saveCheckpoint(ctx.db, { ...parent, version: parent.version }, handle, input, ctx.hlc);
      return APPLIED;
    } catch (err) {
      if (err instanceof HangarError && err.code === ErrorCode.CheckpointExists) {
        return { status: 'conflict', kind: 'artifact', message: err.message, server: { handle } };
      }
      throw err;
    }
  },
};

const notFound = (ctx: Ctx, id: string) =>
  new HangarError(ErrorCode.ModelNotFound, `Namespace "${ctx.namespace}" has no model or version with id ${id}.`, { id });

/** Drops `null` and `undefined` fields: a create has no value to clear. */
function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> };
}

async function labelConflict(ctx: Ctx, model: string, label: string | null): Promise<Outcome> {
  const holder = await ctx.db
    .prepare('SELECT id, number FROM versions WHERE model_id = ? AND version = ?')
    .bind(model, label)
    .first<{ id: string; number: number }>();
  return {
    status: 'conflict',
    kind: 'version-label',
    message: `Label "${label}" was already taken by version ${holder?.number ?? '?'}; this version was kept without it.`,
    server: { version: label, versionId: holder?.id ?? null, number: holder?.number ?? null },
  };
}

function aliasConflict(alias: string, current: { versionId: string; version: number } | undefined): Outcome {
  return {
    status: 'conflict',
    kind: 'alias',
    message: `Alias "${alias}" was moved elsewhere meanwhile (now ${current ? `version ${current.version}` : 'unset'}); this move was not applied.`,
    server: current ? { versionId: current.versionId, version: current.version } : null,
  };
}

interface ClientRow {
  token_id: string | null;
  last_seq: number;
}

/**
 * Applies a push (DESIGN §6): each new mutation once, in order, with the client's `last_seq`
 * moved in the same batch as its writes. Mutations at or below `last_seq` were applied before:
 * they get the answer they got then. Answers the client acknowledged (`afterSeq`) are dropped.
 */
export async function push(db: D1Database, caller: Caller, namespace: string, body: PushRequest): Promise<PushResponse> {
  const [found] = await db.batch<ClientRow>([
    db.prepare('SELECT token_id, last_seq FROM sync_clients WHERE namespace = ? AND client_id = ?').bind(namespace, body.clientId),
    // The client has the answers up to `afterSeq` (it only says so once it has them), so their
    // stored copies go; only for the client's own token, and never past what was applied.
    db
      .prepare(
        `DELETE FROM sync_results WHERE namespace = ?1 AND client_id = ?2 AND seq <= ?3 AND EXISTS (
           SELECT 1 FROM sync_clients WHERE namespace = ?1 AND client_id = ?2 AND token_id IS ?4 AND last_seq >= ?3)`,
      )
      .bind(namespace, body.clientId, body.afterSeq, caller.tokenId),
  ]);
  const client = found?.results[0];
  if (client && client.token_id !== caller.tokenId) {
    throw new HangarError(ErrorCode.ClientMismatch, 'This client id is used by another token; a new token starts a new client id.', { clientId: body.clientId });
  }
  let last = client?.last_seq ?? 0;
  if (body.afterSeq > last) {
    throw new HangarError(
      ErrorCode.SequenceGap,
      `The client says the server applied its mutations up to ${body.afterSeq}, but the server has them up to ${last}.`,
      { afterSeq: body.afterSeq, lastMutationSeq: last },
    );
  }
  const replays = body.mutations.filter((m) => m.seq <= last);
  const stored = await storedResults(db, namespace, body.clientId, replays.map((m) => m.seq));
  const results: MutationResult[] = replays.map((m) => stored.get(m.seq) ?? { seq: m.seq, status: 'applied' });
  for (const m of body.mutations.filter((x) => x.seq > last)) {
    results.push(await applyOne(db, caller, namespace, body.clientId, m));
    last = m.seq;
  }
  return { results, lastMutationSeq: last, complete: true, serverTime: Date.now() };
}

async function applyOne(db: D1Database, caller: Caller, namespace: string, clientId: string, m: WireMutation): Promise<MutationResult> {
  observeHlc(m.hlc);
  const seqWrite = db
    .prepare(
      `INSERT INTO sync_clients (namespace, client_id, token_id, last_seq, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (namespace, client_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq), updated_at = excluded.updated_at`,
    )
    .bind(namespace, clientId, caller.tokenId, m.seq, Date.now());
  const storeResult = (r: MutationResult) =>
    db.prepare('INSERT OR REPLACE INTO sync_results (namespace, client_id, seq, result) VALUES (?, ?, ?, ?)').bind(namespace, clientId, m.seq, JSON.stringify(r));
  const recorder = new Recorder(db, [seqWrite]);
  let stored = false;
  const ctx: Ctx = {
    db: recorder.db,
    namespace,
    hlc: m.hlc,
    tokenId: caller.tokenId,
    willConflict(outcome) {
      if (!recorder.committed && outcome.status === 'conflict') {
        recorder.extra.push(storeResult({ seq: m.seq, ...outcome }));
        stored = true;
      }
    },
  };
  let result: MutationResult;
  try {
    const args = parseWith(mutationArgs[m.name], m.args, `${m.name} arguments`);
    const outcome = await (appliers[m.name] as (ctx: Ctx, args: unknown) => Promise<Outcome>)(ctx, args);
    result = { seq: m.seq, ...outcome };
  } catch (err) {
    if (!(err instanceof HangarError)) throw err;
    result = { seq: m.seq, status: 'rejected', error: err.toJSON().error };
  }
  const rest = [...(recorder.committed ? [] : [seqWrite]), ...(result.status !== 'applied' && !stored ? [storeResult(result)] : [])];
  if (rest.length) await db.batch(rest);
  return result;
}

async function storedResults(db: D1Database, namespace: string, clientId: string, seqs: number[]): Promise<Map<number, MutationResult>> {
  if (!seqs.length) return new Map();
  const { results } = await db
    .prepare('SELECT seq, result FROM sync_results WHERE namespace = ? AND client_id = ? AND seq IN (SELECT value FROM json_each(?))')
    .bind(namespace, clientId, JSON.stringify(seqs))
    .all<{ seq: number; result: string }>();
  return new Map(results.map((r) => [r.seq, JSON.parse(r.result) as MutationResult]));
}

/**
 * A page of the namespace's change log after `cursor`, with the client's `lastMutationSeq`.
 * A page holds at most `limit` changes and stops at `LIMITS.pullPageBytes` of change data.
 */
export async function pull(db: D1Database, namespace: string, q: { clientId: string; cursor: number; limit: number }): Promise<PullResponse> {
  const [page, client, end] = await db.batch<Record<string, unknown>>([
    db
      .prepare('SELECT seq, entity, entity_id, op, data, hlc FROM change_log WHERE namespace = ? AND seq > ? ORDER BY seq LIMIT ?')
      .bind(namespace, q.cursor, q.limit + 1),
    db.prepare('SELECT last_seq FROM sync_clients WHERE namespace = ? AND client_id = ?').bind(namespace, q.clientId),
    db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"),
  ]);
  const lastSeq = (end?.results[0]?.seq as number | undefined) ?? 0;
  if (q.cursor > lastSeq) {
    throw new HangarError(ErrorCode.CursorAhead, `Cursor ${q.cursor} is past the end of this server's change log (${lastSeq}); pull again from 0.`, {
      cursor: q.cursor,
      last: lastSeq,
    });
  }
  const rows = (page?.results ?? []) as unknown as ChangeRow[];
  const changes: Change[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, q.limit)) {
    bytes += row.data.length;
    if (changes.length > 0 && bytes > LIMITS.pullPageBytes) break;
    changes.push({ seq: row.seq, entity: row.entity, entityId: row.entity_id, op: row.op, data: JSON.parse(row.data), hlc: row.hlc });
  }
  return {
    changes,
    cursor: changes.at(-1)?.seq ?? q.cursor,
    more: changes.length < rows.length,
    lastMutationSeq: (client?.results[0]?.last_seq as number | undefined) ?? 0,
    serverTime: Date.now(),
  };
}

interface ChangeRow {
  seq: number;
  entity: Change['entity'];
  entity_id: string;
  op: string;
  data: string;
  hlc: string;
}
