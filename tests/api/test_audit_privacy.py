"""Erasure through the API leaves no plaintext of the debtor anywhere in the database."""

from __future__ import annotations

from uuid import uuid4

from api_helpers import placement

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
    assert view["debtor"]["erased"] is True
    verify = (await client.get(f"/v1/cases/{case_id}/verify", headers=keys["auditor"])).json()
    assert verify["ok"] is True
