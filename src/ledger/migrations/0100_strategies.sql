-- Scores and contact strategies (issue 12).

-- Strategy streams of a tenant, found without scanning its case events: every write to a
-- case re-reads which strategies are active, so this lookup must stay a few index pages.
CREATE INDEX stored_events_strategy_idx
    ON stored_events (tenant_id, originator_id, originator_version)
    WHERE topic LIKE 'ledger.domain.strategy.%';

-- Where each case stands in its strategy now (from SegmentEntered), and every entry so that
-- metrics can attribute a payment to the segment and arm the case was in at its business time.
CREATE TABLE rm_case_segments (
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    strategy_id uuid        NOT NULL,
    version     integer     NOT NULL,
    arm         text        NOT NULL,
    segment     text        NOT NULL,
    entered_at  timestamptz NOT NULL,
    CONSTRAINT rm_case_segments_pkey PRIMARY KEY (tenant_id, case_id)
);

CREATE TABLE rm_segment_entries (
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    entered_at  timestamptz NOT NULL,
    version     bigint      NOT NULL,
    arm         text        NOT NULL,
    segment     text        NOT NULL,
    CONSTRAINT rm_segment_entries_pkey PRIMARY KEY (tenant_id, case_id, entered_at, version)
);

-- Contact counts per UTC day, segment and arm the case was in when the contact was recorded.
CREATE TABLE rm_segment_contacts (
    tenant_id   text   NOT NULL,
    day         date   NOT NULL,
    segment     text   NOT NULL,
    arm         text   NOT NULL,
    attempts    bigint NOT NULL,
    contacts    bigint NOT NULL,
    right_party bigint NOT NULL,
    CONSTRAINT rm_segment_contacts_pkey PRIMARY KEY (tenant_id, day, segment, arm)
);

-- Score models a tenant has recorded (strategies naming another model get a warning).
CREATE TABLE rm_score_models (
    tenant_id text NOT NULL,
    model     text NOT NULL,
    CONSTRAINT rm_score_models_pkey PRIMARY KEY (tenant_id, model)
);

-- The strategies projection's own fold of each case (no personal data): time zone, assignee,
-- closure, current segment entry and the latest time of each kind of action (msgpack).
CREATE TABLE rm_plan_facts (
    tenant_id text  NOT NULL,
    case_id   uuid  NOT NULL,
    facts     bytea NOT NULL,
    CONSTRAINT rm_plan_facts_pkey PRIMARY KEY (tenant_id, case_id)
);

-- Every saved strategy version's document (JSON), for the projection to read steps from.
CREATE TABLE rm_strategy_versions (
    tenant_id   text    NOT NULL,
    strategy_id uuid    NOT NULL,
    version     integer NOT NULL,
    document    bytea   NOT NULL,
    CONSTRAINT rm_strategy_versions_pkey PRIMARY KEY (tenant_id, strategy_id, version)
);

-- Windows in which a case's next action is a due call, from its segment entry, its
-- strategy's steps and the calls made since: the dialer list's candidates. Permission (hours,
-- frequency, cease, disputes, holds) is still judged per case when the list is asked for.
CREATE TABLE rm_dialer (
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    due_at      timestamptz NOT NULL,
    until       timestamptz,
    assigned_to text,
    segment     text        NOT NULL,
    arm         text        NOT NULL,
    CONSTRAINT rm_dialer_pkey PRIMARY KEY (tenant_id, case_id, due_at)
);
CREATE INDEX rm_dialer_due_idx ON rm_dialer (tenant_id, due_at);
CREATE INDEX rm_dialer_agent_idx ON rm_dialer (tenant_id, assigned_to, due_at);

-- The strategy sweep's progress per tenant. A run re-evaluates the open cases of the active
-- portfolios in the time zones whose local date changed since swept_through (every zone after
-- an activation: run_zones NULL), in case-id order; after_case is where a restart resumes.
CREATE TABLE strategy_sweeps (
    tenant_id     text        NOT NULL,
    swept_through timestamptz,
    run_to        timestamptz,
    run_zones     text[],
    after_case    uuid,
    cases_seen    bigint      NOT NULL DEFAULT 0,
    cases_moved   bigint      NOT NULL DEFAULT 0,
    CONSTRAINT strategy_sweeps_pkey PRIMARY KEY (tenant_id)
);
