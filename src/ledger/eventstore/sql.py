"""SQL shared by the store modules: the full column list of a stored event row, in record order."""

EVENT_COLUMNS = (
    "originator_id, originator_version, topic, state, notification_id, transaction_id,"
    " recorded_at, tenant_id, actor, correlation_id, causation_id, chain_hash"
)
