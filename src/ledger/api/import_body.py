"""The NDJSON import body, spooled instead of held in memory.

A 100,000-line import is ~40–100 MB. Reading it whole (``request.body()``) made the process
grow by ~1.2 KiB per line for the whole request. Instead the body is streamed into a spooled
temporary file (memory up to ``SPOOL_IN_MEMORY``, then disk), counting lines on the way, so the
``413`` for too many lines is still answered before anything is stored, and the lines are then
read back one chunk at a time. The idempotency hash is computed from the spool with the same
framing as every other POST (``idempotency.request_hash``).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from typing import IO

from litestar import Request

SPOOL_IN_MEMORY = 1 << 20
_READ = 1 << 16


class SpooledBody:
    """A request body on a spooled file: its line count, its hash and its lines."""

    def __init__(self, file: IO[bytes], lines: int) -> None:
        self.file = file
        self.lines = lines

    @classmethod
    async def read(cls, request: Request) -> SpooledBody:
        file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by close())
        lines = 0
        last = b"\n"
        try:
            async for chunk in request.stream():
                if chunk:
                    file.write(chunk)
                    lines += chunk.count(b"\n")
                    last = chunk[-1:]
        except BaseException:
            file.close()
            raise
        if last != b"\n":
            lines += 1  # a last line without its newline
        return cls(file, lines)

    def request_hash(self, method: str, path: str) -> bytes:
        """The same digest as ``idempotency.request_hash(method, path, body)``."""
        size = self.file.seek(0, 2)
        digest = hashlib.blake2b(digest_size=32)
        for part in (method.encode(), path.encode()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        digest.update(size.to_bytes(8, "big"))
        self.file.seek(0)
        while block := self.file.read(_READ):
            digest.update(block)
        return digest.digest()

    def iter_lines(self) -> Iterator[bytes]:
        """Every non-final-empty line, in order (blank lines are kept: they are numbered)."""
        self.file.seek(0)
        for raw in self.file:
            yield raw[:-1] if raw.endswith(b"\n") else raw

    def close(self) -> None:
        self.file.close()
