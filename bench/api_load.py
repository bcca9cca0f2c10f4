"""The API under a fixed offered load (open loop), not only saturated.

    python -m bench.api_load [--rate 800] [--seconds 10] [--warmup 3] [--endpoint payment]
                             [--connections 64] [--cases 2000]

Starts an embedded PostgreSQL (or uses ``LEDGER_DATABASE_URL``), places ``--cases`` cases,
serves the Ledger app (or the bare endpoint of ``bench.api_http``) as one uvicorn worker on
127.0.0.1 in its own process, and sends requests from this process at ``--rate`` per second
whatever the responses: request *i* is due at ``start + i / rate``, goes out on the first idle
keep-alive connection, and its latency is measured from when it was *due*, so a stalled server
shows up in the percentiles instead of slowing the client down (no coordinated omission).

``--endpoint``: ``payment`` (``POST /v1/cases/{id}/payments`` with a fresh ``Idempotency-Key``
and ``external_id``, round-robin over the cases), ``case`` (``GET /v1/cases/{id}``) or
``bare``. Prints the achieved rate, p50/p99/max latency, errors (non-2xx, timeouts), and the
CPU seconds per request of the server process, PostgreSQL and this client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path

import psutil

from bench.api_http import _free_port, _prepare, _wait

DRAIN_SECONDS = 5.0


class Requests:
    """The n-th request of the run, as bytes (without the common headers)."""

    def __init__(self, endpoint: str, ids: list[str], key: str) -> None:
        self.endpoint, self.ids = endpoint, ids
        self.auth = f"Authorization: Bearer {key}\r\n\r\n".encode()
        self.prefix = f"L{uuid.uuid4().hex[:8]}"

    def __call__(self, n: int) -> bytes:
        case_id = self.ids[n % len(self.ids)]
        if self.endpoint == "payment":
            ext = f"{self.prefix}-{n}"
            body = (f'{{"external_id":"{ext}","amount":1,"currency":"USD",'
                    f'"received_at":"2026-02-01T00:00:00Z","method":"ach"}}').encode()
            head = (f"POST /v1/cases/{case_id}/payments HTTP/1.1\r\nHost: bench\r\n"
                    f"Idempotency-Key: {ext}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n").encode()
            return head + self.auth + body
        path = "/bare/" if self.endpoint == "bare" else "/v1/cases/"
        return f"GET {path}{case_id} HTTP/1.1\r\nHost: bench\r\n".encode() + self.auth


class Connection(asyncio.Protocol):
    """One keep-alive connection; parses just enough of a response: status and length."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.due = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, due: float) -> None:
        self.due = due
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        start = head.find(b"content-length:")
        length = 0
        if start >= 0:
            stop = head.find(b"\r\n", start)
            length = int(head[start + 15:stop if stop >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        self.buffer = self.buffer[end + 4 + length:]
        self.client.done(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.lost(self)


class Client:
    """Sends request ``i`` when due, on an idle connection, else queues it (still timed from due)."""

    def __init__(self, requests: Requests, rate: float) -> None:
        self.requests, self.rate = requests, rate
        self.idle: list[Connection] = []
        self.backlog: deque[tuple[bytes, float]] = deque()
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.recording_from = float("inf")
        self.in_flight = 0
        self.max_backlog = 0

    def done(self, connection: Connection, status: int) -> None:
        finished = time.perf_counter()
        self.in_flight -= 1
        if connection.due >= self.recording_from:
            self.latencies.append(finished - connection.due)
            if not 200 <= status < 300:
                self.errors[str(status)] = self.errors.get(str(status), 0) + 1
        self._next(connection)

    def lost(self, connection: Connection) -> None:
        if connection in self.idle:
            self.idle.remove(connection)
        else:
            self.in_flight -= 1
            self.errors["connection lost"] = self.errors.get("connection lost", 0) + 1

    def _next(self, connection: Connection) -> None:
        if self.backlog:
            request, due = self.backlog.popleft()
            self.in_flight += 1
            connection.send(request, due)
        else:
            self.idle.append(connection)

    def offer(self, request: bytes, due: float) -> None:
        if self.idle:
            self.in_flight += 1
            self.idle.pop().send(request, due)
        else:
            self.backlog.append((request, due))
            self.max_backlog = max(self.max_backlog, len(self.backlog))

    async def run(self, host: str, port: int, connections: int, warmup: float, seconds: float) -> float:
        loop = asyncio.get_running_loop()
        for _ in range(connections):
            _, protocol = await loop.create_connection(lambda: Connection(self), host, port)
            self.idle.append(protocol)
        start = time.perf_counter()
        self.recording_from = start + warmup
        end = self.recording_from + seconds
        sent = 0
        while True:
            now = time.perf_counter()
            due_count = min(int((now - start) * self.rate) + 1, int((end - start) * self.rate))
            while sent < due_count:
                self.offer(self.requests(sent), start + sent / self.rate)
                sent += 1
            if sent >= int((end - start) * self.rate):
                break
            await asyncio.sleep(max(0.0, start + sent / self.rate - time.perf_counter()))
        deadline = time.perf_counter() + DRAIN_SECONDS
        while (self.in_flight or self.backlog) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        if self.in_flight or self.backlog:
            self.errors["timeout"] = self.in_flight + len(self.backlog)
        return time.perf_counter() - self.recording_from


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _postgres_processes(pgdata: Path | None) -> list[psutil.Process]:
    if pgdata is None:
        return []
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    return [postmaster, *postmaster.children(recursive=True)]


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=800, help="requests per second offered")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3, help="seconds at the rate, not measured")
    parser.add_argument("--endpoint", choices=("payment", "case", "bare"), default="payment")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    from bench.scratch import served_database

    root = Path(tempfile.mkdtemp(prefix="ledger-bench-load-"))
    root.chmod(0o755)
    server, url = served_database(root)
    pgdata = server.pgdata if server is not None else None  # type: ignore[attr-defined]
    process = None
    client = None
    try:
        key, ids = asyncio.run(_prepare(url, args.cases))
        port = _free_port()
        kind = "bare" if args.endpoint == "bare" else "ledger"
        # The request log (stderr) goes to a file, written as in production, shown only on failure.
        log = open(root / "server.log", "wb")  # noqa: SIM115 - closed with the server
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.api_http", "--serve", kind, url, str(port)], stderr=log)
        _wait(f"http://127.0.0.1:{port}")
        watched = {"server": [psutil.Process(process.pid)], "postgres": _postgres_processes(pgdata),
                   "client": [psutil.Process()]}
        client = Client(Requests(args.endpoint, ids, key), args.rate)

        async def measure() -> tuple[float, dict[str, float]]:
            task = asyncio.create_task(client.run("127.0.0.1", port, args.connections,
                                                  args.warmup, args.seconds))
            await asyncio.sleep(args.warmup)
            before = {name: _cpu(p) for name, p in watched.items()}
            elapsed = await task
            return elapsed, {name: _cpu(p) - before[name] for name, p in watched.items()}

        try:
            import uvloop
            elapsed, cpu = uvloop.run(measure())
        except ImportError:
            elapsed, cpu = asyncio.run(measure())
        latencies = sorted(client.latencies)
        done = len(latencies)
        ms = 1000
        print(f"{args.endpoint}: offered {args.rate:.0f}/s for {args.seconds:.0f} s "
              f"(after {args.warmup:.0f} s warm-up), {args.connections} connections, 1 worker")
        print(f"  achieved {done / elapsed:8.0f} req/s  ({done} responses)")
        if latencies:
            print(f"  latency from due time: p50 {_percentile(latencies, .5) * ms:.1f} ms  "
                  f"p99 {_percentile(latencies, .99) * ms:.1f} ms  max {latencies[-1] * ms:.1f} ms")
        print(f"  errors: {client.errors or 'none'}; most requests waiting for a connection: "
              f"{client.max_backlog}")
        per = max(done, 1)
        print("  CPU per request: " + ", ".join(
            f"{name} {seconds / per * 1e6:.0f} µs" for name, seconds in cpu.items() if watched[name]))
        print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
            log.close()
            if process.returncode not in (0, -15) or (client is not None and client.errors):
                print((root / "server.log").read_text()[-3000:], file=sys.stderr)
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
