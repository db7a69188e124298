"""The role matrix, route by route: refused without the right role, admitted with it.

Every operation of the OpenAPI description must be classified here, so a new route cannot
slip through without a decision about who may use it.
"""

from __future__ import annotations

import re

import httpx
import pytest
import websockets

from tests.auth import bearer
from tests.ioc.server import Server

PUBLIC, KEY = "public", "api-key"
# The lowest role each route needs; routes of wider roles are listed under the narrowest.
MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/config"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/refresh"): PUBLIC,
    ("POST", "/api/auth/logout"): PUBLIC,
    ("POST", "/api/ingest/{feed}"): KEY,
    ("GET", "/api/open/v1/dictionary"): PUBLIC,
    ("GET", "/api/open/v1/districts"): PUBLIC,
    ("GET", "/api/open/v1/hourly/{feed}"): PUBLIC,
    ("GET", "/api/auth/me"): "viewer",
    ("GET", "/api/live/stats"): "viewer",
    ("GET", "/api/situations"): "viewer",
    ("GET", "/api/situations/changes"): "viewer",
    ("GET", "/api/situations/{situation_id}"): "viewer",
    ("GET", "/api/history"): "viewer",
    ("GET", "/api/history/compare"): "viewer",
    ("GET", "/api/history/{feed}/{kpi}"): "viewer",
    ("GET", "/api/districts"): "viewer",
    ("GET", "/api/assets/{kind}"): "viewer",
    ("GET", "/api/layers"): "viewer",
    ("GET", "/api/layers/{name}"): "viewer",
    ("GET", "/api/layers/{name}/{code}"): "viewer",
    ("GET", "/api/kpis/{name}"): "viewer",
    ("GET", "/api/parking/sites"): "viewer",
    ("GET", "/api/signals/{signal_id}/measures"): "viewer",
    ("GET", "/api/queues/{point_id}/measures"): "viewer",
    ("GET", "/api/brt/headways"): "viewer",
    ("GET", "/api/feeds/{feed}/rejected"): "operator",
    ("POST", "/api/simulator/faults"): "operator",
    ("POST", "/api/situations/{situation_id}/acknowledge"): "operator",
    ("POST", "/api/situations/{situation_id}/start"): "operator",
    ("POST", "/api/situations/{situation_id}/resolve"): "operator",
    ("POST", "/api/situations/{situation_id}/close"): "operator",
    ("POST", "/api/situations/{situation_id}/assign"): "operator",
    ("POST", "/api/situations/{situation_id}/comment"): "operator",
    ("POST", "/api/situations/{situation_id}/checklist/{item_id}"): "operator",
    ("GET", "/api/history/state"): "planner",
    ("GET", "/api/export/{feed}"): "planner",
    ("POST", "/api/layers/{name}/reload"): "admin",
    ("GET", "/api/admin/users"): "admin",
    ("POST", "/api/admin/users"): "admin",
    ("PATCH", "/api/admin/users/{username}"): "admin",
    ("GET", "/api/admin/keys"): "admin",
    ("POST", "/api/admin/keys"): "admin",
    ("POST", "/api/admin/keys/{key_id}/rotate"): "admin",
    ("DELETE", "/api/admin/keys/{key_id}"): "admin",
    ("GET", "/api/admin/audit"): "admin",
    # Also readable with the scrape token (IOC_SECURITY__METRICS_TOKEN): see test_metrics.py.
    ("GET", "/metrics"): "admin",
}
# Roles that must be refused a route needing the key role, and one that must be admitted.
REFUSED = {"viewer": [], "operator": ["viewer", "planner"], "planner": ["viewer", "operator"],
           "admin": ["viewer", "operator", "planner"]}
# Values for path parameters, so that an admitted request reaches the route itself.
PARAMETERS = {"feed": "parking", "kind": "parking", "name": "districts", "code": "002",
              "signal_id": "sig-kim-ma-giang-van-minh", "point_id": "hk-ubnd-phuong-hang-bac",
              "username": "no-such-user", "key_id": "no-such-key"}


def _operations(server: Server) -> list[tuple[str, str]]:
    paths = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item)


def _call(server: Server, method: str, path: str, headers: dict[str, str]) -> int:
    url = server.base_url + re.sub(r"\{(\w+)\}", lambda m: PARAMETERS.get(m[1], "1"), path)
    return httpx.request(method, url, headers=headers, timeout=30).status_code


def test_every_route_has_a_decided_role(server: Server) -> None:
    unclassified = [op for op in _operations(server) if op not in MATRIX]
    assert unclassified == []


@pytest.mark.parametrize(("method", "path"), sorted(
    op for op, role in MATRIX.items() if role not in (PUBLIC, KEY)))
def test_a_route_refuses_the_wrong_roles_and_admits_the_right_one(
    server: Server, method: str, path: str
) -> None:
    needed = MATRIX[(method, path)]
    assert _call(server, method, path, {}) == 401
    for role in REFUSED[needed]:
        assert _call(server, method, path, bearer(role)) == 403, role
    assert _call(server, method, path, bearer(needed)) not in (401, 403)
    assert _call(server, method, path, bearer("admin")) not in (401, 403)


@pytest.mark.parametrize(("method", "path"), sorted(
    op for op, role in MATRIX.items() if role == PUBLIC))
def test_public_routes_need_no_sign_in(server: Server, method: str, path: str) -> None:
    assert _call(server, method, path, {}) not in (401, 403)


async def test_the_live_socket_needs_a_token(server: Server) -> None:
    bare = server.ws_url.split("?")[0]
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(bare):
            pass
    async with websockets.connect(server.ws("viewer")) as ws:
        assert "hello" in str(await ws.recv())


async def test_the_replay_socket_is_for_planners(server: Server) -> None:
    for role in ("viewer", "operator"):
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(server.ws(role, "/ws/replay")):
                pass
    async with websockets.connect(server.ws("planner", "/ws/replay")) as ws:
        assert "hello" in str(await ws.recv())
