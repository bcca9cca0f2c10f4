"""Settings read from the environment into one typed object.

Every variable is named ``LEDGER_*``. A bad value stops start-up with a message that
names the variable and says what it expected, so an operator never has to guess.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A configuration variable is missing or malformed."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Runtime configuration of a Ledger process."""

    database_url: str | None = None
    """PostgreSQL URL; None means: run the embedded PostgreSQL in ``data_dir``."""
    data_dir: Path = Path(".ledger")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    pool_min_size: int = 2
    pool_max_size: int = 20
    snapshot_interval: int = 100
    secret_key: str | None = None
    """Server secret used to hash API keys; generated into ``data_dir`` when unset."""
    run_projections: bool = True
    """Run the projection runner and deadline scheduler inside ``ledger serve``."""
    deadline_interval: int = 60
    """Seconds between deadline-scheduler passes (broken promises, missed instalments)."""
    master_key: str | None = None
    """64 hex digits wrapping the per-case data keys of personal data; see ledger.privacy."""
    # trust-ops (issue 11, item 8): unauthenticated cost and abuse.
    metrics_token: str | None = None
    """When set, ``/metrics`` wants ``Authorization: Bearer <metrics_token>``."""
    auth_failures_per_minute: int = 20
    """Failed key checks a client may make per minute before its key checks get 429; 0: no limit."""

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(env, name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _database_url(env: Mapping[str, str], name: str) -> str | None:
    raw = _text(env, name)
    if raw is not None and not raw.startswith(("postgresql://", "postgres://")):
        # Never echo the value: it may hold a password.
        raise ConfigError(f"{name} must be a URL starting with postgresql:// or postgres://")
    return raw


def _master_key(env: Mapping[str, str], name: str) -> str | None:
    raw = _text(env, name)
    if raw is not None:
        try:
            valid = len(bytes.fromhex(raw)) == 32
        except ValueError:
            valid = False
        if not valid:  # never echo the value: it is the key to every debtor's data
            raise ConfigError(f"{name} must be 64 hexadecimal digits (32 bytes)")
    return raw


def generated_secret(path: Path) -> str:
    """A random 256-bit hex secret kept in ``path`` (mode 0600), created on first use.

    For single-machine installs (the embedded database) only: with an external database every
    process must be given the same secret instead.
    """
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(32)
    # O_EXCL: if two processes start at once, the loser reads the winner's file.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return generated_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    return text


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``env`` (default: the process environment); ``overrides`` win."""
    env = os.environ if env is None else env
    log_level = (_text(env, "LEDGER_LOG_LEVEL") or "info").lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LEDGER_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    pool_min = _integer(env, "LEDGER_POOL_MIN_SIZE", 2, 1, 1000)
    pool_max = _integer(env, "LEDGER_POOL_MAX_SIZE", 20, 1, 1000)
    if pool_max < pool_min:
        raise ConfigError("LEDGER_POOL_MAX_SIZE must be at least LEDGER_POOL_MIN_SIZE")
    values: dict[str, Any] = {
        "database_url": _database_url(env, "LEDGER_DATABASE_URL"),
        "data_dir": Path(_text(env, "LEDGER_DATA_DIR") or ".ledger"),
        "host": _text(env, "LEDGER_HOST") or "127.0.0.1",
        "port": _integer(env, "LEDGER_PORT", 8000, 0, 65535),
        "log_level": log_level,
        "pool_min_size": pool_min,
        "pool_max_size": pool_max,
        "snapshot_interval": _integer(env, "LEDGER_SNAPSHOT_INTERVAL", 100, 2, 1_000_000),
        "secret_key": _text(env, "LEDGER_SECRET_KEY"),
        "run_projections": _flag(env, "LEDGER_RUN_PROJECTIONS", True),
        "deadline_interval": _integer(env, "LEDGER_DEADLINE_INTERVAL", 60, 1, 86_400),
        "master_key": _master_key(env, "LEDGER_MASTER_KEY"),
        "metrics_token": _text(env, "LEDGER_METRICS_TOKEN"),
        "auth_failures_per_minute": _integer(env, "LEDGER_AUTH_FAILURES_PER_MINUTE", 20, 0,
                                             1_000_000),
    }
    values.update(overrides)
    return Settings(**values)
