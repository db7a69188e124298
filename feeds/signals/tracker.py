"""Unit status as events arrive: the few events status depends on, kept per signal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from feeds.signals.codes import (
    COORDINATED_PHASE_BEGIN,
    CYCLE_LENGTH_CHANGE,
    CYCLE_STATE,
    PATTERN_CHANGE,
    POWER_FAILURE,
    POWER_RESTORED,
    UNIT_FLASH_STATUS,
)
from feeds.signals.events import SignalEvent
from feeds.signals.status import DEFAULT_SILENCE, SignalStatus, unit_status

# unit_status reads only the latest event of each of these codes, and the latest event.
_STATUS_CODES = frozenset({
    PATTERN_CHANGE, CYCLE_LENGTH_CHANGE, CYCLE_STATE, COORDINATED_PHASE_BEGIN,
    UNIT_FLASH_STATUS, POWER_FAILURE, POWER_RESTORED,
})


# Unchanged statuses are restated this often, so that the wall can tell a quiet city from a
# silent feed.
RESTATE = timedelta(minutes=5)


class StatusTracker:
    """Judges every known signal after each batch and reports the ones whose status changed,
    and, every `RESTATE`, the ones that did not.

    "Now" is the newest source time seen, not the wall clock, so a replayed log is judged as
    it happened. A signal of the pack that never reports becomes comm_lost once the others
    have been heard for longer than the silence allowance.
    """

    def __init__(self, locations: Mapping[str, tuple[float, float]]) -> None:
        self._locations = dict(locations)
        self._kept: dict[str, dict[int, SignalEvent]] = {}
        self._latest: dict[str, SignalEvent] = {}
        self._reported: dict[str, tuple[str, str | None, datetime]] = {}
        self._first_seen: datetime | None = None

    def observe(self, events: Iterable[SignalEvent]) -> list[SignalStatus]:
        """Take a batch of events; return the statuses that changed or are due a restatement."""
        newest: datetime | None = None
        for event in events:
            kept = self._kept.setdefault(event.signal_id, {})
            if event.event_code in _STATUS_CODES:
                previous = kept.get(event.event_code)
                if previous is None or previous.time <= event.time:
                    kept[event.event_code] = event
            latest = self._latest.get(event.signal_id)
            if latest is None or latest.time <= event.time:
                self._latest[event.signal_id] = event
            if newest is None or event.time > newest:
                newest = event.time
        if newest is None:
            return []
        if self._first_seen is None:
            self._first_seen = newest
        changed = []
        for signal_id in sorted(set(self._locations) | set(self._latest)):
            evidence = list(self._kept.get(signal_id, {}).values())
            if signal_id in self._latest:
                evidence.append(self._latest[signal_id])
            elif newest - self._first_seen <= DEFAULT_SILENCE:
                continue  # too early to call a signal that has not spoken yet silent
            status = unit_status(signal_id, evidence, newest,
                                 position=self._locations.get(signal_id))
            last = self._reported.get(signal_id)
            if last is None or last[:2] != (status.state, status.reason) \
                    or newest - last[2] >= RESTATE:
                self._reported[signal_id] = (status.state, status.reason, newest)
                changed.append(status)
        return changed
