"""SQL of the deliverer: delivery rows, attempts, endpoint health (module-level constants)."""

from __future__ import annotations

# One statement (atomic, one round trip): move the shard's position by compare-and-set and
# write the batch's deliveries only if it moved. Returns how many positions moved (0 or 1).
FAN_OUT_SQL = """
    WITH moved AS (
        UPDATE projection_positions
        SET transaction_id = $14::xid8, notification_id = $15, events_applied = $16,
            last_event_recorded_at = $17, updated_at = now()
        WHERE name = $1 AND transaction_id = $12::xid8 AND notification_id = $13
        RETURNING 1),
    written AS (
        INSERT INTO webhook_deliveries (delivery_id, webhook_id, endpoint_id, tenant_id, shard,
            case_id, case_version, seq, event_type, payload, recorded_at)
        SELECT * FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::int[],
            $7::uuid[], $8::bigint[], $9::bigint[], $10::text[], $11::bytea[],
            $18::timestamptz[])
        WHERE EXISTS (SELECT 1 FROM moved)
        ON CONFLICT (endpoint_id, case_id, case_version) DO NOTHING
        RETURNING 1)
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM written)
"""
# The deliverer's own connections skip waiting for the WAL flush: a commit lost in a crash
# takes its position with it, so the batch is read and fanned out again (same delivery ids),
# and a lost result only means a message is sent again — at-least-once either way.
RELAXED_COMMIT_SQL = "SET synchronous_commit = off"
PENDING_SQL = """
    SELECT delivery_id, webhook_id, endpoint_id, case_id, seq, attempts, next_attempt_at,
           recorded_at
    FROM webhook_deliveries WHERE shard = $1 AND status = 'pending' ORDER BY seq
"""
BODY_SQL = "SELECT payload FROM webhook_deliveries WHERE delivery_id = $1"
RECORD_RESULTS_SQL = """
    UPDATE webhook_deliveries d
    SET status = r.status, attempts = r.attempts, last_attempt_at = r.at,
        last_status_code = r.status_code, last_error = r.error,
        next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
        delivered_at = CASE WHEN r.status = 'delivered' THEN r.at ELSE d.delivered_at END
    FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::int[], $6::text[],
                $7::timestamptz[]) AS r(id, status, attempts, at, status_code, error, next_at)
    WHERE d.delivery_id = r.id
"""
RECORD_ATTEMPTS_SQL = """
    INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::int[], $5::text[],
                         $6::int[])
    ON CONFLICT (delivery_id, attempt) DO NOTHING
"""
HEALTH_SQL = """
    INSERT INTO webhook_endpoint_health (endpoint_id, tenant_id, failing_since, last_success_at,
                                         last_failure_at)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[],
                         $5::timestamptz[])
    ON CONFLICT (endpoint_id) DO UPDATE SET failing_since = EXCLUDED.failing_since,
        last_success_at = coalesce(EXCLUDED.last_success_at, webhook_endpoint_health.last_success_at),
        last_failure_at = coalesce(EXCLUDED.last_failure_at, webhook_endpoint_health.last_failure_at)
"""
LOAD_HEALTH_SQL = "SELECT endpoint_id, failing_since FROM webhook_endpoint_health"
CANCEL_SQL = """
    UPDATE webhook_deliveries SET status = 'cancelled'
    WHERE endpoint_id = $1 AND status = 'pending'
"""
REGISTERED_SQL = """
    SELECT originator_id, transaction_id, notification_id FROM stored_events
    WHERE topic = 'ledger.domain.webhooks.endpoint:WebhookEndpoint.Registered'
"""
REGISTERED_ONE_SQL = REGISTERED_SQL + " AND originator_id = $1"
TENANT_ENDPOINTS_SQL = """
    SELECT originator_id FROM stored_events
    WHERE topic = 'ledger.domain.webhooks.endpoint:WebhookEndpoint.Registered' AND tenant_id = $1
    ORDER BY recorded_at, originator_id
"""
# A delivery whose last attempt failed and that waits for its retry is listed as ``failed``
# (and found by ``status=failed``); ``pending`` is one not tried since it was queued or asked
# again (a redelivery of a delivered event, whose last attempt succeeded, is pending).
_FAILED = """(status = 'pending' AND attempts > 0 AND (last_error IS NOT NULL
               OR last_status_code IS NULL OR last_status_code NOT BETWEEN 200 AND 299))"""
_SHOWN_STATUS = f"(CASE WHEN {_FAILED} THEN 'failed' ELSE status END)"
LIST_DELIVERIES_SQL = f"""
    SELECT delivery_id, webhook_id, event_type, case_id, {_SHOWN_STATUS} AS status, attempts,
           created_at, last_attempt_at, last_status_code, last_error, next_attempt_at,
           delivered_at, {_FAILED} AS failing
    FROM webhook_deliveries
    WHERE endpoint_id = $1 AND tenant_id = $2
      AND ($3::text IS NULL OR {_SHOWN_STATUS} = $3)
      AND ($4::timestamptz IS NULL OR (created_at, delivery_id) < ($4, $5::uuid))
    ORDER BY created_at DESC, delivery_id DESC LIMIT $6
"""
ATTEMPTS_SQL = """
    SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempts
    WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt
"""
REDELIVER_SQL = """
    UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), requeued = true
    WHERE delivery_id = $1 AND endpoint_id = $2 AND tenant_id = $3 AND shard >= 0
    RETURNING delivery_id
"""
TAKE_REQUEUED_SQL = """
    UPDATE webhook_deliveries SET requeued = false
    WHERE shard = $1 AND requeued
    RETURNING delivery_id, webhook_id, endpoint_id, case_id, seq, attempts, next_attempt_at,
              recorded_at
"""
INSERT_TEST_SQL = """
    INSERT INTO webhook_deliveries (delivery_id, webhook_id, endpoint_id, tenant_id, shard,
        case_id, case_version, seq, event_type, payload, recorded_at, status, attempts,
        last_attempt_at, last_status_code, last_error, delivered_at)
    VALUES ($1, $2, $3, $4, -1, $3, $5, 0, 'webhook.test', $6, now(), $7, 1, now(), $8, $9,
            CASE WHEN $7 = 'delivered' THEN now() END)
"""
ENDPOINT_METRICS_SQL = """
    SELECT d.endpoint_id, count(*), extract(epoch FROM now() - min(d.recorded_at))
    FROM webhook_deliveries d WHERE d.status = 'pending' GROUP BY d.endpoint_id
"""
FAILING_METRICS_SQL = """
    SELECT endpoint_id, extract(epoch FROM now() - failing_since) FROM webhook_endpoint_health
"""
_T = "ledger.domain.webhooks.endpoint:WebhookEndpoint."
# Enabled state per endpoint from its stream: the latest of its enable/disable facts.
ENDPOINT_STATES_SQL = f"""
    SELECT originator_id, enabled FROM (
        SELECT DISTINCT ON (e.originator_id) e.originator_id,
               e.topic IN ('{_T}Registered', '{_T}Enabled') AS enabled, e.topic
        FROM stored_events e
        WHERE e.originator_id IN (SELECT originator_id FROM stored_events
                                  WHERE topic = '{_T}Registered')
          AND e.topic IN ('{_T}Registered', '{_T}Enabled', '{_T}Disabled', '{_T}Deleted')
        ORDER BY e.originator_id, e.originator_version DESC) latest
    WHERE topic <> '{_T}Deleted'
"""
