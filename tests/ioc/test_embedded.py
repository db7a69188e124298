"""Embedded PostgreSQL and Redis: real servers on free ports in tmp_path, no mocks."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from ioc.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServiceError,
    embedded_services,
)
from ioc.embedded.redis import _redis_server_executable

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    """Return whether pid runs (a zombie is dead: PID 1 here may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_dead(pid: int, timeout: float = 10) -> bool:
    """Wait for pid to exit; return whether it did."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def refused(port: int) -> bool:
    """Return whether a TCP connect to 127.0.0.1:port is refused."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def postmaster_pid(data_dir: Path) -> int:
    """Return the PID recorded in postmaster.pid."""
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def uid_of(pid: int) -> int:
    """Return the real uid of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data dir in a private directory under /tmp, not in pytest's tmp_path.

    As root, PostgreSQL runs as an unprivileged user who must traverse every parent of the data
    dir. pytest keeps /tmp/pytest-of-root at mode 0700 and resets it at the start of every
    session: the module would add o+x, and a concurrent pytest run could take it away again.
    """
    base = Path(tempfile.mkdtemp(prefix="ioc-embedded-test-"))
    try:
        yield base / "data"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ports() -> tuple[int, int]:
    pg_port, redis_port = free_port(), free_port()
    while redis_port == pg_port:
        redis_port = free_port()
    return pg_port, redis_port


@pytest.fixture
def listener() -> Iterator[int]:
    """Occupy a port the way an unrelated server would."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_data_survives_restart_and_stop_really_stops(
    data_dir: Path, ports: tuple[int, int]
) -> None:
    pg_port, redis_port = ports
    with embedded_services(
        data_dir, postgres=True, redis=True, pg_port=pg_port, redis_port=redis_port
    ) as (db_url, redis_url):
        assert db_url == f"postgresql://postgres@127.0.0.1:{pg_port}/ioc"
        assert redis_url == f"redis://127.0.0.1:{redis_port}/0"
        with psycopg.connect(db_url) as conn:
            conn.execute("CREATE TABLE incident (id int PRIMARY KEY, note text)")
            conn.execute("INSERT INTO incident VALUES (1, 'Hoàn Kiếm flooding')")
        with redis.Redis.from_url(redis_url) as client:
            entry_id = client.xadd("feeds:traffic", {"segment": "Kim Mã", "speed": "12"})
            redis_pid = int(client.info("server")["process_id"])
        pg_pid = postmaster_pid(data_dir)
        if os.geteuid() == 0:
            assert uid_of(pg_pid) != 0, "PostgreSQL must not run as root"

    assert refused(pg_port) and refused(redis_port)
    assert wait_dead(pg_pid)
    # Redis is our child and stop() reaped it: not even a zombie is left.
    assert not Path(f"/proc/{redis_pid}").exists()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    pg = EmbeddedPostgres(data_dir, port=pg_port)
    rd = EmbeddedRedis(data_dir, port=redis_port)
    pg.stop()  # stopping what never started is a no-op
    rd.stop()
    try:
        assert pg.start() == pg.url
        rd.start()
        with psycopg.connect(pg.url) as conn:
            row = conn.execute("SELECT note FROM incident WHERE id = 1").fetchone()
        assert row == ("Hoàn Kiếm flooding",)
        with redis.Redis.from_url(rd.start()) as client:
            entries = client.xrange("feeds:traffic")
        assert entries == [(entry_id, {b"segment": "Kim Mã".encode(), b"speed": b"12"})]
    finally:
        rd.stop()
        pg.stop()
    rd.stop()
    pg.stop()
    assert refused(pg_port) and refused(redis_port)


def test_port_in_use_gives_clear_error(data_dir: Path, listener: int) -> None:
    with pytest.raises(EmbeddedServiceError, match=rf"127\.0\.0\.1:{listener} is already in use"):
        EmbeddedPostgres(data_dir, port=listener).start()
    with pytest.raises(EmbeddedServiceError, match=rf"127\.0\.0\.1:{listener} is already in use"):
        EmbeddedRedis(data_dir, port=listener).start()
    # The failed attempts released the data dir: a start on a free port works.
    pg = EmbeddedPostgres(data_dir, port=free_port())
    try:
        pg.start()
    finally:
        pg.stop()


def test_data_dir_in_use_by_another_manager(data_dir: Path, ports: tuple[int, int]) -> None:
    pg_port, redis_port = ports
    with embedded_services(
        data_dir, postgres=True, redis=True, pg_port=pg_port, redis_port=redis_port
    ):
        with pytest.raises(EmbeddedServiceError, match="in use by another process"):
            EmbeddedPostgres(data_dir, port=free_port()).start()
        with pytest.raises(EmbeddedServiceError, match="in use by another process"):
            EmbeddedRedis(data_dir, port=free_port()).start()


def test_stale_postmaster_pid_does_not_block_start(data_dir: Path) -> None:
    port = free_port()
    pg = EmbeddedPostgres(data_dir, port=port)
    pg.start()
    with psycopg.connect(pg.url) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (42)")
    pidfile = data_dir / "postgres" / "postmaster.pid"
    pidfile_text = pidfile.read_text()
    killed = postmaster_pid(data_dir)
    os.kill(killed, signal.SIGKILL)  # a crash: postmaster.pid stays behind
    assert wait_dead(killed)
    pg.stop()  # what the CLI's finally does; the server is already gone
    assert pidfile.exists()

    pg = EmbeddedPostgres(data_dir, port=port)
    try:
        pg.start()
        assert postmaster_pid(data_dir) != killed
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
    finally:
        pg.stop()

    # After a reboot the recorded PID may belong to an unrelated live process.
    lines = pidfile_text.splitlines()
    pidfile.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
    try:
        pg.start()
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
    finally:
        pg.stop()


CHILD = """
import sys, time
from pathlib import Path
import redis
from ioc.embedded import EmbeddedPostgres, EmbeddedRedis
data_dir, pg_port, redis_port = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pg = EmbeddedPostgres(data_dir, port=pg_port)
rd = EmbeddedRedis(data_dir, port=redis_port)
pg.start()
with redis.Redis.from_url(rd.start()) as client:
    client.xadd("feeds:air", {"pm25": "87"})
print(rd.pid, flush=True)
time.sleep(120)
"""


def test_parent_sigkill(data_dir: Path, ports: tuple[int, int]) -> None:
    """Redis dies with a SIGKILLed parent; PostgreSQL survives and the next start reuses it."""
    pg_port, redis_port = ports
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(pg_port), str(redis_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline()
        if not line:
            child.wait()
            pytest.fail(f"child failed:\n{child.stderr.read()}")
        redis_pid = int(line)
        pg_pid = postmaster_pid(data_dir)
        child.kill()

    pg = EmbeddedPostgres(data_dir, port=pg_port)
    rd = EmbeddedRedis(data_dir, port=redis_port)
    try:
        assert wait_dead(redis_pid), "redis-server outlived its SIGKILLed parent"
        assert alive(pg_pid)
        pg.start()
        assert postmaster_pid(data_dir) == pg_pid  # reused, not restarted
        with redis.Redis.from_url(rd.start()) as client:
            assert client.xlen("feeds:air") == 1  # SIGTERM from PDEATHSIG flushed the AOF
    finally:
        rd.stop()
        pg.stop()
        for pid, sig in ((redis_pid, signal.SIGKILL), (pg_pid, signal.SIGINT)):
            if alive(pid):  # only when an assertion above failed: leave no server behind
                os.kill(pid, sig)
    assert wait_dead(pg_pid)
    assert refused(pg_port)


@pytest.mark.parametrize("same_port", [True, False], ids=["same-port", "other-port"])
def test_redis_left_running_on_our_data_dir_is_shut_down(data_dir: Path, same_port: bool) -> None:
    """Two servers appending to one AOF would corrupt it: a left-over one is stopped first."""
    orphan_port = free_port()
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True)
    # A redis-server on our data dir that no manager owns (as after a crash without PDEATHSIG).
    orphan = subprocess.Popen(
        [str(_redis_server_executable()), "--bind", "127.0.0.1", "--port", str(orphan_port)]
        + ["--dir", str(redis_dir), "--appendonly", "yes", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        # What the crashed manager left behind for the next run.
        (data_dir / "redis.pid").write_text(f"{orphan.pid} {orphan_port}\n")
        deadline = time.monotonic() + 10
        while refused(orphan_port):
            assert time.monotonic() < deadline, "orphan redis-server did not start"
            time.sleep(0.05)
        rd = EmbeddedRedis(data_dir, port=orphan_port if same_port else free_port())
        try:
            rd.start()
            assert orphan.wait(10) == 0  # shut down cleanly, not killed
            with redis.Redis.from_url(rd.url) as client:
                assert int(client.info("server")["process_id"]) == rd.pid
        finally:
            rd.stop()
        assert not (data_dir / "redis.pid").exists()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_foreign_redis_on_port_is_left_alone(data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    foreign = subprocess.Popen(
        [str(_redis_server_executable()), "--bind", "127.0.0.1", "--port", str(port)]
        + ["--dir", str(other_dir), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while refused(port):
            assert time.monotonic() < deadline, "foreign redis-server did not start"
            time.sleep(0.05)
        with pytest.raises(EmbeddedServiceError, match="already in use"):
            EmbeddedRedis(data_dir, port=port).start()
        assert foreign.poll() is None
    finally:
        foreign.terminate()
        foreign.wait()
