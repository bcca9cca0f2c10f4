-- Tamper resistance (issue 11, trust-data). stored_events is append-only: UPDATE, DELETE and
-- TRUNCATE are refused for every role, owner included. Getting past this takes a deliberate,
-- visible act (a superuser setting session_replication_role = replica, or the owner running
-- ALTER TABLE ... DISABLE TRIGGER); what such a writer can still do is caught by the signed
-- checkpoints (0051) and documented in src/ledger/eventstore/CHAIN.md. The API should in any
-- case connect as a role with only INSERT and SELECT on this table (README, docker/).

CREATE FUNCTION ledger_refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'events are never changed or removed; record a new fact instead';
END
$$;

CREATE TRIGGER stored_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON stored_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_event_change();

-- Last line of defence for erasure: a placement whose debtor is not sealed with the case's
-- data key (a writer that bypassed ledger.services.repositories) is refused, because its
-- personal data could never be erased afterwards.
CREATE FUNCTION ledger_refuse_unsealed_placement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT coalesce(convert_from(NEW.state, 'UTF8')::jsonb -> 'debtor' ? 'sealed', false) THEN
        RAISE EXCEPTION 'a placement must be stored with its debtor data sealed'
            USING ERRCODE = 'check_violation',
                  HINT = 'build the repository with ledger.services.repositories.case_repository';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER stored_events_sealed_placements
    BEFORE INSERT ON stored_events
    FOR EACH ROW WHEN (NEW.topic = 'ledger.domain.case:Case.Placed')
    EXECUTE FUNCTION ledger_refuse_unsealed_placement();
