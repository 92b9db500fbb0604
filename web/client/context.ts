import type { BlobCollector } from './blob-gc.ts';
import type { HangarDb } from './db.ts';
import type { MetricQueue } from './metrics-queue.ts';
import type { Writer } from './writer.ts';

/** What every part of an open registry shares. */
export interface ClientContext {
  db: HangarDb;
  writer: Writer;
  metrics: MetricQueue;
  /** Frees blobs nothing references once a delete commits; absent on contexts built for tests. */
  gc?: BlobCollector;
  /** Fetches bytes this device lacks from the server; set while sync is configured. */
  remote?: RemoteBlobs;
  /** Fetches metric history this device lacks (a key known from a snapshot); set while sync is configured. */
  history?: RemoteHistory;
}

/** Where metric history not on this device comes from (DESIGN §6 "Bootstrap"). */
export interface RemoteHistory {
  /** Fetches a key's whole history and keeps it here; resolves when it is on this device. */
  fetch(parent: ParentRef, key: string): Promise<void>;
}

/** Where bytes not on this device come from. */
export interface RemoteBlobs {
  /** Downloads, verifies and stores the blob; resolves when it is on this device. */
  fetch(namespace: string, sha256: string, size: number | null, onProgress?: (loaded: number, total: number) => void): Promise<void>;
}

/** What metrics, metadata and artifacts hang off: a model or one of its versions. */
export interface ParentRef {
  kind: 'model' | 'version';
  /** The model's id or the version's. */
  id: string;
  namespace: string;
  modelId: string;
}
