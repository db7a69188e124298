"""The traffic-signal feed: polls a collector for controller events and parses them purely."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal

from feeds.base import Parsed
from feeds.signals.events import (
    ATSPM_COLUMNS,
    DEFAULT_ZONE,
    CsvColumns,
    Locations,
    SignalEvent,
    parse_csv,
    parse_jsonl,
)
from feeds.signals.status import SignalStatus
from feeds.signals.tracker import StatusTracker


def locations_from_features(
    features: Iterable[Mapping[str, Any]],
) -> dict[str, tuple[float, float]]:
    """Signal id to (lon, lat) from the pack's signal features (Point geometry)."""
    return {
        str(f["properties"]["id"]): (float(f["geometry"]["coordinates"][0]),
                                     float(f["geometry"]["coordinates"][1]))
        for f in features
    }


class SignalsFeed:
    """Controller event logs (Indiana enumeration) from a source returning JSON Lines or CSV.

    With `locations`, each event is placed at its signal and events of unknown signals are
    rejected; without, events carry no position.
    """

    mode: Literal["poll", "push"] = "poll"

    def __init__(
        self,
        source: Callable[[], Awaitable[bytes]],
        interval_s: float = 5.0,
        name: str = "signals",
        *,
        fmt: Literal["jsonl", "csv"] = "jsonl",
        zone: str = DEFAULT_ZONE,
        locations: Locations | None = None,
        columns: CsvColumns = ATSPM_COLUMNS,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self._source = source
        self._fmt = fmt
        self._zone = zone
        self._locations = locations
        self._columns = columns
        self._tracker = StatusTracker(locations or {})

    async def fetch(self) -> bytes:
        """Return the next batch of events from the source."""
        return await self._source()

    def parse(self, payload: bytes) -> Parsed[SignalEvent | SignalStatus]:
        """Parse a batch of events, then add the unit statuses they changed (no I/O)."""
        if self._fmt == "csv":
            parsed = parse_csv(payload, columns=self._columns, zone=self._zone,
                               locations=self._locations)
        else:
            parsed = parse_jsonl(payload, zone=self._zone, locations=self._locations)
        statuses = self._tracker.observe(parsed.observations)
        return Parsed([*parsed.observations, *statuses], parsed.rejected)
