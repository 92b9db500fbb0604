import { Hash } from 'fast-sha256';
import { toHex } from '../../shared/ids.ts';

/**
 * A SHA-256 carried from one request to the next, so a multipart upload sent in order is hashed
 * as its parts pass through and its completion needs no second read of the object. Between parts
 * the state is the eight words after a whole number of 64-byte blocks (every part but the last is
 * a multiple of 64 bytes) and the byte count; after the last part, the digest.
 */
export type RunningDigest = { words: number[]; bytes: number } | { digest: string };

/** Hashes the next part on top of `state` (null before the first part). */
export function continueDigest(state: RunningDigest | null, part: Uint8Array, last: boolean): RunningDigest {
  if (state && 'digest' in state) throw new Error('the digest is already finished');
  const hash = new Hash();
  if (state) hash._restoreState(Uint32Array.from(state.words), state.bytes);
  hash.update(part);
  if (last) return { digest: toHex(hash.digest()) };
  if (part.length % hash.blockSize !== 0) throw new Error('a part before the last must be a whole number of 64-byte blocks');
  const words = new Uint32Array(8);
  hash._saveState(words);
  return { words: [...words], bytes: (state?.bytes ?? 0) + part.length };
}
