-- Messages (issue 13). The outbox: one row per message, written in the same transaction as
-- its MessageQueued event. The sender delivers rows in state 'pending' whose next_attempt_at
-- has come; letters ('letter') wait for the print house. Content is not here: it is sealed
-- in the event with the case's data key, so erasure leaves nothing readable in this table.
CREATE TABLE message_outbox (
    message_id      uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL,
    case_id         uuid        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('sms', 'email', 'letter')),
    send_at         timestamptz NOT NULL,
    state           text        NOT NULL
                    CHECK (state IN ('pending', 'sent', 'failed', 'quarantined', 'letter')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz
);
CREATE INDEX message_outbox_due ON message_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX message_outbox_letters ON message_outbox (tenant_id, send_at)
    WHERE channel = 'letter';
CREATE INDEX message_outbox_case ON message_outbox (case_id);
CREATE INDEX message_outbox_quarantined ON message_outbox (message_id) WHERE state = 'quarantined';

-- Inbound opt-outs find the cases holding a phone number or email by a keyed digest of its
-- normalised form (E.164, lower-case email), never the address itself. Kept by the
-- 'message_addresses' projection from placements (opened with the case's key); an erasure
-- deletes the case's rows.
CREATE TABLE rm_message_addresses (
    tenant_id text  NOT NULL,
    channel   text  NOT NULL,
    digest    bytea NOT NULL,
    case_id   uuid  NOT NULL,
    PRIMARY KEY (tenant_id, channel, digest, case_id)
);
CREATE INDEX rm_message_addresses_case ON rm_message_addresses (case_id);

-- US cases whose first communication needs a validation notice within five days; the
-- sweep records validation_notice_late for those still without one after the deadline.
CREATE TABLE rm_validation_notices (
    tenant_id              text        NOT NULL,
    case_id                uuid        PRIMARY KEY,
    first_communication_at timestamptz NOT NULL,
    notice_sent_at         timestamptz,
    flagged                boolean     NOT NULL DEFAULT false
);
CREATE INDEX rm_validation_notices_due ON rm_validation_notices (first_communication_at)
    WHERE notice_sent_at IS NULL AND NOT flagged;
