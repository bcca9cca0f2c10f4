"""Which feed positions the current request (or task) appended, for ``Ledger-Position``.

The HTTP layer opens a sink per request with ``track_appends()``; ``EventStore.append`` adds
the highest ``notification_id`` of every append made in that context. A list is shared (not
copied) by tasks spawned from the request, so appends made there are seen too.
"""

from __future__ import annotations

from contextvars import ContextVar

_SINK: ContextVar[list[int] | None] = ContextVar("ledger_appended_positions", default=None)


def track_appends() -> list[int]:
    """Start collecting the positions appended from here on in this context."""
    sink: list[int] = []
    _SINK.set(sink)
    return sink


def note_appended(position: int) -> None:
    """Called by the store after a committed append (no-op outside a tracked context)."""
    sink = _SINK.get()
    if sink is not None:
        sink.append(position)
