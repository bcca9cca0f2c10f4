"""Messages: queueing (render, seal, permission, event + outbox row in one transaction) and
sending through the sender to the local fake provider (signed POST, ``MessageSent`` + outbox
update in one transaction).

    python -m bench.messages                      # 1,000 messages on an embedded server
    python -m bench.messages --messages 300 --url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx

from bench.scratch import scratch_database
from ledger.db.pool import create_pool
from ledger.domain.messaging.template import Template
from ledger.domain.values import Debtor
from ledger.eventstore import EventStore
from ledger.messaging.sender import MessageSender
from ledger.privacy import DataKeys
from ledger.services.cases import Context, case_id_for
from ledger.services.messages import MessageService
from ledger.services.repositories import case_service

SECRET = "whsec_" + "YmVuY2gtc2VjcmV0LWZvci1tZXNzYWdlcw=="
TENANT = "bench-messages"


def _midday_zone() -> str:
    """A zone where it is about noon now, so every message is allowed at once."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


async def run(url: str, count: int) -> dict[str, float]:
    provider = subprocess.Popen([sys.executable, "-m", "ledger.messaging.fake_provider",
                                 "--secret", SECRET], stdout=subprocess.PIPE)
    pool = await create_pool(url, min_size=2, max_size=12)
    try:
        assert provider.stdout is not None
        inbox = f"http://127.0.0.1:{int(provider.stdout.readline().split()[-1])}"
        store = EventStore(pool)
        keys = DataKeys(store.fetch, os.urandom(32))
        cases = case_service(store, keys)
        messages = MessageService(cases, keys)
        ctx = Context(TENANT, "bench", uuid.uuid4())
        debtor = Debtor(name="Bench Debtor", phones=("+15550001111",), timezone=_midday_zone(),
                        jurisdiction="US-TX")
        ids = []
        for n in range(count):
            from ledger.domain.case import Case

            case = Case.place(case_id=case_id_for(TENANT, f"B-{n}"), tenant_id=TENANT,
                              external_ref=f"B-{n}", portfolio="bench", product="card",
                              currency="USD", principal=100_000, interest=0, fees=0,
                              past_due_amount=1_000, days_past_due=40,
                              placed_at=datetime(2026, 9, 1, tzinfo=UTC), debtor=debtor)
            await cases.place(ctx, case, lambda c, _: (201, b""), lambda e, n: (200, b""))
            ids.append(case.id)
        template = Template.create(tenant_id=TENANT, name="reminder", channel="sms",
                                   locale="en_US", subject=None, saved_at=datetime.now(UTC),
                                   body="{{ debtor_name }}: {{ balance }} due. {{ opt_out }}")
        await cases.repository.save(template, tenant_id=TENANT)
        started = time.perf_counter()
        await asyncio.gather(*(messages.queue_message(ctx, case_id, "reminder")
                               for case_id in ids))
        queued = time.perf_counter() - started
        sender = MessageSender(pool, cases, keys, secret=SECRET, sms_url=inbox + "/sms",
                               email_url=None, poll_interval=0.01)
        started = time.perf_counter()
        await sender.start()
        while await pool.fetchval("SELECT count(*) FROM message_outbox WHERE state = 'sent'") < count:
            await asyncio.sleep(0.02)
        sent = time.perf_counter() - started
        await sender.stop()
        report = json.loads(httpx.get(inbox + "/messages", timeout=10).text)
        assert len(report["messages"]) == count, report["requests"]
        return {"messages": count, "queued_per_second": count / queued,
                "sent_per_second": count / sent, "provider_requests": report["requests"]}
    finally:
        provider.kill()
        provider.wait()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a PostgreSQL server (default: an embedded one)")
    parser.add_argument("--messages", type=int, default=1_000)
    args = parser.parse_args()
    async with scratch_database(args.url) as (url, _):
        figures = await run(url, args.messages)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
