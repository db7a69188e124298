"""Schema migrations: numbered SQL files, plus a variant per storage mode."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import psycopg

from ioc.history.maintainer import apply_timescale_retention
from ioc.settings import HistorySettings

logger = logging.getLogger(__name__)

Mode = Literal["timescaledb", "postgresql"]
MODES: tuple[Mode, ...] = ("timescaledb", "postgresql")
# Any constant works; it only has to be the same for every process that migrates.
_LOCK_KEY = 0x10C_0001


class MigrationError(RuntimeError):
    """A migration file failed to apply."""


@dataclass(slots=True)
class MigrationReport:
    """What `upgrade` found and did."""

    mode: Mode
    timescaledb_version: str | None
    applied: list[str] = field(default_factory=list)
    # Relations whose retention policy was changed to the configured one.
    policies: list[str] = field(default_factory=list)


def migration_files(mode: Mode) -> list[str]:
    """The files to apply in order: each base file, then its variant for `mode`, if any."""
    names = sorted(
        entry.name
        for entry in resources.files("ioc.storage.migrations").iterdir()
        if entry.name.endswith(".sql")
    )
    ordered: list[str] = []
    for name in (n for n in names if n.count(".") == 1):
        stem = name.removesuffix(".sql")
        ordered.append(name)
        variant = f"{stem}.{mode}.sql"
        if variant in names:
            ordered.append(variant)
    return ordered


async def detect_mode(conn: psycopg.AsyncConnection, allow_timescaledb: bool) -> Mode:
    """Use TimescaleDB when it is installed or can be created here; else plain PostgreSQL."""
    if not allow_timescaledb:
        return "postgresql"
    if await _timescaledb_version(conn):
        return "timescaledb"
    row = await (
        await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).fetchone()
    if row is None:
        return "postgresql"
    # Unless the server preloads timescaledb, CREATE EXTENSION ends the session with FATAL
    # (not a catchable ERROR), leaving a dead connection. Only the preloaded loader defines
    # this setting, and any role may read it.
    row = await (
        await conn.execute("SELECT current_setting('timescaledb.bgw_launcher_poll_time', true)")
    ).fetchone()
    if row is None or row[0] is None:
        logger.warning("timescaledb is available but not in shared_preload_libraries; "
                       "using plain PostgreSQL")
        return "postgresql"
    try:
        async with conn.transaction():
            await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as err:
        logger.warning("timescaledb is available but could not be created (%s); "
                       "using plain PostgreSQL", err)
        return "postgresql"
    return "timescaledb"


async def _timescaledb_version(conn: psycopg.AsyncConnection) -> str | None:
    row = await (
        await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    ).fetchone()
    return None if row is None else str(row[0])


async def upgrade(
    url: str, allow_timescaledb: bool = True, history: HistorySettings | None = None
) -> MigrationReport:
    """Apply every migration not yet applied and, given `history`, bring the TimescaleDB
    retention policies to it; report the mode.

    All of it runs under one advisory lock, so that processes starting together (scaled
    writers, the API) change the schema and the policies once, one after the other.
    """
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            mode = await detect_mode(conn, allow_timescaledb)
            report = MigrationReport(mode, await _timescaledb_version(conn))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in await (
                await conn.execute("SELECT name FROM schema_migrations")
            ).fetchall()}
            for name in migration_files(mode):
                if name not in done:
                    await _apply(conn, name)
                    report.applied.append(name)
            if history is not None and mode == "timescaledb":
                report.policies = await apply_timescale_retention(conn, history)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    if report.applied:
        logger.info("applied migrations %s (%s mode)", report.applied, mode)
    if report.policies:
        logger.info("retention policies set on %s", ", ".join(report.policies))
    return report


async def _apply(conn: psycopg.AsyncConnection, name: str) -> None:
    sql = resources.files("ioc.storage.migrations").joinpath(name).read_text(encoding="utf-8")
    try:
        async with conn.transaction():
            await conn.execute(sql.encode())
            await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
    except psycopg.Error as err:
        raise MigrationError(f"migration {name} failed: {err}") from err
