-- Issue 15: maker–checker approvals and complaints.

-- Approval id → case, written right after the request's event is stored, so a decision
-- finds its case without waiting for a read model (a hint: the case stream is the truth).
CREATE TABLE approval_cases (
    tenant_id   text NOT NULL,
    approval_id uuid NOT NULL,
    case_id     uuid NOT NULL,
    CONSTRAINT approval_cases_pkey PRIMARY KEY (tenant_id, approval_id)
);

-- Read models of the `negotiation` projection.
CREATE TABLE rm_approvals (
    tenant_id       text        NOT NULL,
    approval_id     uuid        NOT NULL,
    seq             bigint      NOT NULL,
    case_id         uuid        NOT NULL,
    kind            text        NOT NULL,
    status          text        NOT NULL,
    reasons         text[]      NOT NULL,
    request         jsonb       NOT NULL,
    requested_at    timestamptz NOT NULL,
    requested_by    text        NOT NULL,
    requester_agent text,
    requester_role  text        NOT NULL,
    decided_at      timestamptz,
    decided_by      text,
    decider_role    text,
    decision_reason text,
    CONSTRAINT rm_approvals_pkey PRIMARY KEY (tenant_id, approval_id)
);
CREATE INDEX rm_approvals_list_idx ON rm_approvals (tenant_id, status, seq);
CREATE INDEX rm_approvals_seq_idx ON rm_approvals (tenant_id, seq);

CREATE TABLE rm_complaints (
    tenant_id        text        NOT NULL,
    complaint_id     uuid        NOT NULL,
    case_id          uuid        NOT NULL,
    category         text        NOT NULL,
    channel          text        NOT NULL,
    agent            text,
    received_at      timestamptz NOT NULL,
    respond_by       timestamptz NOT NULL,
    pause_collection boolean     NOT NULL,
    overdue          boolean     NOT NULL DEFAULT false,
    resolved_at      timestamptz,
    outcome          text,
    root_cause       text,
    redress          bigint,
    CONSTRAINT rm_complaints_pkey PRIMARY KEY (tenant_id, complaint_id)
);
CREATE INDEX rm_complaints_received_idx ON rm_complaints (tenant_id, received_at);
-- The deadline scheduler's candidates: open complaints not yet recorded overdue.
CREATE INDEX rm_complaints_due_idx ON rm_complaints (respond_by)
    WHERE resolved_at IS NULL AND NOT overdue;
