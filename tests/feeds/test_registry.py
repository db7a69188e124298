"""Every registered feed builds for the Hanoi pack, and its simulator's output parses cleanly."""

from __future__ import annotations

import pytest

from feeds.registry import (
    FEEDS,
    LAG_ALLOWANCE_S,
    TRANSPORT_S,
    UnknownFeed,
    build_feed,
    lag_allowance,
)
from geo import load_pack
from ioc.settings import PROJECT_ROOT, Settings
from tests.clock import TEST_CLOCK

PACK = load_pack(PROJECT_ROOT / "packs" / "hanoi")


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_every_registered_feed_builds_with_its_name_and_an_allowance(name: str) -> None:
    feed = build_feed(name, PACK, TEST_CLOCK)
    assert feed.name == name
    assert feed.interval_s > 0
    assert name in LAG_ALLOWANCE_S


def test_the_default_settings_enable_only_registered_feeds() -> None:
    assert set(Settings().feeds) <= set(FEEDS)


def test_an_unknown_feed_is_named_in_the_error() -> None:
    with pytest.raises(UnknownFeed, match="'trams'"):
        build_feed("trams", PACK, TEST_CLOCK)


def test_a_time_lapse_clock_stretches_only_the_transport_part_of_an_allowance() -> None:
    # In real time the allowance is the feed's own; at 60x the few real seconds an
    # observation spends on its way to the store count as a minute of city time each.
    assert lag_allowance("parking", 1.0) == LAG_ALLOWANCE_S["parking"]
    assert lag_allowance("parking", 60.0) == LAG_ALLOWANCE_S["parking"] + 59 * TRANSPORT_S
    assert lag_allowance("parking", 60.0) < 60 * LAG_ALLOWANCE_S["parking"]
