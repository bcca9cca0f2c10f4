from api_helpers import placement, ago

async def test_smoke(client, keys, case):
    h = keys["integration"]
    T = ago(hours=1)
    cid = case["case_id"]
    print(case)
    r = await client.get(f"/v1/cases/{cid}", headers=keys["analyst"])
    print(r.status_code, r.headers, r.text[:300])
    r = await client.post(f"/v1/cases/{cid}/payments", json={"external_id": "p1", "amount": 1000, "currency": "USD", "received_at": T, "method": "ach"}, headers={**h, "Idempotency-Key": "k1"})
    print(r.status_code, r.headers, r.text[:300])
    r = await client.post(f"/v1/cases/{cid}/payments", json={"external_id": "p1", "amount": 1000, "currency": "USD", "received_at": T, "method": "ach"}, headers={**h, "Idempotency-Key": "k1"})
    print(r.status_code, r.headers, r.text[:300])
    r = await client.post(f"/v1/cases/{cid}/contacts", json={"channel": "phone", "direction": "outbound", "outcome": "right_party", "occurred_at": ago(hours=1), "agent_id": "a"}, headers=keys["agent"])
    print(r.status_code, r.text[:300])
    r = await client.get(f"/v1/events", headers=keys["auditor"])
    print(r.status_code, r.text[:600])
    r = await client.post(f"/v1/cases", content=b"nope", headers=h)
    print(r.status_code, r.headers, r.text[:600])
    r = await client.get(f"/v1/nothing", headers=h)
    print(r.status_code, r.headers, r.text[:600])
    r = await client.get(f"/v1/cases/{cid}", headers={})
    print(r.status_code, r.headers, r.text[:600])
    assert 0
