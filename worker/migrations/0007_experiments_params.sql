-- Experiments, runs and params (DESIGN §1 "Experiments and runs").
--
-- A model's kind: a registered `model` (every model made before) or an MLflow-style
-- `experiment`, whose versions are its runs. Set at create, never changed.
ALTER TABLE models ADD COLUMN kind TEXT NOT NULL DEFAULT 'model' CHECK (kind IN ('model', 'experiment'));
CREATE INDEX models_namespace_kind ON models (namespace, kind, name);

-- Lineage: the version (an experiment's run) a registered version was made from. Set at
-- create, never changed; NULL for every version made before.
ALTER TABLE versions ADD COLUMN source_version_id TEXT;
CREATE INDEX versions_source ON versions (source_version_id) WHERE source_version_id IS NOT NULL;

-- A version's params: set once per key (the same value again is harmless, another value is
-- refused with `param-changed`), so there is no clock race to settle and no tombstone: `hlc`
-- is the clock of the write that set it. `num` is the value as a number when the whole value is
-- a decimal number (shared/params.ts `paramNumber`), else NULL, so filters compare params with
-- numbers as the browser does. A version's params go with the version when it is purged.
CREATE TABLE params (
  namespace TEXT NOT NULL,
  parent_id TEXT NOT NULL,          -- the version's id
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  num REAL,
  hlc TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (parent_id, key)
);
