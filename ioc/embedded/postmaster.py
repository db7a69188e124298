"""Finding the postmaster of a PGDATA from its postmaster.pid, and clearing a stale one.

A postmaster that died (crash, SIGKILL) leaves postmaster.pid behind. Its PID may be dead, a
zombie or reused by an unrelated process; pg_ctl alone would refuse to start in the last two
cases, so a PID counts as our postmaster only if it is a live ``postgres`` working in PGDATA.
"""

from __future__ import annotations

import time
from pathlib import Path

from ioc.embedded.processes import EmbeddedServiceError, logger, pid_alive, proc_field


def _pidfile_lines(pgdata: Path) -> list[str]:
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return []


def pidfile_port(pgdata: Path) -> int | None:
    """Return the port recorded in postmaster.pid, if any."""
    lines = _pidfile_lines(pgdata)
    try:
        return int(lines[3])
    except (IndexError, ValueError):
        return None


def _is_our_postgres(pgdata: Path, pid: int) -> bool:
    """Return whether pid is a live postgres process working in pgdata."""
    if not pid_alive(pid):
        return False
    cwd = proc_field(pid, "cwd")
    if cwd is None:
        # No /proc (or not permitted): trust liveness, as pg_ctl would.
        return not Path("/proc/self").exists()
    comm = (proc_field(pid, "comm") or "").strip()
    return comm == "postgres" and Path(cwd) == pgdata.resolve()


def running_postmaster(pgdata: Path) -> int | None:
    """Return the PID of a live postmaster for pgdata, per postmaster.pid."""
    lines = _pidfile_lines(pgdata)
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    return pid if _is_our_postgres(pgdata, pid) else None


def _leftover_backends(pgdata: Path) -> list[int]:
    """Return PIDs of postgres processes still working in pgdata (Linux only)."""
    if not Path("/proc/self").exists():
        return []
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _is_our_postgres(pgdata, int(p.name))
    ]


def remove_stale_pidfile(pgdata: Path) -> None:
    """Remove postmaster.pid left by a dead postmaster once its backends are gone."""
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists() or not Path("/proc/self").exists():
        return
    # Backends notice the postmaster's death and exit within moments; starting while they
    # still hold shared memory would fail.
    deadline = time.monotonic() + 10
    while leftovers := _leftover_backends(pgdata):
        if time.monotonic() > deadline:
            raise EmbeddedServiceError(
                f"PostgreSQL processes {leftovers} still use {pgdata} although the "
                f"postmaster is gone; stop them and retry"
            )
        time.sleep(0.1)
    logger.warning("removing stale %s left by a PostgreSQL that did not shut down", pidfile)
    pidfile.unlink(missing_ok=True)
