"""Sources push batches over HTTP with their API key; bad records come back with reasons."""

from __future__ import annotations

import httpx
import orjson

from tests.conftest import PUSH_KEY
from tests.ioc.server import Server

SITE = {"id": "hk-ly-thuong-kiet", "lon": 105.8468, "lat": 21.0246, "open": True,
        "observed_at": "2026-11-22T08:00:00+07:00",
        "vehicles": {"car": {"capacity": 60, "occupied": 12}}}


def _push(server: Server, body: bytes, key: str | None = PUSH_KEY, feed: str = "parking"
          ) -> httpx.Response:
    headers = {} if key is None else {"X-API-Key": key}
    return httpx.post(f"{server.base_url}/api/ingest/{feed}", content=body, headers=headers)


def test_a_pushed_batch_is_accepted_except_its_bad_records(server: Server) -> None:
    bad = {**SITE, "id": "", "observed_at": "soon"}
    response = _push(server, orjson.dumps({"sites": [SITE, bad]}))
    assert response.status_code == 202
    report = response.json()
    assert report["accepted"] == 1
    assert [r["reason"] for r in report["rejected"]] == ["id must be a non-empty string"]


def test_keys_are_checked_before_anything_is_read(server: Server) -> None:
    body = orjson.dumps({"sites": [SITE]})
    assert _push(server, body, key=None).status_code == 401
    assert _push(server, body, key="not-a-key").status_code == 401
    assert _push(server, body, feed="signals").status_code == 403  # a parking key
    assert _push(server, body, feed="trams").status_code == 404


def test_an_oversized_batch_is_refused(server: Server) -> None:
    assert _push(server, b" " * (5 * 1024 * 1024 + 1)).status_code == 413


def test_a_payload_that_is_not_json_is_reported_not_crashed_on(server: Server) -> None:
    response = _push(server, b"\x00\x01garbage")
    assert response.status_code == 202
    assert response.json()["accepted"] == 0
    assert response.json()["rejected"][0]["reason"].startswith("payload is not JSON")
