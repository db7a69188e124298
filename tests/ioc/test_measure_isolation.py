"""A measure that fails on one asset's data leaves every other measure and asset served.

Over HTTP against the real application on real sockets, on history stored in the real
database: the night log that once killed `ioc run`, a measure made to raise for one signal
only, and desks whose figures have no finite value.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from feeds.signals import measures
from feeds.signals.detectors import detectors_from_features
from feeds.signals.events import SignalEvent
from ioc.situations.measures import split_failure_readings
from tests.auth import bearer
from tests.feeds.signals.night import LEFT_TURNS, NIGHT, SIGNAL, night_cycles
from tests.ioc.conftest import PACK, Ingest
from tests.ioc.inprocess import app_settings, served

OTHER = "sig-kim-ma-giang-van-minh"  # no detector on its left turns at all
THIRD = "sig-giang-vo-cat-linh"
QUARTER = timedelta(minutes=15)
NIGHT_PHASES = {1, 2, 4, 5, 6, 8}


async def _store_signals(ingest: Ingest, events: list[SignalEvent]) -> None:
    """Controller events COPYed into storage as the writer stores them."""
    async with ingest.pool.connection() as conn, conn.cursor() as cur, cur.copy(
            "COPY signal_events (time, signal_id, event_code, parameter) FROM STDIN") as copy:
        for e in events:
            await copy.write_row((e.time, e.signal_id, e.event_code, e.parameter))


@pytest.fixture
async def base(db: str, redis_url: str, redis_prefix: str) -> AsyncIterator[str]:
    """The application served on a free port, its city clock at the end of the night quarter."""
    settings = app_settings(db, redis_url, redis_prefix,
                            clock={"start": (NIGHT + QUARTER).isoformat()})
    async with served(settings) as url:
        yield url


async def _get(base: str, path: str, role: str = "viewer", **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await client.get(path, headers=bearer(role), params={
            k: v.isoformat() for k, v in params.items()})


async def _measures(base: str, signal_id: str, **params: Any) -> dict[str, Any]:
    response = await _get(base, f"/api/signals/{signal_id}/measures", **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _failures_counted(base: str, measure: str) -> float:
    """ioc_measure_failures_total for `measure`, as a Prometheus scraper reads it."""
    response = await _get(base, "/metrics", role="admin")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if (sample.name == "ioc_measure_failures_total"
                    and sample.labels.get("measure") == measure):
                return float(sample.value)
    return 0.0


async def test_the_night_log_that_killed_ioc_run_is_measured(
    ingest: Ingest, base: str
) -> None:
    events = night_cycles() + night_cycles(OTHER)
    await _store_signals(ingest, events)
    # No range given: the last hour of the city clock, which stands at 02:15.
    body = await _measures(base, SIGNAL)
    assert body["events"] == len(night_cycles())
    assert body["unavailable"] == {} and body["detector_health"] == []
    bins = {b["phase"]: b for b in body["bins"]}
    assert set(bins) == NIGHT_PHASES
    for phase in LEFT_TURNS:
        left = bins[phase]
        assert (left["volume"], left["aog_share"], left["platoon_ratio"]) == (0, None, None)
        assert (left["sf_cycles"], left["split_failures"]) == (24, 0)
        assert (left["mean_gor"], left["mean_ror5"]) == (0.0, 0.0)
        assert left["green_s"] == 120 and left["unavailable"] == []
    other = await _measures(base, OTHER, start=NIGHT, end=NIGHT + QUARTER)
    assert other["unavailable"] == {}
    assert {b["phase"] for b in other["bins"]} == NIGHT_PHASES
    assert all(b["sf_cycles"] == 0 for b in other["bins"] if b["phase"] in LEFT_TURNS)


def _raise_for(monkeypatch: pytest.MonkeyPatch, victim: str) -> None:
    """Make split failures raise for one signal only, as the empty-intervals bug did."""
    real = measures.split_failure_bins

    def broken(log: Any, *args: Any, **kwargs: Any) -> Any:
        if log.signal_id == victim:
            raise IndexError("index 0 is out of bounds for axis 0 with size 0")
        return real(log, *args, **kwargs)

    monkeypatch.setattr(measures, "split_failure_bins", broken)


async def test_a_measure_failing_for_one_signal_leaves_the_rest_served_and_is_counted(
    ingest: Ingest, base: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _store_signals(ingest, night_cycles() + night_cycles(OTHER) + night_cycles(THIRD))
    before = await _failures_counted(base, "split_failures")
    _raise_for(monkeypatch, SIGNAL)
    caplog.set_level(logging.INFO, logger="ioc.measure_failures")
    window = {"start": NIGHT, "end": NIGHT + QUARTER}
    for _ in range(2):
        hit = await _measures(base, SIGNAL, **window)
        assert set(hit["unavailable"]) == {"split_failures"}
        assert "IndexError" in hit["unavailable"]["split_failures"]
        assert {b["phase"] for b in hit["bins"]} == NIGHT_PHASES
        for b in hit["bins"]:
            assert b["unavailable"] == ["split_failures"]
            assert (b["sf_cycles"], b["split_failures"], b["mean_gor"]) == (None, None, None)
            # The signal's other measures are still there.
            assert b["volume"] is not None and b["green_s"] > 0 and b["gap_outs"] == 24
        assert hit["detector_health"] == []
    for signal_id in (OTHER, THIRD):
        body = await _measures(base, signal_id, **window)
        assert body["unavailable"] == {}
        assert all(b["sf_cycles"] is not None and b["unavailable"] == [] for b in body["bins"])
    # Counted every time (once per phase of each request), logged once while it lasts.
    assert await _failures_counted(base, "split_failures") == before + 2 * len(NIGHT_PHASES)
    logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(logged) == 1
    message = logged[0].getMessage()
    assert SIGNAL in message and "split_failures" in message
    assert f"{len(night_cycles())} events from " in message  # the input that broke it
    monkeypatch.undo()
    healed = await _measures(base, SIGNAL, **window)
    assert healed["unavailable"] == {}
    assert any("available again" in r.getMessage() for r in caplog.records)


async def test_the_situations_engine_reads_every_other_signal_when_one_fails(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _store_signals(ingest, night_cycles() + night_cycles(OTHER) + night_cycles(THIRD))
    signals = PACK.asset_features("signals")
    detectors = detectors_from_features(signals)
    _raise_for(monkeypatch, SIGNAL)
    async with ingest.pool.connection() as conn:
        readings = await split_failure_readings(conn, signals, detectors, NIGHT + QUARTER,
                                                QUARTER, min_cycles=4)
    by_signal = {r.asset_id for r in readings}
    assert by_signal == {OTHER, THIRD}
    # The through and side phases of the two healthy signals (their left turns have no
    # stop-bar loop), each cycle judged once its red window ends inside the quarter.
    judged = {2: 24, 6: 24, 4: 23, 8: 23}
    assert {r.subject: r.evidence["cycles"] for r in readings} == {
        f"{s}/{p}": n for s in (OTHER, THIRD) for p, n in judged.items()}
    monkeypatch.undo()
    async with ingest.pool.connection() as conn:
        healed = await split_failure_readings(conn, signals, detectors, NIGHT + QUARTER,
                                              QUARTER, min_cycles=4)
    assert {r.asset_id for r in healed} == {SIGNAL, OTHER, THIRD}


async def _store_queue(ingest: Ingest, point: str, tickets: list[tuple[datetime, ...]],
                       counters_open: int, at: datetime) -> None:
    """Ticket events and one counter snapshot, COPYed as the writer stores them."""
    async with ingest.pool.connection() as conn:
        async with conn.cursor() as cur, cur.copy(
                "COPY queue_ticket_events (time, point_id, ticket_id, event, service_type)"
                " FROM STDIN") as copy:
            for n, (issued, called, served_at) in enumerate(tickets):
                for event, when in (("issued", issued), ("called", called),
                                    ("served", served_at)):
                    await copy.write_row((when, point, f"t-{n}", event, "land"))
        await conn.execute(
            "INSERT INTO queue_counter_snapshots (time, point_id, counters_open, waiting_total,"
            " waiting) VALUES (%s, %s, %s, 0, '{}')", (at, point, counters_open))


async def test_desks_without_a_finite_outlook_or_with_a_broken_one_are_still_served(
    ingest: Ingest, base: str,
) -> None:
    closing = NIGHT.replace(hour=17)
    served_earlier = [(closing - timedelta(minutes=50 - 5 * n),
                       closing - timedelta(minutes=40 - 5 * n),
                       closing - timedelta(minutes=32 - 5 * n)) for n in range(5)]
    # Every counter closed at 17:00: at this demand the wait would be infinite.
    await _store_queue(ingest, "mc-001-ba-dinh", served_earlier, 0, closing)
    # A served stamp logged before its call (a desk clock set wrong): a negative service.
    skewed = [*served_earlier[:2], (closing - timedelta(minutes=20),
                                     closing - timedelta(minutes=10),
                                     closing - timedelta(minutes=40))]
    await _store_queue(ingest, "mc-002-hoan-kiem", skewed, 2, closing)
    window = {"start": closing - timedelta(hours=1), "end": closing + timedelta(minutes=1)}
    before = await _failures_counted(base, "erlang_c")
    closed = await _get(base, "/api/queues/mc-001-ba-dinh/measures", **window)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["unavailable"] == {} and body["counters_open"] == 0
    assert body["erlang_c"]["unstable"] is True
    assert (body["erlang_c"]["mean_wait"], body["erlang_c"]["utilisation"]) == (None, None)
    assert body["throughput"]["served"] == 5
    broken = await _get(base, "/api/queues/mc-002-hoan-kiem/measures", **window)
    assert broken.status_code == 200, broken.text
    body = broken.json()
    assert set(body["unavailable"]) == {"erlang_c"} and body["erlang_c"] is None
    assert "ValueError" in body["unavailable"]["erlang_c"]
    assert body["wait_min"]["max"] == 10 and body["throughput"]["served"] == 3
    assert await _failures_counted(base, "erlang_c") == before + 1
