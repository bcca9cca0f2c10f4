"""Everything the test suite writes to the temp folder goes in one folder of its own, removed
at the end of the session however it ends (pass, fail, Ctrl-C, SIGTERM, SIGHUP).

``pytest_configure`` points ``TMPDIR`` (and ``tempfile.tempdir``) at a fresh
``ledger-suite-*`` folder, so every ``mkdtemp`` of the tests, fixtures and child processes (the
``ledger serve`` processes, their embedded PostgreSQL data directories) lands inside it. At the
end any PostgreSQL still running from a data directory inside it — one the suite started, found
by its ``postmaster.pid`` — is stopped by that pid, and the folder is deleted.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

SUITE_PREFIX = "ledger-suite-"


def _postmasters(root: Path) -> list[int]:
    pids = []
    for pid_file in root.rglob("postmaster.pid"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pids.append(int(pid_file.read_text().splitlines()[0]))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean(root: Path) -> None:
    """Stop the PostgreSQL servers started inside ``root`` (fast shutdown), then delete it."""
    if not root.exists():
        return
    pids = [pid for pid in _postmasters(root) if _alive(pid)]
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown
    shutil.rmtree(root, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    # pytest turns KeyboardInterrupt into an orderly end: fixtures are torn down, then
    # pytest_unconfigure cleans whatever is left.
    raise KeyboardInterrupt(f"signal {signum}")


def start_session() -> Path:
    """Create the session's folder and route every temporary file of the suite into it."""
    root = Path(tempfile.mkdtemp(prefix=SUITE_PREFIX))
    root.chmod(0o755)  # embedded PostgreSQL runs as its own user when the tests run as root
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)
    atexit.register(clean, root)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signum, _interrupt)
    return root
