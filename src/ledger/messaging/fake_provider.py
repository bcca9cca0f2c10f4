"""A local fake sms/email provider for tests and the demo: ``python -m
ledger.messaging.fake_provider --secret whsec_... [--port 0] [--fail-first N]
[--delay-first SECONDS]``. It binds 127.0.0.1 only and prints ``listening on <port>``.

Like a real provider it checks the Standard Webhooks signature (``401`` if wrong) and
de-duplicates on ``webhook-id``: a repeated id is answered ``200`` again but delivered once.
``--fail-first N`` answers the first N requests ``503``; ``--delay-first S`` holds the first
accepted request S seconds before answering (to kill a sender mid-request).
``GET /messages`` returns ``{"requests": n, "messages": [...]}``: every request counted,
each distinct message once. It keeps everything in memory and logs nothing personal.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ledger.messaging.signing import verify

MAX_BODY = 1024 * 1024


class Inbox:
    def __init__(self, secret: str, fail_first: int, delay_first: float) -> None:
        self.secret, self.fail_first, self.delay_first = secret, fail_first, delay_first
        self.lock = threading.Lock()
        self.requests = 0
        self.messages: dict[str, dict[str, Any]] = {}
        self.delayed = False

    def take(self, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
        """(status, seconds to wait before answering) for one POST."""
        with self.lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                return 503, 0.0
            if not verify(self.secret, body, headers):
                return 401, 0.0
            try:
                payload = json.loads(body)
            except ValueError:
                return 400, 0.0
            message_id = headers.get("webhook-id", "")
            self.messages.setdefault(message_id, payload)
            wait = 0.0
            if self.delay_first and not self.delayed:
                self.delayed, wait = True, self.delay_first
            return 200, wait

    def report(self) -> bytes:
        with self.lock:
            return json.dumps({"requests": self.requests,
                               "messages": list(self.messages.values())}).encode()


def handler_for(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # never log request lines or bodies: they hold debtor data

        def _answer(self, status: int, body: bytes = b"{}") -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            if self.path == "/messages":
                self._answer(200, inbox.report())
            else:
                self._answer(404)

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._answer(413)
                return
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, wait = inbox.take(body, headers)
            if wait:
                time.sleep(wait)
            self._answer(status)

    return Handler


def serve(secret: str, port: int = 0, fail_first: int = 0,
          delay_first: float = 0.0) -> tuple[ThreadingHTTPServer, Inbox]:
    inbox = Inbox(secret, fail_first, delay_first)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(inbox))
    server.daemon_threads = True
    return server, inbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local fake sms/email provider (127.0.0.1).")
    parser.add_argument("--secret", required=True, help="whsec_... signing secret")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--delay-first", type=float, default=0.0)
    args = parser.parse_args(argv)
    server, _ = serve(args.secret, args.port, args.fail_first, args.delay_first)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
