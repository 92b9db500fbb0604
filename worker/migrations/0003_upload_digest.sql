-- A multipart upload sent in order is hashed as its parts arrive (worker/domain/running-digest.ts):
-- how many leading parts the running digest covers, and its state (JSON) after them.
ALTER TABLE uploads ADD COLUMN hashed_parts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN digest_state TEXT;
