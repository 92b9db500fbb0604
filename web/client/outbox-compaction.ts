import type { HangarDb } from './db.ts';
import { CONFIG, LAST_URL, nsKey, nsState } from './sync/state.ts';

/**
 * Namespaces whose metric points were kept out of the outbox while the registry had never
 * synced (a `state` row): their first sync re-seeds them from what is stored here instead.
 */
export const UNSENT = 'outbox.unsent';

/** The outbox mutation that carries metric points: the one compaction leaves out. */
export const COMPACTED_MUTATION = 'metrics.log';

/**
 * True while this registry has never synced with a server (no sync configured now, none
 * before). Read inside the write's transaction (over `state`), so a tab that starts syncing
 * meanwhile is seen by every later write of every tab.
 */
export async function neverSynced(db: HangarDb): Promise<boolean> {
  const [config, lastUrl] = await db.state.bulkGet([CONFIG, LAST_URL]);
  return !config && !lastUrl;
}

/** Inside a transaction over `state`: records that these namespaces' outbox lacks metric points. */
export async function markUnsent(db: HangarDb, namespaces: Iterable<string>): Promise<void> {
  const held = ((await db.state.get(UNSENT))?.value as string[] | undefined) ?? [];
  const all = [...new Set([...held, ...namespaces])].sort();
  if (all.length !== held.length) await db.state.put({ key: UNSENT, value: all });
}

/**
 * Inside a transaction over `state`, as sync starts with `namespaces`: marks those of them whose
 * outbox lacks metric points for a re-seed (DESIGN §6 "Changing server": the server is sent
 * everything this device holds there, points included), and forgets them as unsent.
 */
export async function reseedUnsent(db: HangarDb, namespaces: string[]): Promise<void> {
  const held = ((await db.state.get(UNSENT))?.value as string[] | undefined) ?? [];
  const taken = held.filter((ns) => namespaces.includes(ns));
  if (!taken.length) return;
  for (const ns of taken) await db.state.put({ key: nsKey(ns), value: { ...(await nsState(db, ns)), reseed: true } });
  const left = held.filter((ns) => !taken.includes(ns));
  if (left.length) await db.state.put({ key: UNSENT, value: left });
  else await db.state.delete(UNSENT);
}

/**
 * At open, for a registry that has never synced: drops the metric points held in the outbox
 * (written before compaction, or by a version of the library without it), marking their
 * namespaces for a re-seed on their first sync. Returns how many entries went.
 */
export async function compactOutbox(db: HangarDb): Promise<number> {
  return db.transaction('rw', [db.outbox, db.state], async () => {
    if (!(await neverSynced(db))) return 0;
    const entries = await db.outbox.filter((o) => o.name === COMPACTED_MUTATION).toArray();
    if (!entries.length) return 0;
    await markUnsent(db, new Set(entries.map((o) => o.namespace)));
    await db.outbox.bulkDelete(entries.map((o) => o.seq!));
    return entries.length;
  });
}
