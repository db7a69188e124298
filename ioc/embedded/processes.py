"""What both embedded servers need from the OS: their error, ports, PIDs, a lock and a log.

POSIX only (fcntl, prctl on Linux, /proc where available).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import importlib.util
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

# One logger name for both servers and their helpers (it appears in the CLI's log lines).
logger = logging.getLogger("ioc.embedded")

HOST = "127.0.0.1"
_LOG_ROTATE_BYTES = 10 * 1024 * 1024
_PR_SET_PDEATHSIG = 1


class EmbeddedServiceError(RuntimeError):
    """An embedded PostgreSQL or Redis server could not be started or stopped."""


def package_dir(name: str) -> Path:
    """Return the directory of an installed package without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


# --------------------------------------------------------------------------- logs


def log_tail(path: Path, max_bytes: int = 4000) -> str:
    """Return the end of a log file for error messages."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - max_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(log {path} unreadable: {exc})"
    return text.strip() or f"(log {path} is empty)"


def rotate_log(path: Path) -> None:
    """Move a large log aside so the log of each run stays readable."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > _LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))


# --------------------------------------------------------------------------- ports


def port_free(port: int) -> bool:
    """Return whether 127.0.0.1:port can be bound (as the server would, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def port_in_use_error(service: str, port: int) -> EmbeddedServiceError:
    """Build the error for a port that something else already listens on."""
    return EmbeddedServiceError(
        f"cannot start embedded {service}: {HOST}:{port} is already in use by another process; "
        f"stop that process or choose another port"
    )


# --------------------------------------------------------------------------- processes


def proc_field(pid: int, name: str) -> str | None:
    """Read /proc/<pid>/<name> (a file or symlink); None if unavailable."""
    path = Path("/proc", str(pid), name)
    try:
        return os.readlink(path) if name in ("cwd", "exe") else path.read_text()
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    """Return whether pid is a live process (zombies count as dead: PID 1 may not reap them)."""
    if Path("/proc/self").exists():
        stat_line = proc_field(pid, "stat")
        if stat_line is None:
            return False
        return stat_line.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_dead(pid: int, timeout: float) -> bool:
    """Wait until pid is no longer alive; return whether it died in time."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def parent_death_signal() -> Callable[[], None] | None:
    """Return a preexec_fn that makes the child get SIGTERM when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now, not in the forked child
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


# --------------------------------------------------------------------------- lock


class FileLock:
    """An exclusive flock on a file, so two processes never manage the same server."""

    def __init__(self, path: Path, service: str) -> None:
        self.path = path
        self.service = service
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        """Return whether this process holds the lock."""
        return self._fh is not None

    def acquire(self) -> None:
        """Take the lock or raise EmbeddedServiceError naming the holder."""
        if self._fh is not None:
            return
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise EmbeddedServiceError(
                f"embedded {self.service} data in {self.path.parent} is in use by another "
                f"process (pid {holder}); stop it or use another data dir"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Release the lock (closing the file drops the flock)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
