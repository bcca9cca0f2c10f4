-- Webhooks to bank systems (issue 14).
-- The WebhookEndpoint aggregate (its own stream in stored_events) is the source of truth for
-- an endpoint's url, event types, enabled state and which secrets sign. These tables hold
-- what cannot or should not be events: the signing secrets (wrapped under the master key,
-- never in clear) and the delivery log (an outbox written with the deliverer's position).

-- Finding a tenant's endpoints without scanning the event store.
CREATE INDEX stored_events_webhook_endpoints ON stored_events (tenant_id, originator_id)
    WHERE topic = 'ledger.domain.webhooks.endpoint:WebhookEndpoint.Registered';

CREATE TABLE webhook_secrets (
    secret_id     uuid        PRIMARY KEY,
    endpoint_id   uuid        NOT NULL,
    tenant_id     text        NOT NULL,
    wrapped       bytea       NOT NULL,   -- nonce || AES-256-GCM(master key, secret)
    master_key_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_secrets_endpoint ON webhook_secrets (endpoint_id);

-- One row per (endpoint, event): written by the deliverer in the same transaction as its
-- feed position, so an event is never lost or skipped; webhook_id is stable across attempts.
CREATE TABLE webhook_deliveries (
    delivery_id      uuid        PRIMARY KEY,
    webhook_id       text        NOT NULL,
    endpoint_id      uuid        NOT NULL,
    tenant_id        text        NOT NULL,
    shard            integer     NOT NULL,
    case_id          uuid        NOT NULL,
    case_version     bigint      NOT NULL,
    seq              bigint      NOT NULL,   -- feed order (notification order within the shard)
    event_type       text        NOT NULL,
    payload          bytea       NOT NULL,   -- the JSON body, without debtor personal data
    status           text        NOT NULL DEFAULT 'pending',  -- pending | delivered | cancelled
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    recorded_at      timestamptz NOT NULL,   -- the event's record time (lag is measured from it)
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    requeued         boolean     NOT NULL DEFAULT false,  -- redelivery asked: the owner picks it up
    UNIQUE (endpoint_id, case_id, case_version)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (shard, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_requeued ON webhook_deliveries (shard) WHERE requeued;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, tenant_id, created_at, delivery_id);

CREATE TABLE webhook_attempts (
    delivery_id  uuid        NOT NULL,
    attempt      integer     NOT NULL,
    at           timestamptz NOT NULL,
    status_code  integer,
    error        text,
    duration_ms  integer     NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Per endpoint: since when it has been failing (3 days disables it) and its last success.
CREATE TABLE webhook_endpoint_health (
    endpoint_id     uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL,
    failing_since   timestamptz,
    last_success_at timestamptz,
    last_failure_at timestamptz
);
