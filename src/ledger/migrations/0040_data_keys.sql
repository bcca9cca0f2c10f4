-- Crypto-shredding (issue 6): one data key per case encrypts the debtor's personal data
-- (name, phones, emails, address) inside the stored events and snapshots. The key is kept
-- here wrapped (AES-256-GCM) by the master key from LEDGER_MASTER_KEY, never in plaintext.
-- Erasure sets wrapped_key to NULL: the ciphertext in stored_events stays (and so does the
-- hash chain over it) but nobody can read it any more. The row itself stays as a tombstone so
-- that a later placement with the same case id can never bring a key back.

CREATE TABLE data_keys (
    case_id       uuid        PRIMARY KEY,
    tenant_id     text        NOT NULL,
    wrapped_key   bytea,
    -- First 8 bytes of SHA-256 of the master key that wrapped it (hex), to name the key
    -- a row needs instead of failing obscurely after a master-key change.
    master_key_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz,
    CONSTRAINT data_keys_destroyed_has_no_key CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);
