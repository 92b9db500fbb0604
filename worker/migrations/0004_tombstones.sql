-- Metadata deletes keep a tombstone (DESIGN §3 "deletes"): the row stays with the delete's
-- clock in `hlc` and `deleted = 1`, so a `metadata.set` stamped before the delete cannot bring
-- the key back (the upsert only wins with a later clock) while a later one can. Every read
-- (GET metadata, listings, filters) skips tombstones. Existing rows are live keys.
ALTER TABLE metadata ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
