"""The BRT smart-card taps feed: taps placed at their stops, and a simulator of a day's riders.

`Tap` (taps.py) carries no position and is not an Observation; `TapObservation` is a tap
placed at its stop of the static feed. Its natural key is (card_hash, stop_id, at): a
replayed payload is stored once, and a reader's double beep stays two taps a second or more
apart, which `boardings_per_stop_hour` counts once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, NamedTuple

import orjson

from feeds.base import Parsed, Rejected, utc_text
from feeds.simulation import MinuteReplay, poisson
from feeds.transit.gtfs_records import GtfsFeed
from feeds.transit.sim_line import boarding_rate, line_directions
from feeds.transit.taps import Tap, parse_taps

REPEAT_SHARE = 0.02  # taps followed by a second one after the reader's beep (assumed)
CARDS_PER_RIDER = 0.5  # most riders commute: two boardings a day on one card (assumed)


class TapObservation(NamedTuple):
    """One boarding tap at its stop: a keyed hash of the card, never the card number."""

    card_hash: str
    stop_id: str
    at: datetime
    lon: float
    lat: float
    district: str | None = None

    @property
    def key(self) -> tuple[str, str, datetime]:
        """The natural key: (card hash, stop, time)."""
        return self.card_hash, self.stop_id, self.at

    @property
    def tap(self) -> Tap:
        """The bare tap, as `boardings_per_stop_hour` takes it."""
        return Tap(self.card_hash, self.stop_id, self.at)

    def with_district(self, code: str | None) -> TapObservation:
        """Return a copy tagged with its district code."""
        return self._replace(district=code)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus (time in fixed-width UTC)."""
        return {
            "card_hash": self.card_hash,
            "stop_id": self.stop_id,
            "at": utc_text(self.at),
            "lon": self.lon,
            "lat": self.lat,
            "district": self.district,
        }


def place_taps(parsed: Parsed[Tap], static: GtfsFeed) -> Parsed[TapObservation]:
    """Place each tap at its stop; taps at stops the static feed lacks are rejected alone."""
    placed: Parsed[TapObservation] = Parsed(rejected=list(parsed.rejected))
    for tap in parsed.observations:
        stop = static.stops.get(tap.stop_id)
        if stop is None or stop.lon is None or stop.lat is None:
            # The card number is already gone: the dead letter keeps its keyed hash, as
            # taps.py does for the taps it rejects.
            raw = orjson.dumps({"card": "hmac:" + tap.card_hash, "stop_id": tap.stop_id,
                                "time": tap.at.isoformat()}).decode()
            placed.rejected.append(Rejected(
                f"stop {tap.stop_id!r} is not in the static feed or has no position", raw))
            continue
        placed.observations.append(TapObservation(*tap, stop.lon, stop.lat))
    return placed


class TapsFeed:
    """Smart-card taps at the BRT stations, from a source returning a JSON list of taps.

    `key` is the secret of the card hash: the same key must serve the whole retention period,
    or one card's taps stop matching across it.
    """

    mode: Literal["poll", "push"] = "poll"

    def __init__(self, source: Callable[[], Awaitable[bytes]], static: GtfsFeed, key: bytes,
                 interval_s: float = 30.0, name: str = "brt_taps") -> None:
        self.name = name
        self.interval_s = interval_s
        self._source = source
        self._static = static
        self._key = key

    async def fetch(self) -> bytes:
        """Return the next list of taps from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> Parsed[TapObservation]:
        """Parse a list of taps without I/O, hashing card numbers and placing taps at stops."""
        return place_taps(parse_taps(payload, self._key), self._static)


class TapSimulator:
    """Produces lists of taps at a BRT line's stations, as the fare system would.

    Riders arrive at each station and direction as a Poisson process at the rate of
    `sim_line.boarding_rate` (the hourly ridership shape, peaks 07-09 and 17-19, peak
    direction and suburban boarding weighted), on a pool of cards. The simulation runs in
    whole minutes from local midnight of the first call on one random stream, so the same
    seed gives the same taps whatever the polling cadence.
    """

    def __init__(self, static: GtfsFeed, seed: int = 2016,
                 *, now: Callable[[], datetime],
                 route_id: str = "BRT01", riders_per_day: float = 13_000) -> None:
        self._zone = static.timezone
        self._lines = list(line_directions(static, route_id).values())
        self._riders = riders_per_day
        self._rng = random.Random(seed)
        self._now = now
        self._cards = [str(self._rng.randrange(10**15, 10**16))
                       for _ in range(max(1, round(riders_per_day * CARDS_PER_RIDER)))]
        self._replay = MinuteReplay(self._zone, now, self._minute)

    def records(self) -> list[dict[str, Any]]:
        """Advance to now and return the taps whose time has come, in time order."""
        return self._replay.due()

    def taps_bytes(self) -> bytes:
        """Advance to now and return the new taps as a JSON list."""
        return orjson.dumps(self.records())

    async def __call__(self) -> bytes:
        """Return the next list of taps as bytes (the feed's source interface)."""
        return self.taps_bytes()

    def _minute(self, t0: float) -> None:
        hour = datetime.fromtimestamp(t0, self._zone).hour
        for line in self._lines:
            for index, stop in enumerate(line.stops):
                mean = boarding_rate(self._riders, line, index, hour) * 60.0
                for _ in range(poisson(self._rng, mean)):
                    at = t0 + self._rng.random() * 60.0
                    card = self._rng.choice(self._cards)
                    self._push(at, card, stop.stop_id)
                    if self._rng.random() < REPEAT_SHARE:
                        self._push(at + self._rng.uniform(1.0, 5.0), card, stop.stop_id)

    def _push(self, at: float, card: str, stop_id: str) -> None:
        # Whole seconds, as fare systems log; the order breaks ties between equal instants.
        when = datetime.fromtimestamp(math.floor(at), self._zone).isoformat()
        self._replay.add(at, {"card": card, "stop_id": stop_id, "time": when})
