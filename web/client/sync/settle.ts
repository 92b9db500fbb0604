import { DEFAULT_HANDLE } from '../../../shared/checkpoints.ts';
import { ErrorCode } from '../../../shared/errors.ts';
import { uuidv7 } from '../../../shared/ids.ts';
import type { MutationResult } from '../../../shared/sync.ts';
import { checkpointFiles } from '../checkpoints.ts';
import type { ConflictRecord, HangarDb, OutboxRecord } from '../db.ts';
import { deletePoints, metricTables } from '../metric-store.ts';
import { settleServed } from '../version-status.ts';
import { pendingOf } from './apply.ts';
import { nsState, nsKey } from './state.ts';

/** The tables settling a push writes. */
export const settleTables = (db: HangarDb) => [db.outbox, db.conflicts, db.state, db.models, db.versions, db.metadata, ...metricTables(db), db.aliases, db.artifacts, db.checkpoints, db.uploads, db.params];

/** Codes that mean "the server does not hold what this device holds": re-seed rather than give up the write. */
const MISSING = new Set<string>([ErrorCode.ModelNotFound, ErrorCode.VersionNotFound]);

/**
 * Takes the server's answers in: applied entries leave the outbox; conflicts and rejections are
 * kept to show and resolve, and a rejected write's local effect is undone so it is never a silent
 * ghost. A write refused because the server lacks its model or version, when this device holds
 * them, asks for a re-seed instead (answers true): what the device holds is pushed again whole.
 * Runs inside a transaction over {@link settleTables}.
 */
export async function settle(db: HangarDb, ns: string, batch: OutboxRecord[], results: MutationResult[], lastMutationSeq: number): Promise<boolean> {
  const bySeq = new Map(batch.map((m) => [m.seq!, m]));
  let reseed = false;
  const answered = new Set<string>();
  for (const r of results) {
    const m = bySeq.get(r.seq);
    if (!m) continue;
    await db.outbox.delete(r.seq);
    if (r.status === 'applied') {
      if (pendingOf([m]).versions.size) answered.add((m.args as { id: string }).id);
      continue;
    }
    if (r.status === 'rejected' && MISSING.has(r.error.code) && (await holdsTarget(db, m))) {
      reseed = true;
      continue;
    }
    if (await alreadySo(db, m, r)) continue;
    await recordConflict(db, ns, m, r);
  }
  if (answered.size) {
    const waiting = pendingOf(await db.outbox.where('namespace').equals(ns).toArray()).versions;
    for (const id of answered) if (!waiting.has(id)) await settleServed(db, id);
  }
  const s = await nsState(db, ns);
  await db.state.put({ key: nsKey(ns), value: { ...s, afterSeq: Math.max(s.afterSeq, lastMutationSeq), ...(reseed ? { reseed: true } : {}) } });
  return reseed;
}

/** Keeps a write the server did not take, and makes the local data show what the server kept. */
export async function recordConflict(db: HangarDb, ns: string, m: OutboxRecord, r: Exclude<MutationResult, { status: 'applied' }>): Promise<void> {
  const conflict: ConflictRecord = {
    id: uuidv7(),
    kind: r.status === 'conflict' ? r.kind : 'rejected',
    namespace: ns,
    mutation: { name: m.name, args: m.args },
    theirs: r.status === 'conflict' ? r.server : r.error,
    message: r.status === 'conflict' ? r.message : `The server refused "${m.name}": ${r.error.message}`,
    at: Date.now(),
    resolved: 0,
  };
  await db.conflicts.add(conflict);
  if (r.status === 'rejected') await undoRejected(db, m, r);
  else await showTheirs(db, conflict);
}

/**
 * Answers that lose nothing, so show nothing: an alias move refused because the alias already
 * points where it was to go, and a create refused for a version this device has deleted since
 * (a re-seed sends deleted versions so numbers hold; a server that has them says "taken", or
 * "deleted" when it holds the delete's tombstone too).
 */
async function alreadySo(db: HangarDb, m: OutboxRecord, r: Exclude<MutationResult, { status: 'applied' }>): Promise<boolean> {
  const a = m.args as Record<string, unknown>;
  if (r.status === 'conflict' && r.kind === 'alias' && m.name === 'alias.set') {
    return (r.server as { versionId?: string } | null)?.versionId === a.versionId;
  }
  if (m.name === 'version.create' && (r.status === 'rejected' || r.kind === 'deleted')) {
    const row = await db.versions.get(a.id as string);
    return row !== undefined && row.deletedAt !== null;
  }
  return false;
}

/** Whether this device holds, live, the model or version a mutation names. */
async function holdsTarget(db: HangarDb, m: OutboxRecord): Promise<boolean> {
  const a = m.args as Record<string, string | undefined>;
  const ids = [a.modelId, a.parentId, a.versionId, m.name.startsWith('model.') || m.name.startsWith('version.') ? a.id : undefined].filter((x): x is string => !!x);
  for (const id of ids) {
    const row = (await db.models.get(id)) ?? (await db.versions.get(id));
    if (row && row.deletedAt === null) return true;
  }
  return false;
}

/**
 * Undoes here what a refused write did, where it made something the server will never hold:
 * the version, model, artifact, checkpoint, metadata key or metric points it created. Updates
 * cannot be undone (the value before is gone): the conflict marks them.
 */
async function undoRejected(db: HangarDb, m: OutboxRecord, r: Extract<MutationResult, { status: 'rejected' }>): Promise<void> {
  const a = m.args as Record<string, unknown>;
  const now = Date.now();
  switch (m.name) {
    case 'model.create':
      await db.models.update(a.id as string, { deletedAt: now, updatedAt: now });
      await db.versions.where('modelId').equals(a.id as string).modify((v) => void (v.deletedAt ??= now));
      await db.aliases.where('[modelId+alias]').between([a.id as string, ''], [a.id as string, '\uffff']).delete();
      break;
    case 'version.create':
      // A provisional version the server refused would otherwise stay provisional forever.
      await db.versions.update(a.id as string, { deletedAt: now, updatedAt: now });
      await db.aliases.where('versionId').equals(a.id as string).delete();
      break;
    case 'artifact.register': {
      const row = await db.artifacts.where('[parentId+path]').equals([a.parentId as string, a.path as string]).first();
      if (row && row.sha256 === ((a.sha256 as string | null | undefined) ?? null)) await db.artifacts.delete(row.id);
      break;
    }
    case 'checkpoint.save': {
      const versionId = a.versionId as string;
      const handle = a.handle as string;
      await db.artifacts.bulkDelete((await checkpointFiles(db, versionId, handle)).map((f) => f.id));
      await db.checkpoints.delete([versionId, handle]);
      const def = await db.checkpoints.get([versionId, DEFAULT_HANDLE]);
      if (def?.target === handle) await db.checkpoints.delete([versionId, DEFAULT_HANDLE]);
      break;
    }
    case 'metadata.set': {
      const row = await db.metadata.get([a.parentId as string, a.key as string]);
      if (row && row.hlc === m.hlc) await db.metadata.delete([a.parentId as string, a.key as string]);
      break;
    }
    case 'param.set': {
      // Refused as `param-changed`: the server's value (its details) replaces the one set here;
      // refused otherwise: the param set here goes.
      const key: [string, string] = [a.parentId as string, a.key as string];
      const row = await db.params.get(key);
      if (row && row.value === a.value) {
        const theirs = (r.error.details as { value?: unknown } | undefined)?.value;
        if (r.error.code === ErrorCode.ParamChanged && typeof theirs === 'string') await db.params.put({ ...row, value: theirs, hlc: m.hlc });
        else await db.params.delete(key);
      }
      break;
    }
    case 'metrics.log':
      await deletePoints(db, a.parentId as string, a.points as { id: string; key: string; step: number }[]);
      break;
    case 'model.restore':
      // Purged meanwhile (or refused): back in the trash here, as on the server.
      await db.models.update(a.id as string, { deletedAt: now, updatedAt: now });
      await db.versions.where('modelId').equals(a.id as string).modify((v) => void (v.deletedAt ??= now));
      await db.aliases.where('[modelId+alias]').between([a.id as string, ''], [a.id as string, '\uffff']).delete();
      break;
    case 'version.restore':
      await db.versions.update(a.id as string, { deletedAt: now, updatedAt: now });
      await db.aliases.where('versionId').equals(a.id as string).delete();
      break;
    default:
      break;
  }
}

/** Makes the local data show what the server kept, the losing write staying in the conflict. */
async function showTheirs(db: HangarDb, c: ConflictRecord): Promise<void> {
  const args = c.mutation.args as Record<string, unknown>;
  if (c.kind === 'alias') {
    const theirs = c.theirs as { versionId: string } | null;
    const key: [string, string] = [args.modelId as string, args.alias as string];
    if (theirs) await db.aliases.put({ modelId: key[0], alias: key[1], versionId: theirs.versionId, updatedAt: Date.now() });
    else await db.aliases.delete(key);
  } else if (c.kind === 'deleted' && c.mutation.name === 'alias.set') {
    // Moved onto a version deleted meanwhile: the server removed its aliases, so does this device.
    const key: [string, string] = [args.modelId as string, args.alias as string];
    if ((await db.aliases.get(key))?.versionId === args.versionId) await db.aliases.delete(key);
  } else if (c.kind === 'deleted' && c.mutation.name === 'version.create') {
    // Made on a model deleted meanwhile: the version goes too, as on the server.
    await db.versions.update(args.id as string, { deletedAt: Date.now() });
  } else if (c.kind === 'version-label') {
    await db.versions.update(args.id as string, { version: null });
  } else if (c.kind === 'artifact' && c.mutation.name === 'artifact.register') {
    const theirs = c.theirs as { path: string; sha256: string | null; size: number | null; mimeType: string; fileType: string; url?: string | null } | null;
    const mine = await db.artifacts.where('[parentId+path]').equals([args.parentId as string, args.path as string]).first();
    if (theirs && mine) {
      await db.artifacts.update(mine.id, {
        sha256: theirs.sha256,
        size: theirs.size,
        mimeType: theirs.mimeType,
        fileType: theirs.fileType as typeof mine.fileType,
        url: theirs.url ?? null,
      });
    }
  }
}
