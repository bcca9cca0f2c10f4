-- Read side, issue 5 targets: rollups so each metrics query reads a few hundred rows instead
-- of every case and payment, and a stored DPD anchor so bucket filters become date ranges.

-- Recovery figures per placement day and group, one row set per dimension (portfolio, agent,
-- channel; the cohort report sums the portfolio rows by month). The cases projection keeps
-- them with signed deltas: a changed case takes its old contribution out and its new one in,
-- so sums stay exact through backdated facts and reversals. Rows summing to zero may remain;
-- queries skip groups whose case count is 0.
CREATE TABLE rm_recovery_rollup (
    tenant_id     text   NOT NULL,
    dimension     text   NOT NULL,
    placed_day    date   NOT NULL,
    grp           text   NOT NULL,
    placed_amount bigint NOT NULL,
    recovered     bigint NOT NULL,
    cases         bigint NOT NULL,
    cases_paid    bigint NOT NULL,
    CONSTRAINT rm_recovery_rollup_pkey PRIMARY KEY (tenant_id, dimension, placed_day, grp)
);

-- Promise outcomes per due date and group (dimension agent or portfolio), kept the same way.
CREATE TABLE rm_promise_rollup (
    tenant_id text   NOT NULL,
    dimension text   NOT NULL,
    due_date  date   NOT NULL,
    grp       text   NOT NULL,
    made      bigint NOT NULL,
    kept      bigint NOT NULL,
    broken    bigint NOT NULL,
    pending   bigint NOT NULL,
    CONSTRAINT rm_promise_rollup_pkey PRIMARY KEY (tenant_id, dimension, due_date, grp)
);

-- DPD anchor: the debtor-local placement date minus the placement DPD. While a case is not
-- cured, its DPD at an instant t (t at or after placement) is local_date(t) - dpd_anchor, so
-- "in bucket [lo, hi] at t" is "dpd_anchor between local_date(t) - hi and local_date(t) - lo":
-- an index range once widened by a day each side for the debtor's time zone (then rechecked
-- exactly). NULL for a case placed with nothing past due (it never has a bucket).
ALTER TABLE rm_cases ADD COLUMN dpd_anchor date;
CREATE INDEX rm_cases_dpd_anchor_idx ON rm_cases (tenant_id, dpd_anchor);

-- Roll-rate inputs, one narrow row per case that can be past due: scanning these is a few
-- MB where rm_cases (facts included) is tens.
CREATE TABLE rm_case_ageing (
    tenant_id  text        NOT NULL,
    case_id    uuid        NOT NULL,
    placed_at  timestamptz NOT NULL,
    dpd_anchor date        NOT NULL,
    placed_dpd integer     NOT NULL,
    timezone   text        NOT NULL,
    cured_at   timestamptz,
    closed_at  timestamptz,
    CONSTRAINT rm_case_ageing_pkey PRIMARY KEY (tenant_id, case_id)
);
-- The roll-rate query works out local dates once per time zone it finds here.
CREATE INDEX rm_case_ageing_zone_idx ON rm_case_ageing (tenant_id, timezone);

-- Backfill from the rows already projected, so a running deployment needs no rebuild (the
-- statements are the from-scratch recomputation of ledger.projections.rollups).
UPDATE rm_cases SET dpd_anchor = (placed_at AT TIME ZONE timezone)::date - placed_dpd
WHERE NOT (placed_dpd = 0 AND past_due_amount = 0);

INSERT INTO rm_case_ageing
SELECT tenant_id, case_id, placed_at, dpd_anchor, placed_dpd, timezone, cured_at, closed_at
FROM rm_cases WHERE dpd_anchor IS NOT NULL;

INSERT INTO rm_recovery_rollup
WITH dims(dimension) AS (VALUES ('agent'), ('channel')),
paid AS (
    SELECT p.tenant_id, p.case_id, d.dimension,
           CASE d.dimension WHEN 'agent' THEN p.agent ELSE p.channel END AS grp,
           coalesce(sum(p.amount) FILTER (WHERE NOT p.reversed), 0) AS recovered
    FROM rm_payments p CROSS JOIN dims d GROUP BY 1, 2, 3, 4
), membership AS (
    SELECT * FROM paid
    UNION ALL
    SELECT c.tenant_id, c.case_id, d.dimension,
           CASE d.dimension WHEN 'agent' THEN coalesce(c.assigned_to, 'unassigned')
                ELSE 'none' END, 0
    FROM rm_cases c CROSS JOIN dims d
    WHERE NOT EXISTS (SELECT 1 FROM rm_payments p
                      WHERE p.tenant_id = c.tenant_id AND p.case_id = c.case_id)
    UNION ALL
    SELECT tenant_id, case_id, 'portfolio', portfolio, paid_total FROM rm_cases
)
SELECT m.tenant_id, m.dimension, (c.placed_at AT TIME ZONE 'UTC')::date, m.grp,
       sum(c.placed_amount)::int8, sum(m.recovered)::int8, count(*),
       count(*) FILTER (WHERE m.recovered > 0)
FROM membership m JOIN rm_cases c USING (tenant_id, case_id)
GROUP BY 1, 2, 3, 4;

INSERT INTO rm_promise_rollup
SELECT tenant_id, d.dimension, due_date,
       CASE d.dimension WHEN 'agent' THEN agent ELSE portfolio END, count(*),
       count(*) FILTER (WHERE status = 'kept'), count(*) FILTER (WHERE status = 'broken'),
       count(*) FILTER (WHERE status = 'pending')
FROM rm_promises CROSS JOIN (VALUES ('agent'), ('portfolio')) AS d(dimension)
GROUP BY 1, 2, 3, 4;
