/**
 * Web Worker entry: streaming SHA-256 (hash-wasm) off the main thread. The page wraps it with
 * Comlink (`hashing.ts`) and sends chunks as transferred ArrayBuffers, so a multi-GB file is
 * hashed without copying and without blocking the UI. Several streams may be open at once.
 */
import { expose } from 'comlink';
import './comlink-errors.ts';
import { createSHA256, type IHasher } from 'hash-wasm';
import { BlobBytesReader } from './read-blob.ts';

const streams = new Map<number, IHasher>();
let nextId = 1;
/** One read buffer for every Blob this worker hashes, not one per Blob (a file comes as many slices). */
const blobs = new BlobBytesReader();

function stream(id: number): IHasher {
  const hasher = streams.get(id);
  if (!hasher) throw new Error(`No open hash stream ${id}.`);
  return hasher;
}

/** What the page calls through Comlink. */
const hashWorkerApi = {
  /** Opens a stream; returns its id. */
  async open(): Promise<number> {
    const hasher = await createSHA256();
    hasher.init();
    const id = nextId++;
    streams.set(id, hasher);
    return id;
  },
  /** Feeds bytes (transferred, so the page no longer holds them). */
  update(id: number, chunk: ArrayBuffer): void {
    stream(id).update(new Uint8Array(chunk));
  },
  /** Feeds a Blob's bytes, read here through the worker's one reused buffer. */
  async updateBlob(id: number, blob: Blob): Promise<void> {
    const hasher = stream(id);
    await blobs.read(blob, (bytes) => void hasher.update(bytes));
  },
  /** Ends a stream: its digest as lower-case hex. */
  digest(id: number): string {
    const hex = stream(id).digest('hex');
    streams.delete(id);
    return hex;
  },
  /** Drops a stream without a digest. */
  abort(id: number): void {
    streams.delete(id);
  },
};

export type HashWorkerApi = typeof hashWorkerApi;

expose(hashWorkerApi);
