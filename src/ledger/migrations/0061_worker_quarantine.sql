-- One worker framework (DESIGN.md, "Round two"): an item a background worker keeps failing on
-- (a case the deadline scheduler cannot process, an event a projection cannot apply, later a
-- message or a webhook delivery) is set aside here, so that the worker goes on with the others.
-- A row is written once, when the item is quarantined; it is listed by `ledger workers status`,
-- `/ready` and counted in `/metrics`. `released_at` set by an operator lets the worker try again.
-- `reason` is the error's type (and a domain error's code), never its message: messages of
-- library errors can quote data.

CREATE TABLE worker_quarantine (
    worker          text        NOT NULL,
    item            text        NOT NULL,
    tenant_id       text,
    reason          text        NOT NULL,
    attempts        integer     NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    released_at     timestamptz,
    PRIMARY KEY (worker, item)
);

CREATE INDEX worker_quarantine_held_idx ON worker_quarantine (worker) WHERE released_at IS NULL;

-- Events a projection could not place because their case is unknown to it: not an error of the
-- event (it stays applied to the other read models) but never silently skipped either.
CREATE TABLE worker_skips (
    worker      text        NOT NULL,
    reason      text        NOT NULL,
    skipped     bigint      NOT NULL DEFAULT 0,
    last_item   text,
    last_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (worker, reason)
);
