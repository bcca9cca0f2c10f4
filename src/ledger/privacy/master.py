"""The master key that wraps every case's data key (``LEDGER_MASTER_KEY``).

Like the API-key secret (``ledger.services.secret``): with the embedded database a random key
is generated once into ``<data_dir>/master_key`` (mode 0600); with an external database every
process must unwrap the same data keys, so an unset key stops start-up instead of guessing.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from ledger.config import ConfigError, Settings, generated_secret

MASTER_KEY_FILE = "master_key"
_log = logging.getLogger(__name__)


def resolve_master_key(settings: Settings, *, derive_for_tests: bool = False) -> bytes:
    """The 32-byte master key; may create the key file (embedded database only).

    ``derive_for_tests``: Settings built in code (tests, benchmarks) against an external
    database without a master key get one derived from their ``secret_key``, so that several
    app instances of one test run agree. Processes configured from the environment
    (``ledger serve``, the CLI) never pass it, and refuse to start instead.
    """
    if settings.master_key is not None:
        return _from_hex(settings.master_key, "LEDGER_MASTER_KEY")
    if settings.uses_embedded_database:
        return _key_file(settings.data_dir / MASTER_KEY_FILE)
    if derive_for_tests and settings.secret_key:
        _log.warning("no master key configured: deriving one from the secret key (tests only)")
        return hashlib.sha256(b"ledger test master key\x00" + settings.secret_key.encode()).digest()
    raise ConfigError(
        "LEDGER_MASTER_KEY must be set when LEDGER_DATABASE_URL is: it wraps the keys that "
        "encrypt debtors' personal data, and every process must use the same one "
        "(generate it with `openssl rand -hex 32`; losing it makes all personal data unreadable)"
    )


def _from_hex(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{where} must be 64 hexadecimal digits (32 bytes)")
    return key


def _key_file(path: Path) -> bytes:
    return _from_hex(generated_secret(path), str(path))


def master_key_id(master_key: bytes) -> str:
    """A short public name of the master key (stored with each wrapped data key)."""
    return hashlib.sha256(master_key).hexdigest()[:16]
