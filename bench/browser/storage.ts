// The space-given-back figure, in the page: a model with a 100 MiB artifact is deleted and the
// browser's own count of the site's storage (navigator.storage.estimate()) is read before and after.
//
// Library calls used (DESIGN §7a), in this order:
//   const hangar = await openRegistry({ name })
//   const model = await hangar.newModel({ namespace: 'bench', name: 'big' })
//   const version = await model.newVersion({})
//   await version.uploadArtifacts([{ file: blob, path: 'weights.bin' }])   100 MiB of random bytes
//   estimate read                                                         before
//   await model.delete()                                                  timed from here
//   estimate read until it has dropped and held still for 0.5 s (or 10 s) to its last change
import type { HangarLibrary } from '../../test/browser/fixtures/globals.d.ts';

const MiB = 2 ** 20;
export const SIZE = 100 * MiB;
/** How long the estimate is watched after the delete before the round gives up waiting for it to drop. */
const WATCH_MS = 10_000;
/** How long the estimate must hold still after dropping to count as settled. */
const SETTLE_MS = 500;

export interface FreedRound {
  /** How far the estimate dropped, in MiB. */
  freedMiB: number;
  /** From the delete's call to the estimate's drop (or to the end of the watch), in ms. */
  ms: number;
}

const usage = async () => (await navigator.storage.estimate()).usage ?? 0;

export async function freedRound(library: HangarLibrary, name: string): Promise<FreedRound> {
  const chunk = new Uint8Array(MiB);
  const parts: Blob[] = [];
  for (let made = 0; made < SIZE; made += MiB) {
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    parts.push(new Blob([chunk]));
  }
  const hangar = await library.openRegistry({ name });
  const model = await hangar.newModel({ namespace: 'bench', name: 'big' });
  const version = await model.newVersion({});
  await version.uploadArtifacts([{ file: new Blob(parts), path: 'weights.bin' }]);
  const before = await usage();
  const start = performance.now();
  await model.delete();
  let after = await usage();
  let changedAt = performance.now();
  // Until the estimate has dropped and then held still for SETTLE_MS (or the watch ends).
  while (performance.now() - start < WATCH_MS && (after >= before || performance.now() - changedAt < SETTLE_MS)) {
    await new Promise((r) => setTimeout(r, 20));
    const now = await usage();
    if (now !== after) changedAt = performance.now();
    after = now;
  }
  const ms = changedAt - start;
  const left = await hangar.db.blobChunks.count();
  await hangar.close();
  if (left !== 0) throw new Error(`${left} chunks are still stored after the delete`);
  return { freedMiB: (before - after) / MiB, ms };
}
