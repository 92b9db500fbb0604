import { DEFAULT_HANDLE, checkpointPrefix } from '../../shared/checkpoints.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { hlcAheadMs, isHlc, isHlcWithinDrift } from '../../shared/hlc.ts';
import { LIMITS } from '../../shared/limits.ts';
import { MODEL_FIELDS } from '../../shared/models.ts';
import { VERSION_FIELDS } from '../../shared/versions.ts';
import type { Manifest } from './archive-manifest.ts';
import { CHECKPOINTS_DIR, artifactAt, registerMutation, sameArtifact, toArtifact } from './artifacts.ts';
import { recordStagedBlob, type StagedBlob } from './blob-store.ts';
import { checkpointFiles, checkpointSaveFiles, sameFiles } from './checkpoints.ts';
import type { ClientContext } from './context.ts';
import type { ArtifactRecord, Clocks, HangarDb } from './db.ts';
import { insertPoints, metricTables } from './metric-store.ts';
import type { Mutation } from './writer.ts';
import { labelHeldByOther } from './fields.ts';
import { localStatus } from './version-status.ts';
import type { VersionStatus } from '../../shared/versions.ts';
import { mergeFields, mergeMetadata } from '../../shared/rules.ts';

type Emit = (m: Mutation) => void;

const definedFields = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));

/** Fields of `archived` whose clock is later than `local`'s (last writer wins per field, shared/rules.ts). */
function laterFields<R extends { clocks: Clocks }>(local: R, archived: R, fields: readonly (keyof R & string)[]) {
  return mergeFields(local.clocks, archived as unknown as Record<string, unknown>, archived.clocks, fields).won;
}

/** The latest clock among the fields won, so the server orders the merged write as the original. */
function latest(fields: Record<string, unknown>, clocks: Clocks): string {
  return Object.keys(fields).reduce((max, f) => ((clocks[f] ?? '') > max ? clocks[f]! : max), '');
}

/**
 * Merges an archive into the registry in ONE write transaction: the model and versions by
 * id (fields by their clocks), metadata by the greater clock, metric points and alias
 * history as unions by id, aliases and checkpoints when absent here, artifacts by path (other
 * bytes at a path are an `artifact-conflict`, other files under a handle `checkpoint-exists`:
 * the whole import then rolls back). Whatever is new here emits the mutation a local write
 * would, so it syncs; what is already here emits nothing, so a second import is a no-op.
 */
export async function mergeManifest(ctx: ClientContext, m: Manifest, staged: StagedBlob[]): Promise<void> {
  const { db, writer } = ctx;
  const clocks = [
    ...Object.entries(m.model.clocks).map(([f, hlc]) => ({ where: `model field "${f}"`, hlc })),
    ...m.versions.flatMap((v) => Object.entries(v.clocks).map(([f, hlc]) => ({ where: `version ${v.number} field "${f}"`, hlc }))),
    ...m.metadata.map((r) => ({ where: `metadata "${r.key}"`, hlc: r.hlc })),
  ];
  checkClocks(clocks, writer.clock.wall());
  // Local writes after the import must order after every clock it brings.
  for (const { hlc } of clocks) writer.clock.receive(hlc);
  const tables = [db.models, db.versions, db.metadata, ...metricTables(db), db.aliases, db.aliasHistory, db.artifacts, db.blobs, db.checkpoints];
  await writer.write(`model "${m.model.name}"`, tables, async ({ emit }) => {
    for (const s of staged) await recordStagedBlob(db, s);
    await mergeModel(db, m, emit);
    const declaredHere: { id: string; declared: VersionStatus }[] = [];
    const live = await mergeVersions(db, m, emit, declaredHere);
    await mergeArchivedMetadata(db, m, live, emit);
    await mergeMetrics(db, m, live, emit);
    await mergeAliases(db, m, live, emit);
    await mergeArtifacts(db, m, live, emit);
    await mergeCheckpoints(db, m, live, emit);
    // A new version's status here follows from what was declared and the bytes now here.
    for (const { id, declared } of declaredHere) await db.versions.update(id, { status: await localStatus(db, id, declared) });
  });
}

/**
 * Refuses the whole import when one of its clocks is not a clock (`invalid-argument`) or is more
 * than `LIMITS.maxClockDriftMs` ahead of this registry's corrected time (`clock-skew`): such a
 * clock would win every later edit, and no server would take it (DESIGN §3). All or nothing,
 * as the import is one transaction: keeping the rest would leave half a model.
 */
function checkClocks(clocks: { where: string; hlc: string }[], now: number): void {
  for (const { where, hlc } of clocks) {
    if (!isHlc(hlc)) throw new HangarError(ErrorCode.InvalidArgument, `The archive's clock for ${where} is not a clock (${JSON.stringify(hlc)}); nothing was imported.`, { where, hlc });
    if (!isHlcWithinDrift(hlc, now)) {
      throw new HangarError(
        ErrorCode.ClockSkew,
        `The archive's clock for ${where} is ${Math.round(hlcAheadMs(hlc, now) / 60_000)} minutes ahead of this registry's time; nothing was imported.`,
        { where, hlc, maxClockDriftMs: LIMITS.maxClockDriftMs },
      );
    }
  }
}

async function mergeModel(db: HangarDb, m: Manifest, emit: Emit): Promise<void> {
  const { model } = m;
  const local = await db.models.get(model.id);
  if (local && local.deletedAt !== null) {
    // Its versions are tombstones here, and a delete wins: reviving the model would bring
    // back an empty shell, so say so instead.
    throw new HangarError(
      ErrorCode.InvalidArgument,
      `Model "${model.name}" was deleted in this registry, and deleted models are not restored by import.`,
      { namespace: model.namespace, model: model.name },
    );
  }
  if (!local) {
    await db.models.put({ ...model, deletedAt: null });
    const given = Object.fromEntries(MODEL_FIELDS.filter((f) => model[f] !== null).map((f) => [f, model[f]]));
    emit({ name: 'model.create', namespace: model.namespace, args: { id: model.id, name: model.name, ...given } });
    return;
  }
  const fields = laterFields(local, model, MODEL_FIELDS);
  if (!Object.keys(fields).length) return;
  const clocks = { ...local.clocks, ...Object.fromEntries(Object.keys(fields).map((f) => [f, model.clocks[f]!])) };
  await db.models.put({ ...local, ...fields, clocks, updatedAt: Math.max(local.updatedAt, model.updatedAt) });
  emit({ name: 'model.update', namespace: model.namespace, args: { id: model.id, fields }, hlc: latest(fields, model.clocks) });
}

/** Adds versions new here, merges fields of known ones; returns the ids of live parents (model and versions). */
async function mergeVersions(db: HangarDb, m: Manifest, emit: Emit, declaredHere: { id: string; declared: VersionStatus }[]): Promise<Set<string>> {
  const live = new Set([m.model.id]);
  const labelTaken = (label: string, self: string) => labelHeldByOther(db, m.model.id, label, self);
  // Tombstones are not imported: an archive carries live versions only.
  for (const v of m.versions.filter((x) => x.deletedAt === null).sort((a, b) => a.number - b.number)) {
    const local = await db.versions.get(v.id);
    if (local) {
      // A delete wins over anything the archive says of the version.
      if (local.deletedAt !== null) continue;
      live.add(v.id);
      const fields = laterFields(local, v, VERSION_FIELDS);
      if (typeof fields.version === 'string' && (await labelTaken(fields.version, v.id))) delete fields.version;
      if (!Object.keys(fields).length) continue;
      const clocks = { ...local.clocks, ...Object.fromEntries(Object.keys(fields).map((f) => [f, v.clocks[f]!])) };
      await db.versions.put({ ...local, ...fields, clocks, updatedAt: Math.max(local.updatedAt, v.updatedAt) });
      emit({ name: 'version.update', namespace: v.namespace, args: { id: v.id, fields }, hlc: latest(fields, v.clocks) });
      continue;
    }
    live.add(v.id);
    let { number, numberConfirmed } = v;
    if (await db.versions.where('[modelId+number]').equals([v.modelId, number]).first()) {
      // Another version holds that number here: take the next one, provisional until synced.
      const last = await db.versions.where('[modelId+number]').between([v.modelId, 0], [v.modelId, Infinity]).last();
      number = (last?.number ?? 0) + 1;
      numberConfirmed = false;
    }
    // As on the server: the first to arrive keeps a label; the later one is kept without it.
    const label = v.version !== null && (await labelTaken(v.version, v.id)) ? null : v.version;
    await db.versions.add({ ...v, number, numberConfirmed, version: label });
    // What its creator declared, not what the exporting device served: a version declared ready
    // whose bytes that device lacked is not made pending for good on the server.
    const declared = v.declaredStatus ?? v.status;
    if (v.declaredStatus) declaredHere.push({ id: v.id, declared });
    emit({
      name: 'version.create',
      namespace: v.namespace,
      // Only the fields set: a create never blanks what another device gave (DESIGN §3).
      args: { id: v.id, modelId: v.modelId, ...definedFields({ version: label, name: v.name, description: v.description, framework: v.framework }), status: declared },
    });
  }
  return live;
}

async function mergeArchivedMetadata(db: HangarDb, m: Manifest, live: Set<string>, emit: Emit): Promise<void> {
  for (const r of m.metadata) {
    if (!live.has(r.parentId)) continue;
    const local = await db.metadata.get([r.parentId, r.key]);
    // A local tombstone or write later than the archived one stays.
    if (local && !mergeMetadata({ value: local.value, hlc: local.hlc, deleted: local.deleted === true }, { value: r.value, hlc: r.hlc, deleted: false })) continue;
    await db.metadata.put(r);
    emit({ name: 'metadata.set', namespace: r.namespace, args: { parentId: r.parentId, key: r.key, value: r.value }, hlc: r.hlc });
  }
}

async function mergeMetrics(db: HangarDb, m: Manifest, live: Set<string>, emit: Emit): Promise<void> {
  const candidates = m.metrics.filter((p) => live.has(p.parentId));
  const byParent = new Map<string, typeof candidates>();
  for (const p of candidates) byParent.set(p.parentId, [...(byParent.get(p.parentId) ?? []), p]);
  for (const [parentId, all] of byParent) {
    const points = await insertPoints(db, parentId, all, { dedupe: true });
    for (let i = 0; i < points.length; i += LIMITS.metricsPerRequest) {
      const slice = points.slice(i, i + LIMITS.metricsPerRequest).map(({ id, key, value, step, wallclock }) => ({ id, key, value, step, wallclock }));
      emit({ name: 'metrics.log', namespace: m.model.namespace, args: { parentId, points: slice } });
    }
  }
}

async function mergeAliases(db: HangarDb, m: Manifest, live: Set<string>, emit: Emit): Promise<void> {
  for (const a of m.aliases) {
    // An alias set here stays where it is: moving it is the user's call, not an import's.
    if (!live.has(a.versionId) || (await db.aliases.get([a.modelId, a.alias]))) continue;
    await db.aliases.put(a);
    emit({ name: 'alias.set', namespace: m.model.namespace, args: { modelId: a.modelId, alias: a.alias, versionId: a.versionId, expectedVersionId: null } });
  }
  const known = await db.aliasHistory.bulkGet(m.aliasHistory.map((h) => h.id));
  const fresh = m.aliasHistory.filter((_, i) => known[i] === undefined);
  if (fresh.length) await db.aliasHistory.bulkAdd(fresh);
}

async function conflictAt(db: HangarDb, existing: ArtifactRecord, path: string): Promise<HangarError> {
  const stored = existing.sha256 !== null && (await db.blobs.get(existing.sha256)) !== undefined;
  return new HangarError(
    ErrorCode.ArtifactConflict,
    `An artifact already exists at "${path}" with other bytes; artifacts are immutable, so the archive was not imported.`,
    { path, existing: toArtifact(existing, stored) },
  );
}

/** Artifacts outside `checkpoints/` (checkpoint files come with their checkpoint). */
async function mergeArtifacts(db: HangarDb, m: Manifest, live: Set<string>, emit: Emit): Promise<void> {
  for (const a of m.artifacts) {
    if (!live.has(a.parentId) || a.path.startsWith(CHECKPOINTS_DIR)) continue;
    const local = await artifactAt(db, a.parentId, a.path);
    if (local) {
      if (!sameArtifact(local, a)) throw await conflictAt(db, local, a.path);
      continue;
    }
    await db.artifacts.add(a);
    emit(registerMutation(a));
  }
}

async function mergeCheckpoints(db: HangarDb, m: Manifest, live: Set<string>, emit: Emit): Promise<void> {
  const saved: { versionId: string; handle: string; files: ArtifactRecord[] }[] = [];
  const named = m.checkpoints.filter((c) => c.handle !== DEFAULT_HANDLE && live.has(c.versionId));
  for (const c of named.sort((a, b) => a.createdAt - b.createdAt)) {
    const prefix = checkpointPrefix(c.handle);
    const files = m.artifacts.filter((a) => a.parentId === c.versionId && a.path.startsWith(prefix));
    const local = await db.checkpoints.get([c.versionId, c.handle]);
    const localFiles = await checkpointFiles(db, c.versionId, c.handle);
    if (local || localFiles.length) {
      if (local && sameFiles(localFiles, files)) continue;
      throw new HangarError(
        ErrorCode.CheckpointExists,
        `Checkpoint "${c.handle}" already exists here with other files; checkpoints are immutable, so the archive was not imported.`,
        { handle: c.handle, versionId: c.versionId },
      );
    }
    await db.checkpoints.add(c);
    await db.artifacts.bulkAdd(files);
    saved.push({ versionId: c.versionId, handle: c.handle, files });
  }
  // `default` follows the archive only where this registry has none for that version.
  const movedTo = new Map<string, string>();
  for (const d of m.checkpoints) {
    if (d.handle !== DEFAULT_HANDLE || d.target === null || !live.has(d.versionId)) continue;
    if ((await db.checkpoints.get([d.versionId, DEFAULT_HANDLE])) || !(await db.checkpoints.get([d.versionId, d.target]))) continue;
    await db.checkpoints.put(d);
    movedTo.set(d.versionId, d.target);
  }
  for (const s of saved) {
    emit({
      name: 'checkpoint.save',
      namespace: m.model.namespace,
      args: { versionId: s.versionId, handle: s.handle, files: checkpointSaveFiles(s.handle, s.files), setAsDefault: movedTo.get(s.versionId) === s.handle },
    });
  }
}
