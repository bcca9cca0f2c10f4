"""Root with a data directory under a folder the PostgreSQL user cannot enter: one clear line.

As root, the embedded PostgreSQL runs as ``embedded_postgres``; under a ``0700`` folder (what
``mktemp -d`` makes) ``initdb`` used to fail with a bare "Permission denied".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ledger.db.embedded import unreachable_folder


def test_the_first_folder_another_user_cannot_enter_is_found():
    base = Path(tempfile.mkdtemp(prefix="ledger-perm-"))
    private = base / "private"
    try:
        (private / "inner").mkdir(parents=True)
        base.chmod(0o755)
        private.chmod(0o700)
        assert unreachable_folder(private / "inner" / "data", "nobody") == private
        private.chmod(0o711)
        assert unreachable_folder(private / "inner" / "data", "nobody") is None
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_ledger_as_root_names_the_folder_and_the_fix_in_one_line():
    if os.geteuid() != 0:
        pytest.skip("only root runs PostgreSQL as another user (embedded_postgres)")
    private = Path(tempfile.mkdtemp(prefix="ledger-private-"))  # mode 0700, like `mktemp -d`
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env["LEDGER_DATA_DIR"] = str(private / "data")
        result = subprocess.run([sys.executable, "-m", "ledger.cli", "migrate"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(private) in lines[0] and "0700" in lines[0]
        assert "embedded_postgres" in lines[0] and f"chmod o+x {private}" in lines[0]
        assert "LEDGER_DATA_DIR" in lines[0]
        assert not (private / "data" / "postgres" / "pgdata" / "PG_VERSION").exists()
    finally:
        subprocess.run(["rm", "-rf", str(private)], check=False)
