-- as_of_position on the scale of Ledger-Position and the feed's `position`: the highest
-- notification id among the events a read model has applied (events_applied, a count, stays
-- for lag reports). Feed order is by transaction, so the last applied event need not hold
-- the highest id: the runner keeps the maximum.
ALTER TABLE projection_positions ADD COLUMN max_position bigint NOT NULL DEFAULT 0;
UPDATE projection_positions SET max_position = notification_id;
