-- The trash and the scheduled sweeps (DESIGN §3b).
--
-- A deleted model or version is an entry of its namespace's trash, restorable until it is
-- purged (by an admin, or by the scheduled handler once `LIMITS.trashDays` have passed). The
-- entry's id is the deleted thing's id. The versions a model's delete took with it have no entry
-- of their own: they belong to the model's, and come back with it. `purging` = 1: an admin or
-- the expiry asked for the purge and the scheduled handler is freeing the rows (it is no longer
-- listed nor restorable).
CREATE TABLE trash (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('model', 'version')),
  model_id TEXT NOT NULL,
  deleted_at INTEGER NOT NULL,
  token_id TEXT,
  token_name TEXT,
  purging INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX trash_namespace ON trash (namespace, purging, deleted_at, id);
CREATE INDEX trash_expiry ON trash (purging, deleted_at);
CREATE INDEX trash_model ON trash (model_id);

-- Tombstones made before this migration become trash entries: every deleted model, and every
-- deleted version not deleted together with its deleted model (those share its `deleted_at`).
INSERT INTO trash (id, namespace, kind, model_id, deleted_at)
  SELECT id, namespace, 'model', id, deleted_at FROM models WHERE deleted_at IS NOT NULL;
INSERT INTO trash (id, namespace, kind, model_id, deleted_at)
  SELECT v.id, v.namespace, 'version', v.model_id, v.deleted_at FROM versions v JOIN models m ON m.id = v.model_id
  WHERE v.deleted_at IS NOT NULL AND (m.deleted_at IS NULL OR v.deleted_at <> m.deleted_at);

-- Purging and the blob sweep look things up by id and digest across namespaces.
CREATE INDEX versions_model ON versions (model_id, deleted_at);
CREATE INDEX artifacts_sha256 ON artifacts (sha256);
CREATE INDEX artifacts_model ON artifacts (model_id);
CREATE INDEX metadata_namespace_parent ON metadata (parent_id);
CREATE INDEX uploads_sha256 ON uploads (sha256);
CREATE INDEX uploads_created ON uploads (created_at);
CREATE INDEX alias_history_model ON alias_history (model_id);

-- When the blob sweep first found a blob that no artifact, upload or trash entry references
-- (NULL: referenced, or not looked at yet). It is deleted once `LIMITS.blobGraceHours` have
-- passed since, and it is still unreferenced; bytes stored again clear it.
ALTER TABLE blobs ADD COLUMN unreferenced_since INTEGER;
CREATE INDEX blobs_unreferenced ON blobs (unreferenced_since) WHERE unreferenced_since IS NOT NULL;

-- R2 objects whose blob row is gone, to delete: the row goes first (so nothing serves the
-- object), the object next, then this row; an interrupted sweep finishes it on its next run.
CREATE TABLE blob_deletions (
  r2_key TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL,
  at INTEGER NOT NULL
);

-- How far each client has pulled (the cursor it last pulled from) and when it was last seen,
-- so the change log can be compacted below every known client's cursor.
CREATE TABLE sync_cursors (
  namespace TEXT NOT NULL,
  client_id TEXT NOT NULL,
  cursor INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, client_id)
);
CREATE INDEX sync_cursors_seen ON sync_cursors (seen_at);
CREATE INDEX sync_clients_updated ON sync_clients (updated_at);

-- The change log's compaction floor per namespace: every row at or below `seq` may be gone,
-- so a pull from a cursor below it answers `snapshot-required`.
CREATE TABLE change_log_floors (
  namespace TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);
CREATE INDEX change_log_at ON change_log (namespace, at);

-- Where the scheduled blob sweep stopped (it walks the blobs in digest order, a slice a run).
CREATE TABLE sweep_cursors (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
