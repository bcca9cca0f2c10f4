"""Issue 11, item 9: the first admin key, exports, the API secret and logged paths leak nothing.

Real processes on a real database: ``ledger serve`` writing the first admin key, ``ledger
export`` writing debtor data, and the request log and error lines naming route templates.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
from pathlib import Path

import httpx
import pytest
from litestar.testing import RequestFactory

from ledger.api import problems

from ledger.config import ConfigError, Settings
from ledger.services.secret import resolve_secret
from processes import Server, bearer, make_key, migrated_database, placement, run_ledger

KEY = re.compile(r"\blk_[A-Za-z0-9]+_[A-Za-z0-9_-]+")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("container", [False, True])
async def test_the_first_admin_key_is_saved_0600_and_in_a_container_only_its_place_is_printed(
        make_database, container):
    url = await migrated_database(make_database)
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-e2e-keyfile-"))
    env = {"LEDGER_DATA_DIR": str(data_dir)}
    if container:
        env["LEDGER_IN_CONTAINER"] = "1"
    server = Server(url, **env)
    try:
        server.start()
        saved = data_dir / "admin_key"
        key = saved.read_text().strip()
        assert KEY.fullmatch(key) and _mode(saved) == 0o600
        keys = httpx.get(f"{server.base}/v1/keys", headers=bearer(key), timeout=10)
        assert keys.status_code == 200
    finally:
        output = server.output()
        server.close()
        for leftover in data_dir.iterdir():
            leftover.unlink()
        data_dir.rmdir()
    assert str(saved) in output
    assert (KEY.search(output) is None) == container, output


async def test_an_export_file_is_readable_by_its_owner_only_whatever_the_umask(make_database):
    url = await migrated_database(make_database)
    tenant = "t-export-mode"
    key = await make_key(url, tenant, "integration")
    server = Server(url).start()
    try:
        placed = httpx.post(f"{server.base}/v1/cases", json=placement("EXP-1"), headers=bearer(key),
                            timeout=10)
        assert placed.status_code == 201, placed.text
    finally:
        server.close()
    folder = Path(tempfile.mkdtemp(prefix="ledger-e2e-export-"))
    target = folder / "events.ndjson"
    target.write_text("old\n")
    target.chmod(0o644)  # an older, world-readable file of the same name
    previous = os.umask(0o022)
    try:
        result = run_ledger(url, "export", "--tenant", tenant, "--output", str(target))
    finally:
        os.umask(previous)
    try:
        assert result.returncode == 0, result.stderr
        assert _mode(target) == 0o600
        assert "EXP-1" in target.read_text() and "old" not in target.read_text().split("\n")[0]
    finally:
        target.unlink()
        folder.rmdir()


def test_a_secret_longer_than_64_bytes_is_refused_with_the_way_to_keep_keys_valid():
    url = "postgresql://db.example/ledger"
    assert len(resolve_secret(Settings(database_url=url, secret_key="s" * 64))) == 64
    with pytest.raises(ConfigError, match="first 64 bytes"):
        resolve_secret(Settings(database_url=url, secret_key="s" * 65))
    with pytest.raises(ConfigError, match="LEDGER_SECRET_KEY"):
        resolve_secret(Settings(database_url=url, secret_key="é" * 40))  # 80 bytes in UTF-8


def test_error_log_lines_name_the_route_template_not_the_path():
    request = RequestFactory().get("/v1/cases/by-ref/SECRET-REF-4242")
    request.scope["path_template"] = "/v1/cases/by-ref/{external_ref}"  # type: ignore[typeddict-unknown-key]
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("ledger.api")
    logger.addHandler(handler)
    try:
        assert problems.handle_database_down(request, OSError("down")).status_code == 503
        assert problems.handle_unexpected(request, ValueError("boom")).status_code == 500
    finally:
        logger.removeHandler(handler)
    assert len(lines) == 2 and all("/v1/cases/by-ref/{external_ref}" in line for line in lines)
    assert not any("SECRET-REF-4242" in line for line in lines)
