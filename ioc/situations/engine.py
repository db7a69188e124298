"""The situations engine: consumes every accepted observation, judges the pack's rules, and
turns raised and cleared conditions into situations; measures, lag and escalation on a tick.

It reads the feeds' streams in a consumer group of its own ("rules"), so it sees every
observation the writers see and resumes where it stopped; entries are acknowledged after
the situations they changed are committed. Condition state lives in memory; raised alerts
are reloaded from the database at start, so a restart neither repeats nor forgets them.

Every "now" comes from the city's clock (`feeds.clock.Clock`); the machine's monotonic
counter only paces the ticks. A restart opens nothing a running engine would not have: a
feed's lag is judged only once the engine has watched it long enough for a live feed to have
delivered since the start. A situation an operator ends while its condition still holds is
released: the condition opens a new situation, linked to the ended one, once it has held
for its rule's minimum duration again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
import psycopg
import redis.exceptions
from psycopg_pool import AsyncConnectionPool

from feeds.base import AreaAssigner
from feeds.clock import Clock
from feeds.registry import lag_allowance
from feeds.signals.detectors import detectors_from_features
from feeds.transit.gtfs_static import load_gtfs
from geo import CityPack
from ioc.bus import Entry, RedisBus
from ioc.situations.conditions import ConditionState, Thresholds, advance, release, step
from ioc.situations.live import publish_change
from ioc.situations.measures import (
    feed_readings,
    queue_readings,
    split_failure_readings,
)
from ioc.situations.readings import BrtWatch, Reading, parking_readings, signal_readings
from ioc.situations.rules import Rule, RuleBook
from ioc.situations.store import (
    SituationChange,
    clear_alert,
    escalate_due,
    raise_alert,
    raised_alerts,
    released_alerts,
)

logger = logging.getLogger(__name__)

GROUP = "rules"
CLAIM_IDLE_MS = 60_000
Key = tuple[str, str]  # (rule id, subject)


@dataclass(frozen=True, slots=True)
class Transition:
    """A condition that was raised or cleared by a reading."""

    rule: Rule
    reading: Reading
    value: float
    raised: bool


@dataclass(slots=True)
class EngineStats:
    """Counts since start, for logs and benchmarks."""

    entries: int = 0
    readings: int = 0
    raised: int = 0
    cleared: int = 0
    changes: int = 0


@dataclass(slots=True)
class _Subject:
    """One rule's view of one subject: its condition, and recent values when it must rise."""

    state: ConditionState = field(default_factory=ConditionState)
    seen: datetime | None = None  # the city's clock at the last reading
    reading: Reading | None = None
    history: deque[tuple[datetime, float]] = field(default_factory=deque)


class SituationEngine:
    """One consumer of the rules group, with the pack's rules and procedures."""

    def __init__(
        self, pool: AsyncConnectionPool, bus: RedisBus, pack: CityPack, book: RuleBook,
        assign: AreaAssigner, feeds: Sequence[str], *, consumer: str = "rules-1",
        batch_entries: int = 100, block_ms: int = 500, tick_s: float = 5.0,
        measure_every_s: float = 60.0, clock: Clock,
    ) -> None:
        self.stats = EngineStats()
        self._clock = clock
        self._pool, self._bus, self._pack, self._book = pool, bus, pack, book
        self._assign = assign
        self._watched_feeds = list(feeds)
        self._stream_feeds = [f for f in book.stream_feeds() if f in feeds]
        self._consumer, self._count, self._block_ms = consumer, batch_entries, block_ms
        self._tick_s, self._measure_s = tick_s, measure_every_s
        self._by_source: defaultdict[str, list[Rule]] = defaultdict(list)
        for rule in book.enabled:
            self._by_source[rule.condition.source].append(rule)
        self._limits: dict[str, Thresholds] = {r.id: r.thresholds() for r in book.enabled}
        self._rules = {r.id: r for r in book.enabled}
        self._subjects: dict[Key, _Subject] = {}
        self._keys: list[str] = []
        self._ready = False
        self._pending_first = True
        self._last_tick = 0.0
        self._last_measure = 0.0
        self._started: datetime | None = None
        self._names = self._asset_names()
        self._brt = None
        if pack.gtfs_path is not None and self._by_source.keys() & {"brt_headway",
                                                                     "brt_vehicle"}:
            radius = next((r.condition.params["station_radius_m"]
                           for r in self._by_source.get("brt_vehicle", ())
                           if "station_radius_m" in r.condition.params), 150.0)
            self._brt = BrtWatch(load_gtfs(pack.gtfs_path), station_radius_m=radius)

    def _asset_names(self) -> dict[tuple[str, str], str]:
        names = {}
        for kind, pack_kind in (("signal", "signals"), ("parking", "parking"),
                                ("service_point", "service_points")):
            try:
                features = self._pack.asset_features(pack_kind)
            except (KeyError, OSError):
                continue
            for f in features:
                props = f["properties"]
                names[kind, str(props["id"])] = str(props.get("name") or props["id"])
        return names

    async def start(self) -> None:
        """Create the group, take over abandoned entries, reload the alerts still raised
        (released when an operator ended their situation)."""
        if self._started is None:
            self._started = self._clock.now()
        self._keys = await self._bus.ensure_groups(self._stream_feeds, GROUP, dead=False)
        await self._bus.claim_abandoned(self._consumer, self._keys, CLAIM_IDLE_MS, GROUP)
        self._pending_first = True
        # What memory held may be ahead of what was committed (a failed batch is read
        # again): the database is the truth.
        self._subjects = {}
        async with self._pool.connection() as conn:
            for rule_id, subject, at, active in await raised_alerts(conn):
                if rule_id in self._limits:
                    self._subjects[rule_id, subject] = _Subject(
                        ConditionState(raised=True, at=at, released=not active),
                        self._clock.now())
        self._ready = True

    async def step(self) -> int:
        """Read one batch of entries, judge it, commit the changes, acknowledge, publish."""
        entries = await self._bus.read(self._consumer, self._keys, self._count, self._block_ms,
                                       self._pending_first, GROUP) if self._keys else []
        if self._pending_first and not entries:
            self._pending_first = False
        if entries:
            transitions = list(self._judge(self._decode(entries)))
            changes = await self._apply(transitions)
            by_stream: defaultdict[str, list[str]] = defaultdict(list)
            for entry in entries:
                by_stream[entry.stream].append(entry.entry_id)
            for stream, ids in by_stream.items():
                await self._bus.ack(stream, ids, GROUP)
            self.stats.entries += len(entries)
            await self._publish(changes)
        if time.monotonic() - self._last_tick >= self._tick_s:
            await self.tick()
        return len(entries)

    async def tick(self, measure: bool | None = None) -> None:
        """Time-driven work: durations running out, periodic measures, feed lag, escalation.

        `measure` forces (or skips) the database measures; by default they run every
        measure_every_s.
        """
        now_mono = time.monotonic()
        self._last_tick = now_mono
        now = self._clock.now()
        started = self._started or now
        readings: list[Reading] = []
        if measure if measure is not None else now_mono - self._last_measure >= self._measure_s:
            self._last_measure = now_mono
            readings.extend(await self._measures(now))
        if self._by_source.get("feed"):
            watched = [f for f in self._watched_feeds if self._watched_long_enough(f, now)]
            readings.extend(await feed_readings(self._bus, watched, now, started, self._pack,
                                                speed=self._clock.speed))
        transitions = await self._release(now)
        transitions.extend(self._judge(readings))
        transitions.extend(self._advance(now))
        changes = await self._apply(transitions)
        async with self._pool.connection() as conn, conn.transaction():
            changes.extend(await escalate_due(conn, {
                t: p.escalate_after_s for t, p in self._book.procedures.items()}, now))
        await self._publish(changes)

    def _watched_long_enough(self, feed: str, now: datetime) -> bool:
        """Whether the engine has watched `feed` long enough to judge its lag: for as long
        as a lagging feed takes to raise, so that a feed merely restarting with the engine
        (its last observation predating the start) has had the time to deliver."""
        if self._started is None:
            return False
        allowance = lag_allowance(feed, self._clock.speed)
        needed = max((allowance * r.condition.on + r.min_duration_s
                      for r in self._by_source["feed"]), default=0.0)
        return now - self._started >= timedelta(seconds=needed)

    async def _release(self, now: datetime) -> list[Transition]:
        """Release the raised conditions whose situation an operator ended; one that holds
        for its rule's minimum duration from then (at once, for a zero duration) is raised
        again into a new situation."""
        held = [key for key, s in self._subjects.items() if s.state.raised
                and not s.state.released]
        if not held:
            return []
        async with self._pool.connection() as conn:
            ended = set(await released_alerts(conn))
        transitions = []
        for key in held:
            if key not in ended:
                continue
            subject = self._subjects[key]
            change = release(subject.state, self._source_time(subject, now),
                             self._limits[key[0]])
            if change is not None and subject.reading is not None:
                transitions.append(Transition(self._rules[key[0]], subject.reading,
                                              subject.state.value or 0.0, True))
        return transitions

    @staticmethod
    def _source_time(subject: _Subject, now: datetime) -> datetime:
        """`now` on the subject's source clock: its last reading's time plus the time
        passed since it was judged (feeds stamp their own time, which may lag)."""
        state = subject.state
        if state.at is None or subject.seen is None:
            return now
        return state.at + (now - subject.seen)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop`; on a storage or bus failure, log once, back off, resume."""
        failures = 0
        while not stop.is_set():
            try:
                if not self._ready or failures:
                    self._ready = False
                    await self.start()
                await self.step()
            except (psycopg.OperationalError, OSError, ConnectionError,
                    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
                if failures == 0:
                    logger.warning("situations engine paused: %s", err)
                failures += 1
                await _sleep_or_stop(stop, min(30.0, 0.5 * 2 ** min(failures, 6)))
            else:
                if failures:
                    logger.info("situations engine resumed after %d failures", failures)
                failures = 0
            if not self._keys:
                await _sleep_or_stop(stop, self._block_ms / 1000)

    def _decode(self, entries: Iterable[Entry]) -> Iterator[Reading]:
        for entry in entries:
            feed = self._bus.feed_of(entry.stream)
            try:
                records = orjson.loads(entry.fields[b"records"])
                if feed == "parking":
                    yield from parking_readings(records)
                elif feed == "signals":
                    yield from signal_readings(records)
                elif feed == "brt_vehicles" and self._brt is not None:
                    yield from self._brt.readings(records)
            except (KeyError, ValueError, TypeError) as err:
                # The writer sends such an entry to the dead-letter store; nothing to judge.
                logger.warning("situations engine skipped entry %s of %s: %r",
                               entry.entry_id, feed, err)

    def _judge(self, readings: Iterable[Reading]) -> Iterator[Transition]:
        now = self._clock.now()
        for reading in readings:
            self.stats.readings += 1
            for rule in self._by_source.get(reading.source, ()):
                measured = reading.values.get(rule.condition.measure)
                value = None if measured is None else rule.value(measured)
                if value is None:
                    continue
                key = (rule.id, reading.subject)
                subject = self._subjects.get(key)
                if subject is None:
                    subject = self._subjects[key] = _Subject()
                subject.seen, subject.reading = now, reading
                judged = value
                if rule.condition.rising_window_s is not None:
                    judged = self._unless_rising(rule, subject, reading.at, value)
                change = step(subject.state, judged, reading.at, self._limits[rule.id])
                if change is not None:
                    yield Transition(rule, reading, value, change != "cleared")

    def _unless_rising(self, rule: Rule, subject: _Subject, at: datetime, value: float) -> float:
        """The value, or the off threshold while the measure is not rising (raising waits)."""
        history = subject.history
        history.append((at, value))
        horizon = at - timedelta(seconds=rule.condition.rising_window_s or 0.0)
        while len(history) > 2 and history[1][0] <= horizon:
            history.popleft()
        rising = value > history[0][1] if len(history) > 1 else False
        if subject.state.raised or rising:
            return value
        return rule.condition.off

    def _advance(self, now: datetime) -> Iterator[Transition]:
        """Durations that ran out with no new reading (the last value still holds)."""
        for (rule_id, _), subject in self._subjects.items():
            state, reading = subject.state, subject.reading
            if reading is None or state.at is None or (
                    state.pending_since is None and state.clearing_since is None
                    and state.holding_since is None):
                continue
            # `seen` stays the time of the last reading: the source time is estimated from it.
            at = self._source_time(subject, now)
            change = advance(state, at, self._limits[rule_id])
            if change is not None:
                yield Transition(self._rules[rule_id], reading, state.value or 0.0,
                                 change != "cleared")

    async def _measures(self, now: datetime) -> list[Reading]:
        readings: list[Reading] = []
        async with self._pool.connection() as conn:
            for rule in self._by_source.get("split_failures", [])[:1]:
                params = rule.condition.params
                signals = self._pack.asset_features("signals")
                readings.extend(await split_failure_readings(
                    conn, signals, detectors_from_features(signals), now,
                    timedelta(minutes=params.get("window_min", 15)),
                    int(params.get("min_cycles", 4))))
            for rule in self._by_source.get("queue", [])[:1]:
                params = rule.condition.params
                readings.extend(await queue_readings(
                    conn, self._pack.asset_features("service_points"), now,
                    timedelta(minutes=params.get("window_min", 60)),
                    int(params.get("min_tickets", 5))))
        return readings

    def _place(self, reading: Reading) -> Reading:
        if reading.district is not None or reading.lon is None or reading.lat is None:
            return reading
        district = self._assign([reading.lon], [reading.lat])[0]
        return Reading(reading.source, reading.subject, reading.at, reading.values,
                       reading.asset_kind, reading.asset_id, district, reading.lon, reading.lat,
                       reading.evidence)

    async def _apply(self, transitions: Sequence[Transition]) -> list[SituationChange]:
        if not transitions:
            return []
        now = self._clock.now()
        changes: list[SituationChange] = []
        async with self._pool.connection() as conn, conn.transaction():
            for t in transitions:
                if t.raised:
                    self.stats.raised += 1
                    reading = self._place(t.reading)
                    name = None if reading.asset_kind is None or reading.asset_id is None \
                        else self._names.get((reading.asset_kind, reading.asset_id))
                    changes.append(await raise_alert(
                        conn, t.rule, reading, t.value, self._book.procedures[t.rule.type],
                        name, now=now))
                else:
                    self.stats.cleared += 1
                    cleared = await clear_alert(conn, t.rule, t.reading.subject, t.reading.at,
                                                now=now)
                    if cleared is not None:
                        changes.append(cleared)
        return changes

    async def _publish(self, changes: Sequence[SituationChange]) -> None:
        for change in changes:
            await publish_change(self._bus, change.change, change.situation)
        self.stats.changes += len(changes)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass

