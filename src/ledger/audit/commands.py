"""``ledger verify`` and ``ledger export``: the audit commands of the CLI."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from uuid import UUID

from ledger.audit.export import export_lines
from ledger.audit.verify import verify_all
from ledger.config import Settings
from ledger.db.pool import create_pool
from ledger.db.runtime import database_url
from ledger.eventstore import EventCodec
from ledger.privacy import DataKeys, DebtorCipher, resolve_master_key


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        return asyncio.run(_verify_async(url, args.tenant))


async def _verify_async(url: str, tenant: str | None) -> int:
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        def progress(streams: int, events: int) -> None:
            print(f"\rverified {events:,} events in {streams:,} streams", end="", file=sys.stderr)

        summary = await verify_all(pool.fetch, tenant_id=tenant, progress=progress)
    finally:
        await pool.close()
    print(file=sys.stderr)
    for bad in summary.bad:
        print(f"BROKEN {bad.case_id} first bad version {bad.first_bad_version}")
    print(f"{summary.streams} streams, {summary.events} events, {len(summary.bad)} broken")
    return 1 if summary.bad else 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    master_key = resolve_master_key(settings)
    with database_url(settings) as url:
        return asyncio.run(_export_async(url, master_key, args))


async def _export_async(url: str, master_key: bytes, args: argparse.Namespace) -> int:
    pool = await create_pool(url, min_size=1, max_size=2)
    out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
    try:
        cipher = DebtorCipher(DataKeys(pool.fetch, master_key))
        async for line in export_lines(pool.fetch, EventCodec(), cipher, args.tenant,
                                       case_id=args.case, since=args.since):
            out.write(line)
        out.flush()
    finally:
        if args.output:
            out.close()
        await pool.close()
    return 0


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError("needs an offset, e.g. 2026-09-01T00:00:00Z")
    return value


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``verify`` and ``export`` to the ``ledger`` command."""
    verify = commands.add_parser("verify", help="recompute the hash chain of every stream")
    verify.add_argument("--tenant", help="only this tenant's streams")
    verify.set_defaults(handler=_verify)
    export = commands.add_parser("export", help="write a tenant's events with hashes as NDJSON")
    export.add_argument("--tenant", required=True)
    export.add_argument("--case", type=UUID, help="only this case")
    export.add_argument("--since", type=_instant, help="only events recorded at or after")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.set_defaults(handler=_export)
