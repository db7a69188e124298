"""A feed's status from what its poller and the writers recorded, at a pinned city time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from feeds.registry import feed_hours, lag_allowance
from ioc.api.health import HEALTHY, feed_status
from tests.clock import DAY
from tests.ioc.conftest import PACK

ALLOWANCE = lag_allowance("parking", 1.0)


def _status(**raw: str) -> str:
    return feed_status(raw, DAY, ALLOWANCE, 0.0, {}, feed_hours("parking", PACK)).status


def _ms(seconds_ago: float) -> str:
    return str(round((DAY - timedelta(seconds=seconds_ago)).timestamp() * 1000))


def _iso(seconds_ago: float) -> str:
    return (DAY - timedelta(seconds=seconds_ago)).isoformat()


@pytest.mark.parametrize(("raw", "expected"), [
    ({"last_observation_ms": _ms(5)}, "ok"),
    ({"last_observation_ms": _ms(ALLOWANCE * 3)}, "lagging"),
    ({}, "silent"),
    # A poller that started a moment ago has not stored its first data yet, or is catching
    # up on what it missed while it was down: starting, which is no fault.
    ({"started": _iso(2)}, "starting"),
    ({"started": _iso(2), "last_observation_ms": _ms(ALLOWANCE * 30)}, "starting"),
    # One allowance after its start, silence is silence.
    ({"started": _iso(ALLOWANCE * 2)}, "silent"),
    ({"started": _iso(ALLOWANCE * 2), "last_observation_ms": _ms(ALLOWANCE * 3)}, "lagging"),
    ({"started": _iso(2), "last_observation_ms": _ms(5), "last_error": "refused"}, "failing"),
])
def test_a_feed_is_starting_only_within_an_allowance_of_its_pollers_start(
    raw: dict[str, str], expected: str
) -> None:
    assert _status(**raw) == expected
    assert (expected in HEALTHY) == (expected in ("ok", "starting"))
