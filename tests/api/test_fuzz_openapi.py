"""Fuzz every route from the app's own OpenAPI document (schemathesis), bounded for CI.

Checks: no 5xx, documented status codes and content types, and bodies that match the
documented schemas. The server runs in its own process so schemathesis' synchronous client
does not block the test's event loop.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs the test extra's schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api_helpers import SECRET  # noqa: E402



@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value):  # type: ignore[no-untyped-def]
    """The import route takes NDJSON: one generated value per line."""
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


EXAMPLES_PER_ROUTE = 8
MAX_FUZZ_WAIT = 0.5  # ~27 operations: about 220 requests, well under a minute
SERVER = (
    "import sys, uvicorn\n"
    "from ledger.api.app import create_app\n"
    "from ledger.config import Settings\n"
    "url, secret, port = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
    "app = create_app(Settings(database_url=url, secret_key=secret), url, derive_master_key_for_tests=True)\n"
    "uvicorn.run(app, host='127.0.0.1', port=port, log_level='warning')\n"
)


@pytest.fixture(scope="module")
def fuzz_server(database_url: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, database_url, SECRET, str(port)], env=dict(os.environ)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the fuzz server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
async def fuzz_headers(tenant, make_key) -> dict[str, str]:
    return await make_key(tenant, "admin")


def _bound_long_polls(case) -> None:  # type: ignore[no-untyped-def]
    """An empty feed page waits up to ``wait`` seconds: keep the run bounded in time."""
    query = case.query or {}
    try:
        if float(query.get("wait", 0)) > MAX_FUZZ_WAIT:
            query["wait"] = MAX_FUZZ_WAIT
    except (TypeError, ValueError):
        pass


def test_no_generated_request_gets_a_5xx_or_an_undocumented_response(fuzz_server, fuzz_headers):
    # schemathesis' lazy pytest fixture loader does not work with pytest 9, so each operation's
    # strategy is driven by hypothesis directly.
    schema = schemathesis.openapi.from_url(fuzz_server + "/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None,
                  suppress_health_check=list(HealthCheck), database=None)
        def check(case):  # type: ignore[no-untyped-def]
            _bound_long_polls(case)
            case.call_and_validate(
                base_url=fuzz_server, headers=fuzz_headers,
                checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                        response_schema_conformance],
            )

        try:
            check()
        except Exception as error:  # collect every failing route, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:2000])
    assert failures == []
