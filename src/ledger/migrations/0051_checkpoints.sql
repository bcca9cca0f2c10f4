-- Signed checkpoints (issue 11, trust-data): every so often the head of every stream
-- (stream, version, chain_hash) as of a feed position is hashed and signed with an Ed25519 key
-- kept outside the database (LEDGER_SIGNING_KEY). `ledger verify` then checks each stream
-- against the latest checkpoint covering it, which finds what a per-stream chain alone cannot:
-- a deleted tail, a deleted stream, a stream rewritten with recomputed hashes.
--
-- checkpoint_heads holds only the streams that changed since the previous checkpoint; the
-- heads as of checkpoint N are, per stream, its row with the highest checkpoint_id <= N.

CREATE TABLE checkpoints (
    checkpoint_id        bigint      PRIMARY KEY,
    created_at           timestamptz NOT NULL,
    -- The feed position covered: the last event (in feed order) included.
    feed_transaction_id  xid8        NOT NULL,
    feed_notification_id bigint      NOT NULL,
    streams              bigint      NOT NULL,
    heads_digest         bytea       NOT NULL CHECK (octet_length(heads_digest) = 32),
    public_key           bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    signature            bytea       NOT NULL CHECK (octet_length(signature) = 64)
);

CREATE TABLE checkpoint_heads (
    checkpoint_id   bigint NOT NULL,
    stream_id       uuid   NOT NULL,
    tenant_id       text   NOT NULL,
    version         bigint NOT NULL,
    chain_hash      bytea  NOT NULL,
    transaction_id  xid8   NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (stream_id, checkpoint_id)
);
CREATE INDEX checkpoint_heads_checkpoint_idx ON checkpoint_heads (checkpoint_id);

CREATE SEQUENCE checkpoint_ids;

-- Append-only like the events they vouch for (function from 0050).
CREATE TRIGGER checkpoints_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_event_change();
CREATE TRIGGER checkpoint_heads_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoint_heads
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_event_change();

-- Whatever roles were granted on these tables (e.g. by ALTER DEFAULT PRIVILEGES for the API's
-- role, docker/postgres-roles.sh), only the owner may do more than read and append there.
DO $$
DECLARE
    grantee_name text;
BEGIN
    FOR grantee_name IN
        SELECT DISTINCT grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema()
          AND table_name IN ('stored_events', 'checkpoints', 'checkpoint_heads')
          AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
          AND grantee NOT IN ('PUBLIC', current_user)
          AND grantee <> (SELECT tableowner FROM pg_tables
                          WHERE schemaname = current_schema() AND tablename = 'stored_events')
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON stored_events, checkpoints, '
                       'checkpoint_heads FROM %I', grantee_name);
    END LOOP;
END
$$;
