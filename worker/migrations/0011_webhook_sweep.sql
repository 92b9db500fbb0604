-- The scheduled sweep's webhook step (DESIGN §3b: nothing grows without bound) looks up open
-- deliveries (to queue a stalled one again) and finished ones (to drop them after the
-- retention period) by these two partial indexes, so neither reads the whole table.
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (updated_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (updated_at) WHERE status IN ('delivered', 'failed');
