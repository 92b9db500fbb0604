import type { HangarDb } from './db.ts';
import { deleteParentMetrics } from './metric-store.ts';

/**
 * Drops what a model or version holds here: metadata, params, metric history, artifacts and
 * checkpoints (their bytes go with blob GC). For a model revived afresh or a purged model or
 * version; runs inside a transaction over those tables.
 */
export async function dropParentData(db: HangarDb, parentId: string): Promise<void> {
  await db.metadata.where('parentId').equals(parentId).delete();
  await db.params.where('parentId').equals(parentId).delete();
  await deleteParentMetrics(db, parentId);
  await db.artifacts.where('parentId').equals(parentId).delete();
  await db.checkpoints.where('versionId').equals(parentId).delete();
}
