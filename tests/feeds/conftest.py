"""A local HTTP endpoint for polled sources, answering what a test puts in it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Endpoint:
    """The URL to poll, the body it answers, and status codes to answer first."""

    url: str
    body: bytes = b""
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """A threaded HTTP server on 127.0.0.1 for the duration of a test."""
    served = Endpoint("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            status = served.statuses.pop(0) if served.statuses else 200
            self.send_response(status)
            self.end_headers()
            if status == 200:
                self.wfile.write(served.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}/feed"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served
    server.shutdown()
    server.server_close()
