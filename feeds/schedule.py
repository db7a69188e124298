"""When a feed's source is scheduled to report, and so whether its silence is a fault.

A source that keeps hours (a BRT line's service day, a one-stop shop's opening hours) is
"idle, as scheduled" outside them: no data then is no fault. Inside them it owes data like
any feed, but its edges are not judged: the first bus may leave a little late and the last
one arrive a little early (`PUNCTUALITY_S`), and after the hours end the feed keeps its lag
allowance, so that data produced until the end is not called silent the moment it stops.
Within the hours, a feed's lag counts from its newest observation or from when it began to
owe data, whichever is later: this morning is not judged on last night's silence.

Pure: instants are aware datetimes; hours are found per local day of the source's zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A span of scheduled activity, [start, end), as aware instants.
Span = tuple[datetime, datetime]
# The spans a source keeps on one local date (they may run past its midnight).
DaySpans = Callable[[date], Iterable[Span]]

PUNCTUALITY_S = 300.0
# How far ahead the next hours are looked for (a calendar gap longer than this: unknown).
HORIZON_DAYS = 14
# Days of spans kept per schedule: enough for the days a long-running process looks at.
_CACHED_DAYS = 64


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a feed stands against its hours at an instant."""

    # Silence is expected: outside the hours, or not yet owed at their start.
    idle: bool
    # From when the feed owes data in the current hours (None: it always does, or it is idle).
    owed_since: datetime | None = None
    # Outside its hours: when they start again (None: not within the horizon).
    resumes: datetime | None = None

    def lag_s(self, now: datetime, reference: datetime | None) -> float | None:
        """Seconds the feed has owed data for: since `reference` (its newest observation, or
        when it began to be watched), or since its hours began if that is later."""
        if reference is None or (self.owed_since is not None and self.owed_since > reference):
            reference = self.owed_since
        return None if reference is None else (now - reference).total_seconds()


def merge(spans: Iterable[Span]) -> list[Span]:
    """Spans sorted, with overlapping or touching ones joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def local_span(day: date, zone: ZoneInfo, start_min: int, end_min: int) -> Span:
    """The instants of a span given in minutes after a local midnight (24:00 allowed)."""
    midnight = datetime.combine(day, time(), zone)
    return ((midnight + timedelta(minutes=start_min)).astimezone(UTC),
            (midnight + timedelta(minutes=end_min)).astimezone(UTC))


class Hours:
    """When a source is scheduled to report: always, or the spans it keeps each local day."""

    def __init__(self, day_spans: DaySpans | None, zone: ZoneInfo | str = "UTC") -> None:
        self._day_spans = day_spans
        self._zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._days: dict[date, tuple[Span, ...]] = {}

    @classmethod
    def always(cls) -> Hours:
        """A source that reports at any hour."""
        return cls(None)

    @property
    def kept(self) -> bool:
        """Whether the source keeps hours at all."""
        return self._day_spans is not None

    def spans(self, first: date, last: date) -> list[Span]:
        """The merged spans of the local days from `first` to `last`, both included (one
        endless span when the source keeps no hours)."""
        if self._day_spans is None:
            return [(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))]
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return merge(span for day in days for span in self._on(day, self._day_spans))

    def _on(self, day: date, day_spans: DaySpans) -> tuple[Span, ...]:
        if day not in self._days:
            if len(self._days) >= _CACHED_DAYS:
                self._days.clear()
            self._days[day] = tuple(merge(day_spans(day)))
        return self._days[day]

    def standing(self, now: datetime, last: datetime | None, allowance_s: float) -> Standing:
        """Where a feed with its newest observation at `last` stands at `now`.

        Fresh data is never idle. Otherwise the feed owes data from PUNCTUALITY_S after a
        span starts until its lag allowance after PUNCTUALITY_S before the span ends, and is
        idle for the first allowance of that (its first data may still be on its way).
        """
        allowance = timedelta(seconds=allowance_s)
        if self._day_spans is None:
            return Standing(idle=False)
        margin = timedelta(seconds=PUNCTUALITY_S)
        today = now.astimezone(self._zone).date()
        # Spans of the days before count too: a trip of the evening may run past midnight.
        spans = self.spans(today - timedelta(days=2), today + timedelta(days=HORIZON_DAYS))
        fresh = last is not None and now - last <= allowance
        for start, end in spans:
            owed_from, owed_until = start + margin, end - margin + allowance
            if owed_from <= now < owed_until:
                waiting = now - owed_from <= allowance and not fresh
                return Standing(idle=waiting, owed_since=owed_from)
        resumes = next((start for start, _ in spans if start + margin > now), None)
        return Standing(idle=not fresh, resumes=resumes)


def opening_hours(sessions: Iterable[Mapping[int, Iterable[tuple[int, int]]]],
                  zone: ZoneInfo | str) -> Hours:
    """Hours kept while any of several sites is open; each site's sessions map a weekday
    (0 = Monday) to its (start, end) minutes after local midnight."""
    place = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    sites = list(sessions)

    def day_spans(day: date) -> list[Span]:
        return [local_span(day, place, start, end)
                for site in sites for start, end in site.get(day.weekday(), ())]

    return Hours(day_spans, place)
