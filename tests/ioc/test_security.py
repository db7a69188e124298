"""Hostile input at the door: security headers, CORS by allow-list, body and rate limits."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import orjson

from ioc.api.security import dashboard_policy
from tests.auth import bearer
from tests.ioc.inprocess import app_settings, in_process

KEY_A, KEY_B = "limit-test-key-a-0123456789", "limit-test-key-b-0123456789"
PUSH_KEYS = {name: {"feed": "parking", "sha256": hashlib.sha256(key.encode()).hexdigest()}
             for name, key in (("a", KEY_A), ("b", KEY_B))}
SITE = {"id": "hk-ly-thuong-kiet", "lon": 105.8468, "lat": 21.0246, "open": True,
        "observed_at": "2026-11-22T08:00:00+07:00",
        "vehicles": {"car": {"capacity": 60, "occupied": 12}}}


async def test_every_response_carries_the_security_headers(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    async with in_process(app_settings(db, redis_url, redis_prefix)) as (_, client):
        for path in ("/", "/api/health", "/api/no-such-route"):
            headers = (await client.get(path)).headers
            policy = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy
            assert "script-src 'self';" in policy
            assert "worker-src 'self' blob:" in policy
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in headers  # not configured, not production
        assert (await client.get("/api/health")).headers["cache-control"] == "no-store"


async def test_hsts_is_sent_when_configured(db: str, redis_url: str, redis_prefix: str) -> None:
    settings = app_settings(db, redis_url, redis_prefix, security={"hsts": True})
    async with in_process(settings) as (_, client):
        assert (await client.get("/")).headers["strict-transport-security"].startswith("max-age=")


def test_a_configured_basemap_origin_may_be_fetched_and_nothing_else() -> None:
    policy = dashboard_policy("https://tiles.hanoi.example/styles/city.json")
    assert "connect-src 'self' https://tiles.hanoi.example;" in policy
    assert "connect-src 'self';" in dashboard_policy(None)


async def test_no_other_origin_is_allowed_by_default(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    async with in_process(app_settings(db, redis_url, redis_prefix)) as (_, client):
        response = await client.get("/api/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in response.headers
        preflight = await client.options("/api/health", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in preflight.headers


async def test_only_allow_listed_origins_get_cors(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    settings = app_settings(db, redis_url, redis_prefix,
                             security={"cors_origins": ["https://wall.hanoi.example"]})
    async with in_process(settings) as (_, client):
        ok = await client.options("/api/health", headers={
            "Origin": "https://wall.hanoi.example", "Access-Control-Request-Method": "GET"})
        assert ok.headers["access-control-allow-origin"] == "https://wall.hanoi.example"
        refused = await client.options("/api/health", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in refused.headers


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 65536):
        yield b" " * 65536


async def test_oversized_bodies_are_refused_whether_declared_or_streamed(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    settings = app_settings(db, redis_url, redis_prefix, security={"max_body_bytes": 65536},
                             push_keys=PUSH_KEYS, push_max_bytes=4 * 65536)
    async with in_process(settings) as (_, client):
        admin = bearer("admin")
        declared = await client.post("/api/simulator/faults", content=b"{" + b" " * 70000 + b"}",
                                     headers={**admin, "Content-Type": "application/json"})
        assert declared.status_code == 413
        streamed = await client.post("/api/simulator/faults", content=_chunks(4 * 65536),
                                     headers={**admin, "Content-Type": "application/json"})
        assert streamed.status_code == 413
        # Ingest has its own, larger limit: a batch over the general limit still goes in.
        batch = orjson.dumps({"sites": [SITE] * 600})
        assert 65536 < len(batch) < 4 * 65536
        pushed = await client.post("/api/ingest/parking", content=batch,
                                   headers={"X-API-Key": KEY_A})
        assert pushed.status_code == 202
        too_big = await client.post("/api/ingest/parking", content=_chunks(8 * 65536),
                                    headers={"X-API-Key": KEY_A})
        assert too_big.status_code == 413


async def test_pushes_are_limited_per_key(db: str, redis_url: str, redis_prefix: str) -> None:
    settings = app_settings(db, redis_url, redis_prefix, push_keys=PUSH_KEYS,
                             security={"ingest_per_minute_per_key": 3})
    body = orjson.dumps({"sites": [SITE]})
    async with in_process(settings) as (_, client):
        # Ten quick pushes overflow a limit of 3 a minute even if a minute turns meanwhile.
        answers = [await client.post("/api/ingest/parking", content=body,
                                     headers={"X-API-Key": KEY_A}) for _ in range(10)]
        refused = [a for a in answers if a.status_code == 429]
        assert refused and all(int(a.headers["retry-after"]) >= 1 for a in refused)
        assert {a.status_code for a in answers} == {202, 429}
        other = await client.post("/api/ingest/parking", content=body,
                                  headers={"X-API-Key": KEY_B})
        assert other.status_code == 202


async def test_sign_in_attempts_are_limited_per_address(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    settings = app_settings(db, redis_url, redis_prefix, security={"login_per_minute": 2})
    async with in_process(settings) as (_, client):
        answers = [await client.post("/api/auth/login",
                                     json={"username": "admin", "password": "wrong"})
                   for _ in range(7)]
        assert 429 in {a.status_code for a in answers}
        assert (await client.get("/api/health")).status_code == 200  # reading stays open


async def test_a_nul_character_in_a_query_is_refused_not_passed_to_the_database(
    db: str, redis_url: str, redis_prefix: str
) -> None:
    async with in_process(app_settings(db, redis_url, redis_prefix)) as (_, client):
        refused = await client.get("/api/health?feed=a%00b")
        assert refused.status_code == 400
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/api/health?feed=ab")).status_code == 200
