"""A small HTTP/1.1 client for webhook POSTs, built for the SSRF guard and for throughput.

Why not a general client: every connection must go to an address the guard checked at
connect time (so DNS rebinding cannot reach an internal host), redirects are never followed,
an answer must come within 10 s, and at most 64 kB of a response body is ever read. Owning
the few lines that do that is simpler to audit than patching a library's connection layer,
and it keeps thousands of POSTs a second affordable on one core. Connections are kept alive
per (scheme, host, port); TLS verifies the certificate against the URL's host name.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from ledger.domain.webhooks.rules import UrlRefused, parse_endpoint_url
from ledger.webhooks.guard import checked_addresses

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BODY = 64 * 1024
MAX_IDLE_PER_ORIGIN = 64
USER_AGENT = "Ledger-Webhooks/1"


class Outcome(NamedTuple):
    """What one attempt got: a status code, or an error saying why there was none."""

    status: int | None
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Connection(NamedTuple):
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class _Closed(Exception):
    """The connection closed before a status line: safe to retry on a fresh one."""


class WebhookClient:
    """POSTs bodies to endpoint URLs; one per deliverer."""

    def __init__(self, allow_hosts: Collection[str], *, timeout: float = TIMEOUT_SECONDS,
                 max_body: int = MAX_RESPONSE_BODY) -> None:
        self.allow_hosts = frozenset(allow_hosts)
        self.timeout = timeout
        self.max_body = max_body
        self._idle: dict[tuple[str, str, int], list[_Connection]] = defaultdict(list)
        self._tls = ssl.create_default_context()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                status = await self._post(url, body, headers)
            return Outcome(status, None, time.monotonic() - started)
        except UrlRefused as refused:
            return Outcome(None, f"refused: {refused}", time.monotonic() - started)
        except TimeoutError:
            return Outcome(None, f"no answer within {self.timeout:g} s", time.monotonic() - started)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, ValueError, _Closed) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            return Outcome(None, f"connection failed: {reason}", time.monotonic() - started)

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        scheme, host, port = parse_endpoint_url(url, self.allow_hosts)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            host_header += f":{port}"
        lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}",
                 "Content-Type: application/json", f"Content-Length: {len(body)}",
                 f"User-Agent: {USER_AGENT}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        origin = (scheme, host, port)
        idle = self._idle[origin]
        while idle:
            conn = idle.pop()
            try:
                return await self._exchange(origin, conn, request)
            except (_Closed, ConnectionError):
                conn.writer.close()  # a kept-alive connection the server had closed: next
        conn = await self._connect(scheme, host, port)
        return await self._exchange(origin, conn, request)

    async def _connect(self, scheme: str, host: str, port: int) -> _Connection:
        addresses = await checked_addresses(host, port, self.allow_hosts)
        error: OSError | None = None
        for address in addresses:
            try:
                reader, writer = await asyncio.open_connection(
                    address, port, ssl=self._tls if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None)
                return _Connection(reader, writer)
            except OSError as failed:
                error = failed
        raise error or OSError("no address to connect to")

    async def _exchange(self, origin: tuple[str, str, int], conn: _Connection,
                        request: bytes) -> int:
        reader, writer = conn
        keep = False
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise _Closed()
            parts = status_line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise ValueError("not an HTTP/1.x response")
            status = int(parts[1])
            length, chunked, keep = None, False, parts[0] == b"HTTP/1.1"
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value
                elif name == b"connection":
                    keep = keep and value != b"close"
            keep = await self._drain_body(reader, length, chunked) and keep
            return status
        finally:
            if keep and len(self._idle[origin]) < MAX_IDLE_PER_ORIGIN:
                self._idle[origin].append(conn)
            else:
                writer.close()

    async def _drain_body(self, reader: asyncio.StreamReader, length: int | None,
                          chunked: bool) -> bool:
        """Read (and drop) the body, at most ``max_body`` bytes; True if fully read."""
        if length is not None and not chunked:
            if length > self.max_body:
                await reader.readexactly(self.max_body)
                return False
            await reader.readexactly(length)
            return True
        if not chunked:
            await reader.read(self.max_body)  # until close, bounded
            return False
        total = 0
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            total += size
            if total > self.max_body:
                return False
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return True
            await reader.readexactly(size + 2)

    async def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.writer.close()
        self._idle.clear()
