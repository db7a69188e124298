"""Run the real `ioc run` in a child process against the test database and Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.auth import TEST_AUTH_SECRET, access_token, bearer

PROJECT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass
class Server:
    """A running `ioc run` and how to reach it."""

    base_url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    @property
    def ws_url(self) -> str:
        """The live WebSocket's URL, signed in as a viewer."""
        return self.ws("viewer")

    def ws(self, role: str, path: str = "/ws/live") -> str:
        """A WebSocket URL signed in with `role`."""
        return f"{self.base_url.replace('http://', 'ws://')}{path}?token={access_token(role)}"

    def city_now(self) -> datetime:
        """The server's city clock now (pinned by the tests, never the machine's hour)."""
        return datetime.fromisoformat(httpx.get(f"{self.base_url}/api/health").json()[
            "checked_at"])

    def get(self, path: str, role: str = "viewer", **kwargs: Any) -> httpx.Response:
        """GET `path` as a signed-in user with `role`."""
        return httpx.get(f"{self.base_url}{path}", headers=bearer(role), **kwargs)

    def post(self, path: str, role: str = "operator", **kwargs: Any) -> httpx.Response:
        """POST to `path` as a signed-in user with `role`."""
        return httpx.post(f"{self.base_url}{path}", headers=bearer(role), **kwargs)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(env: dict[str, str], log: Path, timeout: float = 60.0) -> Server:
    """Start `ioc run` and wait until /api/health answers."""
    port = int(env.get("IOC_PORT") or free_port())
    full_env = {**os.environ, "IOC_AUTH__SECRET": TEST_AUTH_SECRET, **env, "IOC_PORT": str(port)}
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "ioc", "run"], cwd=PROJECT, env=full_env,
            stdout=handle, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"ioc run exited with {process.returncode}: {tail}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1.0).status_code == 200:
                return Server(base, process, {**env, "IOC_PORT": str(port)})
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"ioc run did not answer within {timeout} s: {log.read_text()[-3000:]}")


def stop(server: Server) -> int:
    """Stop it as Ctrl-C would, and return its exit code."""
    server.process.send_signal(2)
    try:
        return server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


@contextmanager
def running(env: dict[str, str], log: Path) -> Iterator[Server]:
    """`ioc run` for the duration of a with-block."""
    server = start(env, log)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            stop(server)


def wait_until(predicate: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll `predicate` until it returns something truthy (a hang guard, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("the condition was not met")
