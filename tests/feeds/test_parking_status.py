"""DATEX II statuses with hysteresis: a car park hovering at a threshold does not flap."""

from __future__ import annotations

from feeds.parking_status import Band, StatusMemory, Thresholds, next_status

DEFAULT = Thresholds()


def _walk(shares: list[float], thresholds: Thresholds = DEFAULT) -> list[str]:
    memory = StatusMemory([{"properties": {"id": "s", "thresholds": {
        "almost_full": {"rising": thresholds.almost_full.rising,
                        "falling": thresholds.almost_full.falling},
        "full": {"rising": thresholds.full.rising, "falling": thresholds.full.falling}}}}])
    return [memory.status("s", "car", True, 100, round(share * 100)) for share in shares]


def test_hovering_around_the_almost_full_threshold_does_not_flap() -> None:
    assert _walk([0.80, 0.90, 0.88, 0.89, 0.86, 0.84, 0.88]) == [
        "spacesAvailable", "almostFull", "almostFull", "almostFull", "almostFull",
        "spacesAvailable", "spacesAvailable",
    ]


def test_full_is_left_only_below_its_falling_threshold() -> None:
    assert _walk([1.0, 0.98, 0.96, 0.80]) == ["full", "full", "almostFull", "spacesAvailable"]


def test_each_site_has_its_own_thresholds() -> None:
    strict = Thresholds(almost_full=Band(0.75, 0.70), full=Band(0.95, 0.90))
    assert _walk([0.76, 0.72, 0.95, 0.91], strict) == ["almostFull", "almostFull", "full", "full"]
    assert _walk([0.76, 0.72, 0.95, 0.91]) == ["spacesAvailable"] * 2 + ["almostFull"] * 2


def test_closed_and_zero_capacity() -> None:
    assert next_status("full", False, 100, 100, Thresholds()) == "closed"
    assert next_status(None, True, 0, 0, Thresholds()) == "full"
