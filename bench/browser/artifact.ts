// Figure (b), in the page: store a 256 MiB artifact and read it back. Node watches the heap
// (heap.ts) between `prepare…` and `run`.
//
// Library calls used (DESIGN §7a), in this order:
//   const hangar = await openRegistry({ name })
//   const model = await hangar.newModel({ namespace: 'bench', name: 'm' })
//   const version = await model.newVersion({})
//   await version.uploadArtifacts([{ file: blob, path: 'weights.bin' }])   timed and watched from here
//   const back = await version.readArtifact('weights.bin')                a Blob
//   back.stream() read to the end and hashed                              to here
// The bytes are never turned into one ArrayBuffer: the SHA-256 of the stream read back must
// equal the one computed while the input was made.
import Dexie from 'dexie';
import { createSHA256 } from 'hash-wasm';
import type { HangarLibrary } from '../../test/browser/fixtures/globals.d.ts';

const MiB = 2 ** 20;
export const SIZE = 256 * MiB;

export interface Prepared {
  /** The timed work: store the input, read it back, hash it; resolves with the milliseconds taken. */
  run(): Promise<number>;
}

/** 256 MiB of random bytes as a Blob, made 1 MiB at a time (the page never holds it all), and its SHA-256. */
export async function makeInput(): Promise<{ blob: Blob; sha256: string }> {
  const hasher = await createSHA256();
  const chunk = new Uint8Array(MiB);
  const parts: Blob[] = [];
  for (let made = 0; made < SIZE; made += MiB) {
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    hasher.update(chunk);
    parts.push(new Blob([chunk]));
  }
  return { blob: new Blob(parts, { type: 'application/octet-stream' }), sha256: hasher.digest('hex') };
}

/**
 * Reads a Blob as a stream into one reused 1 MiB buffer (a BYOB reader) and hashes it. A default
 * reader hands out a fresh buffer per chunk, and 256 MiB of those garbage buffers alone lift the
 * heap by 80–170 MiB before V8 collects them: the figure would measure this check, not the library.
 */
async function sha256Of(blob: Blob): Promise<string> {
  const hasher = await createSHA256();
  const reader = blob.stream().getReader({ mode: 'byob' });
  let buffer = new ArrayBuffer(MiB);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    hasher.update(value);
    buffer = value.buffer as ArrayBuffer;
  }
  return hasher.digest('hex');
}

/** Times `work` and the check of what it read back. */
function timed(work: () => Promise<Blob>, expected: string): Prepared {
  return {
    async run() {
      const start = performance.now();
      const back = await work();
      const sha256 = await sha256Of(back);
      const ms = performance.now() - start;
      if (back.size !== SIZE || sha256 !== expected) throw new Error(`read back ${back.size} bytes with SHA-256 ${sha256}, not ${SIZE} with ${expected}`);
      return ms;
    },
  };
}

/** Makes the input and opens a fresh registry, model and version; nothing of it is timed. */
export async function prepareLibrary(library: HangarLibrary, name: string): Promise<Prepared> {
  const { blob, sha256 } = await makeInput();
  const hangar = await library.openRegistry({ name });
  const model = await hangar.newModel({ namespace: 'bench', name: 'm' });
  const version = await model.newVersion({});
  return timed(async () => {
    await version.uploadArtifacts([{ file: blob, path: 'weights.bin' }]);
    return version.readArtifact('weights.bin');
  }, sha256);
}

/** The substrate: the same Blob put in a Dexie table and got back. */
export async function preparePlain(name: string): Promise<Prepared> {
  const { blob, sha256 } = await makeInput();
  const db = new Dexie(name);
  db.version(1).stores({ blobs: 'path' });
  await db.open();
  return timed(async () => {
    await db.table('blobs').put({ path: 'weights.bin', blob });
    return (await db.table('blobs').get('weights.bin')).blob;
  }, sha256);
}
