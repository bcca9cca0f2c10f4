-- reporting_install() takes its tables' locks before it changes any of them.
--
-- GRANT takes no lock on the table it changes, yet it rewrites the table's pg_class row. When
-- a VACUUM (autovacuum) was already working on that table, the VACUUM's closing update of the
-- same row waits for our transaction, while the ALTER TABLE right after the GRANT waits for
-- the VACUUM: a deadlock, which failed `ledger rebuild`'s swap (seen on a benchmark's first
-- rebuild). Waiting for every lock first leaves no cycle: PostgreSQL cancels an autovacuum
-- that blocks a lock request, and no row of ours is changed while we wait.

ALTER FUNCTION reporting_install() RENAME TO reporting_install_unlocked;

CREATE FUNCTION reporting_install() RETURNS void LANGUAGE plpgsql
SET search_path FROM CURRENT AS $install$
BEGIN
    LOCK TABLE rm_cases, rm_payments, rm_promises, rm_contact_stats, rm_breaches
        IN ACCESS EXCLUSIVE MODE;
    PERFORM reporting_install_unlocked();
END
$install$;
