"""A bank's webhook receiver, for tests and the benchmark: a real process on 127.0.0.1.

Verifies every message with the ``standardwebhooks`` package (each secret given), answers
with the scripted statuses (``--script 500,500`` then ``--status``), and appends one JSON line
per request to ``--out``: arrival time, headers, which secrets verified, the answer, the body.

    python tests/webhook_receiver.py --out received.jsonl --secret whsec_... --port 0
    # prints "listening <port>" once ready
"""

from __future__ import annotations

import argparse
import asyncio
import os
import json
import signal
import time

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self, args: argparse.Namespace) -> None:
        self.hooks = [Webhook(s) for s in args.secret]
        self.script = [int(s) for s in args.script.split(",") if s.strip()]
        self.status = args.status
        self.out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 (closed at exit)
        self.keep_body = not args.no_body
        self.delay = args.delay_ms / 1000

    def answer(self) -> int:
        return self.script.pop(0) if self.script else self.status

    def record(self, headers: dict[str, str], body: bytes, status: int) -> None:
        verified = []
        for index, hook in enumerate(self.hooks):
            try:
                hook.verify(body, headers)
                verified.append(index)
            except WebhookVerificationError:
                pass
        entry = {"t": time.time(), "webhook_id": headers.get("webhook-id"),
                 "signature": headers.get("webhook-signature", ""), "verified": verified,
                 "status": status, "body": json.loads(body) if self.keep_body else None}
        if not self.keep_body:
            data = json.loads(body)
            entry["head"] = {k: data.get(k) for k in ("id", "type", "case_id", "version",
                                                      "recorded_at")}
        self.out.write(json.dumps(entry) + "\n")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.delay:
                    await asyncio.sleep(self.delay)
                status = self.answer()
                self.record(headers, body, status)
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def flush_forever(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self.out.flush()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--secret", action="append", default=[])
    parser.add_argument("--script", default="", help="statuses of the first requests")
    parser.add_argument("--status", type=int, default=200, help="status after the script")
    parser.add_argument("--delay-ms", type=int, default=0, help="wait before answering")
    parser.add_argument("--no-body", action="store_true", help="log only the body's head")
    args = parser.parse_args()
    receiver = Receiver(args)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", args.port)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    flusher = asyncio.create_task(receiver.flush_forever())
    await stop.wait()
    flusher.cancel()
    receiver.out.flush()
    server.close()
    # Leave at once: open connections' handler tasks, cancelled by asyncio.run's shutdown,
    # would each print a CancelledError traceback from the stream callback.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
