"""Browser-facing defences: security headers, CORS by allow-list, and request body limits.

`protect(app, settings)` installs them, with the rate limits of ioc.api.limits, in this
order from the outside in: CORS (so that refusals still carry CORS headers), security
headers (on every response, refusals included), body limits, NUL refusal, rate limits.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ioc.api.limits import INGEST_PREFIX, RateLimits
from ioc.settings import Settings

logger = logging.getLogger(__name__)

HSTS = b"max-age=31536000; includeSubDomains"
DOCS_PATHS = ("/docs", "/redoc")


def _origin(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def dashboard_policy(basemap_style_url: str | None) -> str:
    """The Content-Security-Policy of the dashboard and the API.

    Everything comes from the same origin: the Vite bundle has no inline script or style,
    the live WebSocket is same-origin ('self' covers ws: and wss: of the same host).
    MapLibre GL draws with a web worker (`blob:` when it builds one from a string) and
    turns canvases into `data:`/`blob:` images. A configured basemap's origin may be
    fetched from and shown.
    """
    basemap = _origin(basemap_style_url)
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{basemap}; font-src 'self'{basemap}; "
        f"connect-src 'self'{basemap}; worker-src 'self' blob:; child-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from their CDN with an inline
# bootstrap script; only those two pages get a policy that allows it.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, policy: str, hsts: bool) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if hsts:
            common.append((b"strict-transport-security", HSTS))
        self._dashboard = [(b"content-security-policy", policy.encode()), *common]
        self._docs = [(b"content-security-policy", DOCS_POLICY.encode()), *common]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = self._docs if path.startswith(DOCS_PATHS) else self._dashboard
        if path.startswith("/api/"):
            # Live figures and user data must not linger in shared or browser caches.
            extra = [*extra, (b"cache-control", b"no-store")]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """ASGI middleware refusing request bodies over a limit with 413, declared or streamed.

    Ingest has a limit of its own (`push_max_bytes`); every other route gets `max_bytes`.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, ingest_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.ingest_max_bytes = ingest_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (self.ingest_max_bytes if scope["path"].startswith(INGEST_PREFIX)
                 else self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, 413 if declared.isdigit() else 400, limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # FastAPI and the routes turn this into a 413 response.
                    raise HTTPException(413, f"a request body may be at most {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)


class NoNulBytes:
    """ASGI middleware refusing a NUL character in the path or query string with 400.

    No route takes one, and PostgreSQL text cannot hold one: let through, it would reach a
    query as a parameter and fail there as a server error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (
                "\x00" in scope["path"] or b"%00" in scope["query_string"]):
            if scope["type"] == "http":
                await _send_json(send, 400, "a NUL character in the path or query")
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, limit: int) -> None:
    await _send_json(send, status, f"a request body may be at most {limit} bytes"
                     if status == 413 else "a malformed Content-Length header")


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = b'{"detail":"' + detail.encode() + b'"}'
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})


async def _unstorable_data(request: Request, exc: Exception) -> JSONResponse:
    """Data the database cannot take (a NUL in a text, a number out of range) came from the
    request: the client's to fix, so 422 with the reason, not a server error."""
    logger.info("%s %s: refused data: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": f"the request carries data the database cannot store: "
                                   f"{str(exc).splitlines()[0]}"}, status_code=422)


def protect(app: FastAPI, settings: Settings) -> None:
    """Install rate limits, body limits, security headers and CORS on `app`, and turn text
    the database cannot store into a 422."""
    security = settings.security
    app.add_exception_handler(psycopg.DataError, _unstorable_data)
    app.add_middleware(RateLimits, settings=security, prefix=settings.redis.prefix)
    app.add_middleware(NoNulBytes)
    app.add_middleware(BodyLimit, max_bytes=security.max_body_bytes,
                       ingest_max_bytes=settings.push_max_bytes)
    hsts = security.hsts if security.hsts is not None else settings.environment == "production"
    app.add_middleware(SecurityHeaders, policy=dashboard_policy(settings.basemap_style_url),
                       hsts=hsts)
    if security.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=security.cors_origins, allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"], max_age=600,
        )
