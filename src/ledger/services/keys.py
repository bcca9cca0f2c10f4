"""API keys: creation, hashing, lookup, listing and revocation.

A key is ``lk_<key_id>_<secret>``: the id part lets operators name a key in logs and in
``ledger keys revoke`` without ever handling the secret. Only ``BLAKE2b(key, server
secret)`` is stored. The keys are 256 random bits, so a fast keyed hash is as good as a slow
password hash here: nobody can brute-force 2^256 candidates, and the server secret means a
leaked table alone does not even let an attacker test guesses offline.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import StrEnum

import asyncpg
import msgspec

from ledger.domain.errors import DomainError, InvalidRequest

KEY_PREFIX = "lk_"
DEFAULT_RATE_LIMIT = 200
MAX_RATE_LIMIT = 100_000
TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""A tenant (bank) id: what ``ledger keys create --tenant`` accepts (no spaces, not empty)."""
"""Requests per second a key may make unless its own limit says otherwise."""


class Role(StrEnum):
    INTEGRATION = "integration"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"


class ApiKey(msgspec.Struct, frozen=True):
    """A stored key, without its secret."""

    key_id: str
    tenant_id: str
    role: Role
    label: str | None
    rate_limit: int | None
    created_at: datetime
    revoked_at: datetime | None
    agent_id: str | None = None
    """The agent an agent key is bound to (it acts as that agent); None when unbound."""

    @property
    def actor(self) -> str:
        """How events recorded with this key name their author: ``key:<id>``, and for a bound
        agent key ``key:<id>/agent:<agent_id>``."""
        if self.agent_id is None:
            return f"key:{self.key_id}"
        return f"key:{self.key_id}/agent:{self.agent_id}"


class AgentMismatch(DomainError):
    """A key bound to one agent named another (API.md v1.1, "Keys bound to people")."""

    code = "agent_mismatch"
    http_status = 403


def acting_agent(key: ApiKey, named: str | None) -> str | None:
    """The agent a request made with ``key`` acts as.

    A bound agent key acts as its own agent: naming another raises :class:`AgentMismatch`,
    naming none gives the bound one. Any other key (supervisors and admins, which may name any
    agent, and unbound keys) acts as the agent it names, or as none.
    """
    if key.agent_id is None:
        return named
    if named is not None and named != key.agent_id:
        raise AgentMismatch("this key acts as its own agent only")
    return key.agent_id


INSERT_KEY = """
INSERT INTO api_keys (key_id, key_hash, tenant_id, role, label, rate_limit, agent_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING key_id, tenant_id, role, label, rate_limit, created_at, revoked_at, agent_id
"""
SELECT_BY_HASH = """
SELECT key_id, tenant_id, role, label, rate_limit, created_at, revoked_at, agent_id
FROM api_keys WHERE key_hash = $1
"""
SELECT_KEYS = """
SELECT key_id, tenant_id, role, label, rate_limit, created_at, revoked_at, agent_id
FROM api_keys WHERE ($1::text IS NULL OR tenant_id = $1)
ORDER BY created_at, key_id
"""
REVOCATION_CHANNEL = "ledger_api_key_revoked"
"""API processes LISTEN here and drop a revoked key from their caches (payload: the key id)."""
REVOKE_KEY = f"""
WITH revoked AS (
    UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
    WHERE key_id = $1 AND ($2::text IS NULL OR tenant_id = $2)
    RETURNING key_id, tenant_id, role, label, rate_limit, created_at, revoked_at, agent_id
)
SELECT revoked.*, pg_notify('{REVOCATION_CHANNEL}', revoked.key_id) AS notified FROM revoked
"""
COUNT_KEYS = "SELECT count(*) FROM api_keys"


def hash_key(key: str, secret: bytes) -> bytes:
    """The stored digest of ``key`` (keyed BLAKE2b, 32 bytes)."""
    return hashlib.blake2b(key.encode(), key=secret[:64], digest_size=32).digest()


def generate_key() -> tuple[str, str]:
    """A new ``(key_id, key)`` pair; the key carries 256 random bits after its id."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def looks_like_key(key: str) -> bool:
    """Cheap shape check, so garbage headers never reach the database."""
    return key.startswith(KEY_PREFIX) and 40 <= len(key) <= 120 and key.isascii()


def key_id_of(key: str) -> str:
    return key[len(KEY_PREFIX):].split("_", 1)[0]


def _row(row: asyncpg.Record) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        tenant_id=row["tenant_id"],
        role=Role(row["role"]),
        label=row["label"],
        rate_limit=row["rate_limit"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        agent_id=row["agent_id"],
    )


async def create_key(
    conn: asyncpg.Connection | asyncpg.Pool,
    secret: bytes,
    *,
    tenant_id: str,
    role: Role,
    label: str | None = None,
    rate_limit: int | None = None,
    agent_id: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns it with its plaintext, which is never retrievable again.

    ``agent_id`` binds an agent key to that agent; other roles cannot be bound.
    """
    if agent_id is not None and role != Role.AGENT:
        raise InvalidRequest("agent_id", "only agent keys are bound to an agent")
    key_id, key = generate_key()
    row = await conn.fetchrow(
        INSERT_KEY, key_id, hash_key(key, secret), tenant_id, str(role), label, rate_limit, agent_id
    )
    return _row(row), key


async def find_key(conn: asyncpg.Connection | asyncpg.Pool, secret: bytes, key: str) -> ApiKey | None:
    """The stored key matching ``key``, revoked or not; None when unknown."""
    if not looks_like_key(key):
        return None
    row = await conn.fetchrow(SELECT_BY_HASH, hash_key(key, secret))
    if row is None:
        return None
    found = _row(row)
    # The digest matched, so this compare cannot fail for a real key; it only guards
    # against a row whose id was edited by hand.
    if not hmac.compare_digest(found.key_id, key_id_of(key)):
        return None
    return found


async def list_keys(conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str | None = None) -> list[ApiKey]:
    return [_row(row) for row in await conn.fetch(SELECT_KEYS, tenant_id)]


async def revoke_key(
    conn: asyncpg.Connection | asyncpg.Pool, key_id: str, tenant_id: str | None = None
) -> ApiKey | None:
    """Revoke a key (idempotent); None when no such key (in that tenant).

    The same statement notifies ``REVOCATION_CHANNEL``, delivered when it commits, so every
    API process drops the key from its cache at once (``ledger.api.key_cache.RevocationListener``).
    """
    row = await conn.fetchrow(REVOKE_KEY, key_id, tenant_id)
    return None if row is None else _row(row)


async def count_keys(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return int(await conn.fetchval(COUNT_KEYS))
