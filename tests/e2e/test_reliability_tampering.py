"""Tampering: rows edited directly in PostgreSQL are reported by ``ledger verify`` and the API."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from processes import (bearer, make_key, migrated_database, payment, place_cases, run_ledger,
                       serving)


async def test_events_edited_deleted_or_restamped_in_the_database_are_reported_by_verify_and_the_api(make_database):
    url = await migrated_database(make_database)
    tenant = f"tamper-{uuid.uuid4().hex[:6]}"
    integration = await make_key(url, tenant, "integration")
    auditor = await make_key(url, tenant, "auditor")
    with serving(url) as server:
        cases = place_cases(server.base, integration, f"TAMPER-{tenant}", 6)
        with httpx.Client(timeout=10, headers=bearer(integration)) as http:
            for case in cases:
                for n in range(4):  # versions 2..5
                    assert http.post(f"{server.base}/v1/cases/{case}/payments",
                                     json=payment(f"T-{n}-{uuid.uuid4().hex[:6]}")).status_code == 201
        clean = run_ledger(url, "verify", "--tenant", tenant)
        assert clean.returncode == 0, clean.stdout + clean.stderr

        edits = {  # case index -> (first bad version, the edit)
            0: (3, "UPDATE stored_events SET state = overlay(state placing '\\x00'::bytea from 5 for 1) "
                   "WHERE originator_id = $1 AND originator_version = 3"),
            1: (4, "UPDATE stored_events SET actor = 'key:someone-else' "
                   "WHERE originator_id = $1 AND originator_version = 4"),
            2: (3, "DELETE FROM stored_events WHERE originator_id = $1 AND originator_version = 3"),
            3: (1, "UPDATE stored_events SET recorded_at = recorded_at - interval '1 day' "
                   "WHERE originator_id = $1 AND originator_version = 1"),
            4: (2, "UPDATE stored_events SET chain_hash = sha256(chain_hash) "
                   "WHERE originator_id = $1 AND originator_version = 2"),
        }
        conn = await asyncpg.connect(url)
        try:
            # stored_events refuses UPDATE/DELETE (migration 0050): tamper as a superuser would.
            await conn.execute("SET session_replication_role = replica")
            for index, (_, sql) in edits.items():
                assert await conn.execute(sql, uuid.UUID(cases[index])) in ("UPDATE 1", "DELETE 1")
        finally:
            await conn.close()

        report = run_ledger(url, "verify", "--tenant", tenant)
        assert report.returncode == 1, report.stdout + report.stderr
        for index, (version, _) in edits.items():
            assert f"BROKEN {cases[index]} first bad version {version}" in report.stdout, report.stdout
        assert cases[5] not in report.stdout
        assert f"{len(edits)} broken" in report.stdout

        with httpx.Client(timeout=10, headers=bearer(auditor)) as http:
            for index, (version, _) in edits.items():
                verdict = http.get(f"{server.base}/v1/cases/{cases[index]}/verify").json()
                assert verdict["ok"] is False and verdict["first_bad_version"] == version, (index, verdict)
            untouched = http.get(f"{server.base}/v1/cases/{cases[5]}/verify").json()
            assert untouched == {"ok": True, "events_checked": 5, "first_bad_version": None,
                                 "checkpoint_id": None, "reason": None}
