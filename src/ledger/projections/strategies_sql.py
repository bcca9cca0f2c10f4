"""The statements of the ``strategies`` projection (``projections.strategies``)."""

from __future__ import annotations

LOAD_FACTS_SQL = """
    SELECT f.case_id, f.facts FROM rm_plan_facts f
    JOIN unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
      ON f.tenant_id = k.tenant_id AND f.case_id = k.case_id
"""
UPSERT_FACTS_SQL = """
    INSERT INTO rm_plan_facts (tenant_id, case_id, facts)
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::bytea[])
    ON CONFLICT (tenant_id, case_id) DO UPDATE SET facts = EXCLUDED.facts
"""
SAVE_VERSION_SQL = """
    INSERT INTO rm_strategy_versions (tenant_id, strategy_id, version, document)
    VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
"""
LOAD_VERSION_SQL = """
    SELECT document FROM rm_strategy_versions WHERE tenant_id = $1 AND strategy_id = $2 AND version = $3
"""
UPSERT_SEGMENT_SQL = """
    INSERT INTO rm_case_segments (tenant_id, case_id, strategy_id, version, arm, segment, entered_at)
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::int4[], $5::text[], $6::text[],
                         $7::timestamptz[])
    ON CONFLICT (tenant_id, case_id) DO UPDATE SET strategy_id = EXCLUDED.strategy_id,
        version = EXCLUDED.version, arm = EXCLUDED.arm, segment = EXCLUDED.segment,
        entered_at = EXCLUDED.entered_at
"""
DELETE_SEGMENT_SQL = """
    DELETE FROM rm_case_segments s USING unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
    WHERE s.tenant_id = k.tenant_id AND s.case_id = k.case_id
"""
ENTRY_SQL = """
    INSERT INTO rm_segment_entries (tenant_id, case_id, entered_at, version, arm, segment)
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::int8[], $5::text[],
                         $6::text[])
    ON CONFLICT DO NOTHING
"""
MODEL_SQL = "INSERT INTO rm_score_models (tenant_id, model) VALUES ($1, $2) ON CONFLICT DO NOTHING"
CONTACTS_SQL = """
    INSERT INTO rm_segment_contacts AS s (tenant_id, day, segment, arm, attempts, contacts,
                                          right_party, inbound)
    SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::int8[], $6::int8[],
                         $7::int8[], $8::int8[])
    ON CONFLICT (tenant_id, day, segment, arm) DO UPDATE SET attempts = s.attempts + EXCLUDED.attempts,
        contacts = s.contacts + EXCLUDED.contacts, right_party = s.right_party + EXCLUDED.right_party,
        inbound = s.inbound + EXCLUDED.inbound
"""
DELETE_DIALER_SQL = """
    DELETE FROM rm_dialer d USING unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
    WHERE d.tenant_id = k.tenant_id AND d.case_id = k.case_id
"""
DIALER_COLUMNS = ("tenant_id", "case_id", "due_at", "until", "assigned_to", "segment", "arm")
DELETE_AUTO_SQL = DELETE_DIALER_SQL.replace("rm_dialer", "rm_auto_steps")
AUTO_COLUMNS = ("tenant_id", "case_id", "due_at", "until", "action", "template")
