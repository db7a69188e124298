"""Idempotent batched writes shared by every feed: COPY history, move live state forward."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg.errors


@dataclass(frozen=True, slots=True)
class WriteResult:
    """How many rows a batch offered, and how many were new (the rest were replays)."""

    offered: int
    inserted: int


async def copy_rows(
    conn: psycopg.AsyncConnection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY rows (text format: PostgreSQL parses times and numbers) into `table`."""
    async with conn.cursor() as cur, cur.copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            await copy.write_row(row)


async def _stage(conn: psycopg.AsyncConnection, table: str) -> str:
    stage = f"{table}_stage"
    await conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS)"
        " ON COMMIT DELETE ROWS"
    )
    return stage


async def append_once(
    conn: psycopg.AsyncConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """Append rows whose natural key is the table's primary key; return how many were new.

    Replays are rare (a writer died before acknowledging), so rows are COPied straight in and
    only a key that already exists sends the batch down the slower idempotent path.
    """
    if not rows:
        return 0
    try:
        async with conn.transaction():
            await copy_rows(conn, table, columns, rows)
        return len(rows)
    except psycopg.errors.UniqueViolation:
        stage = await _stage(conn, table)
        await copy_rows(conn, stage, columns, rows)
        names = ", ".join(columns)
        cur = await conn.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING"
        )
        await conn.execute(f"TRUNCATE {stage}")
        return cur.rowcount


async def upsert_newest(
    conn: psycopg.AsyncConnection,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Move live state forward: per key, the newest row replaces an older one, never the reverse.

    `columns` starts with `time`; rows carry time as fixed-width UTC text so that the newest
    row per key is found by comparing strings.
    """
    positions = [columns.index(k) for k in key]
    newest: dict[tuple[Any, ...], Sequence[Any]] = {}
    for row in rows:
        row_key = tuple(row[i] for i in positions)
        if row_key not in newest or row[0] > newest[row_key][0]:
            newest[row_key] = row
    if not newest:
        return
    stage = await _stage(conn, table)
    await copy_rows(conn, stage, columns, newest.values())
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    # A late or replayed batch never moves the wall backwards.
    await conn.execute(
        f"INSERT INTO {table} AS l ({names}) SELECT {names} FROM {stage}"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates} WHERE excluded.time > l.time"
    )
    await conn.execute(f"TRUNCATE {stage}")
