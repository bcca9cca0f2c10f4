"""Erasure through the API leaves no plaintext of the debtor anywhere in the database."""

from __future__ import annotations

from uuid import uuid4

from api_helpers import assert_problem, placement

NAME, PHONE = "Quentin Privacyson", "+15557654321"
# Every text-like column of every user table, cast to text (bytea shows as hex, so the hex of
# the UTF-8 value is searched too).
COLUMNS_SQL = """
    SELECT table_schema, table_name, column_name FROM information_schema.columns
    WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
      AND data_type IN ('text', 'bytea', 'jsonb', 'json', 'character varying', 'ARRAY')
"""


async def _hits(pool, needle: str) -> list[str]:
    found = []
    for schema, table, column in await pool.fetch(COLUMNS_SQL):
        sql = (f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text LIKE $1 '
               f'OR "{column}"::text LIKE $2')
        count = await pool.fetchval(sql, f"%{needle}%", f"%{needle.encode().hex()}%")
        if count:
            found.append(f"{table}.{column}")
    return found


async def test_after_erasure_no_table_holds_the_name_or_phone_and_verify_passes(client, keys, pool):
    body = placement(f"PRIV-{uuid4().hex[:8]}")
    body["debtor"] = {**body["debtor"], "name": NAME, "phones": [PHONE]}
    headers = {**keys["integration"], "Idempotency-Key": uuid4().hex}
    placed = await client.post("/v1/cases", json=body, headers=headers)
    case_id = placed.json()["case_id"]
    assert placed.json()["debtor"]["name"] == NAME
    # Sealed at rest from the start, the stored idempotency reply (a case view) included.
    assert await _hits(pool, NAME) == [] and await _hits(pool, PHONE) == []
    before = await client.post("/v1/cases", json=body, headers=headers)
    assert before.headers.get("idempotency-replayed") == "true" and before.json() == placed.json()
    history = (await client.get(f"/v1/cases/{case_id}/history", headers=keys["auditor"])).json()
    assert history["items"][0]["data"]["debtor"]["phones"] == [PHONE]
    erased = await client.post(f"/v1/cases/{case_id}/erasure", json={"reason": "request 42"},
                               headers=keys["admin"])
    assert erased.status_code == 201
    assert await _hits(pool, NAME) == [] and await _hits(pool, PHONE) == []
    assert await _hits(pool, "Privacyson") == []
    view = (await client.get(f"/v1/cases/{case_id}", headers=keys["admin"])).json()
    replay = await client.post("/v1/cases", json=body, headers=headers)
    # The idempotency record outlives the erasure: still a replay of the first 201.
    assert replay.status_code == 201 and replay.headers.get("idempotency-replayed") == "true"
    assert NAME not in replay.text and PHONE not in replay.text
    assert replay.json()["debtor"]["erased"] is True and replay.json()["version"] == 1
    # No oracle of the erased data: another name under the key replays alike (not 422).
    guess = {**body, "debtor": {**body["debtor"], "name": "Someone Else"}}
    guessed = await client.post("/v1/cases", json=guess, headers=headers)
    assert guessed.status_code == 201 and guessed.content == replay.content
    assert view["debtor"]["erased"] is True
    verify = (await client.get(f"/v1/cases/{case_id}/verify", headers=keys["auditor"])).json()
    assert verify["ok"] is True


async def test_a_placement_stored_in_clear_by_an_older_release_is_refused_not_erasable(client, keys, pool, tenant):
    # What an older release (before sealing) left behind: a Placed event with the debtor in
    # clear. The database now refuses such a write, so the test switches triggers off for it.
    from datetime import UTC, datetime

    from ledger.domain.case import Case
    from ledger.domain.values import Debtor
    from ledger.eventstore import EventCodec, EventStore
    from ledger.services.cases import case_id_for

    ref = f"LEGACY-{uuid4().hex[:8]}"
    now = datetime.now(UTC)
    case = Case.place(
        case_id=case_id_for(tenant, ref), tenant_id=tenant, external_ref=ref, portfolio="p",
        product="credit_card", currency="USD", principal=1_000, interest=0, fees=0,
        past_due_amount=100, days_past_due=40, placed_at=now,
        debtor=Debtor(name=NAME, phones=(PHONE,), timezone="UTC", jurisdiction="US-TX"), now=now)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await EventStore(pool).append([EventCodec().encode(e) for e in case.collect_events()],
                                      tenant_id=tenant, actor="old-release", connection=conn)
    refused = await client.post(f"/v1/cases/{case.id}/erasure", json={"reason": "request"},
                                headers=keys["admin"])
    problem = assert_problem(refused, 409, "not_erasable")
    assert "README" in problem["detail"]
    view = (await client.get(f"/v1/cases/{case.id}", headers=keys["admin"])).json()
    assert view["debtor"]["erased"] is False  # nothing was claimed, nothing half-done
    assert await pool.fetchval("SELECT count(*) FROM data_keys WHERE case_id = $1", case.id) == 0


async def test_the_database_refuses_a_placement_whose_debtor_is_not_sealed(pool, tenant):
    import asyncpg
    import pytest

    from datetime import UTC, datetime

    from ledger.domain.case import Case
    from ledger.domain.values import Debtor
    from ledger.eventstore import EventCodec, EventStore

    now = datetime.now(UTC)
    case = Case.place(
        case_id=uuid4(), tenant_id=tenant, external_ref="CLEAR-1", portfolio="p",
        product="credit_card", currency="USD", principal=1_000, interest=0, fees=0,
        past_due_amount=100, days_past_due=40, placed_at=now,
        debtor=Debtor(name=NAME, timezone="UTC", jurisdiction="US-TX"), now=now)
    with pytest.raises(asyncpg.CheckViolationError, match="sealed"):
        await EventStore(pool).append([EventCodec().encode(e) for e in case.collect_events()],
                                      tenant_id=tenant)


async def test_re_placing_an_erased_cases_reference_is_a_duplicate_whatever_the_body(client, keys):
    body = placement(f"PRIV-{uuid4().hex[:8]}")
    placed = await client.post("/v1/cases", json=body, headers=keys["integration"])
    assert (await client.post("/v1/cases", json=body, headers=keys["integration"])).status_code == 200
    erased = await client.post(f"/v1/cases/{placed.json()['case_id']}/erasure",
                               json={"reason": "request"}, headers=keys["admin"])
    assert erased.status_code == 201
    other = {**body, "debtor": {**body["debtor"], "name": "Someone Else"}}
    for attempt in (body, other):  # the same answer for the right and a wrong name: no oracle
        again = await client.post("/v1/cases", json=attempt, headers=keys["integration"])
        assert again.status_code == 409 and again.json()["code"] == "duplicate_external_ref"
