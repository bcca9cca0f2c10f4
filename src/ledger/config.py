"""Settings read from the environment into one typed object.

Every variable is named ``LEDGER_*``. A bad value stops start-up with a message that
names the variable and says what it expected, so an operator never has to guess.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ledger.domain.complaints.deadlines import DEFAULT_RESPONSE_DAYS, parse_response_days

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
    # Webhooks (issue 14): see ledger.webhooks.
    run_webhooks: bool = True
    """Run the webhook deliverer inside ``ledger serve`` (else ``ledger deliver`` does)."""
    webhook_allow_hosts: frozenset[str] = frozenset()
    """Hosts that may use plain http and private/loopback addresses (tests, local receivers)."""
    webhook_shards: int = 1
    """Cases are split into this many delivery shards, each owned by one process at a time."""
    webhook_backoff_scale: float = 1.0
    """Multiplies the retry schedule (benchmarks and tests compress time with it)."""
    webhook_retention_days: int = 30
    """Delivered and cancelled deliveries (and their attempts) are removed this long after."""
    complaint_response_days: dict[str, int] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_RESPONSE_DAYS))
    """Days to answer a complaint by jurisdiction prefix (issue 15); ``*`` for the rest."""
    # Messages (issue 13)
    sms_url: str | None = None
    """Provider Ledger POSTs sms to (signed like webhooks); None: sms stay queued."""
    email_url: str | None = None
    """Provider Ledger POSTs email to; None: emails stay queued."""
    message_secret: str | None = None
    """``whsec_...`` secret signing provider requests; generated into ``data_dir`` when unset."""
    agency_name: str = "Ledger Collections"
    """The agency named in messages (``{{ agency_name }}``) and on letters."""
    run_sender: bool = True
    """Run the message sender, the address index and the validation-notice sweep in ``ledger serve``."""
    sender_backoff: float = 2.0
    """First retry delay (seconds) of a message the provider refused; doubles per attempt."""
    # trust-data: signed checkpoints (ledger.audit.signing, ledger.audit.checkpoints)
    signing_key: str | None = None
    """64 hex digits: the Ed25519 seed that signs checkpoints; generated with the embedded DB."""
    checkpoint_interval: int = 300
    """Seconds between signed checkpoints taken by the projection runner's process."""
    read_database_url: str | None = None
    """A streaming replica for lists, metrics and queues (docs/SCALING.md); None: the primary."""
    read_max_lag_seconds: int = 5
    """A replica replaying further behind than this is skipped (reads go to the primary)."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins (``https://host[:port]``) allowed to call the API; none by default."""
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


def _provider_url(env: Mapping[str, str], name: str) -> str | None:
    raw = _text(env, name)
    if raw is not None and not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    return raw


def _backoff(env: Mapping[str, str], name: str) -> float:
    raw = _text(env, name)
    if raw is None:
        return 2.0
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0.01 <= value <= 3600:
        raise ConfigError(f"{name} must be from 0.01 to 3600 seconds, got {value}")
    return value


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated origins, exactly as browsers send them (scheme, host, port; no path)."""
    raw = _text(env, name)
    if raw is None:
        return ()
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(f"{name} must list origins like https://app.example.com:8443 "
                              f"separated by commas, got {origin!r}")
    return origins


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


def _response_days(env: Mapping[str, str], name: str) -> dict[str, int]:
    try:
        return parse_response_days(_text(env, name) or "")
    except ValueError as error:
        raise ConfigError(f"{name}: {error} (e.g. GB=56,US=15,*=15)") from None


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``env`` (default: the process environment); ``overrides`` win."""
    env = os.environ if env is None else env
    log_level = (_text(env, "LEDGER_LOG_LEVEL") or "info").lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LEDGER_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    pool_min = _integer(env, "LEDGER_POOL_MIN_SIZE", 2, 1, 1000)
    # Below 8, ``ledger serve``'s background workers (which keep up to 5 for their lives) would
    # leave requests too few.
    pool_max = _integer(env, "LEDGER_POOL_MAX_SIZE", 20, 8, 1000)
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
        "run_webhooks": _flag(env, "LEDGER_RUN_WEBHOOKS", True),
        "webhook_allow_hosts": frozenset(
            h.strip().lower().strip("[]") for h in (_text(env, "LEDGER_WEBHOOK_ALLOW_HOSTS") or "")
            .split(",") if h.strip()),
        "webhook_shards": _integer(env, "LEDGER_WEBHOOK_SHARDS", 1, 1, 256),
        "webhook_backoff_scale": _integer(env, "LEDGER_WEBHOOK_BACKOFF_PERCENT", 100, 1, 100) / 100,
        "webhook_retention_days": _integer(env, "LEDGER_WEBHOOK_RETENTION_DAYS", 30, 1, 36_500),
        "complaint_response_days": _response_days(env, "LEDGER_COMPLAINT_RESPONSE_DAYS"),
        "sms_url": _provider_url(env, "LEDGER_SMS_URL"),
        "email_url": _provider_url(env, "LEDGER_EMAIL_URL"),
        "message_secret": _text(env, "LEDGER_MESSAGE_SECRET"),
        "agency_name": _text(env, "LEDGER_AGENCY_NAME") or "Ledger Collections",
        "run_sender": _flag(env, "LEDGER_RUN_SENDER", True),
        "sender_backoff": _backoff(env, "LEDGER_SENDER_BACKOFF"),
        "signing_key": _master_key(env, "LEDGER_SIGNING_KEY"),
        "checkpoint_interval": _integer(env, "LEDGER_CHECKPOINT_INTERVAL", 300, 1, 86_400),
        "read_database_url": _database_url(env, "LEDGER_READ_DATABASE_URL"),
        "read_max_lag_seconds": _integer(env, "LEDGER_READ_MAX_LAG_SECONDS", 5, 0, 86_400),
        "cors_origins": _origins(env, "LEDGER_CORS_ORIGINS"),
        "metrics_token": _text(env, "LEDGER_METRICS_TOKEN"),
        "auth_failures_per_minute": _integer(env, "LEDGER_AUTH_FAILURES_PER_MINUTE", 20, 0,
                                             1_000_000),
    }
    values.update(overrides)
    return Settings(**values)
