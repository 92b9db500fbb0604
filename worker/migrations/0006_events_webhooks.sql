-- Who did what (DESIGN §5) and webhooks (DESIGN §4).
--
-- Every change-log row records the token (id and name) that made it, written in the same
-- batch as the change. Rows from before this migration have neither (NULL: unknown).
ALTER TABLE change_log ADD COLUMN token_id TEXT;
ALTER TABLE change_log ADD COLUMN token_name TEXT;

-- A namespace's webhooks. `events` is a JSON array of event types; `secret` is `whsec_…`.
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  token_id TEXT
);
CREATE INDEX webhooks_namespace ON webhooks (namespace);

-- How far into the change log each namespace's webhook events were made into deliveries.
CREATE TABLE webhook_cursors (
  namespace TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);

-- One event for one webhook; its id is the `webhook-id` header, the same on every attempt.
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  webhook_id TEXT NOT NULL,
  namespace TEXT NOT NULL,
  event TEXT NOT NULL,
  payload TEXT NOT NULL,            -- JSON body sent
  status TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status_code INTEGER,
  next_attempt_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

-- Every attempt of a delivery, with the receiver's status code (NULL when it never answered).
CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
