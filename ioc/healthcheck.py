"""`ioc health`: a container's health check.

A worker process reports its supervised tasks to Redis every few seconds under its
instance name (`worker-<host>-<pid>`, see ioc.workers), with a time to live: a process that
dies drops out of the reports by itself. A container's health check runs under the
container's host name, so the check of a worker role looks for a report from this host that
holds the role's tasks, and wants every task of that process running. The API's check asks
its /api/health.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ioc.bus import RedisBus
from ioc.settings import Settings

TIMEOUT_S = 4.0
# States of a task that is doing its work, or about to.
WELL = ("running", "starting")
# How a worker role's tasks are recognised in a process's report.
ROLE_TASKS: dict[str, Callable[[str], bool]] = {
    "writer": lambda name: name == "writer",
    "feeds": lambda name: name.startswith("feed-"),
}
ROLES = ("api", *ROLE_TASKS)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a role is healthy, and the one line that says why."""

    healthy: bool
    line: str


def unwell(tasks: Iterable[Mapping[str, Any]]) -> list[str]:
    """A sentence for each task that is not doing its work."""
    return [f"task {t['name']} is {t['state']} after {t['restarts']} restarts"
            + (f" ({t['last_error']})" if t.get("last_error") else "")
            for t in tasks if t["state"] not in WELL]


def _on_host(process: str, host: str) -> bool:
    # Instance names end with `<host>-<pid>`, possibly after a role's prefix.
    return re.search(rf"(^|-){re.escape(host)}-\d+$", process) is not None


def judge_worker(role: str, reports: Mapping[str, Sequence[Mapping[str, Any]]],
                 host: str) -> Verdict:
    """The health of this host's process of a worker `role`, from every process's report."""
    holds = ROLE_TASKS[role]
    mine = {name: tasks for name, tasks in reports.items()
            if _on_host(name, host) and any(holds(t["name"]) for t in tasks)}
    if not mine:
        return Verdict(False, f"{role}: no live process on {host} reports {role} tasks")
    for name, tasks in sorted(mine.items()):
        problems = unwell(tasks)
        if problems:
            return Verdict(False, f"{role}: {name}: {'; '.join(problems)}")
    running = sum(len(tasks) for tasks in mine.values())
    return Verdict(True, f"{role}: ok, {running} tasks running in {', '.join(sorted(mine))}")


def judge_api(status: int, body: Mapping[str, Any]) -> Verdict:
    """The health of an API process from its /api/health answer."""
    if status != 200:
        failed = [f"{name} unreachable ({body.get(name, {}).get('error')})"
                  for name in ("database", "redis") if not body.get(name, {}).get("ok", True)]
        return Verdict(False, f"api: /api/health answered {status}: "
                              f"{'; '.join(failed) or 'no reason given'}")
    problems = unwell(body.get("tasks", {}).get(body.get("process"), []))
    if problems:
        return Verdict(False, f"api: {'; '.join(problems)}")
    return Verdict(True, f"api: ok (status {body.get('status')})")


def _api_url(settings: Settings) -> str:
    host = settings.host
    # A server listening on every address is reached on the loopback one.
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/api/health"


def check_api(settings: Settings) -> Verdict:
    """Ask this host's API process for its health."""
    url = _api_url(settings)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return judge_api(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as err:
        try:
            body = json.loads(err.read())
        except ValueError:
            body = {}
        return judge_api(err.code, body if isinstance(body, dict) else {})
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        return Verdict(False, f"api: no answer from {url}: {reason}")


async def check_worker(settings: Settings, role: str) -> Verdict:
    """Read the task reports in Redis for this host's process of a worker `role`."""
    url = settings.redis.url or f"redis://127.0.0.1:{settings.embedded.redis_port}/0"
    redis = Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        reports = await RedisBus(redis, settings.redis.prefix).task_reports()
    except (RedisError, OSError) as err:
        return Verdict(False, f"{role}: Redis unreachable: {err}")
    finally:
        await redis.aclose()
    return judge_worker(role, reports, socket.gethostname())


def check(settings: Settings, role: str) -> Verdict:
    """The health of this host's process of `role`."""
    if role == "api":
        return check_api(settings)
    return asyncio.run(check_worker(settings, role))
