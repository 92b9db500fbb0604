-- Hangar's registry in D1. Times are Unix milliseconds. Ids are UUIDs made by whoever created
-- the entity (a model's id is derived from its namespace and name). Deletes are tombstones
-- (`deleted_at`), so sync can tell a delete from a row it never saw.

CREATE TABLE namespaces (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,          -- a namespace, or '*' for every namespace
  role TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  name TEXT NOT NULL,
  digest TEXT NOT NULL UNIQUE,      -- SHA-256 of the token; the token itself is never stored
  origins TEXT,                     -- JSON array of allowed browser origins, or NULL for any
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX tokens_namespace ON tokens (namespace, created_at);

CREATE TABLE models (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  owner TEXT,
  task TEXT,
  description TEXT,
  clocks TEXT NOT NULL DEFAULT '{}', -- JSON: field -> hybrid logical clock of its last write
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  UNIQUE (namespace, name)
);
CREATE INDEX models_namespace_created ON models (namespace, created_at, id);
CREATE INDEX models_namespace_updated ON models (namespace, updated_at, id);

CREATE TABLE versions (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  model_id TEXT NOT NULL REFERENCES models (id),
  number INTEGER NOT NULL,
  version TEXT,                     -- optional label, unique per model
  name TEXT,
  description TEXT,
  framework TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
  clocks TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  UNIQUE (model_id, number)
);
CREATE UNIQUE INDEX versions_label ON versions (model_id, version) WHERE version IS NOT NULL AND deleted_at IS NULL;

-- Metadata of models and versions: one row per key, last writer (by clock) wins.
CREATE TABLE metadata (
  namespace TEXT NOT NULL,
  parent_id TEXT NOT NULL,          -- a model's or a version's id
  key TEXT NOT NULL,
  value TEXT NOT NULL,              -- JSON
  hlc TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (parent_id, key)
);

-- Metric points: append-only, identified by id, so replays never duplicate.
CREATE TABLE metrics (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value REAL NOT NULL,
  step INTEGER NOT NULL,
  wallclock INTEGER NOT NULL
);
CREATE INDEX metrics_series ON metrics (parent_id, key, step, wallclock, id);

CREATE TABLE aliases (
  model_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  namespace TEXT NOT NULL,
  version_id TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (model_id, alias)
);
CREATE INDEX aliases_version ON aliases (version_id);

CREATE TABLE alias_history (
  id TEXT PRIMARY KEY,
  model_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  version_id TEXT,                  -- NULL when the alias was deleted
  previous_version_id TEXT,
  token_id TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX alias_history_alias ON alias_history (model_id, alias, at);

-- Artifacts: immutable; uploaded ones name a blob by digest, tracked ones a URL.
CREATE TABLE artifacts (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  model_id TEXT NOT NULL,
  parent_id TEXT NOT NULL,          -- the model's id, or the version's
  path TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  file_type TEXT NOT NULL,
  size INTEGER,
  sha256 TEXT,
  url TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (parent_id, path)
);
CREATE INDEX artifacts_blob ON artifacts (namespace, sha256);

-- Checkpoint handles of a version; their files are the version's artifacts under
-- `checkpoints/<handle>/`. The `default` handle names another handle in `target`.
CREATE TABLE checkpoints (
  version_id TEXT NOT NULL,
  handle TEXT NOT NULL,
  namespace TEXT NOT NULL,
  target TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (version_id, handle)
);

-- Blobs: one R2 object per SHA-256, shared across namespaces; a row means verified bytes.
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  r2_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- A namespace may read a blob only once it has uploaded (and so proved it holds) the bytes.
CREATE TABLE blob_grants (
  namespace TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, sha256)
);

CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  part_size INTEGER NOT NULL,
  r2_key TEXT NOT NULL,
  r2_upload_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX uploads_namespace ON uploads (namespace, sha256);

CREATE TABLE upload_parts (
  upload_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  etag TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (upload_id, part_number)
);

-- Every write appends here in the same batch, so sync can replay a namespace's history.
CREATE TABLE change_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace TEXT NOT NULL,
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  op TEXT NOT NULL,
  data TEXT NOT NULL,               -- JSON
  hlc TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX change_log_namespace ON change_log (namespace, seq);
