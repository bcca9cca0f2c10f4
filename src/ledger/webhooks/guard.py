"""The SSRF guard: which endpoint URLs and addresses Ledger may call.

Checked twice: when an endpoint is registered or its url changed (refused with 422 before any
request is sent), and again on every connection the deliverer opens — the host is resolved
then, every address checked, and the connection made to a checked address — so a name that
later resolves to an internal address (DNS rebinding) is refused too. Hosts listed in
``LEDGER_WEBHOOK_ALLOW_HOSTS`` (comma-separated, e.g. ``127.0.0.1,localhost`` for tests) may
use plain http and private or loopback addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Collection

from ledger.domain.webhooks.rules import UrlRefused, parse_endpoint_url, refused_addresses

ALLOW_HOSTS_VARIABLE = "LEDGER_WEBHOOK_ALLOW_HOSTS"
RESOLVE_TIMEOUT = 5.0


def allow_hosts_from_env(env: dict[str, str] | None = None) -> frozenset[str]:
    raw = (os.environ if env is None else env).get(ALLOW_HOSTS_VARIABLE, "")
    hosts = {h.strip().lower().strip("[]") for h in raw.split(",") if h.strip()}
    return frozenset(hosts)


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a literal address resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT)
    except (OSError, TimeoutError, UnicodeError):  # UnicodeError: a label IDNA cannot encode
        raise UrlRefused(f"host {host} does not resolve") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, allow_hosts: Collection[str]) -> list[str]:
    """Addresses of ``host`` that may be called; ``UrlRefused`` when any may not."""
    addresses = await resolve(host, port)
    refused = refused_addresses(host, addresses, allow_hosts)
    if refused:
        raise UrlRefused("resolves to an address webhooks may not call: " + ", ".join(refused))
    if not addresses:
        raise UrlRefused(f"host {host} has no address")
    return addresses


async def check_url(url: str, allow_hosts: Collection[str]) -> None:
    """Refuse (``UrlRefused``) a URL Ledger may not call, without sending it anything."""
    _, host, port = parse_endpoint_url(url, allow_hosts)
    await checked_addresses(host, port, allow_hosts)
