-- Inbound contacts by the segment and arm the case was in, so contact metrics grouped by
-- segment or arm add up to the same totals as by channel or agent (they reported inbound 0).
-- Rows projected before this count none until `ledger rebuild strategies`.
ALTER TABLE rm_segment_contacts ADD COLUMN inbound bigint NOT NULL DEFAULT 0;
