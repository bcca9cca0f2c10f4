"""The periodic checkpoint: taken every ``LEDGER_CHECKPOINT_INTERVAL`` seconds by the process
that runs the projections (``ledger serve`` by default, or ``ledger project``).

Several such processes may run: the advisory lock inside ``take_checkpoint`` serialises them
and a checkpoint with nothing new is skipped. A failure is logged (by type, never with data)
and the next period tries again; the task never dies on one bad pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.audit.checkpoints import take_checkpoint

_log = logging.getLogger("ledger.checkpoints")


def checkpoint_task(pool: asyncpg.Pool, key: Ed25519PrivateKey | None,
                    interval: float) -> CheckpointTask | None:
    """The task, or None (said once in the log) when no signing key is configured."""
    if key is None:
        _log.warning("LEDGER_SIGNING_KEY is not set: no signed checkpoints are taken, so "
                     "deleted or rewritten streams cannot be detected (see CHAIN.md)")
        return None
    return CheckpointTask(pool, key, interval)


class CheckpointTask:
    def __init__(self, pool: asyncpg.Pool, key: Ed25519PrivateKey, interval: float) -> None:
        self.pool = pool
        self.key = key
        self.interval = interval
        self.taken = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ledger-checkpoints")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                checkpoint = await take_checkpoint(self.pool, self.key)
                if checkpoint is not None:
                    self.taken += 1
                    _log.info("checkpoint %d signed: %d streams", checkpoint.checkpoint_id,
                              checkpoint.streams)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # supervised: one failed pass never ends the task
                _log.warning("checkpoint failed: %s", type(error).__name__)
            await asyncio.sleep(self.interval)
