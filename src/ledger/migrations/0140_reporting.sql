-- Reporting for BI tools (issue 16): stable views in schema `reporting` over the read models,
-- readable by per-tenant login roles (`ledger reporting-role create`) through row-level
-- security. Columns are documented in docs/REPORTING.md and pinned by a test.
--
-- How tenant isolation is enforced, not merely agreed on:
-- * The views are owned by `ledger_reporting`, a NOLOGIN role that is neither superuser nor
--   the tables' owner, so PostgreSQL applies the rm_ tables' row-level security to it whenever
--   anybody reads through a view (a view reads its tables with its owner's rights).
-- * A RESTRICTIVE policy for `ledger_reporting` lets through only rows whose tenant_id is the
--   tenant registered for `current_user` (inside a view, current_user is still the login role
--   that asked) in `reporting_roles`; a permissive policy for everyone else keeps the app's
--   own access unchanged (the owner and superusers bypass row security anyway).
-- * A reporting login role is granted USAGE on the schema and SELECT on the views, nothing else.
--
-- `ledger rebuild` swaps fresh rm_ tables in; it calls reporting_install() in the swap's
-- transaction so the views, row security and grants follow the new tables.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_reporting') THEN
        CREATE ROLE ledger_reporting NOLOGIN;
    END IF;
EXCEPTION
    -- Roles are per server: another database being migrated at the same moment created it.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Which tenant each reporting login role may read. Not readable by the login roles themselves.
CREATE TABLE reporting_roles (
    role_name  name        PRIMARY KEY,
    tenant_id  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE SCHEMA reporting;
COMMENT ON SCHEMA reporting IS 'Stable views for BI tools; columns documented in docs/REPORTING.md';

-- search_path FROM CURRENT: the views bind to the rm_ tables of the schema Ledger migrates.
CREATE FUNCTION reporting_install() RETURNS void LANGUAGE plpgsql
SET search_path FROM CURRENT AS $install$
DECLARE
    source text;
BEGIN
    CREATE OR REPLACE VIEW reporting.cases AS
    SELECT tenant_id, case_id, external_ref, portfolio, product, currency,
           ledger_case_status(base_status, holds, now()) AS status,
           placed_at, to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM') AS cohort,
           placed_amount, principal, interest, fees, past_due_amount, paid_total, balance,
           ledger_dpd(now(), placed_at, placed_dpd, past_due_amount, cured_at, timezone)
               AS days_past_due,
           ledger_dpd_bucket(ledger_dpd(now(), placed_at, placed_dpd, past_due_amount,
                                        cured_at, timezone)) AS dpd_bucket,
           assigned_to, promise_status, promise_amount, promise_due AS promise_due_date,
           last_contact_at, closed_at, close_reason
    FROM rm_cases;

    CREATE OR REPLACE VIEW reporting.payments AS
    SELECT p.tenant_id, p.case_id, p.external_id, p.amount, c.currency, p.received_at,
           p.reversed, p.agent, p.channel, p.portfolio, p.placed_at
    FROM rm_payments p JOIN rm_cases c USING (tenant_id, case_id);

    CREATE OR REPLACE VIEW reporting.promises AS
    SELECT p.tenant_id, p.case_id, p.promise_id, p.agent, p.portfolio, p.amount, c.currency,
           p.made_at, p.due_date, p.status
    FROM rm_promises p JOIN rm_cases c USING (tenant_id, case_id);

    CREATE OR REPLACE VIEW reporting.contacts AS
    SELECT tenant_id, day, agent, channel, attempts, contacts, right_party, inbound
    FROM rm_contact_stats;

    CREATE OR REPLACE VIEW reporting.recovery_daily AS
    WITH placed AS (
        SELECT tenant_id, (placed_at AT TIME ZONE 'UTC')::date AS day, portfolio, currency,
               count(*) AS cases_placed, sum(placed_amount)::int8 AS placed_amount
        FROM rm_cases GROUP BY 1, 2, 3, 4
    ), paid AS (
        SELECT p.tenant_id, (p.received_at AT TIME ZONE 'UTC')::date AS day, p.portfolio,
               c.currency, count(*) FILTER (WHERE NOT p.reversed) AS payments,
               coalesce(sum(p.amount) FILTER (WHERE NOT p.reversed), 0)::int8
                   AS recovered_amount,
               count(*) FILTER (WHERE p.reversed) AS reversed_payments
        FROM rm_payments p JOIN rm_cases c USING (tenant_id, case_id)
        GROUP BY 1, 2, 3, 4
    )
    SELECT tenant_id, day, portfolio, currency,
           coalesce(placed.cases_placed, 0) AS cases_placed,
           coalesce(placed.placed_amount, 0) AS placed_amount,
           coalesce(paid.payments, 0) AS payments,
           coalesce(paid.recovered_amount, 0) AS recovered_amount,
           coalesce(paid.reversed_payments, 0) AS reversed_payments
    FROM placed FULL JOIN paid USING (tenant_id, day, portfolio, currency);

    CREATE OR REPLACE VIEW reporting.breaches AS
    SELECT tenant_id, case_id, version, ordinal, rule, detail, agent, channel, occurred_at,
           recorded_at
    FROM rm_breaches;

    FOREACH source IN ARRAY ARRAY['cases', 'payments', 'promises', 'contacts',
                                  'recovery_daily', 'breaches'] LOOP
        EXECUTE format('ALTER VIEW reporting.%I OWNER TO ledger_reporting', source);
    END LOOP;

    FOREACH source IN ARRAY ARRAY['rm_cases', 'rm_payments', 'rm_promises', 'rm_contact_stats',
                                  'rm_breaches'] LOOP
        EXECUTE format('GRANT SELECT ON %I TO ledger_reporting', source);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', source);
        EXECUTE format('DROP POLICY IF EXISTS ledger_everyone ON %I', source);
        EXECUTE format('CREATE POLICY ledger_everyone ON %I FOR ALL TO PUBLIC '
                       'USING (true) WITH CHECK (true)', source);
        EXECUTE format('DROP POLICY IF EXISTS reporting_tenant ON %I', source);
        EXECUTE format('CREATE POLICY reporting_tenant ON %I AS RESTRICTIVE FOR ALL '
                       'TO ledger_reporting USING (tenant_id = (SELECT r.tenant_id '
                       'FROM reporting_roles r WHERE r.role_name = current_user))', source);
    END LOOP;
    GRANT SELECT ON reporting_roles TO ledger_reporting;
    GRANT USAGE ON SCHEMA reporting TO ledger_reporting;
END
$install$;

SELECT reporting_install();
