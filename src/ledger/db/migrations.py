"""Numbered ``.sql`` migrations, applied in order under an advisory lock.

Each file ``NNNN_name.sql`` in ``ledger/migrations`` runs once, in its own transaction, and is
recorded with the SHA-256 of its text. Editing a file after it was applied would make the
schema disagree with the code silently, so a changed checksum stops start-up instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from ledger.db.pool import connect

# Any fixed 64-bit number works; it only has to be the same for every Ledger process.
MIGRATION_LOCK_ID = 0x1ED6E5_0001
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
INSERT_APPLIED = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
TABLE_EXISTS = "SELECT to_regclass('schema_migrations') IS NOT NULL"


class MigrationError(RuntimeError):
    """The database schema cannot be brought up to date safely."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, in order."""
    found: list[Migration] = []
    for entry in resources.files("ledger").joinpath("migrations").iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


def _check_applied(applied: list[asyncpg.Record], known: dict[int, Migration]) -> None:
    for row in applied:
        migration = known.get(row["version"])
        if migration is None:
            raise MigrationError(
                f"the database has migration {row['version']:04d}_{row['name']} which this version "
                "of Ledger does not know: it was migrated by a newer release"
            )
        if migration.checksum != row["checksum"]:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name}.sql was edited after it was "
                "applied (checksum differs); restore the original file and add a new migration instead"
            )


async def pending_migrations(conn: asyncpg.Connection) -> list[Migration]:
    """Migrations not yet applied; raises MigrationError if an applied one was edited."""
    known = {m.version: m for m in available_migrations()}
    if not await conn.fetchval(TABLE_EXISTS):
        return list(known.values())
    applied = await conn.fetch(SELECT_APPLIED)
    _check_applied(applied, known)
    done = {row["version"] for row in applied}
    return [m for v, m in sorted(known.items()) if v not in done]


async def migrate(target: str | asyncpg.Connection) -> list[str]:
    """Apply pending migrations; returns the names of those applied by this call."""
    conn = await connect(target) if isinstance(target, str) else target
    try:
        # A session-level lock: two processes starting at once queue here, and the second
        # then finds nothing pending.
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await conn.execute(CREATE_TABLE)
            applied: list[str] = []
            for migration in await pending_migrations(conn):
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        INSERT_APPLIED, migration.version, migration.name, migration.checksum
                    )
                applied.append(f"{migration.version:04d}_{migration.name}")
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    finally:
        if isinstance(target, str):
            await conn.close()
