import { checkpointPrefix, DEFAULT_HANDLE } from '../../../shared/checkpoints.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { MODEL_FIELDS } from '../../../shared/models.ts';
import { VERSION_FIELDS } from '../../../shared/versions.ts';
import { registerMutation } from '../artifacts.ts';
import { checkpointSaveFiles } from '../checkpoints.ts';
import type { ClientContext } from '../context.ts';
import type { ArtifactRecord, Clocks, OutboxRecord } from '../db.ts';
import { metricTables, parentPoints } from '../metric-store.ts';
import type { Mutation } from '../writer.ts';
import { nsKey, nsState } from './state.ts';

const latest = (clocks: Clocks, fields: readonly string[]) => fields.reduce((max, f) => ((clocks[f] ?? '') > max ? clocks[f]! : max), '');

/** Fields with a value: a create carries only those, so it never blanks what the server holds. */
const given = (row: Record<string, unknown>, fields: readonly string[]) => Object.fromEntries(fields.filter((f) => row[f] !== null && row[f] !== undefined).map((f) => [f, row[f]]));

/**
 * Re-seeds a namespace towards a server that does not hold this device's data (DESIGN §6,
 * "Changing server"): replaces the namespace's outbox with mutations that rebuild everything
 * held here — models, versions with their status, metadata (tombstones too), metric points in
 * chunks, artifacts, checkpoints, then aliases — in that order, with increasing seqs. The
 * pending writes need no separate push: their effects are in what is re-seeded. Upload records
 * are reset so every blob is offered to the new server.
 */
export async function reseedNamespace(ctx: ClientContext, ns: string): Promise<void> {
  const { db, writer } = ctx;
  const tables = [db.models, db.versions, db.metadata, ...metricTables(db), db.aliases, db.artifacts, db.checkpoints, db.outbox, db.uploads, db.state, db.params];
  await db.transaction('rw', tables, async () => {
    const out: Mutation[] = [];
    const emit = (name: string, args: unknown, hlc?: string) => out.push({ name, namespace: ns, args, hlc: hlc || writer.clock.now() });
    const models = (await db.models.where('namespace').equals(ns).toArray()).filter((m) => m.deletedAt === null).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    const aliases: Mutation[] = [];
    for (const m of models) {
      const kind = m.kind && m.kind !== 'model' ? { kind: m.kind } : {};
      emit('model.create', { id: m.id, name: m.name, ...kind, ...given(m as unknown as Record<string, unknown>, MODEL_FIELDS) }, latest(m.clocks, MODEL_FIELDS));
      await parentData(ctx, m.id, emit);
      // Deleted versions too, so the server numbers the live ones as this device knows them.
      const versions = (await db.versions.where('modelId').equals(m.id).toArray()).sort((a, b) => a.number - b.number || a.createdAt - b.createdAt);
      for (const v of versions) {
        const lineage = v.sourceVersionId ? { sourceVersionId: v.sourceVersionId } : {};
        emit('version.create', { id: v.id, modelId: m.id, ...given(v as unknown as Record<string, unknown>, VERSION_FIELDS), status: v.status, ...lineage }, latest(v.clocks, VERSION_FIELDS));
        if (v.deletedAt !== null) {
          emit('version.delete', { id: v.id });
          continue;
        }
        await parentData(ctx, v.id, emit);
      }
      for (const a of await db.aliases.where('[modelId+alias]').between([m.id, ''], [m.id, '\uffff']).toArray()) {
        aliases.push({ name: 'alias.set', namespace: ns, args: { modelId: m.id, alias: a.alias, versionId: a.versionId, expectedVersionId: null }, hlc: writer.clock.now() });
      }
    }
    out.push(...aliases);
    await db.outbox.where('namespace').equals(ns).delete();
    const now = Date.now();
    await db.outbox.bulkAdd(out.map((m): OutboxRecord => ({ name: m.name, namespace: ns, args: m.args, hlc: m.hlc!, createdAt: now })));
    // Uploads finished towards the old server say nothing about this one.
    await db.uploads.where('[namespace+sha256]').between([ns, ''], [ns, '\uffff']).delete();
    await db.state.put({ key: nsKey(ns), value: { ...(await nsState(db, ns)), reseed: false } });
  });
}

/** A model's or version's metadata, metric points, artifacts and checkpoints, as mutations. */
async function parentData(ctx: ClientContext, parentId: string, emit: (name: string, args: unknown, hlc?: string) => void): Promise<void> {
  const { db } = ctx;
  for (const r of await db.metadata.where('parentId').equals(parentId).toArray()) {
    if (r.deleted) emit('metadata.delete', { parentId, key: r.key }, r.hlc);
    else emit('metadata.set', { parentId, key: r.key, value: r.value }, r.hlc);
  }
  for (const p of await db.params.where('parentId').equals(parentId).toArray()) emit('param.set', { parentId, key: p.key, value: p.value }, p.hlc);
  const points = (await parentPoints(db, parentId)).map((p) => ({ id: p.id, key: p.key, value: p.value, step: p.step, wallclock: p.wallclock }));
  for (let i = 0; i < points.length; i += LIMITS.metricsPerRequest) emit('metrics.log', { parentId, points: points.slice(i, i + LIMITS.metricsPerRequest) });
  const artifacts = await db.artifacts.where('parentId').equals(parentId).toArray();
  const checkpoints = await db.checkpoints.where('versionId').equals(parentId).toArray();
  const saved = checkpoints.filter((c) => c.handle !== DEFAULT_HANDLE);
  const inCheckpoint = (a: ArtifactRecord) => saved.some((c) => a.path.startsWith(checkpointPrefix(c.handle)));
  for (const a of artifacts.sort((x, y) => x.createdAt - y.createdAt || (x.path < y.path ? -1 : 1))) {
    if (!inCheckpoint(a)) {
      const m = registerMutation(a);
      emit(m.name, m.args);
    }
  }
  const target = checkpoints.find((c) => c.handle === DEFAULT_HANDLE)?.target ?? null;
  for (const c of saved.sort((x, y) => x.createdAt - y.createdAt)) {
    const files = artifacts.filter((a) => a.path.startsWith(checkpointPrefix(c.handle)));
    emit('checkpoint.save', { versionId: parentId, handle: c.handle, files: checkpointSaveFiles(c.handle, files), setAsDefault: target === c.handle });
  }
}
