"""Rules raised from real observations on the bus: every starter rule, hysteresis, merging,
auto-resolve, escalation, and restart without repeating an alert. The engine runs on a
pinned clock that each test moves by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feeds.base import Observation, geo_tag
from feeds.clock import Clock
from feeds.parking import ParkingObservation
from feeds.queues.model import TicketEvent
from feeds.signals.codes import DETECTOR_OFF, DETECTOR_ON, DETECTOR_OPEN_LOOP, DETECTOR_RESTORED
from feeds.signals.events import SignalEvent
from feeds.signals.status import SignalStatus
from feeds.transit.realtime_records import VehiclePosition
from ioc.auth.roles import Principal, Role
from ioc.settings import PROJECT_ROOT
from ioc.situations import actions
from ioc.situations.engine import SituationEngine
from ioc.situations.rules import Merge, RuleBook, load_rulebook
from ioc.situations.views import situation_detail
from tests.clock import HOURS
from tests.ioc.conftest import Ingest

PACK_DIR = PROJECT_ROOT / "packs" / "hanoi"
SIGNAL = "sig-kim-ma-giang-van-minh"
SIGNAL_AT = (105.828, 21.0318)
NEIGHBOUR = "sig-giang-vo-cat-linh"  # the same district, Ba Đình (001)
NEIGHBOUR_AT = (105.827, 21.0287)
CAR_PARK = "hk-ly-thuong-kiet"
CAR_PARK_AT = (105.8468, 21.0246)
# A Monday, 10:00 in Hanoi: BRT line 01 runs every few minutes.
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def pack_book(**changes: dict[str, Any]) -> RuleBook:
    """The Hanoi pack's rules, with some fields of some rules changed (by rule id)."""
    book = load_rulebook(PACK_DIR / "rules.json", PACK_DIR / "procedures.json")
    rules = tuple(r.model_copy(update=changes.get(r.id, {})) for r in book.rules)
    return RuleBook(rules=rules, procedures=book.procedures)


@dataclass
class Rig:
    """The pipeline up to the engine: geo-tag, publish on the bus, let the engine consume."""

    ingest: Ingest
    engine: SituationEngine
    clock: Clock

    async def publish(self, feed: str, observations: Sequence[Observation]) -> None:
        await self.ingest.bus.publish(feed, geo_tag(observations, self.ingest.index.assign))

    async def drain(self) -> None:
        """Let the engine consume everything published so far."""
        idle = 0
        while idle < 2:
            idle = 0 if await self.engine.step() else idle + 1

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self.ingest.pool.connection() as conn:
            return await (await conn.execute(sql, args)).fetchall()

    async def situations(self) -> list[tuple[Any, ...]]:
        return await self.rows(
            "SELECT rule_id, type, severity, status, asset_id, district, alert_count,"
            " condition_cleared_at IS NOT NULL FROM situations ORDER BY id")

    async def actions(self, situation_id: int = 1) -> list[str]:
        return [r[0] for r in await self.rows(
            "SELECT action FROM situation_events WHERE situation_id = %s ORDER BY id",
            situation_id)]


def make_rig(ingest: Ingest, book: RuleBook, feeds: Sequence[str],
             clock: Clock | None = None) -> Rig:
    clock = clock or Clock.pinned(T0)
    engine = SituationEngine(ingest.pool, ingest.bus, ingest.pack, book, ingest.index.assign,
                             feeds, block_ms=20, tick_s=3600, clock=clock)
    return Rig(ingest, engine, clock)


@pytest.fixture
async def rig(ingest: Ingest) -> AsyncIterator[Rig]:
    rig = make_rig(ingest, pack_book(), ["parking", "signals", "brt_vehicles"])
    await rig.engine.start()
    yield rig


def status(state: str, at: datetime, signal: str = SIGNAL) -> SignalStatus:
    where = SIGNAL_AT if signal == SIGNAL else NEIGHBOUR_AT
    return SignalStatus(signal, at, state, None, at, *where)  # type: ignore[arg-type]


def parking(share: float, at: datetime, site: str = CAR_PARK) -> ParkingObservation:
    return ParkingObservation(site, "car", at, 100, round(share * 100), "open", *CAR_PARK_AT)


async def test_signal_flash_opens_after_its_minimum_duration_and_resolves_when_it_clears(
    rig: Rig,
) -> None:
    await rig.publish("signals", [status("flash", T0)])
    await rig.drain()
    assert await rig.situations() == []  # 60 s minimum not yet reached
    await rig.publish("signals", [status("flash", T0 + timedelta(seconds=61))])
    await rig.drain()
    assert await rig.situations() == [
        ("signal-flash", "signal_fault", "major", "open", SIGNAL, "001", 1, False)]
    title, checklist = (await rig.rows(
        "SELECT title_en, (SELECT count(*) FROM situation_checklist) FROM situations"))[0]
    assert title == "Signal Kim Mã – Giang Văn Minh in flash"
    assert checklist == 4
    await rig.publish("signals", [status("normal", T0 + timedelta(seconds=100)),
                                  status("normal", T0 + timedelta(seconds=221))])
    await rig.drain()
    assert (await rig.situations())[0][3:] == ("resolved", SIGNAL, "001", 1, True)
    assert await rig.actions() == ["opened", "condition_cleared", "resolved"]


async def test_dark_and_comm_lost_signals_open_signal_faults(rig: Rig) -> None:
    other = NEIGHBOUR
    await rig.publish("signals", [status("dark", T0), status("comm_lost", T0, other),
                                  status("dark", T0 + timedelta(seconds=31)),
                                  status("comm_lost", T0 + timedelta(seconds=121), other)])
    await rig.drain()
    found = {(r[0], r[2], r[4]) for r in await rig.situations()}
    assert found == {("signal-dark", "critical", SIGNAL),
                     ("signal-comm-lost", "major", other)}


async def test_a_detector_fault_opens_and_its_restoration_only_marks_the_condition_cleared(
    rig: Rig,
) -> None:
    await rig.publish("signals", [
        SignalEvent(SIGNAL, T0, DETECTOR_OPEN_LOOP, 4, *SIGNAL_AT),
        SignalEvent(SIGNAL, T0 + timedelta(seconds=5), DETECTOR_OPEN_LOOP, 6, *SIGNAL_AT)])
    await rig.drain()
    # Two channels of one signal: one situation about that signal, with two alerts.
    assert await rig.situations() == [
        ("detector-fault", "detector_fault", "minor", "open", SIGNAL, "001", 2, False)]
    await rig.publish("signals", [
        SignalEvent(SIGNAL, T0 + timedelta(minutes=1), DETECTOR_RESTORED, ch, *SIGNAL_AT)
        for ch in (4, 6)] + [
        SignalEvent(SIGNAL, T0 + timedelta(minutes=7), DETECTOR_RESTORED, ch, *SIGNAL_AT)
        for ch in (4, 6)])
    await rig.drain()
    # The rule does not auto-resolve: an operator closes it after checking the repair.
    assert (await rig.situations())[0][3:] == ("open", SIGNAL, "001", 2, True)
    assert await rig.actions() == ["opened", "merged", "condition_cleared"]


async def test_a_detector_stuck_on_opens_a_detector_fault_and_resolves_when_it_drops(
    ingest: Ingest,
) -> None:
    # The pack waits ten minutes of unbroken presence; a second here, so the test can wait.
    rig = make_rig(ingest, pack_book(**{"detector-stuck-on": {"min_duration_s": 1.0}}),
                   ["signals"])
    await rig.engine.start()
    await rig.publish("signals", [
        SignalEvent(SIGNAL, T0, DETECTOR_ON, 2, *SIGNAL_AT),  # channel 2 never drops
        SignalEvent(SIGNAL, T0, DETECTOR_ON, 5, *SIGNAL_AT),
        SignalEvent(SIGNAL, T0 + timedelta(seconds=0.4), DETECTOR_OFF, 5, *SIGNAL_AT)])
    await rig.drain()
    assert await rig.situations() == []
    # A stuck detector logs nothing more: the engine's clock has to notice it.
    rig.clock.advance(1.2)
    await rig.engine.tick(measure=False)
    assert await rig.situations() == [
        ("detector-stuck-on", "detector_fault", "minor", "open", SIGNAL, "001", 1, False)]
    await rig.publish("signals", [
        SignalEvent(SIGNAL, T0 + timedelta(minutes=3), DETECTOR_OFF, 2, *SIGNAL_AT)])
    await rig.drain()
    assert (await rig.situations())[0][3] == "resolved"


async def test_a_car_park_filling_up_opens_almost_full_then_full_in_one_situation(
    rig: Rig,
) -> None:
    shares = [0.5, 0.7, 0.91, 0.93, 0.99, 1.0, 1.0, 1.0]
    await rig.publish("parking", [parking(s, T0 + timedelta(seconds=40 * i))
                                  for i, s in enumerate(shares)])
    await rig.drain()
    assert await rig.situations() == [
        ("parking-almost-full", "parking_capacity", "minor", "open", CAR_PARK, "002", 2,
         False)]
    assert await rig.actions() == ["opened", "merged"]


async def test_a_car_park_already_almost_full_but_emptying_raises_nothing(rig: Rig) -> None:
    shares = [0.97, 0.96, 0.95, 0.94, 0.93, 0.92]
    await rig.publish("parking", [parking(s, T0 + timedelta(seconds=60 * i))
                                  for i, s in enumerate(shares)])
    await rig.drain()
    assert await rig.situations() == []


async def test_occupancy_hovering_at_the_threshold_does_not_flap(rig: Rig) -> None:
    # Up past 0.90 for over a minute: raised. Then it hovers between the off (0.85) and on
    # (0.90) thresholds and dips below 0.85 for less than the 5-minute clear duration.
    shares = [0.6, 0.8, 0.91, 0.92, 0.93, 0.89, 0.91, 0.88, 0.90, 0.84, 0.86, 0.89, 0.91, 0.84]
    await rig.publish("parking", [parking(s, T0 + timedelta(seconds=40 * i))
                                  for i, s in enumerate(shares)])
    await rig.drain()
    assert [r[3] for r in await rig.situations()] == ["open"]
    assert await rig.actions() == ["opened"]
    # Below 0.85 for five minutes: cleared once, and resolved (the rule says so).
    late = T0 + timedelta(seconds=40 * len(shares))
    await rig.publish("parking", [parking(0.8, late + timedelta(seconds=60 * i))
                                  for i in range(7)])
    await rig.drain()
    assert [r[3] for r in await rig.situations()] == ["resolved"]
    assert await rig.actions() == ["opened", "condition_cleared", "resolved"]


def bus_at(vehicle: str, at: datetime, stop_seq: int, stop: str, status: str,
           lon: float, lat: float, speed: float, start: str) -> VehiclePosition:
    return VehiclePosition(vehicle, vehicle, "BRT01_0", "BRT01", 0, T0.date(), start, at,
                           lon, lat, None, speed, stop_seq, stop, status, None, None)


async def test_brt_bunching_and_gap_open_brt_service_situations(rig: Rig) -> None:
    kim_ma = (105.829, 21.032)
    giang_vo = (105.826, 21.029)
    await rig.publish("brt_vehicles", [
        bus_at("bus-1", T0, 1, "BRT01_01", "STOPPED_AT", *kim_ma, 0.0, "09:58:00"),
        bus_at("bus-2", T0 + timedelta(seconds=40), 1, "BRT01_01", "STOPPED_AT", *kim_ma, 0.0,
               "09:59:00")])
    await rig.drain()
    assert [(r[0], r[4]) for r in await rig.situations()] == [("brt-bunching", "BRT01/0")]
    await rig.publish("brt_vehicles", [
        bus_at("bus-1", T0 + timedelta(minutes=2), 2, "BRT01_02", "STOPPED_AT", *giang_vo, 0.0,
               "09:58:00"),
        bus_at("bus-3", T0 + timedelta(minutes=40), 2, "BRT01_02", "STOPPED_AT", *giang_vo,
               0.0, "10:30:00")])
    await rig.drain()
    rows = await rig.situations()
    # The gap merges into the line's open BRT situation and raises its severity.
    assert [(r[0], r[1], r[2], r[6]) for r in rows] == [
        ("brt-bunching", "brt_service", "major", 2)]
    assert await rig.actions() == ["opened", "merged"]


async def test_a_bus_stopped_between_stations_opens_after_three_minutes(rig: Rig) -> None:
    between = (105.8275, 21.0305)  # halfway from Kim Mã to Giảng Võ, ~200 m from each
    await rig.publish("brt_vehicles", [
        bus_at("bus-9", T0 + timedelta(seconds=s), 2, "BRT01_02", "IN_TRANSIT_TO", *between,
               0.0, "09:55:00") for s in (0, 90, 181)])
    await rig.drain()
    assert [(r[0], r[1], r[4]) for r in await rig.situations()] == [
        ("brt-stopped-away", "brt_vehicle_stopped", "bus-9")]


async def test_split_failures_above_their_share_open_from_stored_events(ingest: Ingest) -> None:
    book = pack_book(**{"split-failures": {"min_duration_s": 0}})
    rig = make_rig(ingest, book, ["signals"])
    await rig.engine.start()
    now = rig.clock.now()
    events = []
    # Phase 2, presence detector channel 2 occupied through green and red: every cycle fails.
    for c in range(8):
        start = now - timedelta(minutes=10) + timedelta(seconds=90 * c)
        events += [SignalEvent(SIGNAL, start, 82, 2, *SIGNAL_AT),
                   SignalEvent(SIGNAL, start + timedelta(seconds=1), 1, 2, *SIGNAL_AT),
                   SignalEvent(SIGNAL, start + timedelta(seconds=31), 8, 2, *SIGNAL_AT),
                   SignalEvent(SIGNAL, start + timedelta(seconds=34), 10, 2, *SIGNAL_AT),
                   SignalEvent(SIGNAL, start + timedelta(seconds=45), 81, 2, *SIGNAL_AT),
                   SignalEvent(SIGNAL, start + timedelta(seconds=46), 11, 2, *SIGNAL_AT)]
    await rig.publish("signals", events)
    await ingest.store(["signals"])
    await rig.drain()
    await rig.engine.tick(measure=True)
    assert [(r[0], r[1], r[4], r[5]) for r in await rig.situations()] == [
        ("split-failures", "signal_congestion", SIGNAL, "001")]


async def test_queue_wait_and_service_level_open_from_stored_tickets(ingest: Ingest) -> None:
    book = pack_book(**{"queue-wait": {"min_duration_s": 0},
                        "queue-service-level": {"min_duration_s": 0},
                        "feed-lagging": {"enabled": False}})
    rig = make_rig(ingest, book, ["queues"])
    await rig.engine.start()
    point = ingest.pack.asset_features("service_points")[0]
    lon, lat = point["geometry"]["coordinates"][:2]
    now = rig.clock.now()
    tickets = []
    for i in range(10):  # everyone waits 40 minutes against a 15-minute target
        issued = now - timedelta(minutes=55) + timedelta(minutes=i)
        tickets += [
            TicketEvent(point["properties"]["id"], f"t{i}", "issued", issued, "land", None,
                        lon, lat),
            TicketEvent(point["properties"]["id"], f"t{i}", "called",
                        issued + timedelta(minutes=40), "land", "c1", lon, lat)]
    await rig.publish("queues", tickets)
    await ingest.store(["queues"])
    await rig.engine.tick(measure=True)
    rows = await rig.situations()
    # Both rules raise about one desk: one queue_service situation with two alerts.
    assert [(r[1], r[4], r[6]) for r in rows] == [
        ("queue_service", point["properties"]["id"], 2)]
    alerts = await rig.rows("SELECT rule_id FROM situation_alerts ORDER BY rule_id")
    assert alerts == [("queue-service-level",), ("queue-wait",)]


@pytest.mark.parametrize("hour", sorted(HOURS))
async def test_a_feed_lagging_beyond_its_allowance_opens_a_feed_health_situation(
    ingest: Ingest, hour: str,
) -> None:
    rig = make_rig(ingest, pack_book(), ["parking"], Clock.pinned(HOURS[hour]))
    await rig.engine.start()
    # The newest car-park reading the writer stored is ten minutes old (allowance 30 s).
    await rig.publish("parking", [parking(0.5, rig.clock.now() - timedelta(minutes=10))])
    await ingest.store(["parking"])
    await rig.drain()
    await rig.engine.tick(measure=False)
    # Just started: the feed may be restarting with the engine, so its lag is not judged yet.
    assert await rig.situations() == []
    rig.clock.advance(30)  # as long as a lagging car-park feed takes to raise
    await rig.engine.tick(measure=False)
    assert [(r[0], r[1], r[4]) for r in await rig.situations()] == [
        ("feed-lagging", "feed_health", "parking")]
    await rig.publish("parking", [parking(0.5, rig.clock.now())])
    await ingest.store(["parking"])
    await rig.engine.tick(measure=False)  # fresh again, clearing starts (60 s)
    assert [r[3] for r in await rig.situations()] == ["open"]


async def test_district_rules_merge_alerts_of_different_assets_within_the_window(
    ingest: Ingest,
) -> None:
    book = pack_book(**{"signal-flash": {"min_duration_s": 0,
                                          "merge": Merge(by="district", window_s=600)}})
    rig = make_rig(ingest, book, ["signals"])
    await rig.engine.start()
    await rig.publish("signals", [status("flash", T0), status("flash", T0, NEIGHBOUR)])
    await rig.drain()
    rows = await rig.situations()
    assert [(r[4], r[5], r[6]) for r in rows] == [(SIGNAL, "001", 2)]


async def test_an_unacknowledged_situation_escalates_once(ingest: Ingest) -> None:
    book = pack_book(**{"signal-flash": {"min_duration_s": 0}})
    fast = book.procedures["signal_fault"].model_copy(update={"escalate_after_s": 0.001})
    book = RuleBook(rules=book.rules, procedures={**book.procedures, "signal_fault": fast})
    rig = make_rig(ingest, book, ["signals"])
    await rig.engine.start()
    await rig.publish("signals", [status("flash", T0)])
    await rig.drain()
    rig.clock.advance(1)
    await rig.engine.tick(measure=False)
    await rig.engine.tick(measure=False)
    rows = await rig.rows("SELECT severity, base_severity, escalated FROM situations")
    assert rows == [("critical", "major", True)]
    assert await rig.actions() == ["opened", "escalated"]


async def test_a_restarted_engine_does_not_raise_an_alert_twice(ingest: Ingest) -> None:
    book = pack_book(**{"signal-flash": {"min_duration_s": 0}})
    first = make_rig(ingest, book, ["signals"])
    await first.engine.start()
    await first.publish("signals", [status("flash", T0)])
    await first.drain()
    second = make_rig(ingest, book, ["signals"])
    await second.engine.start()
    await second.publish("signals", [status("flash", T0 + timedelta(minutes=5))])
    await second.drain()
    assert [r[6] for r in await second.situations()] == [1]


def ticket(point: dict[str, Any], number: int, at: datetime) -> TicketEvent:
    lon, lat = point["geometry"]["coordinates"][:2]
    return TicketEvent(point["properties"]["id"], f"t{number}", "issued", at, "land", None,
                       lon, lat)


async def _resolve(rig: Rig, situation_id: int) -> None:
    async with rig.ingest.pool.connection() as conn, conn.transaction():
        await actions.transition(conn, Principal("minh.tran", Role.OPERATOR), situation_id,
                                 "resolve", now=rig.clock.now())


async def _detail(rig: Rig, situation_id: int) -> dict[str, Any]:
    async with rig.ingest.pool.connection() as conn:
        return await situation_detail(conn, situation_id)


@pytest.mark.parametrize("hour", sorted(HOURS))
async def test_a_restart_with_open_situations_and_normal_data_opens_nothing_new(
    ingest: Ingest, hour: str,
) -> None:
    clock = Clock.pinned(HOURS[hour])
    book = pack_book()  # the pack's rules as they stand, feed lag included
    feeds = ["parking", "signals", "queues"]
    point = ingest.pack.asset_features("service_points")[0]
    first = make_rig(ingest, book, feeds, clock)
    await first.engine.start()
    # A signal in flash and a full car park, for over a minute: two situations open.
    for second in (0, 61):
        if second:
            clock.advance(second)
        at = clock.now()
        await first.publish("signals", [status("flash", at), status("normal", at, NEIGHBOUR)])
        await first.publish("parking", [parking(1.0, at)])
        await first.publish("queues", [ticket(point, second, at)])
        await ingest.store(feeds)
        await first.drain()
        await first.engine.tick(measure=False)
    before = await first.situations()
    assert sorted((r[0], r[3], r[4]) for r in before) == [
        ("parking-full", "open", CAR_PARK), ("signal-flash", "open", SIGNAL)]
    alerts = await first.rows("SELECT id, rule_id, subject FROM situation_alerts ORDER BY id")

    # Down for ten minutes. The new engine ticks at once, before any feed delivered again.
    clock.advance(600)
    restarted = make_rig(ingest, book, feeds, clock)
    await restarted.engine.start()
    await restarted.engine.tick(measure=False)
    # The feeds come back with what was true before: still in flash, still full.
    for step_s in range(0, 180, 10):
        at = clock.now()
        await restarted.publish("signals", [status("flash", at),
                                            status("normal", at, NEIGHBOUR)])
        await restarted.publish("parking", [parking(1.0, at)])
        if step_s % 60 == 0:
            await restarted.publish("queues", [ticket(point, 100 + step_s, at)])
        await ingest.store(feeds)
        await restarted.drain()
        await restarted.engine.tick(measure=False)
        clock.advance(10)
    after = await restarted.situations()
    assert [(r[0], r[3], r[4], r[6]) for r in after] == [
        (r[0], r[3], r[4], r[6]) for r in before]
    assert await restarted.rows(
        "SELECT id, rule_id, subject FROM situation_alerts ORDER BY id") == alerts
    # The restored conditions still judge: the flash ends, and its situation resolves.
    for step_s in (0, 121):
        await restarted.publish("signals", [status("normal", at + timedelta(seconds=step_s))])
    await restarted.drain()
    assert sorted((r[0], r[3]) for r in await restarted.situations()) == [
        ("parking-full", "open"), ("signal-flash", "resolved")]


@pytest.mark.parametrize("hour", sorted(HOURS))
async def test_a_feed_silent_after_a_restart_is_judged_once_watched_long_enough(
    ingest: Ingest, hour: str,
) -> None:
    clock = Clock.pinned(HOURS[hour])
    first = make_rig(ingest, pack_book(), ["parking"], clock)
    await first.engine.start()
    await first.publish("parking", [parking(0.5, clock.now())])
    await ingest.store(["parking"])
    clock.advance(600)
    restarted = make_rig(ingest, pack_book(), ["parking"], clock)
    await restarted.engine.start()
    await restarted.engine.tick(measure=False)
    clock.advance(29)
    await restarted.engine.tick(measure=False)
    assert await restarted.situations() == []
    # 30 s (the car parks' allowance) since the start, and still nothing new: lagging.
    clock.advance(1)
    await restarted.engine.tick(measure=False)
    assert [(r[0], r[4]) for r in await restarted.situations()] == [("feed-lagging", "parking")]


@pytest.mark.parametrize("hour", sorted(HOURS))
async def test_a_situation_resolved_while_its_condition_holds_opens_again_linked(
    ingest: Ingest, hour: str,
) -> None:
    clock = Clock.pinned(HOURS[hour])
    # The pack's flash rule: on for 60 s to raise, off for 120 s to clear.
    rig = make_rig(ingest, pack_book(**{"feed-lagging": {"enabled": False}}), ["signals"],
                   clock)
    await rig.engine.start()
    start = clock.now()
    await rig.publish("signals", [status("flash", start)])
    await rig.drain()
    clock.advance(61)
    await rig.publish("signals", [status("flash", clock.now())])
    await rig.drain()
    [(first, *_)] = await rig.rows("SELECT id FROM situations")
    clock.advance(10)
    await _resolve(rig, first)
    resolved_at = clock.now()
    await rig.engine.tick(measure=False)
    # Still in flash 30 s after the operator closed it: less than the rule's minute.
    clock.advance(30)
    await rig.publish("signals", [status("flash", clock.now())])
    await rig.drain()
    await rig.engine.tick(measure=False)
    assert [r[3] for r in await rig.situations()] == ["resolved"]
    # A minute after: the flash (still the last status reported) opens a new situation.
    clock.advance(31)
    await rig.engine.tick(measure=False)
    rows = await rig.situations()
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("signal-flash", "resolved", SIGNAL), ("signal-flash", "open", SIGNAL)]
    [(second, opened_at)] = await rig.rows(
        "SELECT id, opened_at FROM situations WHERE status = 'open'")
    assert opened_at - resolved_at >= timedelta(seconds=60)
    reopened = await _detail(rig, second)
    assert reopened["reopened_from"] == first
    assert reopened["evidence"][0]["reopened_from"] == first
    assert [(a["rule_id"], a["cleared_at"]) for a in reopened["alerts"]] == [
        ("signal-flash", None)]
    ended = await _detail(rig, first)
    assert ended["reopened_as"] == [second] and ended["status"] == "resolved"
    assert ended["alerts"][0]["cleared_at"] is not None
    # The flash ends: the new situation resolves with it; the operator's stays as it was.
    clock.advance(5)
    for step_s in (0, 121):
        await rig.publish("signals", [status("normal", clock.now()
                                             + timedelta(seconds=step_s))])
    await rig.drain()
    assert [r[3] for r in await rig.situations()] == ["resolved", "resolved"]
    assert await rig.actions(first) == ["opened", "resolve", "reopened"]
    assert await rig.actions(second) == ["opened", "condition_cleared", "resolved"]


async def test_a_situation_resolved_once_its_condition_ended_stays_resolved(
    ingest: Ingest,
) -> None:
    rig = make_rig(ingest, pack_book(**{"signal-flash": {"min_duration_s": 0},
                                        "feed-lagging": {"enabled": False}}), ["signals"])
    await rig.engine.start()
    await rig.publish("signals", [status("flash", T0), status("normal", T0
                                                                 + timedelta(seconds=30))])
    await rig.drain()
    await _resolve(rig, 1)  # the operator saw it back to normal before the engine did
    await rig.engine.tick(measure=False)
    await rig.publish("signals", [status("normal", T0 + timedelta(seconds=151))])
    await rig.drain()
    await rig.engine.tick(measure=False)
    assert [r[3] for r in await rig.situations()] == ["resolved"]
    assert await rig.actions() == ["opened", "resolve", "condition_cleared"]
    # A later flash is a new fault, not the old one back.
    await rig.publish("signals", [status("flash", T0 + timedelta(minutes=10))])
    await rig.drain()
    assert [r[3] for r in await rig.situations()] == ["resolved", "open"]
    assert (await _detail(rig, 2))["reopened_from"] is None


async def test_a_situation_resolved_before_a_restart_reopens_after_it(ingest: Ingest) -> None:
    book = pack_book(**{"signal-flash": {"min_duration_s": 0},
                        "feed-lagging": {"enabled": False}})
    first = make_rig(ingest, book, ["signals"])
    await first.engine.start()
    await first.publish("signals", [status("flash", T0)])
    await first.drain()
    await _resolve(first, 1)
    restarted = make_rig(ingest, book, ["signals"])
    await restarted.engine.start()
    await restarted.publish("signals", [status("flash", T0 + timedelta(minutes=5))])
    await restarted.drain()
    assert [r[3] for r in await restarted.situations()] == ["resolved", "open"]
    assert (await _detail(restarted, 2))["reopened_from"] == 1
