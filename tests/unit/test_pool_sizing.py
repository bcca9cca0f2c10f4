"""The connection pool's sizing: the store's held connections leave room to the rest, and a
pool too small for ``ledger serve``'s background workers is refused with a clear error."""

from __future__ import annotations

import pytest

from ledger.api.app import HELD_CONNECTIONS, POOL_RESERVE, held_connections
from ledger.config import ConfigError, load_settings
from ledger.projections.rebuild import pool_size


def test_the_held_connections_leave_the_reserve_to_the_rest_of_the_pool() -> None:
    assert held_connections(20) == HELD_CONNECTIONS  # the default pool: unchanged
    assert held_connections(1000) == HELD_CONNECTIONS
    for size in range(8, 40):
        held = held_connections(size)
        assert held == 0 or size - held >= POOL_RESERVE
    assert held_connections(8) == 0


def test_a_pool_too_small_for_the_workers_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="LEDGER_POOL_MAX_SIZE"):
        load_settings({"LEDGER_POOL_MIN_SIZE": "1", "LEDGER_POOL_MAX_SIZE": "7"})
    settings = load_settings({"LEDGER_POOL_MIN_SIZE": "1", "LEDGER_POOL_MAX_SIZE": "8"})
    assert settings.pool_max_size == 8


def test_a_rebuild_uses_the_pool_size_allowed_with_a_reader_and_a_writer_per_projection() -> None:
    assert pool_size(7, 20) == 20  # ``--all``: 12 spare for deriving ahead and indexing
    assert pool_size(1, 20) == 20
    assert pool_size(30, 20) == 31  # never fewer than the load itself needs
