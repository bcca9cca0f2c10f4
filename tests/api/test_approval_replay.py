"""Replay: history, ``as_of`` and ``as_known_at`` show a pending approval before its
decision and the arrangement after it."""

from __future__ import annotations

import asyncio
from datetime import datetime

from negotiation_helpers import BALANCE, placed_with_policy, settlement


async def test_as_of_shows_the_pending_approval_then_the_arrangement(client, keys):
    case = await placed_with_policy(client, keys)
    url = f"/v1/cases/{case['case_id']}"
    asked = await client.post(f"{url}/arrangements", json=settlement(BALANCE * 60 // 100),
                              headers=keys["agent"])
    assert asked.status_code == 202, asked.text
    await asyncio.sleep(0.05)
    decided = await client.post(f"/v1/approvals/{asked.json()['approval_id']}/decision",
                                json={"decision": "approve"}, headers=keys["supervisor"])
    assert decided.status_code == 201, decided.text

    history = (await client.get(f"{url}/history", headers=keys["auditor"])).json()["items"]
    by_type = {item["type"]: item for item in history}
    requested, decision = by_type["ApprovalRequested"], by_type["ApprovalDecided"]
    assert requested["data"]["approval_id"] == asked.json()["approval_id"]
    assert requested["data"]["reasons"] == ["settlement_below_authority"]
    assert decision["data"]["decision"] == "approved"
    assert by_type["ArrangementAgreed"]["version"] == decision["version"] + 1
    assert by_type["ArrangementAgreed"]["occurred_at"] == decision["occurred_at"]

    between = datetime.fromisoformat(requested["occurred_at"]) + (
        datetime.fromisoformat(decision["occurred_at"])
        - datetime.fromisoformat(requested["occurred_at"])) / 2
    before = (await client.get(url, params={"as_of": between.isoformat()},
                               headers=keys["supervisor"])).json()
    assert before["arrangement"] is None
    assert [a["approval_id"] for a in before["pending_approvals"]] == [asked.json()["approval_id"]]
    after = (await client.get(url, params={"as_of": decision["occurred_at"]},
                              headers=keys["supervisor"])).json()
    assert after["pending_approvals"] == []
    assert after["arrangement"]["installments"][0]["amount"] == BALANCE * 60 // 100

    known_before = (await client.get(url, params={"as_known_at": requested["recorded_at"]},
                                     headers=keys["supervisor"])).json()
    assert known_before["arrangement"] is None and len(known_before["pending_approvals"]) == 1
