import type { FileType } from '../../../shared/artifacts.ts';
import { parseHlc } from '../../../shared/hlc.ts';
import { uuidv7 } from '../../../shared/ids.ts';
import { MODEL_FIELDS } from '../../../shared/models.ts';
import { mergeFields, mergeMetadata } from '../../../shared/rules.ts';
import type { Change } from '../../../shared/sync.ts';
import { VERSION_FIELDS, type VersionStatus } from '../../../shared/versions.ts';
import type { HangarDb, MetadataRecord, OutboxRecord } from '../db.ts';
import { insertPoints, metricTables } from '../metric-store.ts';
import { dropParentData } from '../parent-data.ts';
import { followServed } from '../version-status.ts';

/** The tables a pulled page writes, for the transaction that applies it. */
export const applyTables = (db: HangarDb) => [db.models, db.versions, db.metadata, ...metricTables(db), db.aliases, db.aliasHistory, db.artifacts, db.checkpoints, db.params];

/** What pending local writes the pulled changes must not undo (the rebase of DESIGN §6). */
export interface Pending {
  /** `modelId/alias` of aliases with a move not yet pushed: the local move stays on top. */
  aliases: Set<string>;
  /** Ids of versions whose create or status change is not yet pushed: their local status stays (DESIGN §3a). */
  versions: Set<string>;
}

export function pendingOf(outbox: OutboxRecord[]): Pending {
  const aliases = new Set<string>();
  const versions = new Set<string>();
  for (const m of outbox) {
    if (m.name === 'alias.set' || m.name === 'alias.delete') {
      const a = m.args as { modelId: string; alias: string };
      aliases.add(`${a.modelId}/${a.alias}`);
    }
    const v = m.args as { id: string; status?: string };
    if (m.name === 'version.create' || (m.name === 'version.update' && v.status)) versions.add(v.id);
  }
  return { aliases, versions };
}

type Data = Record<string, unknown>;

/**
 * Applies one page of the server's change log, inside a transaction over {@link applyTables}.
 * Models and versions merge per field by clock, metric points by id, aliases follow the server
 * unless a local move waits to be pushed; versions take the server's numbers. Returns the ids
 * of models whose versions were touched, to renumber their provisional versions.
 */
export async function applyChanges(db: HangarDb, namespace: string, changes: Change[], pending: Pending): Promise<Set<string>> {
  const touched = new Set<string>();
  const now = Date.now();
  for (const c of changes) {
    const d = c.data as Data;
    switch (`${c.entity}.${c.op}`) {
      case 'model.create':
      case 'model.update': {
        // A create carries only the fields its caller gave: merge those, never blank the rest.
        const fields = (c.op === 'update' ? d : Object.fromEntries(MODEL_FIELDS.filter((f) => f in d && d[f] !== undefined).map((f) => [f, d[f]]))) as Data;
        const row = await db.models.get(c.entityId);
        if (!row) {
          if (c.op === 'update') break;
          await db.models.put({
            id: c.entityId,
            namespace,
            name: d.name as string,
            kind: d.kind === 'experiment' ? 'experiment' : 'model',
            owner: (d.owner as string | null) ?? null,
            task: (d.task as string | null) ?? null,
            description: (d.description as string | null) ?? null,
            clocks: Object.fromEntries(Object.keys(fields).map((f) => [f, c.hlc])),
            createdAt: now,
            updatedAt: now,
            deletedAt: null,
          });
          break;
        }
        if (c.op === 'create' && row.deletedAt !== null) {
          // A create after a delete revives the model afresh, as on the server: every field
          // from this create, and none of the deleted one's metadata, metrics or artifacts.
          const blank = Object.fromEntries(MODEL_FIELDS.map((f) => [f, null]));
          await db.models.update(c.entityId, { ...blank, ...fields, kind: d.kind === 'experiment' ? 'experiment' : 'model', clocks: Object.fromEntries(Object.keys(fields).map((f) => [f, c.hlc])), deletedAt: null, updatedAt: now });
          await dropParentData(db, c.entityId);
          break;
        }
        const { won, clocks } = mergeFields(row.clocks, fields, c.hlc, MODEL_FIELDS);
        // The server's kind holds: a model created on two devices is the kind its first create gave it.
        const kind = c.op === 'create' && (d.kind === 'experiment' || d.kind === 'model') && d.kind !== (row.kind ?? 'model') ? { kind: d.kind as 'model' | 'experiment' } : {};
        await db.models.update(c.entityId, { ...won, ...kind, clocks, updatedAt: now });
        break;
      }
      case 'model.delete':
        // Its versions the server knew come with their own deletes; one made here and not
        // pushed yet goes when the server answers its create (a `deleted` conflict). The delete's
        // time comes from its clock, the same on every device and on the versions it took, so
        // the trash tells them from versions deleted before (`hangar.trash()`); a tombstone
        // already here keeps its time.
        await db.models.where(':id').equals(c.entityId).modify((m) => void (m.deletedAt ??= deletedAt(c.hlc, now)));
        await db.aliases.where('[modelId+alias]').between([c.entityId, ''], [c.entityId, '\uffff']).delete();
        break;
      case 'model.purge': {
        // Purged from the server's trash (DESIGN §3b, by an admin or its expiry): gone whole,
        // its versions and all their data too, as on the server. Nothing is restorable any more.
        const versions = (await db.versions.where('modelId').equals(c.entityId).primaryKeys()) as string[];
        for (const id of [c.entityId, ...versions]) await dropParentData(db, id);
        await db.versions.bulkDelete(versions);
        await db.aliases.where('[modelId+alias]').between([c.entityId, ''], [c.entityId, '\uffff']).delete();
        await db.aliasHistory.where('[modelId+alias]').between([c.entityId, ''], [c.entityId, '\uffff']).delete();
        await db.models.delete(c.entityId);
        break;
      }
      case 'version.purge':
        // Its data goes; a bare tombstone stays, as on the server (its number is never given again).
        await dropParentData(db, c.entityId);
        await db.versions.where(':id').equals(c.entityId).modify((v) => {
          Object.assign(v, { purged: true, version: null, name: null, description: null, framework: null });
        });
        break;
      case 'model.restore':
        // Out of the trash (DESIGN §3b): as it was before its delete. Its versions come back with
        // their own `version.restore` rows, and its aliases with `alias.set` rows.
        await db.models.update(c.entityId, { deletedAt: null, updatedAt: now });
        break;
      case 'version.create':
      case 'version.update': {
        const row = await db.versions.get(c.entityId);
        if (!row) {
          if (c.op === 'update') break;
          await db.versions.put({
            id: c.entityId,
            modelId: d.modelId as string,
            namespace,
            number: d.number as number,
            numberConfirmed: true,
            version: (d.version as string | null) ?? null,
            name: (d.name as string | null) ?? null,
            description: (d.description as string | null) ?? null,
            framework: (d.framework as string | null) ?? null,
            status: (d.status as VersionStatus) ?? 'ready',
            servedStatus: (d.status as VersionStatus) ?? 'ready',
            sourceVersionId: (d.sourceVersionId as string | undefined) ?? null,
            clocks: Object.fromEntries(VERSION_FIELDS.map((f) => [f, c.hlc])),
            createdAt: now,
            updatedAt: now,
            deletedAt: null,
          });
          touched.add(d.modelId as string);
          break;
        }
        const { won, clocks } = mergeFields(row.clocks, d, c.hlc, VERSION_FIELDS);
        const numbered =
          c.op === 'create'
            ? { number: d.number as number, numberConfirmed: true, ...(d.status ? { servedStatus: d.status as VersionStatus } : {}), ...(d.sourceVersionId ? { sourceVersionId: d.sourceVersionId as string } : {}) }
            : {};
        await db.versions.update(c.entityId, { ...won, ...numbered, clocks, updatedAt: now });
        touched.add(row.modelId);
        break;
      }
      case 'version.status': {
        const row = await db.versions.get(c.entityId);
        // Failed is final here too: a later markReady on this device is refused, as the server would.
        if (row) await followServed(db, row, d.status as VersionStatus, pending.versions.has(row.id));
        break;
      }
      case 'version.delete':
        await db.versions.where(':id').equals(c.entityId).modify((v) => void (v.deletedAt ??= deletedAt(c.hlc, now)));
        // No alias points at a deleted version: not even a move made here and not pushed yet
        // (the server answers it with a `deleted` conflict).
        await db.aliases.where('versionId').equals(c.entityId).delete();
        break;
      case 'version.restore': {
        const row = await db.versions.get(c.entityId);
        if (row) {
          await db.versions.update(c.entityId, { deletedAt: null, updatedAt: now });
          touched.add(row.modelId);
        }
        break;
      }
      case 'metadata.set': {
        const row = await db.metadata.get([c.entityId, d.key as string]);
        // Older than the key's tombstone or last write: it does not win, and does not revive it.
        if (mergeMetadata(held(row), { value: d.value, hlc: c.hlc, deleted: false })) {
          await db.metadata.put({ parentId: c.entityId, key: d.key as string, namespace, value: d.value, hlc: c.hlc });
        }
        break;
      }
      case 'metadata.delete': {
        // A tombstone with the delete's clock, even for a key not seen yet, so a set made
        // before the delete and pulled after it stays deleted.
        const row = await db.metadata.get([c.entityId, d.key as string]);
        if (mergeMetadata(held(row), { value: null, hlc: c.hlc, deleted: true })) {
          await db.metadata.put({ parentId: c.entityId, key: d.key as string, namespace, value: null, hlc: c.hlc, deleted: true });
        }
        break;
      }
      case 'metrics.log': {
        const points = d.points as { id: string; key: string; value: number; step: number; wallclock: number }[];
        // Points never change, so those here already (this device's own, coming back) are skipped;
        // a key known from a snapshot takes in those its summary does not count yet (by `c.seq`).
        await insertPoints(db, c.entityId, points, { dedupe: true, seq: c.seq });
        break;
      }
      case 'alias.set':
      case 'alias.delete': {
        const alias = d.alias as string;
        if (pending.aliases.has(`${c.entityId}/${alias}`)) break;
        const current = await db.aliases.get([c.entityId, alias]);
        const versionId = (d.versionId as string | null) ?? null;
        if ((current?.versionId ?? null) === versionId) break;
        await db.aliasHistory.add({ id: uuidv7(now), modelId: c.entityId, alias, versionId, previousVersionId: current?.versionId ?? null, at: now });
        if (versionId) await db.aliases.put({ modelId: c.entityId, alias, versionId, updatedAt: now });
        else await db.aliases.delete([c.entityId, alias]);
        break;
      }
      case 'artifact.create': {
        const existing = await db.artifacts.where('[parentId+path]').equals([d.parentId as string, d.path as string]).first();
        if (existing) break;
        await db.artifacts.put({
          id: d.id as string,
          namespace,
          modelId: d.modelId as string,
          parentId: d.parentId as string,
          path: d.path as string,
          mimeType: d.mimeType as string,
          fileType: d.fileType as FileType,
          size: (d.size as number | null) ?? null,
          sha256: (d.sha256 as string | null) ?? null,
          url: (d.url as string | null) ?? null,
          createdAt: now,
        });
        break;
      }
      case 'param.set': {
        // Params are set once: the server's value is the one that holds. A different value set
        // here and not yet pushed is refused there (`param-changed`) and shown as a conflict.
        const key = d.key as string;
        const value = d.value as string;
        const row = await db.params.get([c.entityId, key]);
        if (row?.value !== value) await db.params.put({ parentId: c.entityId, key, namespace, value, hlc: c.hlc });
        break;
      }
      case 'checkpoint.save':
        if (!(await db.checkpoints.get([d.versionId as string, d.handle as string]))) {
          await db.checkpoints.put({ versionId: d.versionId as string, handle: d.handle as string, target: null, createdAt: now, updatedAt: now });
        }
        break;
      case 'checkpoint.default':
        await db.checkpoints.put({ versionId: d.versionId as string, handle: 'default', target: d.target as string, createdAt: now, updatedAt: now });
        break;
      default:
        // A change this client does not know (a newer server): nothing to apply.
        break;
    }
  }
  return touched;
}

/**
 * Gives the provisional (not yet server-numbered) versions of these models the numbers after
 * the server's, in the order they were made here: the rebase of local versions on top.
 */
export async function renumberProvisional(db: HangarDb, modelIds: Iterable<string>): Promise<void> {
  for (const modelId of modelIds) {
    const versions = await db.versions.where('modelId').equals(modelId).toArray();
    const confirmed = versions.filter((v) => v.numberConfirmed);
    const provisional = versions.filter((v) => !v.numberConfirmed).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    let next = Math.max(0, ...confirmed.map((v) => v.number)) + 1;
    for (const v of provisional) {
      if (v.number !== next) await db.versions.update(v.id, { number: next });
      next++;
    }
  }
}

/** When a pulled delete happened: its clock's wall time. */
const deletedAt = (hlc: string, fallback: number) => parseHlc(hlc)?.ms ?? fallback;

/** A stored metadata row as the rules see it. */
const held = (row: MetadataRecord | undefined) => (row ? { value: row.value, hlc: row.hlc, deleted: row.deleted === true } : undefined);
