"""Every registered feed builds for the Hanoi pack, and its simulator's output parses cleanly."""

from __future__ import annotations

import pytest

from feeds.registry import FEEDS, LAG_ALLOWANCE_S, UnknownFeed, build_feed
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
