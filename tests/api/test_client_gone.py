"""A client that goes away before its request body arrived is logged as 499, not as our 500."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from ledger.observability.metrics import HTTP_REQUESTS

ROUTE = "/v1/cases/{case_id}/payments"


def _count(status: str) -> float:
    return HTTP_REQUESTS.labels("POST", ROUTE, status)._value.get()


async def test_a_payment_whose_client_disconnects_mid_body_is_counted_as_499_and_stores_nothing(
        live_server, keys, case, client):
    before_499, before_500 = _count("499"), _count("500")
    address = urlsplit(live_server)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    auth = keys["integration"]["Authorization"]
    writer.write((f"POST /v1/cases/{case['case_id']}/payments HTTP/1.1\r\n"
                  f"Host: {address.netloc}\r\nAuthorization: {auth}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
                  '{"amount": 1').encode())  # most of the body never comes
    await writer.drain()
    await asyncio.sleep(0.3)  # the app is waiting for the rest of the body
    writer.close()
    for _ in range(100):
        if _count("499") > before_499:
            break
        await asyncio.sleep(0.05)
    assert _count("499") == before_499 + 1
    assert _count("500") == before_500
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["integration"])).json()
    assert view["version"] == case["version"]
