"""Which failures are the world's fault (retry later) and which are the item's own."""

from __future__ import annotations

import asyncpg

# The database or the network is away, busy or restarting: nothing is wrong with the item.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.QueryCanceledError,
    asyncpg.LockNotAvailableError,
    asyncpg.InsufficientResourcesError,
)


def is_transient(error: BaseException) -> bool:
    """True when retrying the same item later may well succeed (never quarantine for it)."""
    return isinstance(error, TRANSIENT)


def reason_of(error: BaseException) -> str:
    """What to record about a failure: its type, and a domain error's stable code.

    Never the message: a library's message can quote the data it choked on.
    """
    code = getattr(error, "code", None)
    name = type(error).__name__
    return f"{name}:{code}" if isinstance(code, str) and code.isidentifier() else name
