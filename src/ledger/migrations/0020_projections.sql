-- Read side: projection positions and the rm_ read-model tables (issue 5).
-- Every rm_ table carries tenant_id and no debtor personal data (name, phones, emails,
-- address): only references, amounts, times and agent ids.

-- Where each projection stands in the gap-free feed. events_applied is the projection's
-- offset in feed order, the as_of_position the API reports.
CREATE TABLE projection_positions (
    name                   text        PRIMARY KEY,
    transaction_id         xid8        NOT NULL DEFAULT '0',
    notification_id        bigint      NOT NULL DEFAULT 0,
    events_applied         bigint      NOT NULL DEFAULT 0,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    last_event_recorded_at timestamptz
);

-- Days past due at an instant, as ledger.domain.delinquency computes it: placement DPD plus
-- elapsed debtor-local days, 0 once cured (net payments reached the past-due amount).
CREATE FUNCTION ledger_dpd(at timestamptz, placed_at timestamptz, placed_dpd integer,
                           past_due bigint, cured_at timestamptz, tz text)
RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN placed_dpd = 0 AND past_due = 0 THEN 0
        WHEN cured_at IS NOT NULL AND cured_at <= at THEN 0
        ELSE placed_dpd + greatest(0, (at AT TIME ZONE tz)::date - (placed_at AT TIME ZONE tz)::date)
    END
$$;

CREATE FUNCTION ledger_dpd_bucket(days integer)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN days <= 0 THEN NULL
        WHEN days <= 30 THEN '1-30'
        WHEN days <= 60 THEN '31-60'
        WHEN days <= 90 THEN '61-90'
        WHEN days <= 120 THEN '91-120'
        WHEN days <= 150 THEN '121-150'
        WHEN days <= 180 THEN '151-180'
        ELSE '180+'
    END
$$;

-- Status precedence of ledger.domain.view: closed > legal > on_hold > the stored rest.
-- Holds depend on the instant asked, so they are stored as windows and judged at query time.
CREATE FUNCTION ledger_case_status(base_status text, holds tstzmultirange, at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN base_status IN ('closed', 'legal') THEN base_status
        WHEN holds @> at THEN 'on_hold'
        ELSE base_status
    END
$$;

-- One row per case: the list/work-queue fields plus the projection's own folded facts.
CREATE TABLE rm_cases (
    tenant_id       text           NOT NULL,
    case_id         uuid           NOT NULL,
    version         bigint         NOT NULL,
    external_ref    text           NOT NULL,
    portfolio       text           NOT NULL,
    product         text           NOT NULL,
    currency        text           NOT NULL,
    base_status     text           NOT NULL,
    holds           tstzmultirange NOT NULL DEFAULT '{}',
    placed_at       timestamptz    NOT NULL,
    placed_amount   bigint         NOT NULL,
    balance         bigint         NOT NULL,
    principal       bigint         NOT NULL,
    interest        bigint         NOT NULL,
    fees            bigint         NOT NULL,
    paid_total      bigint         NOT NULL,
    past_due_amount bigint         NOT NULL,
    placed_dpd      integer        NOT NULL,
    timezone        text           NOT NULL,
    cured_at        timestamptz,
    assigned_to     text,
    promise_id      uuid,
    promise_amount  bigint,
    promise_due     date,
    promise_status  text,
    last_contact_at timestamptz,
    closed_at       timestamptz,
    close_reason    text,
    next_deadline   timestamptz,
    facts           bytea          NOT NULL,
    CONSTRAINT rm_cases_pkey PRIMARY KEY (tenant_id, case_id)
);
CREATE INDEX rm_cases_placed_idx ON rm_cases (tenant_id, placed_at, case_id);
CREATE INDEX rm_cases_ref_idx ON rm_cases (tenant_id, external_ref);
CREATE INDEX rm_cases_portfolio_idx ON rm_cases (tenant_id, portfolio, placed_at, case_id);
CREATE INDEX rm_cases_assignee_idx ON rm_cases (tenant_id, assigned_to) WHERE closed_at IS NULL;
CREATE INDEX rm_cases_deadline_idx ON rm_cases (next_deadline) WHERE next_deadline IS NOT NULL;

-- One row per payment with its attribution (agent, channel) by business time.
CREATE TABLE rm_payments (
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    external_id text        NOT NULL,
    amount      bigint      NOT NULL,
    received_at timestamptz NOT NULL,
    reversed    boolean     NOT NULL,
    agent       text        NOT NULL,
    channel     text        NOT NULL,
    portfolio   text        NOT NULL,
    placed_at   timestamptz NOT NULL,
    CONSTRAINT rm_payments_pkey PRIMARY KEY (tenant_id, case_id, external_id)
);
CREATE INDEX rm_payments_placed_idx ON rm_payments (tenant_id, placed_at);

CREATE TABLE rm_promises (
    tenant_id  text        NOT NULL,
    case_id    uuid        NOT NULL,
    promise_id uuid        NOT NULL,
    agent      text        NOT NULL,
    portfolio  text        NOT NULL,
    amount     bigint      NOT NULL,
    made_at    timestamptz NOT NULL,
    due_date   date        NOT NULL,
    status     text        NOT NULL,
    CONSTRAINT rm_promises_pkey PRIMARY KEY (tenant_id, case_id, promise_id)
);
CREATE INDEX rm_promises_due_idx ON rm_promises (tenant_id, due_date);

-- Contact counts per UTC day, agent and channel (contacts are immutable facts, so sums stay exact).
CREATE TABLE rm_contact_stats (
    tenant_id   text   NOT NULL,
    day         date   NOT NULL,
    agent       text   NOT NULL,
    channel     text   NOT NULL,
    attempts    bigint NOT NULL,
    contacts    bigint NOT NULL,
    right_party bigint NOT NULL,
    inbound     bigint NOT NULL,
    CONSTRAINT rm_contact_stats_pkey PRIMARY KEY (tenant_id, day, agent, channel)
);

CREATE TABLE rm_breaches (
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    version     bigint      NOT NULL,
    ordinal     integer     NOT NULL,
    rule        text        NOT NULL,
    detail      text        NOT NULL,
    agent       text,
    channel     text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    CONSTRAINT rm_breaches_pkey PRIMARY KEY (tenant_id, case_id, version, ordinal)
);
CREATE INDEX rm_breaches_time_idx ON rm_breaches (tenant_id, occurred_at, case_id, version, ordinal);

-- One row per event; seq is the event's offset in the feed (1-based), so it orders the trail.
CREATE TABLE rm_audit (
    tenant_id      text        NOT NULL,
    seq            bigint      NOT NULL,
    case_id        uuid        NOT NULL,
    version        bigint      NOT NULL,
    type           text        NOT NULL,
    actor          text,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    amount         bigint,
    correlation_id uuid,
    CONSTRAINT rm_audit_pkey PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX rm_audit_case_idx ON rm_audit (tenant_id, case_id, seq);
CREATE INDEX rm_audit_actor_idx ON rm_audit (tenant_id, actor, seq);
CREATE INDEX rm_audit_type_idx ON rm_audit (tenant_id, type, seq);
CREATE INDEX rm_audit_recorded_idx ON rm_audit (tenant_id, recorded_at, seq);
