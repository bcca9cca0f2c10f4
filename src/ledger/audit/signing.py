"""The Ed25519 key that signs checkpoints (``LEDGER_SIGNING_KEY``), kept outside the database.

Like the master key: with the embedded database a random key is generated once into
``<data_dir>/signing_key`` (mode 0600); with an external database it must be configured
(64 hex digits, the private key's seed). Verifying needs only the public key, which
``ledger checkpoint`` prints and every checkpoint names.

The signed message is fixed-layout bytes (also in CHAIN.md and docs/verify_export.py)::

    b"ledger-checkpoint-v1\\x00" || checkpoint_id (8) || created_at µs since epoch (8)
    || feed transaction id (8) || feed notification id (8) || streams (8) || heads digest (32)

integers big-endian; the heads digest is SHA-256 over, for every stream head in feed order,
the stream id (16 bytes) || version (8) || chain_hash (32).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.config import ConfigError, Settings, generated_secret

SIGNING_KEY_FILE = "signing_key"
ENVIRONMENT = "LEDGER_SIGNING_KEY"
CONTEXT = b"ledger-checkpoint-v1\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_hex(text: str, where: str) -> Ed25519PrivateKey:
    try:
        seed = bytes.fromhex(text.strip())
    except ValueError:
        seed = b""
    if len(seed) != 32:  # never echo the value
        raise ConfigError(f"{where} must be 64 hexadecimal digits (an Ed25519 private key seed)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def resolve_signing_key(settings: Settings, *, required: bool = False) -> Ed25519PrivateKey | None:
    """The checkpoint signing key; None on an external database without one (unless required)."""
    if settings.signing_key:
        return _from_hex(settings.signing_key, ENVIRONMENT)
    if settings.uses_embedded_database:
        path = settings.data_dir / SIGNING_KEY_FILE
        return _from_hex(generated_secret(path), str(path))
    if required:
        raise ConfigError(
            f"{ENVIRONMENT} must be set when LEDGER_DATABASE_URL is: checkpoints are signed "
            "with it outside the database (generate it with `openssl rand -hex 32`, keep it "
            "off the database server, publish its public key to your auditors)")
    return None


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigError("a public key is 64 hexadecimal digits (Ed25519, raw)")
    return Ed25519PublicKey.from_public_bytes(raw)


class HeadsDigest:
    """SHA-256 over (stream id, version, chain hash) of every head, in the order added."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.count = 0

    def add(self, stream_id: UUID, version: int, chain_hash: bytes) -> None:
        self._digest.update(stream_id.bytes + version.to_bytes(8, "big") + bytes(chain_hash))
        self.count += 1

    def result(self) -> tuple[bytes, int]:
        return self._digest.digest(), self.count


def message(checkpoint_id: int, created_at: datetime, feed_transaction_id: int,
            feed_notification_id: int, streams: int, digest: bytes) -> bytes:
    micros = (created_at - _EPOCH) // _MICROSECOND
    return (CONTEXT + checkpoint_id.to_bytes(8, "big") + micros.to_bytes(8, "big", signed=True)
            + feed_transaction_id.to_bytes(8, "big") + feed_notification_id.to_bytes(8, "big")
            + streams.to_bytes(8, "big") + digest)


def signature_holds(public_key: Ed25519PublicKey, signed: bytes, signature: bytes) -> bool:
    try:
        public_key.verify(signature, signed)
    except InvalidSignature:
        return False
    return True


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
