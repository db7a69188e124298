"""`ioc worker --no-feeds` processes a test starts, kills or freezes, and stops at its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.ioc.server import PROJECT


class Workers:
    """Worker processes (a writer and a situations engine each) on the test's database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        """Start one more worker."""
        with self.log.open("ab") as handle:
            process = subprocess.Popen([sys.executable, "-m", "ioc", "worker", "--no-feeds"],
                                       cwd=PROJECT, env=self.env, stdout=handle,
                                       stderr=subprocess.STDOUT)
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        """Stop every worker still running (thawing a frozen one first)."""
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

