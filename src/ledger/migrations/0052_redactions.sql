-- Recorded redactions (issue 11, trust-data): a placement stored with the debtor in clear by a
-- release older than sealing can be redacted in place by the schema owner (`ledger
-- redact-legacy`). The event keeps its chain_hash; this row records, signed with the checkpoint
-- key, the SHA-256 of the state that replaced the original, so `ledger verify`, the API's verify
-- and docs/verify_export.py accept that one row's hash as given instead of reporting tampering.

CREATE TABLE redactions (
    case_id      uuid        NOT NULL,
    version      bigint      NOT NULL,
    redacted_at  timestamptz NOT NULL,
    reason       text        NOT NULL,
    chain_hash   bytea       NOT NULL CHECK (octet_length(chain_hash) = 32),
    state_sha256 bytea       NOT NULL CHECK (octet_length(state_sha256) = 32),
    public_key   bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    signature    bytea       NOT NULL CHECK (octet_length(signature) = 64),
    PRIMARY KEY (case_id, version)
);

CREATE TRIGGER redactions_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON redactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_event_change();

DO $$
DECLARE
    grantee_name text;
BEGIN
    FOR grantee_name IN
        SELECT DISTINCT grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = 'redactions'
          AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
          AND grantee NOT IN ('PUBLIC', current_user)
          AND grantee <> (SELECT tableowner FROM pg_tables
                          WHERE schemaname = current_schema() AND tablename = 'redactions')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON redactions FROM %I',
                       grantee_name);
    END LOOP;
END
$$;
