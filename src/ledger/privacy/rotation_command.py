"""The CLI side of ``ledger keys rotate-master`` (see ``ledger.privacy.rotation``).

The old key is the configured one (``LEDGER_MASTER_KEY``, or ``<data dir>/master_key`` with the
embedded database). The new key comes from ``LEDGER_NEW_MASTER_KEY``; with the embedded
database and no such variable one is generated into ``<data dir>/master_key.new`` (kept across
an interrupted run, so a second run resumes with the same key) and moved over ``master_key``
once every data key is re-wrapped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from ledger.config import ConfigError, Settings, generated_secret
from ledger.db.migrations import migrate
from ledger.db.pool import create_pool
from ledger.db.runtime import database_url, ensure_database_exists
from ledger.privacy.master import MASTER_KEY_FILE, resolve_master_key
from ledger.privacy.rotation import rotate_master_key
from ledger.webhooks.secrets import rotate_secrets

NEW_KEY_VARIABLE = "LEDGER_NEW_MASTER_KEY"


def _hex_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:  # never echo the value
        raise ConfigError(f"{where} must be 64 hexadecimal digits (32 bytes)")
    return key


def _new_key(settings: Settings) -> tuple[bytes, Path | None]:
    text = os.environ.get(NEW_KEY_VARIABLE, "").strip()
    if text:
        return _hex_key(text, NEW_KEY_VARIABLE), None
    if not settings.uses_embedded_database:
        raise ConfigError(f"{NEW_KEY_VARIABLE} must be set to the new master key (64 hex digits, "
                          "e.g. `openssl rand -hex 32`); LEDGER_MASTER_KEY stays the old one "
                          "until the rotation has finished")
    staged = settings.data_dir / (MASTER_KEY_FILE + ".new")
    return _hex_key(generated_secret(staged), str(staged)), staged


def _rotate(settings: Settings, args: argparse.Namespace) -> int:
    old_key = resolve_master_key(settings)
    new_key, staged = _new_key(settings)
    with database_url(settings) as url:
        rotated = asyncio.run(_rotate_async(settings, url, old_key, new_key, args.batch))
    if staged is not None:
        staged.replace(settings.data_dir / MASTER_KEY_FILE)  # atomic: the new key is now in use
        print(f"re-wrapped {rotated:,} data keys; {settings.data_dir / MASTER_KEY_FILE} now "
              "holds the new master key")
    else:
        print(f"re-wrapped {rotated:,} data keys; now set LEDGER_MASTER_KEY to the new key in "
              "every process and restart them")
    return 0


async def _rotate_async(settings: Settings, url: str, old_key: bytes, new_key: bytes,
                        batch: int) -> int:
    if settings.uses_embedded_database:
        await ensure_database_exists(url)
    await migrate(url)
    pool = await create_pool(url, min_size=1, max_size=2)

    def progress(done: int, total: int) -> None:
        print(f"\rre-wrapped {done:,}/{total:,} data keys", end="", file=sys.stderr, flush=True)

    try:
        rotated = await rotate_master_key(pool, old_key, new_key, batch=batch, progress=progress)
        print(file=sys.stderr)
        # Webhook signing secrets are wrapped under the master key too: left under the old
        # one, every delivery would fail once the processes start with the new key.
        secrets = await rotate_secrets(pool, old_key, new_key)
        print(f"re-wrapped {secrets:,} webhook secrets", file=sys.stderr)
    finally:
        await pool.close()
    return rotated


def _batch(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be between 1 and 100,000")
    return value


def register(key_commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rotate = key_commands.add_parser(
        "rotate-master", help="re-wrap every data key under a new master key (resumable)")
    rotate.add_argument("--batch", type=_batch, default=1000,
                        help="data keys per transaction (1 to 100,000)")
    rotate.set_defaults(handler=_rotate)
