import type { FileType } from '../../../shared/artifacts.ts';
import { isHlcWithinDrift } from '../../../shared/hlc.ts';
import { MODEL_FIELDS } from '../../../shared/models.ts';
import { mergeMetadata } from '../../../shared/rules.ts';
import type { SnapshotPage } from '../../../shared/snapshot.ts';
import { VERSION_FIELDS } from '../../../shared/versions.ts';
import type { Clocks, HangarDb, MetadataRecord, ModelRecord, VersionRecord } from '../db.ts';
import { followServed } from '../version-status.ts';
import { applyTables, pendingOf, renumberProvisional, type Pending } from './apply.ts';
import type { RoundEnv } from './push.ts';
import { assertServer, nsKey, nsState } from './state.ts';

/**
 * Bootstrap (DESIGN §6): a device with nothing pulled yet in a namespace (cursor 0), or one whose
 * cursor the server's compacted log no longer reaches (`snapshot-required`), reads the
 * namespace's snapshot instead of replaying its history: each page is merged in one
 * transaction, by the same rules as pulled changes (fields by clock, metadata by clock, aliases
 * unless a local move waits, artifacts and checkpoints once), with the page token kept in the
 * same transaction so a reload resumes where it stopped. The last page sets the cursor to the
 * FIRST page's: what changed while the pages were read comes again with the pull and merges as
 * the same data. Metric history does not come: each key's summary does, and its history is
 * fetched when a chart or `metricHistory` asks for it, or when the version is pinned.
 */
export async function bootstrapNamespace(env: RoundEnv, ns: string): Promise<void> {
  const { db } = env.ctx;
  let state = await nsState(db, ns);
  // Aliases seen in the snapshot: a local one it lacks was deleted on the server (only known when every page was read here).
  const seenAliases = state.bootstrap ? undefined : new Set<string>();
  const modelsSeen = new Set<string>();
  let token = state.bootstrap?.pageToken;
  let start = state.bootstrap?.cursor;
  for (;;) {
    const page = await env.http.snapshot(ns, token);
    start ??= page.cursor;
    const first = start;
    await db.transaction('rw', [...applyTables(db), db.outbox, db.state], async () => {
      await assertServer(db, env.http.remote);
      const outbox = await db.outbox.where('namespace').equals(ns).toArray();
      const pending = pendingOf(outbox);
      const deletes = new Set(outbox.filter((m) => m.name === 'model.delete' || m.name === 'version.delete').map((m) => (m.args as { id: string }).id));
      await applyPage(db, ns, page, pending, deletes, seenAliases, modelsSeen);
      const latest = latestClock(page, env.ctx.writer.clock.wall());
      if (latest) env.ctx.writer.clock.receive(latest);
      state = await nsState(db, ns);
      const { bootstrap: _done, ...rest } = state;
      if (page.nextPageToken) {
        await db.state.put({ key: nsKey(ns), value: { ...rest, bootstrap: { cursor: first, pageToken: page.nextPageToken } } });
        return;
      }
      if (seenAliases) await dropUnseenAliases(db, modelsSeen, seenAliases, pending);
      await db.state.put({ key: nsKey(ns), value: { ...rest, cursor: first, bootstrapped: true } });
    });
    if (!page.nextPageToken) return;
    token = page.nextPageToken;
  }
}

async function applyPage(
  db: HangarDb,
  ns: string,
  page: SnapshotPage,
  pending: Pending,
  deletes: Set<string>,
  seenAliases: Set<string> | undefined,
  modelsSeen: Set<string>,
): Promise<void> {
  const now = Date.now();
  const touched = new Set<string>();
  // Rows not held here yet (all of them on a first bootstrap) go in with one bulk write per
  // table: bulkAdd where the row is known absent (this transaction just read it), which spares
  // Dexie the read its update hooks would need on a put; a row held here is merged on its own.
  const models = await db.models.bulkGet(page.models.map((m) => m.id));
  const newModels: ModelRecord[] = [];
  for (const [i, m] of page.models.entries()) {
    if (m.deletedAt === null) modelsSeen.add(m.id);
    const row = models[i];
    if (!row) {
      newModels.push({ id: m.id, namespace: ns, name: m.name, kind: m.kind, owner: m.owner, task: m.task, description: m.description, clocks: m.clocks, createdAt: m.createdAt, updatedAt: now, deletedAt: m.deletedAt });
      continue;
    }
    const patch: Partial<ModelRecord> = mergeByClock(row, m, MODEL_FIELDS);
    // The kind is the server's (set at create, never changed): a model made here under an experiment's name takes it.
    if ((row.kind ?? 'model') !== m.kind) patch.kind = m.kind;
    if (m.deletedAt !== null && row.deletedAt === null && !deletes.has(m.id)) {
      patch.deletedAt = m.deletedAt;
      await db.aliases.where('[modelId+alias]').between([m.id, ''], [m.id, '\uffff']).delete();
    } else if (m.deletedAt === null && row.deletedAt !== null && !deletes.has(m.id)) patch.deletedAt = null;
    if (Object.keys(patch).length) await db.models.update(m.id, { ...patch, updatedAt: now });
  }
  if (newModels.length) await db.models.bulkAdd(newModels);
  const versions = await db.versions.bulkGet(page.versions.map((v) => v.id));
  const newVersions: VersionRecord[] = [];
  for (const [i, v] of page.versions.entries()) {
    const row = versions[i];
    touched.add(v.modelId);
    if (!row) {
      newVersions.push({
        id: v.id,
        modelId: v.modelId,
        namespace: ns,
        number: v.number,
        numberConfirmed: true,
        version: v.version,
        name: v.name,
        description: v.description,
        framework: v.framework,
        status: v.status,
        servedStatus: v.status,
        sourceVersionId: v.sourceVersionId,
        clocks: v.clocks,
        createdAt: v.createdAt,
        updatedAt: now,
        deletedAt: v.deletedAt,
      });
      continue;
    }
    const patch: Partial<VersionRecord> = { ...mergeByClock(row, v, VERSION_FIELDS), number: v.number, numberConfirmed: true };
    if (v.deletedAt !== null && row.deletedAt === null && !deletes.has(v.id)) {
      patch.deletedAt = v.deletedAt;
      await db.aliases.where('versionId').equals(v.id).delete();
    }
    await db.versions.update(v.id, { ...patch, updatedAt: now });
    if (v.deletedAt === null) await followServed(db, { ...row, ...patch }, v.status, pending.versions.has(v.id));
  }
  if (newVersions.length) await db.versions.bulkAdd(newVersions);
  await renumberProvisional(db, touched);
  const metadata = await db.metadata.bulkGet(page.metadata.map((m) => [m.parentId, m.key] as [string, string]));
  const metadataPuts: MetadataRecord[] = [];
  for (const [i, m] of page.metadata.entries()) {
    const row = metadata[i];
    const held = row ? { value: row.value, hlc: row.hlc, deleted: row.deleted === true } : undefined;
    if (mergeMetadata(held, { value: m.value, hlc: m.hlc, deleted: m.deleted })) {
      metadataPuts.push({ parentId: m.parentId, key: m.key, namespace: ns, value: m.value, hlc: m.hlc, ...(m.deleted ? { deleted: true } : {}) });
    }
  }
  if (metadataPuts.length) await db.metadata.bulkPut(metadataPuts);
  const aliases = page.aliases.filter((a) => {
    const key = `${a.modelId}/${a.alias}`;
    seenAliases?.add(key);
    return !pending.aliases.has(key);
  });
  const heldAliases = await db.aliases.bulkGet(aliases.map((a) => [a.modelId, a.alias] as [string, string]));
  const aliasPuts = aliases.filter((a, i) => heldAliases[i]?.versionId !== a.versionId).map((a) => ({ modelId: a.modelId, alias: a.alias, versionId: a.versionId, updatedAt: now }));
  if (aliasPuts.length) await db.aliases.bulkPut(aliasPuts);
  if (page.artifacts.length) {
    const held = new Set(
      (await db.artifacts.where('[parentId+path]').anyOf(page.artifacts.map((a) => [a.parentId, a.path])).toArray()).map((a) => `${a.parentId}\0${a.path}`),
    );
    const puts = page.artifacts.filter((a) => !held.has(`${a.parentId}\0${a.path}`)).map((a) => ({ ...a, namespace: ns, fileType: a.fileType as FileType }));
    if (puts.length) await db.artifacts.bulkPut(puts);
  }
  const checkpoints = await db.checkpoints.bulkGet(page.checkpoints.map((c) => [c.versionId, c.handle] as [string, string]));
  const checkpointPuts = page.checkpoints.flatMap((c, i) => {
    const row = checkpoints[i];
    return row && row.target === c.target ? [] : [{ versionId: c.versionId, handle: c.handle, target: c.target, createdAt: row?.createdAt ?? now, updatedAt: now }];
  });
  if (checkpointPuts.length) await db.checkpoints.bulkPut(checkpointPuts);
  // Params are write-once: the server's value is the one (a different local one was refused there).
  const params = await db.params.bulkGet(page.params.map((p) => [p.parentId, p.key] as [string, string]));
  const paramPuts = page.params.filter((p, i) => params[i]?.value !== p.value).map((p) => ({ parentId: p.parentId, key: p.key, namespace: ns, value: p.value, hlc: p.hlc }));
  if (paramPuts.length) await db.params.bulkPut(paramPuts);
  // A key's summary as of this page's cursor, marked as lacking its history (`asOf`): the history
  // stays on the server until asked for, and points stored here afterwards are added once.
  if (page.metrics.length) await db.metricSummaries.bulkPut(page.metrics.map((m) => ({ ...m, asOf: page.cursor })));
}

/** The fields whose server clock is later than the one held here, with the merged clocks. */
function mergeByClock<F extends string>(row: { clocks: Clocks }, server: { clocks: Clocks }, fields: readonly F[]) {
  const out: Record<string, unknown> = {};
  const clocks = { ...row.clocks };
  for (const f of fields) {
    const c = server.clocks[f];
    if (c && (!clocks[f] || c > clocks[f]!)) {
      out[f] = (server as unknown as Record<string, unknown>)[f];
      clocks[f] = c;
    }
  }
  if (server.clocks.deleted && (!clocks.deleted || server.clocks.deleted > clocks.deleted)) clocks.deleted = server.clocks.deleted;
  return Object.keys(out).length || clocks.deleted !== row.clocks.deleted ? { ...out, clocks } : {};
}

/** Local aliases of the snapshot's live models that the server no longer has, unless a local move waits. */
async function dropUnseenAliases(db: HangarDb, models: Set<string>, seen: Set<string>, pending: Pending): Promise<void> {
  for (const modelId of models) {
    const here = await db.aliases.where('[modelId+alias]').between([modelId, ''], [modelId, '\uffff']).toArray();
    for (const a of here) {
      const key = `${a.modelId}/${a.alias}`;
      if (!seen.has(key) && !pending.aliases.has(key)) await db.aliases.delete([a.modelId, a.alias]);
    }
  }
}

/** The latest clock of a page the local clock may take in, so writes made here afterwards win over what came. */
function latestClock(page: SnapshotPage, now: number): string {
  let max = '';
  const see = (c: string | undefined) => {
    if (c && c > max && isHlcWithinDrift(c, now)) max = c;
  };
  for (const m of page.models) Object.values(m.clocks).forEach(see);
  for (const v of page.versions) Object.values(v.clocks).forEach(see);
  for (const m of page.metadata) see(m.hlc);
  return max;
}
