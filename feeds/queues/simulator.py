"""A queue simulator: ticket flows at one-stop shops through Hanoi office hours.

Arrivals are a Poisson process whose rate follows the half-hour and weekday profiles of
`demand`, times any surge. Open counters share one queue (first come, first called), serve
for a lognormal time by service type, and open or close with the session and staff breaks.
The kiosk stops issuing when the queue could not be cleared before closing, and a counter
starts no ticket it could not finish by then. Tickets left at the lunch break are called
first in the afternoon (their wait includes the break, as the person's does); those left at
the end of the day vanish without an event, as a queue system's daily reset drops them.
The simulation runs in whole minutes from local midnight of the first call, with one random
stream per desk, so the same seed gives the same events whatever the polling cadence: a
restarted simulator re-emits the day so far identically, and natural keys store it once.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from feeds.queues.demand import (
    BASE_UTILISATION,
    SERVICE_CV,
    demand_factor,
    mean_service,
    visit_mix,
)
from feeds.queues.points import ServicePoint

RECALL_S = 90.0  # a called ticket nobody answers is marked a no-show after the recalls
LAST_TICKET_MIN = 10  # kiosks stop issuing this long before a session closes
BREAK_CHANCE = 0.003  # per open counter and minute: the officer steps away
RAMP_MIN = 30  # counters open gradually at the start of a session and thin out at its end


@dataclass(frozen=True, slots=True)
class Surge:
    """Arrivals multiplied by `factor` in [start, end), at the listed points (None: all)."""

    start: datetime
    end: datetime
    factor: float
    point_ids: frozenset[str] | None = None

    def covers(self, point_id: str, stamp: float) -> bool:
        """True when the surge is on at a desk at an epoch second."""
        return (self.start.timestamp() <= stamp < self.end.timestamp()
                and (self.point_ids is None or point_id in self.point_ids))


@dataclass(slots=True)
class _Ticket:
    ticket_id: str
    service_type: str
    issued: float
    service_s: float
    patience: float  # uniform draw: the higher, the longer this person will wait


@dataclass(slots=True)
class _Counter:
    counter_id: str
    free_at: float = 0.0
    back_at: float = 0.0  # end of the current staff break


@dataclass(slots=True)
class _Desk:
    point: ServicePoint
    rng: random.Random
    types: list[str]
    weights: list[float]
    base_rate: float  # arrivals a minute at profile 1.0
    mean_service_min: float
    counters: list[_Counter]
    queue: deque[_Ticket] = field(default_factory=deque)
    day: date | None = None
    issued_today: int = 0


class QueueSimulator:
    """Produces JSON Lines of ticket events and counter snapshots, as a queue system would."""

    def __init__(
        self,
        points: Iterable[ServicePoint],
        timezone: str = "Asia/Ho_Chi_Minh",
        seed: int = 2022,
        *,
        now: Callable[[], datetime],
        surges: Sequence[Surge] = (),
    ) -> None:
        self._tz = ZoneInfo(timezone)
        self._now = now
        self._seed = seed
        self.surges = list(surges)
        self._desks = [self._desk(p) for p in points]
        self._clock: float | None = None
        self._pending: list[tuple[float, dict[str, Any]]] = []

    def _desk(self, point: ServicePoint) -> _Desk:
        types, weights, mean = visit_mix(point.service_types)
        return _Desk(
            point=point,
            # A string seed is hashed stably, so each desk's stream is independent of order.
            rng=random.Random(f"{self._seed}:{point.id}"),
            types=types,
            weights=weights,
            base_rate=point.counters * BASE_UTILISATION / mean,
            mean_service_min=mean,
            counters=[_Counter(str(i + 1)) for i in range(point.counters)],
        )

    def inject_surge(
        self, factor: float, minutes: float, point_ids: Iterable[str] | None = None
    ) -> Surge:
        """Start a surge now (from the next simulated minute) and return it."""
        start = self._now()
        ids = None if point_ids is None else frozenset(point_ids)
        surge = Surge(start, start + timedelta(minutes=minutes), factor, ids)
        self.surges.append(surge)
        return surge

    def records(self) -> list[dict[str, Any]]:
        """Advance to now and return the records whose time has come, in time order."""
        now = self._now().timestamp()
        if self._clock is None:
            local = datetime.fromtimestamp(now, self._tz)
            self._clock = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        while self._clock < now:
            self._minute(self._clock)
            self._clock += 60.0
        self._pending.sort(key=lambda item: item[0])
        cut = next((i for i, (t, _) in enumerate(self._pending) if t > now), len(self._pending))
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return [record for _, record in ready]

    def batch_bytes(self) -> bytes:
        """Advance to now and return the new records as JSON Lines."""
        return b"".join(orjson.dumps(r) + b"\n" for r in self.records())

    async def __call__(self) -> bytes:
        """Return the next JSON Lines batch (the feed's source interface)."""
        return self.batch_bytes()

    def _minute(self, t0: float) -> None:
        local = datetime.fromtimestamp(t0, self._tz)
        minute = local.hour * 60 + local.minute
        for desk in self._desks:
            if desk.day != local.date():
                # End-of-day reset: unserved tickets vanish without an event, as in real systems.
                desk.day, desk.issued_today = local.date(), 0
                desk.queue.clear()
            session = desk.point.session_at(local.weekday(), minute)
            if session is None:
                # A closed desk still reports its counters, as queue systems do, so that a
                # silent feed means a fault rather than a weekend.
                waiting = dict.fromkeys(desk.types, 0)
                self._emit(t0, {"kind": "counters", "point_id": desk.point.id,
                                "counters_open": 0, "waiting": waiting})
            if session is not None:
                close = t0 + (session[1] - minute) * 60.0
                self._staff(desk, t0, minute, session)
                self._snapshot(desk, t0)
                self._run(desk, t0, close, self._rate(desk, t0, local.weekday(), minute))

    def _staff(self, desk: _Desk, t0: float, minute: int, session: tuple[int, int]) -> None:
        ramp = minute - session[0] < RAMP_MIN or session[1] - minute <= RAMP_MIN
        rostered = max(1, round(len(desk.counters) * (0.75 if ramp else 1.0)))
        for counter in desk.counters[:rostered]:
            if counter.back_at <= t0 and desk.rng.random() < BREAK_CHANCE:
                counter.back_at = t0 + desk.rng.uniform(10.0, 25.0) * 60.0
        # Counters past the roster are closed: one serving finishes its ticket and calls no more.
        for counter in desk.counters[rostered:]:
            counter.back_at = max(counter.back_at, t0 + 60.0)

    def _rate(self, desk: _Desk, t0: float, weekday: int, minute: int) -> float:
        surge = math.prod(s.factor for s in self.surges if s.covers(desk.point.id, t0))
        return desk.base_rate * demand_factor(weekday, minute) * surge

    def _open(self, desk: _Desk, at: float) -> list[_Counter]:
        return [c for c in desk.counters if c.back_at <= at]

    def _snapshot(self, desk: _Desk, t0: float) -> None:
        waiting = dict.fromkeys(desk.types, 0)
        for ticket in desk.queue:
            waiting[ticket.service_type] += 1
        self._emit(t0, {"kind": "counters", "point_id": desk.point.id,
                        "counters_open": len(self._open(desk, t0)), "waiting": waiting})

    def _run(self, desk: _Desk, t0: float, close: float, rate: float) -> None:
        arrivals: deque[float] = deque()
        t = t0 + desk.rng.expovariate(rate / 60.0) if rate > 0 else math.inf
        while t < t0 + 60.0:
            arrivals.append(t)
            t += desk.rng.expovariate(rate / 60.0)
        now = t0
        while True:
            self._call(desk, now, close)
            # Next instant a counter may call: one finishing a ticket, or one back from a break.
            upcoming = [at for c in desk.counters for at in (c.free_at, c.back_at) if now < at]
            if arrivals:
                upcoming.append(arrivals[0])
            now = min(upcoming, default=math.inf)
            if now >= t0 + 60.0:
                return
            if arrivals and arrivals[0] == now:
                self._arrive(desk, arrivals.popleft(), close)

    def _arrive(self, desk: _Desk, now: float, close: float) -> None:
        service_type = desk.rng.choices(desk.types, desk.weights)[0]
        mean = 60.0 * mean_service(service_type)
        sigma = math.sqrt(math.log1p(SERVICE_CV**2))
        service_s = desk.rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)
        patience = desk.rng.random()
        # The kiosk stops issuing when the queue could not be cleared before closing.
        backlog_s = (len(desk.queue) + 1) * desk.mean_service_min * 60.0 / max(
            len(self._open(desk, now)), 1)
        if now > close - LAST_TICKET_MIN * 60.0 or now + backlog_s > close:
            return
        desk.issued_today += 1
        ticket = _Ticket(f"{desk.day:%Y%m%d}-{desk.issued_today:04d}", service_type, now,
                         service_s, patience)
        desk.queue.append(ticket)
        self._event(desk, ticket, "issued", now, None)

    def _call(self, desk: _Desk, now: float, close: float) -> None:
        for counter in self._open(desk, now):
            if not desk.queue or counter.free_at > now:
                continue
            ticket = desk.queue[0]
            # The longer the wait, the likelier the person has left when called.
            no_show = ticket.patience < min(0.02 + 0.004 * (now - ticket.issued) / 60.0, 0.35)
            busy = RECALL_S if no_show else ticket.service_s
            if now + busy > close:
                return
            desk.queue.popleft()
            counter.free_at = now + busy
            self._event(desk, ticket, "called", now, counter.counter_id)
            self._event(desk, ticket, "no_show" if no_show else "served", now + busy,
                        counter.counter_id)

    def _event(
        self, desk: _Desk, ticket: _Ticket, event: str, at: float, counter_id: str | None
    ) -> None:
        self._emit(at, {"kind": "ticket", "point_id": desk.point.id, "ticket_id": ticket.ticket_id,
                        "event": event, "service_type": ticket.service_type,
                        "counter_id": counter_id})

    def _emit(self, at: float, record: dict[str, Any]) -> None:
        # Whole seconds, as queue systems log; flooring keeps each ticket's steps in order.
        record["at"] = datetime.fromtimestamp(math.floor(at), self._tz).isoformat()
        self._pending.append((at, record))
