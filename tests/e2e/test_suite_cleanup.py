"""A test run interrupted with its embedded PostgreSQL running leaves nothing behind (issue 11, 12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).parents[1]
HANGING_TEST = '''
import time

def test_waits_with_the_session_database_running(server_url):
    print("STARTED", flush=True)
    time.sleep(600)
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def test_a_suite_killed_by_sigterm_stops_its_postgres_and_removes_its_folders():
    temp = Path(tempfile.mkdtemp(prefix="ledger-cleanup-check-"))
    temp.chmod(0o755)
    test_file = temp / "test_hanging.py"
    test_file.write_text(HANGING_TEST)
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_TEST_DATABASE_URL"}
    env.update(TMPDIR=str(temp), PYTHONPATH=str(TESTS))
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "conftest", "-p", "no:cacheprovider", "--rootdir", str(temp),
         "-o", "addopts=", str(test_file)],
        cwd=temp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        postmaster = None
        while postmaster is None:  # the pid file comes and goes while the server starts
            assert child.poll() is None, child.stdout.read() if child.stdout else ""
            assert time.monotonic() < deadline, "the embedded server did not start"
            for pid_file in temp.glob("ledger-suite-*/**/postmaster.pid"):
                try:
                    pid = int(pid_file.read_text().splitlines()[0])
                except (OSError, IndexError, ValueError):
                    continue
                if _alive(pid):
                    postmaster = pid
            time.sleep(0.2)
        time.sleep(1.0)  # let the fixture finish starting and the test begin
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=90)
        deadline = time.monotonic() + 30
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(postmaster), "the suite's PostgreSQL still runs"
        left = sorted(p.name for p in temp.iterdir() if p.name != "test_hanging.py"
                      and p.name != "__pycache__")
        assert left == [], left
    finally:
        if child.poll() is None:
            child.kill()
        import shutil
        shutil.rmtree(temp, ignore_errors=True)
