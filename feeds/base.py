"""The small interface every feed adapter implements, and what parsing returns."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that failed validation: kept whole, with the reason, for the dead-letter store."""

    reason: str
    raw: str


def reason_kind(reason: str) -> str:
    """A reason with its particular values blanked, so that refusals group by kind."""
    return re.sub(r"'[^']*'|-?\d+(\.\d+)?", "…", reason)


class Observation(Protocol):
    """What the runner needs of any observation: a position to geo-tag and a wire form."""

    @property
    def lon(self) -> float: ...

    @property
    def lat(self) -> float: ...

    def with_district(self, code: str | None) -> Observation:
        """Return a copy tagged with its district code."""
        ...

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready form that travels on the bus."""
        ...


T = TypeVar("T")


@dataclass(slots=True)
class Parsed(Generic[T]):
    """The outcome of parsing one payload: good observations and rejected records."""

    observations: list[T] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class Feed(Protocol):
    """A source of observations: a name, a mode, an interval, fetch() and a pure parse()."""

    name: str
    mode: Literal["poll", "push"]
    interval_s: float

    async def fetch(self) -> bytes:
        """Return the next raw payload from the source."""
        ...

    def parse(self, payload: bytes) -> Parsed[Any]:
        """Turn a payload into observations and rejects, without any I/O."""
        ...


@functools.lru_cache(maxsize=4096)
def utc_text(stamp: datetime) -> str:
    """Fixed-width UTC ISO 8601 text of a time (cached: a payload shares a few instants)."""
    return stamp.astimezone(UTC).isoformat(timespec="microseconds")


def representable(stamp: datetime) -> bool:
    """Whether an aware time has a UTC form: hours at the ends of years 1 and 9999 have none,
    and the bus carries UTC, so a time without one is refused rather than crashed on."""
    try:
        stamp.astimezone(UTC)
    except OverflowError:
        return False
    return True


class FeedError(RuntimeError):
    """A feed source could not be reached or answered with something unusable."""


def geo_tag(
    observations: Sequence[Observation],
    assign: AreaAssigner,
) -> list[Observation]:
    """Tag every observation with its area code through one vectorised lookup."""
    if not observations:
        return []
    codes = assign([o.lon for o in observations], [o.lat for o in observations])
    return [o.with_district(code) for o, code in zip(observations, codes, strict=True)]


class AreaAssigner(Protocol):
    """Vectorised point-in-area lookup (geo.AreaIndex.assign fits)."""

    def __call__(self, lons: Sequence[float], lats: Sequence[float]) -> list[str | None]: ...
