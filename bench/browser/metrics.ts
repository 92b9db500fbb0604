// Figure (a), in the page: 100,000 metric points through the client library against the same
// 100,000 rows put with one Dexie bulkPut.
//
// Library calls used (DESIGN §7a), in this order:
//   const hangar = await openRegistry({ name })
//   const model = await hangar.newModel({ namespace: 'bench', name: 'm' })
//   const version = await model.newVersion({})
//   version.logMetrics({ loss, accuracy }, { step })      × 50,000, not awaited one by one
//   await hangar.flush()                                   end of the timed part
//   await version.metrics()                                checks that 50,000 points per key are stored
import Dexie from 'dexie';
import { uuidv7 } from '../../shared/ids.ts';
import type { HangarLibrary } from '../../test/browser/fixtures/globals.d.ts';

export const CALLS = 50_000;
export const KEYS = ['loss', 'accuracy'] as const;
export const POINTS = CALLS * KEYS.length;

const loss = (step: number) => 1 / (step + 1);
const accuracy = (step: number) => step / CALLS;

/** One round through the library, on a fresh registry; resolves with the milliseconds taken. */
export async function libraryRound(library: HangarLibrary, name: string): Promise<number> {
  const hangar = await library.openRegistry({ name });
  const model = await hangar.newModel({ namespace: 'bench', name: 'm' });
  const version = await model.newVersion({});
  const logged: Promise<void>[] = new Array(CALLS);
  const start = performance.now();
  for (let step = 0; step < CALLS; step++) logged[step] = version.logMetrics({ loss: loss(step), accuracy: accuracy(step) }, { step });
  await hangar.flush();
  const ms = performance.now() - start;
  // A write that failed fails the round (after the clock stopped).
  await Promise.all(logged);
  const summary = await version.metrics();
  for (const key of KEYS) {
    if (summary[key]?.count !== CALLS) throw new Error(`the library stored ${summary[key]?.count ?? 0} points of "${key}", not ${CALLS}`);
  }
  return ms;
}

/** The substrate: the rows a metric point makes, with the same keys, put with one bulkPut. */
export async function plainRound(name: string): Promise<number> {
  const db = new Dexie(name);
  db.version(1).stores({ metrics: 'id, [parentId+key+step]' });
  await db.open();
  const parentId = uuidv7();
  const start = performance.now();
  const rows = new Array(POINTS);
  for (let step = 0; step < CALLS; step++) {
    const wallclock = Date.now();
    rows[2 * step] = { id: uuidv7(wallclock), parentId, key: 'loss', value: loss(step), step, wallclock };
    rows[2 * step + 1] = { id: uuidv7(wallclock), parentId, key: 'accuracy', value: accuracy(step), step, wallclock };
  }
  await db.table('metrics').bulkPut(rows);
  const ms = performance.now() - start;
  const stored = await db.table('metrics').count();
  db.close();
  if (stored !== POINTS) throw new Error(`Dexie stored ${stored} rows, not ${POINTS}`);
  return ms;
}
