"""Signing in, refreshing, signing out, feed API keys, and the audit trail they leave."""

from __future__ import annotations

import time

import httpx
import orjson
import psycopg
import pytest

from ioc.settings import DEV_PASSWORD
from tests.auth import bearer
from tests.ioc.server import Server

SITE = {"id": "hk-ly-thuong-kiet", "lon": 105.8468, "lat": 21.0246, "open": True,
        "observed_at": "2026-11-22T08:00:00+07:00",
        "vehicles": {"car": {"capacity": 60, "occupied": 12}}}


def _login(server: Server, username: str, password: str = DEV_PASSWORD) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/auth/login",
                      json={"username": username, "password": password})


def _audit(server: Server, **params: str) -> list[dict[str, object]]:
    response = server.get("/api/admin/audit", role="admin", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, object]] = response.json()
    return rows


def test_a_development_user_signs_in_and_the_token_opens_the_api(server: Server) -> None:
    response = _login(server, "operator")
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["user"] == {"username": "operator", "role": "operator"}
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = httpx.get(f"{server.base_url}/api/auth/me", headers=headers).json()
    assert me == {"username": "operator", "role": "operator"}
    assert httpx.get(f"{server.base_url}/api/districts", headers=headers).status_code == 200
    # The refresh token is not an access token.
    wrong = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert httpx.get(f"{server.base_url}/api/auth/me", headers=wrong).status_code == 401
    assert any(row["action"] == "auth.login" and row["outcome"] == "ok"
               for row in _audit(server, actor="operator"))


def test_a_wrong_password_is_refused_and_audited(server: Server) -> None:
    assert _login(server, "planner", "not-the-password").status_code == 401
    assert _login(server, "nobody-at-all", "whatever-it-is").status_code == 401
    refused = _audit(server, action="auth.login", outcome="refused")
    assert {"planner", "nobody-at-all"} <= {row["actor"] for row in refused}


def test_a_refresh_token_works_once_and_not_after_sign_out(server: Server) -> None:
    tokens = _login(server, "viewer").json()
    url = f"{server.base_url}/api/auth"
    renewed = httpx.post(f"{url}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200
    assert renewed.json()["access_token"] != tokens["access_token"]
    # The old refresh token was rotated away: a second use is refused.
    again = httpx.post(f"{url}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    latest = renewed.json()["refresh_token"]
    assert httpx.post(f"{url}/logout", json={"refresh_token": latest}).status_code == 204
    after = httpx.post(f"{url}/refresh", json={"refresh_token": latest})
    assert after.status_code == 401


def test_a_disabled_user_can_neither_sign_in_nor_refresh(server: Server) -> None:
    created = httpx.post(f"{server.base_url}/api/admin/users", headers=bearer("admin", "admin"),
                         json={"username": "duty-officer", "role": "operator",
                               "password": "long-enough-secret"})
    assert created.status_code == 201, created.text
    tokens = _login(server, "duty-officer", "long-enough-secret").json()
    changed = httpx.patch(f"{server.base_url}/api/admin/users/duty-officer",
                          json={"disabled": True}, headers=bearer("admin", "admin"))
    assert changed.status_code == 200 and changed.json()["disabled"] is True
    assert _login(server, "duty-officer", "long-enough-secret").status_code == 401
    refused = httpx.post(f"{server.base_url}/api/auth/refresh",
                         json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401
    changes = _audit(server, action="user.", target="duty-officer")
    assert [row["action"] for row in changes] == ["user.change", "user.create"]
    assert changes[0]["actor"] == "admin"


def test_short_passwords_and_duplicate_users_are_refused(server: Server) -> None:
    short = server.post("/api/admin/users", role="admin",
                        json={"username": "x", "role": "viewer", "password": "short"})
    assert short.status_code == 422
    taken = server.post("/api/admin/users", role="admin",
                        json={"username": "viewer", "role": "viewer", "password": "long-enough-1"})
    assert taken.status_code == 409


def _push(server: Server, key: str, feed: str = "parking") -> int:
    return httpx.post(f"{server.base_url}/api/ingest/{feed}", headers={"X-API-Key": key},
                      content=orjson.dumps({"sites": [SITE]})).status_code


def test_an_issued_key_pushes_to_its_feed_only_and_rotation_keeps_a_grace_period(
    server: Server,
) -> None:
    issued = server.post("/api/admin/keys", role="admin", json={"feed": "parking"}).json()
    assert _push(server, issued["key"]) == 202
    assert _push(server, issued["key"], feed="signals") == 403
    rotated = server.post(f"/api/admin/keys/{issued['key_id']}/rotate", role="admin",
                          json={"grace_s": 3600}).json()
    assert rotated["feed"] == "parking" and rotated["key"] != issued["key"]
    assert _push(server, issued["key"]) == 202  # still inside its grace period
    assert _push(server, rotated["key"]) == 202
    revoked = httpx.delete(f"{server.base_url}/api/admin/keys/{issued['key_id']}",
                           headers=bearer("admin"))
    assert revoked.status_code == 204
    assert _push(server, issued["key"]) == 401
    assert _push(server, rotated["key"]) == 202
    listed = {k["key_id"]: k for k in server.get("/api/admin/keys", role="admin").json()}
    assert listed[issued["key_id"]]["revoked_at"] is not None
    assert "key" not in listed[rotated["key_id"]] and "sha256" not in listed[rotated["key_id"]]


def test_a_key_rotated_without_grace_stops_at_once(server: Server) -> None:
    issued = server.post("/api/admin/keys", role="admin", json={"feed": "queues"}).json()
    rotated = server.post(f"/api/admin/keys/{issued['key_id']}/rotate", role="admin",
                          json={"grace_s": 0}).json()
    time.sleep(0.01)
    assert _push(server, issued["key"], feed="queues") == 401
    assert server.post("/api/admin/keys", role="admin", json={"feed": "trams"}).status_code == 422
    actions = [row["action"] for row in _audit(server, target=issued["key_id"])]
    assert actions == ["key.rotate", "key.create"]
    assert rotated["key_id"] != issued["key_id"]


def test_refused_tokens_are_audited_with_their_reason(server: Server) -> None:
    forged = {"Authorization": "Bearer not.a.token"}
    assert httpx.get(f"{server.base_url}/api/districts", headers=forged).status_code == 401
    assert server.get("/api/admin/users", role="operator").status_code == 403
    refused = _audit(server, action="auth.refused")
    reasons = {(row["actor"], row["target"]) for row in refused}
    assert ("(invalid token)", "GET /api/districts") in reasons
    assert ("test-operator", "GET /api/admin/users") in reasons


def test_the_audit_log_cannot_be_changed(server: Server) -> None:
    _login(server, "viewer")
    with psycopg.connect(server.env["IOC_DATABASE__URL"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'someone-else'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_log")


def test_a_display_name_with_control_characters_is_refused(server: Server) -> None:
    response = httpx.patch(f"{server.base_url}/api/admin/users/viewer", headers=bearer("admin"),
                           json={"display_name": "Lan\u0000 Nguyen"})
    assert response.status_code == 422
    named = httpx.patch(f"{server.base_url}/api/admin/users/viewer", headers=bearer("admin"),
                        json={"display_name": "Nguyễn Thị Lan"})
    assert named.status_code == 200 and named.json()["display_name"] == "Nguyễn Thị Lan"
