import { z } from 'zod';
import type { FileType } from './artifacts.ts';
import type { ModelKind } from './models.ts';
import type { VersionStatus } from './versions.ts';

/**
 * `GET /namespaces/{ns}/sync/snapshot` (DESIGN §6 "Bootstrap"): a namespace's current state
 * without metric history, in pages. Each page is read in one consistent batch with the change
 * log's position then (`cursor`); a client applies every page and then pulls from the FIRST
 * page's cursor, so whatever changed while it paged comes again and merges as the same data.
 * Models and versions come with their tombstones (a device that fell behind learns its
 * deletes); metadata with its tombstones; metric history only as a summary per key.
 */

export interface SnapshotModel {
  id: string;
  name: string;
  kind: ModelKind;
  owner: string | null;
  task: string | null;
  description: string | null;
  /** Field → clock of its last write (`deleted`: the delete's). */
  clocks: Record<string, string>;
  createdAt: number;
  deletedAt: number | null;
}

export interface SnapshotVersion {
  id: string;
  modelId: string;
  number: number;
  version: string | null;
  name: string | null;
  description: string | null;
  framework: string | null;
  status: VersionStatus;
  /** The run a registered version came from (its lineage). */
  sourceVersionId: string | null;
  clocks: Record<string, string>;
  createdAt: number;
  deletedAt: number | null;
}

export interface SnapshotMetadata {
  parentId: string;
  key: string;
  value: unknown;
  hlc: string;
  /** A tombstone: deleted at `hlc`. */
  deleted: boolean;
}

export interface SnapshotAlias {
  modelId: string;
  alias: string;
  versionId: string;
}

export interface SnapshotArtifact {
  id: string;
  modelId: string;
  parentId: string;
  path: string;
  mimeType: string;
  fileType: FileType;
  size: number | null;
  sha256: string | null;
  url: string | null;
  createdAt: number;
}

export interface SnapshotCheckpoint {
  versionId: string;
  handle: string;
  /** For `default`: the handle it names. */
  target: string | null;
}

/** A version's param (write-once, DESIGN §1). */
export interface SnapshotParam {
  parentId: string;
  key: string;
  value: string;
  hlc: string;
}

/** A metric key's summary on one parent; `last` is the point with the greatest (step, wallclock, id). */
export interface SnapshotMetric {
  parentId: string;
  key: string;
  count: number;
  min: number;
  max: number;
  last: number;
  lastStep: number;
  lastWallclock: number;
  lastId: string;
}

export interface SnapshotPage {
  /** The change log's position this page is consistent with. */
  cursor: number;
  models: SnapshotModel[];
  versions: SnapshotVersion[];
  metadata: SnapshotMetadata[];
  aliases: SnapshotAlias[];
  artifacts: SnapshotArtifact[];
  checkpoints: SnapshotCheckpoint[];
  params: SnapshotParam[];
  metrics: SnapshotMetric[];
  /** Present while more pages follow: pass it back as `pageToken`. */
  nextPageToken?: string;
}

/** Query of `GET /namespaces/{ns}/sync/snapshot`. */
export const snapshotQuerySchema = z.object({
  pageToken: z.string().max(2048).optional(),
});
