-- DESIGN §3a: the status a version's creator declared (`pending` while it is being made,
-- `ready` once its creator says it is done, `failed`) is kept apart from `status`, the status
-- served, which the server derives from it and from the version's uploaded artifacts' bytes.
ALTER TABLE versions ADD COLUMN declared_status TEXT NOT NULL DEFAULT 'ready'
  CHECK (declared_status IN ('pending', 'ready', 'failed'));

-- Rows made before: a failed version was declared failed; a pending one that waits for no
-- bytes can only have been created pending; every other one was created ready. So no served
-- status changes here.
UPDATE versions SET declared_status = CASE
  WHEN status = 'failed' THEN 'failed'
  WHEN status = 'pending' AND NOT EXISTS (
    SELECT 1 FROM artifacts a WHERE a.parent_id = versions.id AND a.url IS NULL AND NOT EXISTS (
      SELECT 1 FROM blob_grants g JOIN blobs b ON b.sha256 = g.sha256
      WHERE g.namespace = a.namespace AND g.sha256 = a.sha256 AND b.size = a.size)) THEN 'pending'
  ELSE 'ready'
END;
