import type { HangarDb } from './db.ts';
import type { MetricQueue } from './metrics-queue.ts';
import type { Writer } from './writer.ts';

/** What every part of an open registry shares. */
export interface ClientContext {
  db: HangarDb;
  writer: Writer;
  metrics: MetricQueue;
}

/** What metrics, metadata and artifacts hang off: a model or one of its versions. */
export interface ParentRef {
  kind: 'model' | 'version';
  /** The model's id or the version's. */
  id: string;
  namespace: string;
  modelId: string;
}
