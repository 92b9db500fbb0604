import { toHex } from '../../shared/ids.ts';
import sha256Module from '../vendor/sha256.wasm';

/**
 * A SHA-256 carried from one request to the next, so a multipart upload sent in order is hashed
 * as its parts pass through and its completion needs no second read of the object. Between parts
 * the state is the hasher's context (its 8 words, byte count and the bytes short of a block),
 * base64; after the last part, the digest.
 */
export type RunningDigest = { sha256ctx: string } | { digest: string };

/** What hash-wasm's SHA-256 module exports (see `scripts/vendor-sha256-wasm.mjs`). */
interface Sha256Exports {
  memory: WebAssembly.Memory;
  /** Where input goes before `Hash_Update`, and the digest after `Hash_Final`. */
  Hash_GetBuffer(): number;
  Hash_Init(bits: number): void;
  Hash_Update(length: number): void;
  Hash_Final(): void;
  /** Where the context sits; `STATE_SIZE` holds the address of its size. */
  Hash_GetState(): number;
  STATE_SIZE: WebAssembly.Global;
}

/** The module's input buffer: 16 KiB. */
const BUFFER_BYTES = 16 * 1024;

/**
 * A hasher of its own per call: a digest may pause between slices (so the part's write to R2
 * goes on meanwhile), and another request's digest may run in that pause. (Workers forbid
 * compiling wasm at run time; the module comes compiled with the Worker.)
 */
function sha256(): Sha256Exports {
  return new WebAssembly.Instance(sha256Module, {}).exports as unknown as Sha256Exports;
}

function contextOf(h: Sha256Exports): Uint8Array {
  const size = new DataView(h.memory.buffer).getUint32(h.STATE_SIZE.value as number, true);
  return new Uint8Array(h.memory.buffer, h.Hash_GetState(), size);
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
function fromBase64(text: unknown): Uint8Array | null {
  if (typeof text !== 'string') return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Bytes hashed between pauses. */
const SLICE_BYTES = 1024 * 1024;

/**
 * Hashes the next part on top of `state` (null before the first part), pausing after each MiB
 * with `pause` so other work of the isolate (the part's write to R2) runs meanwhile. Answers
 * null when `state` is not one this code wrote (an upload begun before a change of format): the
 * upload is then verified by reading the object back on completion.
 */
export async function continueDigest(
  state: RunningDigest | null,
  part: Uint8Array,
  last: boolean,
  pause: () => Promise<void> = () => Promise.resolve(),
): Promise<RunningDigest | null> {
  if (state && 'digest' in state) throw new Error('the digest is already finished');
  const h = sha256();
  if (state === null) h.Hash_Init(256);
  else {
    const saved = fromBase64(state.sha256ctx);
    const ctx = contextOf(h);
    if (!saved || saved.length !== ctx.length) return null;
    ctx.set(saved);
  }
  const input = new Uint8Array(h.memory.buffer, h.Hash_GetBuffer(), BUFFER_BYTES);
  for (let at = 0; at < part.length; at += BUFFER_BYTES) {
    if (at > 0 && at % SLICE_BYTES === 0) await pause();
    const chunk = part.subarray(at, at + BUFFER_BYTES);
    input.set(chunk);
    h.Hash_Update(chunk.length);
  }
  if (!last) return { sha256ctx: toBase64(contextOf(h)) };
  h.Hash_Final();
  return { digest: toHex(input.slice(0, 32)) };
}
