"""GET /metrics: this process's Prometheus metrics, and the system's figures read when scraped.

The process's own counters and histograms (ioc.metrics: task restarts, measure failures,
writer commit latency) come from prometheus_client's registry. The rest is read at scrape
time: each feed's counts and lag from the health hashes that runners and writers keep in
Redis, the bus's backlog from its consumer groups, this process's live hub, the supervised
tasks every process reports, and the open situations from the database.

A Prometheus scraper cannot sign in: it presents the configured scrape token
(`IOC_SECURITY__METRICS_TOKEN`) as a bearer token; admins may read the page too.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError, ResponseError

from ioc.api.deps import State, require
from ioc.auth.roles import Role
from ioc.bus import DEAD, RedisBus
from ioc.live.hub import LiveHub
from ioc.settings import instance_name
from ioc.situations.views import ACTIVE, SEVERITIES
from ioc.state import AppState

router = APIRouter(tags=["metrics"])
_admin = require(Role.ADMIN)


async def _reader(request: Request) -> None:
    """Admit the configured scrape token, or else an admin (401 or 403 as for any route)."""
    state: AppState = request.app.state.ioc
    token = state.settings.security.metrics_token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if (token and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.encode())):
        return
    await _admin(request)


class _Figures(Collector):
    """Metric families gathered before rendering (collectors cannot await)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        """The gathered families."""
        return iter(self._families)


@router.get("/metrics", dependencies=[Depends(_reader)],
            responses={200: {"content": {"text/plain": {}},
                             "description": "Prometheus's text exposition format"}})
async def metrics(state: State) -> Response:
    """This process's metrics and the system's figures, in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(await figures(state)))
    return Response(generate_latest(REGISTRY) + generate_latest(registry),
                    media_type=CONTENT_TYPE_LATEST)


async def figures(state: AppState) -> list[Metric]:
    """Everything read at scrape time; a dependency that does not answer is reported down."""
    up = GaugeMetricFamily("ioc_dependency_up", "Whether a dependency answered this scrape",
                           labels=["dependency"])
    found: list[Metric] = [up, *live(state.hub)]
    try:
        found += await feeds(state)
        found += await bus_backlog(state.bus, state.settings.feeds)
        found += await tasks(state)
        up.add_metric(["redis"], 1)
    except (RedisError, OSError):
        up.add_metric(["redis"], 0)
    try:
        found.append(await open_situations(state))
        up.add_metric(["database"], 1)
    except (psycopg.Error, OSError):
        up.add_metric(["database"], 0)
    return found


def live(hub: LiveHub) -> list[Metric]:
    """This process's live WebSocket figures."""
    return [
        GaugeMetricFamily("ioc_live_clients", "Live WebSocket clients connected to this process",
                          value=hub.client_count),
        CounterMetricFamily("ioc_live_frames", "Frames written to live clients",
                            value=hub.frames_sent),
        CounterMetricFamily("ioc_live_coalesced_frames",
                            "Merged frames sent to clients behind instead of their deltas",
                            value=hub.counters.coalesced),
        CounterMetricFamily("ioc_live_slow_disconnects",
                            "Live clients disconnected for falling behind",
                            value=hub.counters.slow_disconnects),
        CounterMetricFamily("ioc_live_deltas", "Live deltas applied by this process's hub",
                            value=hub.counters.deltas),
    ]


async def feeds(state: AppState) -> list[Metric]:
    """Per feed: accepted, stored, duplicate, rejected (by reason), outside the area, lag."""
    counts = {
        "accepted_total": CounterMetricFamily(
            "ioc_feed_accepted", "Observations accepted onto the bus", labels=["feed"]),
        "stored_total": CounterMetricFamily(
            "ioc_feed_stored", "Rows the writers stored", labels=["feed"]),
        "duplicates_total": CounterMetricFamily(
            "ioc_feed_duplicates", "Observations the writers found already stored",
            labels=["feed"]),
        "outside_total": CounterMetricFamily(
            "ioc_feed_outside_area", "Observations accepted outside every district",
            labels=["feed"]),
    }
    rejected = CounterMetricFamily("ioc_feed_rejected", "Records refused, by kind of reason",
                                   labels=["feed", "reason"])
    lag = GaugeMetricFamily("ioc_feed_lag_seconds",
                            "City time since the newest stored observation's source time",
                            labels=["feed"])
    now_ms = state.clock.now().timestamp() * 1000
    for feed in state.settings.feeds:
        recorded = await state.bus.health(feed)
        for field, family in counts.items():
            family.add_metric([feed], int(recorded.get(field) or 0))
        for reason, count in sorted((await state.bus.rejects_by_reason(feed)).items()):
            rejected.add_metric([feed, reason], count)
        last_ms = recorded.get("last_observation_ms")
        if last_ms:
            lag.add_metric([feed], round((now_ms - int(last_ms)) / 1000, 3))
    return [*counts.values(), rejected, lag]


async def bus_backlog(bus: RedisBus, names: Iterable[str]) -> list[Metric]:
    """Per stream and consumer group: entries read but unacknowledged, and not yet read."""
    length = GaugeMetricFamily("ioc_bus_stream_entries", "Entries held in a bus stream",
                               labels=["stream"])
    pending = GaugeMetricFamily("ioc_bus_pending_entries",
                                "Entries a consumer group read but has not acknowledged",
                                labels=["stream", "group"])
    lag = GaugeMetricFamily("ioc_bus_lag_entries",
                            "Entries not yet delivered to a consumer group",
                            labels=["stream", "group"])
    for name in [*names, DEAD]:
        key = bus.stream(name)
        try:
            groups = await bus.redis.xinfo_groups(key)
        except ResponseError:
            continue  # the stream does not exist yet
        length.add_metric([name], await bus.redis.xlen(key))
        for group in groups:
            label = [name, _text(group["name"])]
            pending.add_metric(label, group["pending"])
            # Redis leaves the lag unknown for a while after entries were deleted.
            if group.get("lag") is not None:
                lag.add_metric(label, group["lag"])
    return [length, pending, lag]


async def tasks(state: AppState) -> list[Metric]:
    """Supervised tasks of this process and of every process that reports its own."""
    running = GaugeMetricFamily("ioc_task_running", "Whether a supervised task is running",
                                labels=["process", "task"])
    restarts = GaugeMetricFamily("ioc_process_task_restarts",
                                 "Restarts of a supervised task since its process started",
                                 labels=["process", "task"])
    reports: dict[str, list[dict[str, Any]]] = {instance_name(): [
        {"name": t.name, "state": t.state, "restarts": t.restarts} for t in state.hub.tasks]}
    for process, reported in (await state.bus.task_reports()).items():
        reports.setdefault(process, []).extend(reported)
    for process, listed in sorted(reports.items()):
        for task in listed:
            running.add_metric([process, task["name"]], int(task["state"] == "running"))
            restarts.add_metric([process, task["name"]], task["restarts"])
    return [running, restarts]


async def open_situations(state: AppState) -> Metric:
    """Situations not yet resolved, by severity."""
    async with state.pool.connection(timeout=2.0) as conn:
        rows = await (await conn.execute(
            "SELECT severity, count(*) FROM situations WHERE status = ANY(%s) GROUP BY severity",
            (list(ACTIVE),))).fetchall()
    counts: dict[str, int] = dict(rows)
    family = GaugeMetricFamily("ioc_situations_open",
                               "Situations open, acknowledged or in progress, by severity",
                               labels=["severity"])
    for severity in SEVERITIES:
        family.add_metric([severity], counts.get(severity, 0))
    return family


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
