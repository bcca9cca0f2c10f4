"""The append statements: one round trip, its own transaction, all rows or none.

A stream that already exists must continue from the exact head (version and chain hash) the
caller hashed against; otherwise no row is inserted and the store raises a conflict. A duplicate
(originator_id, originator_version) fails the whole statement with a unique violation. The
optional idempotency record is a data-modifying CTE of the same statement, so it is stored if
and only if the events are.
"""

_COLUMNS = """stored_events (originator_id, originator_version, topic, state, recorded_at,
                             tenant_id, actor, correlation_id, causation_id, chain_hash)"""
_RETURNING = "RETURNING originator_id, originator_version, notification_id, transaction_id"

# $1 originator_id, $2 version, $3 topic, $4 state, $5 chain_hash, $6 recorded_at, $7 tenant,
# $8 actor, $9 correlation_id, $10 causation_id, $11 previous chain hash (NULL for version 1).
_INSERT_ONE = f"""
    INSERT INTO {_COLUMNS}
    SELECT $1::uuid, $2::bigint, $3::text, $4::bytea, $6::timestamptz, $7::text, $8::text,
           $9::uuid, $10::uuid, $5::bytea
    WHERE $11::bytea IS NULL OR EXISTS (
        SELECT 1 FROM stored_events e
        WHERE e.originator_id = $1 AND e.originator_version = $2 - 1 AND e.chain_hash = $11)
    {_RETURNING}
"""

# $1..$5 arrays of originator_id, version, topic, state, chain_hash; $6..$10 as above;
# $11..$13 arrays of (originator_id, version, chain_hash) of the heads being continued.
_INSERT_MANY = f"""
    INSERT INTO {_COLUMNS}
    SELECT r.originator_id, r.originator_version, r.topic, r.state, $6::timestamptz, $7::text,
           $8::text, $9::uuid, $10::uuid, r.chain_hash
    FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bytea[], $5::bytea[])
         WITH ORDINALITY AS r(originator_id, originator_version, topic, state, chain_hash, ordinal)
    WHERE NOT EXISTS (
        SELECT 1 FROM unnest($11::uuid[], $12::bigint[], $13::bytea[])
                      AS h(originator_id, originator_version, chain_hash)
        WHERE NOT EXISTS (
            SELECT 1 FROM stored_events e
            WHERE e.originator_id = h.originator_id
              AND e.originator_version = h.originator_version
              AND e.chain_hash = h.chain_hash))
    ORDER BY r.ordinal
    {_RETURNING}
"""


def _with_idempotency(insert: str, first_parameter: int) -> str:
    key, request_hash, status, response = (f"${first_parameter + i}" for i in range(4))
    return f"""
        WITH inserted AS ({insert}),
        idempotency AS (
            INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
            SELECT $7::text, {key}::text, {request_hash}::bytea, {status}::int, {response}::bytea
            WHERE EXISTS (SELECT 1 FROM inserted))
        SELECT * FROM inserted
    """


APPEND_ONE_SQL = _INSERT_ONE
APPEND_ONE_WITH_IDEMPOTENCY_SQL = _with_idempotency(_INSERT_ONE, 12)
APPEND_MANY_SQL = _INSERT_MANY
APPEND_MANY_WITH_IDEMPOTENCY_SQL = _with_idempotency(_INSERT_MANY, 14)
