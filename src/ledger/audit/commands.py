"""``ledger verify``, ``ledger checkpoint`` and ``ledger export``: the audit commands of the CLI."""

from __future__ import annotations

import argparse
import os
import asyncio
import sys
from datetime import datetime
from typing import BinaryIO
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.audit.export import export_lines
from ledger.audit.checkpoint_export import export_checkpoint
from ledger.audit.checkpoints import check_latest, take_checkpoint
from ledger.audit.signing import public_bytes, public_key_from_hex, resolve_signing_key
from ledger.privacy.legacy import NothingToRedact, redact_legacy, trusted_redactions
from ledger.audit.verify import verify_all
from ledger.db.migrations import migrate
from ledger.db.runtime import ensure_database_exists
from ledger.config import Settings
from ledger.db.pool import connect, create_pool
from ledger.db.runtime import database_url
from ledger.eventstore import EventCodec
from ledger.privacy import DataKeys, DebtorCipher, resolve_master_key


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    if args.public_key:
        public_key: Ed25519PublicKey | None = public_key_from_hex(args.public_key)
    else:
        signing = resolve_signing_key(settings)
        public_key = None if signing is None else signing.public_key()
    with database_url(settings) as url:
        return asyncio.run(_verify_async(url, args.tenant, public_key))


async def _verify_async(url: str, tenant: str | None, public_key: Ed25519PublicKey | None) -> int:
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        check = await check_latest(pool, public_key)
        checkpoint = check.checkpoint
        if checkpoint is None:
            print("no signed checkpoint yet: deleted tails, deleted streams and rewritten "
                  "streams cannot be detected (run `ledger checkpoint`)", file=sys.stderr)
        else:
            state = "signature OK" if check.signature_ok else f"NOT TRUSTED: {check.problem}"
            print(f"checkpoint {checkpoint.checkpoint_id} of {checkpoint.created_at.isoformat()} "
                  f"({checkpoint.streams:,} streams): {state}")

        def progress(streams: int, events: int) -> None:
            print(f"\rverified {events:,} events in {streams:,} streams", end="", file=sys.stderr)

        redacted = await trusted_redactions(
            pool.fetch, None if public_key is None else public_bytes(public_key))
        summary = await verify_all(pool.fetch, tenant_id=tenant, progress=progress,
                                   checkpoint_id=None if checkpoint is None
                                   else checkpoint.checkpoint_id, redacted=redacted)
    finally:
        await pool.close()
    print(file=sys.stderr)
    for bad in summary.bad:
        print(f"BROKEN {bad.case_id} first bad version {bad.first_bad_version}: {bad.reason}")
    print(f"{summary.streams} streams, {summary.events} events, {len(summary.bad)} broken")
    # An untrusted checkpoint is a finding too (unless there is no key to check it with).
    distrust = checkpoint is not None and not check.signature_ok and public_key is not None
    return 1 if summary.bad or distrust else 0


def _checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    key = resolve_signing_key(settings, required=True)
    assert key is not None
    with database_url(settings) as url:
        asyncio.run(_prepare(settings, url))
        return asyncio.run(_checkpoint_async(url, key, args))


async def _checkpoint_async(url: str, key: Ed25519PrivateKey, args: argparse.Namespace) -> int:
    if args.export:  # an unwritable file is refused before anything is signed, as in export
        try:
            _private_file(args.export).close()
        except OSError as error:
            print(f"ledger: cannot write {args.export}: {error.strerror}", file=sys.stderr)
            return 2
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        taken = await take_checkpoint(pool, key, force=True)
        if taken is None:
            print("no events yet: nothing to checkpoint")
        else:
            print(f"checkpoint {taken.checkpoint_id}: {taken.streams:,} streams up to feed "
                  f"position {taken.feed_transaction_id}/{taken.feed_notification_id}, signed by "
                  f"public key {taken.public_key.hex()}")
        if args.export:
            try:
                written = await export_checkpoint(pool, args.export)
            except OSError as error:  # the checkpoint above stands; only the copy failed
                print(f"ledger: cannot write {args.export}: {error.strerror or error}",
                      file=sys.stderr)
                return 1
            print(f"exported checkpoint {written} to {args.export}")
    finally:
        await pool.close()
    return 0


async def _prepare(settings: Settings, url: str) -> None:
    if settings.uses_embedded_database:
        await ensure_database_exists(url)
    await migrate(url)


def _redact(settings: Settings, args: argparse.Namespace) -> int:
    key = resolve_signing_key(settings, required=True)
    assert key is not None
    with database_url(settings) as url:
        asyncio.run(_prepare(settings, url))
        return asyncio.run(_redact_async(url, key, args.case, args.reason))


async def _redact_async(url: str, key: Ed25519PrivateKey, case_id: UUID, reason: str) -> int:
    conn = await connect(url)
    try:
        await redact_legacy(conn, key, case_id, reason)
    except NothingToRedact as error:
        print(f"ledger: {error}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    print(f"redacted the placement of case {case_id} (recorded and signed); now erase the case "
          "through the API (POST /v1/cases/{id}/erasure)")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    master_key = resolve_master_key(settings)
    with database_url(settings) as url:
        return asyncio.run(_export_async(url, master_key, args))


async def _export_async(url: str, master_key: bytes, args: argparse.Namespace) -> int:
    # Debtor personal data: the file is its owner's alone, whatever the umask (or an older file).
    try:
        out = _private_file(args.output) if args.output else sys.stdout.buffer
    except OSError as error:
        print(f"ledger: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 2
    pool = await create_pool(url, min_size=1, max_size=2)
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


def _private_file(path: str) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError("needs an offset, e.g. 2026-09-01T00:00:00Z")
    return value


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``verify`` and ``export`` to the ``ledger`` command."""
    verify = commands.add_parser(
        "verify", help="recompute every hash chain and check it against the latest signed checkpoint")
    verify.add_argument("--tenant", help="only this tenant's streams")
    verify.add_argument("--public-key", help="checkpoint public key (hex); default: derived from "
                                             "LEDGER_SIGNING_KEY (or the data dir's key)")
    verify.set_defaults(handler=_verify)
    checkpoint = commands.add_parser(
        "checkpoint", help="sign the head of every stream (Ed25519, LEDGER_SIGNING_KEY)")
    checkpoint.add_argument("--export", metavar="FILE",
                            help="also write the latest checkpoint with all its heads as JSON")
    checkpoint.set_defaults(handler=_checkpoint)
    redact = commands.add_parser(
        "redact-legacy", help="as the schema owner: make a placement stored in clear by an older "
                              "release unreadable, under a signed redaction record")
    redact.add_argument("case", type=UUID, help="the case id")
    redact.add_argument("--reason", required=True, help="why (kept in the redaction record)")
    redact.set_defaults(handler=_redact)
    export = commands.add_parser("export", help="write a tenant's events with hashes as NDJSON")
    export.add_argument("--tenant", required=True)
    export.add_argument("--case", type=UUID, help="only this case")
    export.add_argument("--since", type=_instant, help="only events recorded at or after")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.set_defaults(handler=_export)
