// What the elements read, behind one interface: a client instance in the page (its IndexedDB,
// live) or a Hangar server over HTTP with a bearer token. Elements never know which.
import type { Artifact } from '../../shared/artifacts.ts';
import type { ByteProgress } from '../client/read-body.ts';
import type { MetricPoint, MetricSummary } from '../../shared/metrics.ts';
import type { VersionStatus } from '../../shared/versions.ts';

export interface ModelSummary {
  namespace: string;
  name: string;
  owner: string | null;
  task: string | null;
  description: string | null;
  updatedAt: string;
}

export interface ModelDetail extends ModelSummary {
  metadata: Record<string, unknown>;
  /** alias → version number */
  aliases: Record<string, number>;
}

export interface VersionSummary {
  namespace: string;
  model: string;
  number: number;
  /** False while the number is provisional (a local version not yet numbered by a server). */
  numberConfirmed: boolean;
  /** The optional label, unique per model. */
  version: string | null;
  name: string | null;
  description: string | null;
  framework: string | null;
  status: VersionStatus;
  /** Aliases pointing at this version. */
  uniqueTags: string[];
  createdAt: string;
}

export interface VersionDetail extends VersionSummary {
  metadata: Record<string, unknown>;
}

/** A model (no `number`) or one of its versions. */
export interface Target {
  namespace: string;
  model: string;
  number?: number;
}

/** A point as a chart takes it; downsampled buckets also carry `min` and `max`. */
export type ChartPoint = MetricPoint & { min?: number; max?: number };

export interface CheckpointSummary {
  handle: string;
  createdAt: string;
  /** Files in the checkpoint, when the source lists them. */
  files?: number;
}

export interface WidgetSource {
  /** Where the data comes from, for messages: "this browser" or the server's URL. */
  readonly label: string;
  /** Models, filtered with the API's filter language; every namespace when none is given. */
  models(opts: { namespace?: string; filter?: string }): Promise<ModelSummary[]>;
  model(namespace: string, name: string): Promise<ModelDetail>;
  versions(namespace: string, model: string): Promise<VersionSummary[]>;
  /** A version by reference: `ns/m/3`, `ns/m@alias`, or `ns/m` (latest ready). */
  version(ref: string): Promise<VersionDetail>;
  metrics(target: Target): Promise<Record<string, MetricSummary>>;
  /** A metric's points by step; at most `maxPoints` (downsampled) when given. */
  metricHistory(target: Target, key: string, opts?: { maxPoints?: number }): Promise<ChartPoint[]>;
  artifacts(target: Target): Promise<Artifact[]>;
  /** An artifact's bytes, for a download link; `onProgress` counts bytes as they arrive. */
  readArtifact(target: Target, path: string, onProgress?: (p: ByteProgress) => void): Promise<Blob>;
  checkpoints(target: Target & { number: number }): Promise<{ items: CheckpointSummary[]; default: string | null }>;
  /**
   * Runs `query` now and, where the source can tell, again whenever its data changes (client
   * mode: any tab's write; server mode: the server's live socket pokes a namespace read). Returns a function that stops watching.
   */
  watch<T>(query: () => Promise<T>, next: (value: T) => void, error: (err: unknown) => void): () => void;
}

/** A readable message for any failure, HangarError or not. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
