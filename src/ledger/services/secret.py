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
MAX_SECRET_BYTES = 64
"""BLAKE2b's largest key. Older releases silently used only the first 64 bytes of a longer
secret; refusing it instead (and saying how to keep the keys made under it) is explicit."""


def resolve_secret(settings: Settings) -> bytes:
    """The secret as bytes; may create the secret file (embedded database only)."""
    if settings.secret_key is not None:
        if len(settings.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"LEDGER_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        return _within_key_size(settings.secret_key.encode(), "LEDGER_SECRET_KEY")
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
    return _within_key_size(text.encode(), str(path))


def _within_key_size(secret: bytes, source: str) -> bytes:
    if len(secret) > MAX_SECRET_BYTES:
        raise ConfigError(
            f"{source} is {len(secret)} bytes; at most {MAX_SECRET_BYTES} are used to hash API "
            f"keys (earlier releases silently ignored the rest): set it to its first "
            f"{MAX_SECRET_BYTES} bytes to keep existing keys valid, or to a new secret of "
            f"16–{MAX_SECRET_BYTES} characters (`openssl rand -hex 32`) and issue new keys")
    return secret
