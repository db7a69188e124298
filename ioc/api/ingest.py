"""POST /api/ingest/{feed}: a source pushes a batch in its feed's format, with its API key."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel

from ioc.api.deps import State
from ioc.auth.keys import feed_of_key

router = APIRouter(tags=["ingest"])


class RejectedRecord(BaseModel):
    """One record of the batch that was refused, and why."""

    reason: str
    raw: str


class IngestReport(BaseModel):
    """What happened to a pushed batch: accepted rows are durable on the bus."""

    feed: str
    accepted: int
    rejected: list[RejectedRecord]


def _key_allows(configured: dict[str, tuple[str, str]], key: str, feed: str) -> bool | None:
    """For a key configured in settings: True if it may push to `feed`, False if it is for
    another feed, None if it is not one of them (keys issued by an administrator are in the
    database)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    for allowed_feed, expected in configured.values():
        if hmac.compare_digest(digest, expected):
            return allowed_feed == feed
    return None


@router.post("/api/ingest/{feed}", response_model=IngestReport, status_code=202)
async def push(
    feed: str,
    request: Request,
    state: State,
    x_api_key: Annotated[str | None, Header()] = None,
) -> IngestReport:
    """Validate a pushed batch; bad records come back with reasons and the rest is accepted."""
    runner = state.runners.get(feed)
    if runner is None:
        raise HTTPException(404, f"no feed named {feed!r}")
    if x_api_key is None:
        raise HTTPException(401, "an X-API-Key header is required")
    keys = {name: (k.feed, k.sha256) for name, k in state.settings.push_keys.items()}
    allowed = _key_allows(keys, x_api_key, feed)
    if allowed is None:
        async with state.pool.connection() as conn:
            key_feed = await feed_of_key(conn, x_api_key)
        allowed = None if key_feed is None else key_feed == feed
    if allowed is None:
        raise HTTPException(401, "unknown API key")
    if not allowed:
        raise HTTPException(403, f"this key may not push to {feed!r}")
    limit = state.settings.push_max_bytes
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(413, f"a batch may be at most {limit} bytes")
    parsed = await runner.ingest(bytes(body))
    await runner.report()
    return IngestReport(
        feed=feed,
        accepted=len(parsed.observations),
        rejected=[RejectedRecord(reason=r.reason, raw=r.raw) for r in parsed.rejected],
    )
