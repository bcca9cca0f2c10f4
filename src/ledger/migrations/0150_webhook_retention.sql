-- Finished deliveries by shard and end time, for the retention pass (ledger.webhooks.retention):
-- it finds the old ones without reading the whole table. Partial: pending rows, the queue,
-- are not in it.
CREATE INDEX webhook_deliveries_finished
    ON webhook_deliveries (shard, (coalesce(delivered_at, last_attempt_at, created_at)))
    WHERE status IN ('delivered', 'cancelled');
