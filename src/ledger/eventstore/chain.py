"""Per-stream hash chain over stored events (tamper evidence); the algorithm is in CHAIN.md."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol
from uuid import UUID

GENESIS_HASH = bytes(32)
"""The "previous hash" of version 1 of every stream."""

_NULL_LENGTH = b"\xff\xff\xff\xff"
_VERSION = struct.Struct(">q")
_LENGTH = struct.Struct(">I")
_MICROS = struct.Struct(">q")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ChainedRow(Protocol):
    """The columns the chain covers (``StoredEventRow`` satisfies it)."""

    @property
    def originator_id(self) -> UUID: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...
    @property
    def tenant_id(self) -> str | None: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def chain_hash(self) -> bytes: ...


def _field(value: bytes | str | None) -> bytes:
    if value is None:
        return _NULL_LENGTH
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return _LENGTH.pack(len(raw)) + raw


def epoch_microseconds(moment: datetime) -> int:
    """Signed microseconds since 1970-01-01T00:00:00Z; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical_encoding(
    originator_id: UUID,
    originator_version: int,
    topic: str,
    state: bytes,
    tenant_id: str | None,
    actor: str | None,
    recorded_at: datetime,
) -> bytes:
    """The language-neutral byte string of one row that the chain hashes."""
    return b"".join(
        (
            originator_id.bytes,
            _VERSION.pack(originator_version),
            _field(topic),
            _field(state),
            _field(tenant_id),
            _field(actor),
            _MICROS.pack(epoch_microseconds(recorded_at)),
        )
    )


def next_chain_hash(
    previous_hash: bytes,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    state: bytes,
    tenant_id: str | None,
    actor: str | None,
    recorded_at: datetime,
) -> bytes:
    """sha256(previous_hash || canonical_encoding(row))."""
    if len(previous_hash) != 32:
        raise ValueError("previous chain hash must be 32 bytes")
    encoded = canonical_encoding(
        originator_id, originator_version, topic, state, tenant_id, actor, recorded_at
    )
    return hashlib.sha256(previous_hash + encoded).digest()


class VerifyResult(NamedTuple):
    """Outcome of ``verify_stream``: ``first_bad_version`` is None when ``ok``."""

    ok: bool
    events_checked: int
    first_bad_version: int | None


def verify_stream(
    rows: Iterable[ChainedRow], *, start_version: int = 1, previous_hash: bytes = GENESIS_HASH,
    redacted: Mapping[int, bytes] | None = None,
) -> VerifyResult:
    """Recompute the chain of one stream's rows, given in ascending version order.

    Detects an edited field or hash (recomputed hash differs), a deleted or inserted row and
    reordered versions (the versions are not 1, 2, 3, … or a hash no longer follows its
    predecessor). ``first_bad_version`` is the version at which the chain first breaks.
    A prefix can be skipped by passing the trusted ``start_version`` and its ``previous_hash``.
    Removing the newest rows cannot be seen from the rows alone (see CHAIN.md).
    ``redacted`` maps versions under a signed redaction record to the SHA-256 of their state:
    such a row whose state has exactly that digest keeps its stored hash as the link.
    """
    expected_version = start_version
    checked = 0
    originator: UUID | None = None
    for row in rows:
        if originator is None:
            originator = row.originator_id
        if row.originator_id != originator or row.originator_version != expected_version:
            return VerifyResult(False, checked, expected_version)
        recomputed = next_chain_hash(
            previous_hash,
            row.originator_id,
            row.originator_version,
            row.topic,
            row.state,
            row.tenant_id,
            row.actor,
            row.recorded_at,
        )
        checked += 1
        if redacted and row.originator_version in redacted and hashlib.sha256(
                bytes(row.state)).digest() == redacted[row.originator_version]:
            recomputed = bytes(row.chain_hash)
        if recomputed != bytes(row.chain_hash):
            return VerifyResult(False, checked, expected_version)
        previous_hash = recomputed
        expected_version += 1
    return VerifyResult(True, checked, None)


def chain_hashes(
    previous_hash: bytes,
    rows: Sequence[tuple[UUID, int, str, bytes]],
    tenant_id: str | None,
    actor: str | None,
    recorded_at: datetime,
) -> list[bytes]:
    """Hashes for consecutive new rows (id, version, topic, state) of one stream."""
    hashes = []
    for originator_id, version, topic, state in rows:
        previous_hash = next_chain_hash(
            previous_hash, originator_id, version, topic, state, tenant_id, actor, recorded_at
        )
        hashes.append(previous_hash)
    return hashes
