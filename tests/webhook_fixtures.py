"""Fixtures of the webhook tests: a Ledger on its own database with 127.0.0.1 allow-listed,
and receivers that are real processes on 127.0.0.1 (``tests/webhook_receiver.py``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RECEIVER = Path(__file__).resolve().parent / "webhook_receiver.py"


class ReceiverProcess:
    """One receiver; ``received()`` reads what it logged so far."""

    def __init__(self, secrets: list[str], script: str = "", status: int = 200,
                 port: int = 0, delay_ms: int = 0) -> None:
        self.out = Path(tempfile.mkdtemp(prefix="ledger-hooks-")) / "received.jsonl"
        self.out.touch()
        args = [sys.executable, str(RECEIVER), "--out", str(self.out), "--port", str(port),
                "--script", script, "--status", str(status), "--delay-ms", str(delay_ms)]
        for secret in secrets:
            args += ["--secret", secret]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        assert line and line[0] == "listening", "receiver did not start"
        self.port = int(line[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def received(self) -> list[dict[str, Any]]:
        text = self.out.read_text()
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    async def wait_for(self, check: Callable[[list[dict[str, Any]]], bool],
                       timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if check(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver got {len(got)} messages; condition not met")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
