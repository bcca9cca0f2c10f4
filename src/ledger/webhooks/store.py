"""SQL of the deliverer: delivery rows, attempts, endpoint health (module-level constants)."""

from __future__ import annotations

INSERT_DELIVERIES_SQL = """
    INSERT INTO webhook_deliveries (delivery_id, webhook_id, endpoint_id, tenant_id, shard,
        case_id, case_version, seq, event_type, payload, recorded_at)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::int[],
        $6::uuid[], $7::bigint[], $8::bigint[], $9::text[], $10::bytea[], $11::timestamptz[])
    ON CONFLICT (endpoint_id, case_id, case_version) DO NOTHING
"""
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
LIST_DELIVERIES_SQL = """
    SELECT delivery_id, webhook_id, event_type, case_id, status, attempts, created_at,
           last_attempt_at, last_status_code, last_error, next_attempt_at, delivered_at,
           (status = 'pending' AND attempts > 0) AS failing
    FROM webhook_deliveries
    WHERE endpoint_id = $1 AND tenant_id = $2
      AND ($3::text IS NULL OR status = $3 OR ($3 = 'failed' AND status = 'pending' AND attempts > 0))
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
