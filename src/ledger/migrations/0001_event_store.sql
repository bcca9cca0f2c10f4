-- Event store: the append-only log of domain events, idempotency records written atomically
-- with the events they produced, and aggregate snapshots (a disposable optimisation).
-- Column names of the first five columns match the eventsourcing library's recorder.

CREATE TABLE stored_events (
    originator_id      uuid        NOT NULL,
    originator_version bigint      NOT NULL,
    topic              text        NOT NULL,
    state              bytea       NOT NULL,
    notification_id    bigserial   NOT NULL,
    -- The feed is ordered by (transaction_id, notification_id); readers only take rows whose
    -- transaction_id is below the oldest running transaction, so late commits are never skipped.
    transaction_id     xid8        NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    tenant_id          text        NOT NULL,
    actor              text,
    correlation_id     uuid,
    causation_id       uuid,
    chain_hash         bytea       NOT NULL,
    CONSTRAINT stored_events_pkey PRIMARY KEY (originator_id, originator_version),
    CONSTRAINT stored_events_notification_id_key UNIQUE (notification_id),
    CONSTRAINT stored_events_version_positive CHECK (originator_version >= 1),
    CONSTRAINT stored_events_chain_hash_length CHECK (octet_length(chain_hash) = 32)
);

CREATE INDEX stored_events_feed_idx
    ON stored_events (transaction_id, notification_id);
CREATE INDEX stored_events_tenant_feed_idx
    ON stored_events (tenant_id, transaction_id, notification_id);

CREATE TABLE idempotency_keys (
    tenant_id    text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL,
    response     bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, key)
);

-- recorded_at and chain_hash are those of the event at originator_version, so a load bounded
-- by version or record time can tell whether the snapshot lies within the bound, and a save
-- after a snapshot-only load can still chain.
CREATE TABLE snapshots (
    tenant_id          text        NOT NULL,
    originator_id      uuid        NOT NULL,
    originator_version bigint      NOT NULL,
    topic              text        NOT NULL,
    state              bytea       NOT NULL,
    recorded_at        timestamptz NOT NULL,
    chain_hash         bytea       NOT NULL,
    CONSTRAINT snapshots_pkey PRIMARY KEY (originator_id, originator_version)
);
