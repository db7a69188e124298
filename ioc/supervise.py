"""Supervision of long-running tasks: a task that raises is logged once, counted, and
restarted with backoff; its state is there for health and /metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ioc import metrics

logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
# A task that ran this long since its last restart is well again: its backoff starts over.
STABLE_AFTER_S = 60.0


@dataclass(slots=True)
class TaskState:
    """What an operator needs to know about one supervised task."""

    name: str
    state: str = "starting"  # running, restarting, stopped
    restarts: int = 0
    last_error: str | None = None


class Supervisor:
    """Runs named tasks until `stop` is set, restarting any that raises or returns early."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.tasks: dict[str, TaskState] = {}
        self._running: list[asyncio.Task[None]] = []

    def spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Start `run()` under supervision as the task `name`."""
        state = self.tasks[name] = TaskState(name)
        task = asyncio.create_task(self._supervise(state, run), name=name)
        self._running.append(task)
        return task

    async def _supervise(self, state: TaskState, run: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        while not self.stop.is_set():
            started = time.monotonic()
            state.state = "running"
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a task's failure must not end the process
                error = f"{type(err).__name__}: {err}"
                if state.last_error != error:
                    logger.exception("task %s failed; restarting it", state.name)
                state.last_error = error
            else:
                if self.stop.is_set():
                    break
                logger.warning("task %s returned before stop; restarting it", state.name)
                state.last_error = "returned before stop"
            if time.monotonic() - started >= STABLE_AFTER_S:
                failures = 0
            failures += 1
            state.restarts += 1
            state.state = "restarting"
            metrics.TASK_RESTARTS.labels(state.name).inc()
            delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (failures - 1))
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
            except TimeoutError:
                pass
        state.state = "stopped"

    async def wait(self) -> None:
        """Wait until every task has stopped (after `stop` is set)."""
        await asyncio.gather(*self._running, return_exceptions=True)

    async def cancel(self) -> None:
        """Stop every task now."""
        self.stop.set()
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
