"""The connection pool, opened in the app lifespan and passed down."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


async def open_pool(url: str, min_size: int = 1, max_size: int = 8) -> AsyncConnectionPool:
    """Open a pool whose sessions speak UTC, and wait until it has its first connection."""
    pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"options": "-c TimeZone=UTC"},
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool
