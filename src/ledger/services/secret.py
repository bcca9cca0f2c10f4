"""The server secret that keys API-key hashes.

``LEDGER_SECRET_KEY`` wins. With the embedded database (a single-machine install) a random
secret is generated once into ``<data_dir>/secret_key`` with mode 0600. With an external
database several processes on several machines must agree on the secret, so guessing one
locally would silently lock every key out: refuse to start instead.
"""

from __future__ import annotations

from pathlib import Path

from ledger.config import ConfigError, Settings, generated_secret

SECRET_FILE = "secret_key"
MIN_SECRET_LENGTH = 16


def resolve_secret(settings: Settings) -> bytes:
    """The secret as bytes; may create the secret file (embedded database only)."""
    if settings.secret_key is not None:
        if len(settings.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"LEDGER_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        return settings.secret_key.encode()
    if not settings.uses_embedded_database:
        raise ConfigError(
            "LEDGER_SECRET_KEY must be set when LEDGER_DATABASE_URL is: every API process must "
            "hash keys with the same secret (e.g. generate one with `openssl rand -hex 32`)"
        )
    return _secret_file(settings.data_dir / SECRET_FILE)


def _secret_file(path: Path) -> bytes:
    text = generated_secret(path)
    if len(text) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} holds a secret shorter than {MIN_SECRET_LENGTH} characters")
    return text.encode()
