"""A small Chrome DevTools Protocol client for the browser tests: Debian's ``chromium``,
headless, on a local page, recording console errors, failed requests and every URL asked for.

Outside hosts are made unresolvable (``--host-resolver-rules``) so a page that tries to load
anything from the internet fails visibly, as it would on an isolated network.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

BINARY = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT = 30.0


class Chromium:
    """One headless chromium with one page (tab) driven over the DevTools protocol."""

    def __init__(self) -> None:
        assert BINARY is not None, "chromium is not installed"
        self.profile = Path(tempfile.mkdtemp(prefix="ledger-chromium-"))
        args = [BINARY, "--headless=new", "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--window-size=1280,800", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # chromium refuses to run as root with its sandbox
        self.log_path = self.profile.parent / f"{self.profile.name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        port = self._port()
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        self._open = contextlib.ExitStack()  # websockets wants its connection as a context
        self.socket = self._open.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def _port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError("chromium exited at start")
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv(timeout=TIMEOUT))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(method)

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(self.socket.recv(timeout=left))
            except TimeoutError:
                return
            if "method" in message:
                self.events.append(message)

    def open(self, url: str, settle: float = 0.5) -> None:
        """Navigate and wait for the load event, then for the network to go quiet."""
        start = len(self.events)
        self.call("Page.navigate", url=url)
        self.wait_for(lambda e: e["method"] == "Page.loadEventFired", start)
        self._drain(settle)

    def wait_for(self, matches: Any, start: int = 0) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if any(matches(e) for e in self.events[start:]):
                return
            self._drain(0.1)
        raise TimeoutError("event not seen")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            self._drain(0.2)
        raise TimeoutError(expression)

    def viewport(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)

    def screenshot(self, path: Path) -> int:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        raw = base64.b64decode(data)
        path.write_bytes(raw)
        return len(raw)

    def problems(self, origin: str, since: int = 0) -> list[str]:
        """Console errors, uncaught exceptions, failed or error responses, foreign requests."""
        found = []
        for event in self.events[since:]:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console: {[a.get('value') for a in params.get('args', [])]}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                found.append(f"failed: {params.get('errorText')} {params.get('blockedReason')}")
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                found.append(f"status {params['response']['status']}: {params['response']['url']}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith((origin, "data:", "about:")):
                    found.append(f"foreign request: {url}")
        return found

    def close(self) -> None:
        try:
            self._open.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.log.close()
            self.log_path.unlink(missing_ok=True)
            shutil.rmtree(self.profile, ignore_errors=True)
