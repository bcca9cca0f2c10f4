-- API keys: one tenant and one role each. Only a keyed BLAKE2b digest of the key is stored,
-- so a copy of this table cannot be used to call the API.

CREATE TABLE api_keys (
    key_id      text        PRIMARY KEY,
    key_hash    bytea       NOT NULL,
    tenant_id   text        NOT NULL,
    role        text        NOT NULL,
    label       text,
    -- Requests per second this key may make; NULL means the server default.
    rate_limit  integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_role_check CHECK (
        role IN ('integration', 'agent', 'supervisor', 'analyst', 'auditor', 'admin')
    ),
    CONSTRAINT api_keys_rate_limit_check CHECK (rate_limit IS NULL OR rate_limit > 0)
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);

-- The API deletes idempotency records older than their retention period in batches; this
-- index keeps that sweep from scanning the whole table.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
