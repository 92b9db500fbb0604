import { transfer, wrap, type Remote } from 'comlink';
import './comlink-errors.ts';
import { createSHA256 } from 'hash-wasm';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import type { HashWorkerApi } from './hash.worker.ts';
import { BlobBytesReader } from './read-blob.ts';

/**
 * Inputs smaller than this are hashed on the calling thread: for them a worker's start-up and
 * round trips cost more than the hashing itself (hash-wasm does several hundred MB/s).
 */
export const INLINE_HASH_MAX_BYTES = 4 * 1024 * 1024;

/** An idle hash worker is terminated after this long; the next large input starts a new one. */
export const HASH_WORKER_IDLE_MS = 30_000;

/** A SHA-256 computed piece by piece. */
export interface Sha256Stream {
  /**
   * Feeds the next bytes. The buffer may be transferred to a worker (it is then detached
   * here): do not read it afterwards.
   */
  update(chunk: ArrayBuffer): Promise<void>;
  /**
   * Feeds a Blob's bytes, read through one reused buffer wherever the hashing runs, so
   * hashing a large file costs no memory beyond that buffer.
   */
  updateBlob(blob: Blob): Promise<void>;
  /** The digest of everything fed, as lower-case hex. Ends the stream. */
  digest(): Promise<string>;
  /** Ends the stream without a digest (after a failure). */
  abort(): void;
}

/**
 * Opens a SHA-256 stream for an input of `totalBytes`. Large inputs are hashed in a shared
 * module Web Worker; small ones, or any input where `Worker` does not exist (Node) or the
 * worker cannot start, on the calling thread.
 */
export async function openSha256(totalBytes: number): Promise<Sha256Stream> {
  if (totalBytes >= INLINE_HASH_MAX_BYTES && typeof Worker !== 'undefined') {
    const stream = await openWorkerStream().catch(() => undefined);
    if (stream) return stream;
  }
  return openInlineStream();
}

/** SHA-256 of a Blob, read in slices so it never sits whole in memory. */
export async function sha256OfBlob(
  blob: Blob,
  opts: { sliceBytes?: number; onProgress?(loaded: number, total: number): void } = {},
): Promise<string> {
  const step = opts.sliceBytes ?? INLINE_HASH_MAX_BYTES;
  const stream = await openSha256(blob.size);
  try {
    for (let at = 0; at < blob.size; at += step) {
      await stream.updateBlob(blob.slice(at, at + step));
      opts.onProgress?.(Math.min(at + step, blob.size), blob.size);
    }
    return await stream.digest();
  } catch (err) {
    stream.abort();
    throw err;
  }
}

/** Terminates the hash worker now, if one runs (it also stops by itself when idle). */
export function terminateHashWorker(): void {
  if (current) retire(current);
}

async function openInlineStream(): Promise<Sha256Stream> {
  const hasher = await createSHA256();
  hasher.init();
  // One read buffer for the stream's life, however many slices it is fed.
  const blobs = new BlobBytesReader();
  return {
    update: async (chunk) => void hasher.update(new Uint8Array(chunk)),
    updateBlob: (blob) => blobs.read(blob, (bytes) => void hasher.update(bytes)),
    digest: async () => hasher.digest('hex'),
    abort: () => undefined,
  };
}

interface HashWorker {
  worker: Worker;
  api: Remote<HashWorkerApi>;
  /** Open streams; the idle timer runs only at zero. */
  streams: number;
  idle: ReturnType<typeof setTimeout> | undefined;
  /** Rejects when the worker dies, so no call waits forever on a dead worker. */
  failed: Promise<never>;
}

let current: HashWorker | undefined;

function startWorker(): HashWorker {
  const worker = new Worker(new URL('./hash.worker.ts', import.meta.url), { type: 'module' });
  let fail: (err: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const hw: HashWorker = { worker, api: wrap<HashWorkerApi>(worker), streams: 0, idle: undefined, failed };
  worker.addEventListener('error', function onHashWorkerError(event) {
    event.preventDefault();
    fail(new HangarError(ErrorCode.Internal, `The hashing worker stopped: ${event.message || 'it could not load'}.`));
    retire(hw);
  });
  return hw;
}

function retire(hw: HashWorker): void {
  clearTimeout(hw.idle);
  hw.worker.terminate();
  if (current === hw) current = undefined;
}

async function openWorkerStream(): Promise<Sha256Stream> {
  const hw = (current ??= startWorker());
  clearTimeout(hw.idle);
  hw.streams++;
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    hw.streams--;
    if (hw.streams === 0 && current === hw) hw.idle = setTimeout(() => retire(hw), HASH_WORKER_IDLE_MS);
  };
  const call = <T>(p: Promise<T>): Promise<T> => Promise.race([p, hw.failed]);
  let id: number;
  try {
    id = await call(hw.api.open());
  } catch (err) {
    close();
    throw err;
  }
  return {
    update: (chunk) => call(hw.api.update(id, transfer(chunk, [chunk]))),
    // A Blob crosses to the worker as a handle, not bytes; the worker reads it there.
    updateBlob: (blob) => call(hw.api.updateBlob(id, blob)),
    digest: async () => {
      try {
        return await call(hw.api.digest(id));
      } finally {
        close();
      }
    },
    abort: () => {
      if (!open) return;
      call(hw.api.abort(id)).catch(() => undefined);
      close();
    },
  };
}
