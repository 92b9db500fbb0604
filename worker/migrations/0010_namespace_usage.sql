-- Quotas and usage (DESIGN §3b, §4 `…/usage`): one row per namespace with what it uses and the
-- quotas an admin set (NULL: none). A write past a quota fails the row's CHECK constraint in
-- the write's own batch, so D1 rolls the whole batch back: nothing is half-written.
--
--  metric_points  points stored for the namespace (of live and deleted parents alike: they take
--                 space until purged); a counter, moved in the same batch as every write of
--                 points and every delete of them, so no write counts points. Counted here from
--                 the per-key summaries of migration 0009 (`metric_series.count`).
--  models         live models (not deleted); counted again, over the namespace's own rows, in
--                 the batch of every create.
--  blob_bytes     bytes of the distinct blobs the namespace holds grants to (uploaded, and so
--                 proved it holds); counted again in the batch of every grant.
CREATE TABLE namespace_usage (
  namespace TEXT PRIMARY KEY,
  metric_points INTEGER NOT NULL DEFAULT 0,
  models INTEGER NOT NULL DEFAULT 0,
  blob_bytes INTEGER NOT NULL DEFAULT 0,
  quota_metric_points INTEGER,
  quota_models INTEGER,
  quota_blob_bytes INTEGER,
  updated_at INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT metric_points_quota CHECK (quota_metric_points IS NULL OR metric_points <= quota_metric_points),
  CONSTRAINT models_quota CHECK (quota_models IS NULL OR models <= quota_models),
  CONSTRAINT blob_bytes_quota CHECK (quota_blob_bytes IS NULL OR blob_bytes <= quota_blob_bytes)
);

-- What existing namespaces use now (no quotas yet).
INSERT INTO namespace_usage (namespace, metric_points, models, blob_bytes, updated_at)
SELECT n.name,
  (SELECT COALESCE(SUM(s.count), 0) FROM metric_series s WHERE s.namespace = n.name),
  (SELECT COUNT(*) FROM models o WHERE o.namespace = n.name AND o.deleted_at IS NULL),
  (SELECT COALESCE(SUM(b.size), 0) FROM blob_grants g JOIN blobs b ON b.sha256 = g.sha256 WHERE g.namespace = n.name),
  CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
FROM namespaces n;
