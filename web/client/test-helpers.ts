// Helpers for the library's unit tests (Node, fake-indexeddb): not part of the library.
import { expect } from 'vitest';
import { HangarError } from '../../shared/errors.ts';
import { HybridClock } from '../../shared/hlc.ts';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import type { ClientContext, ParentRef } from './context.ts';
import { HangarDb } from './db.ts';
import { LAST_URL } from './sync/state.ts';
import { MetricQueue } from './metrics-queue.ts';
import { Writer } from './writer.ts';

/** The HangarError a promise rejects with; fails the test if it resolves or throws anything else. */
export async function errorOf(p: Promise<unknown>): Promise<HangarError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(HangarError);
    return err as HangarError;
  }
  throw new Error('expected a HangarError');
}

/** The code of the HangarError a promise rejects with. */
export const codeOf = async (p: Promise<unknown>): Promise<string> => (await errorOf(p)).code;

/** A context over a fresh database, its clock on `node`. */
export function freshContext(name: string, node = 'test'): ClientContext {
  const db = new HangarDb(name);
  const writer = new Writer(db, new HybridClock(node));
  return { db, writer, metrics: new MetricQueue(writer) };
}

/** A fresh context holding model team/churn and its version 1, as parents to write under. */
export async function seededContext(name: string): Promise<{ ctx: ClientContext; model: ParentRef; version: ParentRef }> {
  const ctx = freshContext(name);
  const id = await modelId('team', 'churn');
  const now = Date.now();
  await ctx.db.models.add({ id, namespace: 'team', name: 'churn', owner: null, task: null, description: null, clocks: {}, createdAt: now, updatedAt: now, deletedAt: null });
  const vid = uuidv7();
  await ctx.db.versions.add({
    ...{ id: vid, modelId: id, namespace: 'team', number: 1, numberConfirmed: false, version: null, name: null, description: null, framework: null },
    ...{ status: 'ready', clocks: {}, createdAt: now, updatedAt: now, deletedAt: null },
  });
  return {
    ctx,
    model: { kind: 'model', id, namespace: 'team', modelId: id },
    version: { kind: 'version', id: vid, namespace: 'team', modelId: id },
  };
}

/**
 * Marks a registry as having synced before (as after `hangar.sync()` and `stopSync()`), so its
 * outbox keeps every mutation, metric points included, as it does once a server is known.
 */
export async function markSynced(db: HangarDb): Promise<void> {
  await db.state.put({ key: LAST_URL, value: 'http://server.test' });
}
