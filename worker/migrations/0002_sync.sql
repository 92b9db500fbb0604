-- Sync (DESIGN §6): each client's last applied mutation per namespace, and the answers that
-- were not a plain `applied`, so a retried push gets the same answer as the first.

CREATE TABLE sync_clients (
  namespace TEXT NOT NULL,
  client_id TEXT NOT NULL,
  token_id TEXT,                    -- the token that first pushed as this client (NULL: admin)
  last_seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, client_id)
);

CREATE TABLE sync_results (
  namespace TEXT NOT NULL,
  client_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  result TEXT NOT NULL,             -- JSON MutationResult
  PRIMARY KEY (namespace, client_id, seq)
);
