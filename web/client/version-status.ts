import { ErrorCode, HangarError } from '../../shared/errors.ts';
import type { VersionStatus } from '../../shared/versions.ts';
import type { HangarDb, VersionRecord } from './db.ts';

// A version's lifecycle on this device (DESIGN §3a), as the server runs it: the status its
// creator declared (`declaredStatus`, set by `newVersion({ status })`, `markReady`, `markFailed`)
// is kept apart from the status served (`status`), which `ns/m` and the finder read.

/** `failed` is final; `ready` cannot go back to `pending`. */
const RANK: Record<VersionStatus, number> = { pending: 0, ready: 1, failed: 2 };

/**
 * The declared status after the creator asks for `wanted`: it only moves forward, and a failed
 * version is never made ready (`invalid-argument`, as the server answers).
 */
export function nextDeclared(row: VersionRecord, label: string, wanted: 'ready' | 'failed'): VersionStatus {
  const current = row.declaredStatus ?? (row.status === 'failed' ? 'failed' : undefined);
  if (wanted === 'ready' && current === 'failed') {
    throw new HangarError(ErrorCode.InvalidArgument, `${label} has failed, and a failed version stays failed; make a new version.`, { status: 'failed' });
  }
  return current && RANK[current] > RANK[wanted] ? current : wanted;
}

/**
 * The status this device serves for a version it declared `declared`: `failed` if declared so;
 * `pending` if declared pending or any uploaded artifact's bytes are not on this device; else
 * `ready`. Runs inside a write transaction that includes `artifacts` and `blobs`.
 */
export async function localStatus(db: HangarDb, versionId: string, declared: VersionStatus): Promise<VersionStatus> {
  if (declared !== 'ready') return declared;
  const digests = (await db.artifacts.where('parentId').equals(versionId).toArray()).flatMap((a) => (a.url === null && a.sha256 ? [a.sha256] : []));
  const held = await db.blobs.bulkGet(digests);
  return held.every((b) => b !== undefined) ? 'ready' : 'pending';
}

/**
 * Takes in the status the server serves for a version (see {@link pulledStatus}); a served
 * ready or failed is what the server holds declared, so the local declared status follows.
 * Runs inside a write transaction over `versions`.
 */
export async function followServed(db: HangarDb, row: VersionRecord, served: VersionStatus, heldHere: boolean): Promise<void> {
  const status = pulledStatus(row, served, heldHere);
  const declared = status !== 'pending' && row.declaredStatus && row.declaredStatus !== status ? { declaredStatus: status } : {};
  if (status !== row.status || row.servedStatus !== served || 'declaredStatus' in declared) {
    await db.versions.update(row.id, { status, servedStatus: served, ...declared, updatedAt: Date.now() });
  }
}

/**
 * Once this device's own status change or create is answered, the status the server served
 * meanwhile holds where it is further along (ready or failed while this device still shows
 * pending): the server logs no new status for a change that did not change what it serves.
 */
export async function settleServed(db: HangarDb, versionId: string): Promise<void> {
  const row = await db.versions.get(versionId);
  if (row?.servedStatus && RANK[row.servedStatus] > RANK[row.status]) await followServed(db, row, row.servedStatus, false);
}

/**
 * The status to keep when the server reports `served` for a version. `failed` always wins (it
 * is final everywhere); a version whose create or status change made here is not answered yet
 * keeps its own status, so a server that does not know of it yet never makes it ready early;
 * otherwise the server's status holds (a served `ready` means it holds the version declared
 * ready, by its creator or another device), so every replica agrees.
 */
export function pulledStatus(row: VersionRecord, served: VersionStatus, heldHere: boolean): VersionStatus {
  if (served === 'failed' || row.status === 'failed') return 'failed';
  // Served ready means the server holds it declared ready (by its creator, or another device):
  // only a change made here and not answered yet keeps the local status on top.
  if (heldHere) return row.status;
  return served;
}
