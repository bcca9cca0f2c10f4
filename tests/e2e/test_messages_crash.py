"""A queued sms survives SIGKILLs of ``ledger serve`` — before the sender ran, and while the
provider was answering — and reaches the local fake provider exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
from processes import Server, bearer, fetch, make_key, migrated_database, placement

SECRET = "whsec_" + "ZTJlLXNlY3JldC1vZi10aGUtZmFrZS1wcm92aWRlcg=="


def _midday_zone() -> str:
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


def _until(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


async def test_a_message_is_sent_exactly_once_across_kills(make_database):  # type: ignore[no-untyped-def]
    url = await migrated_database(make_database)
    tenant = f"msg-{uuid.uuid4().hex[:8]}"
    integration = bearer(await make_key(url, tenant, "integration"))
    supervisor = bearer(await make_key(url, tenant, "supervisor"))
    provider = subprocess.Popen(
        [sys.executable, "-m", "ledger.messaging.fake_provider", "--secret", SECRET,
         "--delay-first", "5"], stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    servers: list[Server] = []
    try:
        assert provider.stdout is not None
        inbox = f"http://127.0.0.1:{int(provider.stdout.readline().split()[-1])}"

        def report() -> dict:
            return json.loads(httpx.get(inbox + "/messages", timeout=5).text)

        def serve(sender: bool) -> Server:
            server = Server(url, LEDGER_SMS_URL=inbox + "/sms", LEDGER_MESSAGE_SECRET=SECRET,
                            LEDGER_RUN_SENDER="true" if sender else "false",
                            LEDGER_SENDER_BACKOFF="0.1")
            servers.append(server)
            return server.start()

        # 1. Queued while no sender runs, then SIGKILL: the outbox row was committed with the event.
        first = serve(sender=False)
        with httpx.Client(base_url=first.base, timeout=30) as http:
            saved = http.post("/v1/templates", headers=supervisor, json={
                "name": "reminder", "channel": "sms",
                "body": "{{ debtor_name }}: {{ balance }} due. {{ opt_out }}"})
            assert saved.status_code == 201, saved.text
            body = placement(f"MSG-{tenant}", debtor={
                "name": "Crash Test", "phones": ["+15557654321"], "timezone": _midday_zone(),
                "jurisdiction": "US-TX"})
            case_id = http.post("/v1/cases", json=body, headers=integration).json()["case_id"]
            queued = http.post(f"/v1/cases/{case_id}/messages", json={"template": "reminder"},
                               headers=integration)
            assert queued.status_code == 201 and queued.json()["status"] == "queued", queued.text
        message_id = queued.json()["message_id"]
        first.kill()
        assert report()["requests"] == 0

        # 2. A sender starts, the provider holds its answer; SIGKILL before the 2xx arrives.
        second = serve(sender=True)
        _until(lambda: report()["requests"] >= 1)
        second.kill()

        # 3. Restarted: sent again with the same id, which the provider de-duplicates.
        serve(sender=True)

        async def state() -> str:
            rows = await fetch(url, "SELECT state FROM message_outbox WHERE message_id = $1",
                               uuid.UUID(message_id))
            return str(rows[0]["state"])

        deadline = time.monotonic() + 60
        while await state() != "sent":
            assert time.monotonic() < deadline, "the message was never recorded as sent"
            time.sleep(0.1)
        final = report()
        assert [m["message_id"] for m in final["messages"]] == [message_id]
        assert final["requests"] == 2
        assert final["messages"][0]["to"] == "+15557654321"
        topics = await fetch(url, "SELECT topic FROM stored_events WHERE originator_id = $1",
                             uuid.UUID(case_id))
        assert [t["topic"].rsplit(".", 1)[-1] for t in topics].count("MessageSent") == 1
    finally:
        for server in servers:
            server.close()
        provider.kill()
        provider.wait(timeout=10)
