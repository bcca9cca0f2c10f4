-- Contact strategies (issue 12): windows in which a case's next action is a due `auto: true`
-- message step (sms, email, letter), kept by the strategies projection like rm_dialer; the
-- strategy worker queues those messages through the messages feature.
CREATE TABLE rm_auto_steps (
    tenant_id text        NOT NULL,
    case_id   uuid        NOT NULL,
    due_at    timestamptz NOT NULL,
    until     timestamptz,
    action    text        NOT NULL,
    template  text        NOT NULL,
    CONSTRAINT rm_auto_steps_pkey PRIMARY KEY (tenant_id, case_id, due_at)
);
CREATE INDEX rm_auto_steps_due_idx ON rm_auto_steps (due_at);
