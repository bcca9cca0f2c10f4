"""Pure rules of webhook delivery: endpoint URLs, addresses, the retry schedule, secret overlap.

No I/O and no clock: callers pass the time and the resolved addresses. The deliverer and the
API call these; hypothesis tests pin their properties.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

ROTATION_OVERLAP = timedelta(hours=24)
"""How long a replaced secret keeps signing after a rotation."""
DISABLE_AFTER_FAILING = timedelta(days=3)
"""An endpoint whose every attempt failed for this long is disabled."""
RETRY_SCHEDULE = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2),
                  timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1))
RETRY_EVERY_AFTER = timedelta(hours=2)
JITTER = 0.2
"""Each wait is scaled by a factor in [1 - JITTER, 1 + JITTER] so retries do not stampede."""
MAX_URL_LENGTH = 2048


class UrlRefused(ValueError):
    """The URL may not be a webhook endpoint; the message says why (safe to show)."""


def retry_delay(attempts: int, jitter: float, *, scale: float = 1.0) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based).

    ``jitter`` in [0, 1) is a random draw by the caller (pure here); ``scale`` compresses the
    schedule (benchmarks and tests; 1.0 in production).
    """
    if attempts < 1:
        raise ValueError("attempts counts failed attempts, from 1")
    base = RETRY_SCHEDULE[attempts - 1] if attempts <= len(RETRY_SCHEDULE) else RETRY_EVERY_AFTER
    factor = 1 - JITTER + 2 * JITTER * min(max(jitter, 0.0), 1.0)
    return base * factor * scale


def parse_endpoint_url(url: str, allow_hosts: Collection[str]) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable endpoint URL, else ``UrlRefused``.

    https always; plain http only to an allow-listed host. No credentials in the URL (they
    would be logged and shown back), no fragment.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"must be an absolute https URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("is not a valid URL") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UrlRefused("must be an absolute https URL")
    if parts.scheme == "http" and host not in allow_hosts:
        raise UrlRefused("must use https (plain http only to hosts in LEDGER_WEBHOOK_ALLOW_HOSTS)")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("must not carry credentials")
    if parts.fragment:
        raise UrlRefused("must not have a fragment")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise UrlRefused("must not contain spaces or control characters")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def address_refusal(address: str) -> str | None:
    """Why an IP address may not be called (None: a public unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.is_site_local:  # fec0::/10, deprecated but still routed inside some networks
            return "private"
        else:  # an IPv4 address inside (6to4, Teredo, NAT64) is judged as itself
            inner = _embedded_ipv4(ip)
            if inner is not None and (why := address_refusal(str(inner))) is not None:
                return why
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified or ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "private"
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def refused_addresses(host: str, addresses: Iterable[str],
                      allow_hosts: Collection[str]) -> list[str]:
    """Which of ``host``'s resolved addresses may not be called (empty: all may)."""
    if host in allow_hosts:
        return []
    return [f"{a} ({why})" for a in addresses if (why := address_refusal(a)) is not None]


def live_secret_ids(secrets: Sequence[tuple[str, datetime | None]], now: datetime) -> list[str]:
    """Secret ids that sign at ``now``, newest first: ``secrets`` is oldest first as
    (id, valid_until), valid_until None for the current one."""
    return [sid for sid, until in reversed(secrets) if until is None or until > now]


def matches(event_types: Collection[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``event_types`` receives ``event_type``."""
    return "*" in event_types or event_type in event_types


def failing_too_long(failing_since: datetime | None, now: datetime) -> bool:
    return failing_since is not None and now - failing_since >= DISABLE_AFTER_FAILING
