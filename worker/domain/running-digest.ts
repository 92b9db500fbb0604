import { createHash, type Hash } from 'node:crypto';
import { toHex } from '../../shared/ids.ts';
import sha256Module from '../vendor/sha256.wasm';
import { RecentMap } from '../recent-map.ts';

/**
 * A SHA-256 carried from one request to the next, so a multipart upload sent in order is hashed
 * as its parts pass through and its completion needs no second read of the object. What the
 * upload's row records between parts:
 * - `held`: the name of a native hasher (the runtime's own SHA-256) this isolate keeps in memory
 *   after the part before. Fast, but only the isolate that hashed that part can go on; a part
 *   arriving at another isolate drops the digest, and completion reads the object instead.
 * - `sha256ctx`: hash-wasm's SHA-256 context (its 8 words, byte count and the bytes short of a
 *   block), base64; any isolate can go on from it. Slower (WebAssembly, several times the CPU of
 *   the native hash), so kept for uploads over `HELD_MAX_BYTES`, whose reading at completion
 *   would cost too much CPU in one request.
 * After the last part, `digest`.
 */
export type RunningDigest = { held: string } | { sha256ctx: string } | { digest: string };

/**
 * The largest upload hashed by a hasher held in the isolate. If its parts move to another isolate
 * half-way, completion hashes the stored object (at most this many bytes) with the native
 * crypto.DigestStream: about a second of CPU. Bigger uploads carry the wasm context through D1.
 */
export const HELD_MAX_BYTES = 1024 * 1024 * 1024;

/** Hashers held for uploads in progress: the 1,000 most recent (the oldest go, uploads left unfinished). */
const held = new RecentMap<string, Hash>(1000);

/** One part's bytes hashed on top of the upload's running digest. */
export interface PartDigest {
  /** True for the wasm hash, several times the CPU of the native one. */
  readonly slow: boolean;
  /** Hashes the next bytes of the part. */
  update(chunk: Uint8Array): void;
  /** The state to record with the part: the digest of the whole after the last part. */
  finish(last: boolean): RunningDigest;
  /**
   * Once the record is written: `recorded` says whether the upload's row now holds what `finish`
   * gave (false when another send of the part got there first). Lets go of the state no row names.
   */
  settle(recorded: boolean): void;
}

/** The runtime's SHA-256, going on from a hasher this isolate holds; the held one stays as it was until the part is recorded. */
class HeldDigest implements PartDigest {
  readonly slow = false;
  readonly #from: string | undefined;
  readonly #hash: Hash;
  #next: string | undefined;

  constructor(from: string | undefined, base: Hash | undefined) {
    this.#from = from;
    this.#hash = base ? base.copy() : createHash('sha256');
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  finish(last: boolean): RunningDigest {
    if (last) return { digest: this.#hash.digest('hex') };
    this.#next = crypto.randomUUID();
    held.set(this.#next, this.#hash);
    return { held: this.#next };
  }

  settle(recorded: boolean): void {
    if (recorded && this.#from !== undefined) held.delete(this.#from);
    if (!recorded && this.#next !== undefined) held.delete(this.#next);
  }
}

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

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
function fromBase64(text: unknown): Uint8Array | null {
  if (typeof text !== 'string') return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * hash-wasm's SHA-256, its context saved in the upload's row between parts. A module instance of
 * its own per part, since another request's part may be hashed between two chunks of this one.
 * (Workers forbid compiling wasm at run time; the module comes compiled with the Worker.)
 */
class CarriedDigest implements PartDigest {
  readonly slow = true;
  readonly #h = new WebAssembly.Instance(sha256Module, {}).exports as unknown as Sha256Exports;
  readonly #input = new Uint8Array(this.#h.memory.buffer, this.#h.Hash_GetBuffer(), BUFFER_BYTES);

  /** False when `saved` is not a context this code wrote. */
  start(saved: Uint8Array | null): boolean {
    if (saved === null) {
      this.#h.Hash_Init(256);
      return true;
    }
    const ctx = this.#context();
    if (saved.length !== ctx.length) return false;
    ctx.set(saved);
    return true;
  }

  #context(): Uint8Array {
    const size = new DataView(this.#h.memory.buffer).getUint32(this.#h.STATE_SIZE.value as number, true);
    return new Uint8Array(this.#h.memory.buffer, this.#h.Hash_GetState(), size);
  }

  update(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length; at += BUFFER_BYTES) {
      const slice = chunk.subarray(at, at + BUFFER_BYTES);
      this.#input.set(slice);
      this.#h.Hash_Update(slice.length);
    }
  }

  finish(last: boolean): RunningDigest {
    if (!last) return { sha256ctx: toBase64(this.#context()) };
    this.#h.Hash_Final();
    return { digest: toHex(this.#input.slice(0, 32)) };
  }

  settle(): void {}
}

/**
 * Opens the running digest of an upload of `size` bytes for its next part, on top of `state`
 * (null before the first part). Answers null when `state` cannot be gone on from here: a hasher
 * held by another isolate (or dropped), or a state this code did not write (an upload begun
 * before a change of format); the upload is then verified by reading the object on completion.
 */
export function resumeDigest(state: RunningDigest | null, size: number): PartDigest | null {
  if (state && 'digest' in state) throw new Error('the digest is already finished');
  if (state === null && size <= HELD_MAX_BYTES) return new HeldDigest(undefined, undefined);
  if (state && 'held' in state) {
    const base = typeof state.held === 'string' ? held.get(state.held) : undefined;
    return base ? new HeldDigest(state.held, base) : null;
  }
  const saved = state === null ? null : fromBase64(state.sha256ctx);
  if (state !== null && saved === null) return null;
  const carried = new CarriedDigest();
  return carried.start(saved) ? carried : null;
}

/** Hashes a whole part on top of `state` (see resumeDigest), and records the result as taken. */
export function continueDigest(state: RunningDigest | null, size: number, part: Uint8Array, last: boolean): RunningDigest | null {
  const digest = resumeDigest(state, size);
  if (!digest) return null;
  digest.update(part);
  const next = digest.finish(last);
  digest.settle(true);
  return next;
}
