"""Demand and service-time assumptions the queue simulator draws from (unverified defaults).

No public series of Hanoi desk tickets was found: these shapes follow how one-stop shops
are described (a morning rush, Monday the busiest day, land files the slowest), and are
meant to be replaced by figures fitted to a real queue system's export.
"""

from __future__ import annotations

from collections.abc import Iterable

# Mean minutes at the counter per service type.
MEAN_SERVICE_MIN = {
    "certification": 4.0,
    "civil_status": 7.0,
    "justice": 6.0,
    "transport": 7.0,
    "social_affairs": 8.0,
    "business": 9.0,
    "construction": 12.0,
    "land": 14.0,
    "investment": 15.0,
}
DEFAULT_SERVICE_MIN = 8.0
# Coefficient of variation of service times (lognormal): files vary a lot in completeness.
SERVICE_CV = 0.6

# Relative share of visitors per service type (types a desk does not offer are dropped).
VISIT_WEIGHT = {
    "certification": 3.0,
    "civil_status": 2.5,
    "justice": 2.0,
    "transport": 2.0,
    "land": 1.5,
    "business": 1.0,
    "construction": 1.0,
    "social_affairs": 1.0,
    "investment": 0.8,
}

# Arrival intensity by local half hour (key: minutes after midnight), relative to the base.
# People come early to finish before work; the afternoon is flatter and fades before closing.
HALF_HOUR_DEMAND = {
    8 * 60: 1.0, 8 * 60 + 30: 1.4, 9 * 60: 1.5, 9 * 60 + 30: 1.4, 10 * 60: 1.2,
    10 * 60 + 30: 1.0, 11 * 60: 0.8, 11 * 60 + 30: 0.5,
    13 * 60: 0.6, 13 * 60 + 30: 0.9, 14 * 60: 1.0, 14 * 60 + 30: 1.0, 15 * 60: 0.9,
    15 * 60 + 30: 0.7, 16 * 60: 0.5, 16 * 60 + 30: 0.3,
}
# Monday carries the weekend's backlog; Saturday mornings are lighter.
WEEKDAY_DEMAND = (1.3, 1.1, 1.0, 1.0, 0.9, 0.7, 0.0)
# Share of counter capacity the base demand uses, before the profiles above scale it.
BASE_UTILISATION = 0.6


def demand_factor(weekday: int, minute_of_day: int) -> float:
    """Relative arrival intensity at a local weekday and minute (0 outside the profile)."""
    slot = minute_of_day - minute_of_day % 30
    return WEEKDAY_DEMAND[weekday] * HALF_HOUR_DEMAND.get(slot, 0.0)


def mean_service(service_type: str) -> float:
    """Mean minutes at the counter for a service type."""
    return MEAN_SERVICE_MIN.get(service_type, DEFAULT_SERVICE_MIN)


def visit_mix(service_types: Iterable[str]) -> tuple[list[str], list[float], float]:
    """Offered types in a fixed order, their visit weights, and the weighted mean service."""
    types = sorted(service_types)
    weights = [VISIT_WEIGHT.get(t, 1.0) for t in types]
    mean = sum(w * mean_service(t) for t, w in zip(types, weights, strict=True)) / sum(weights)
    return types, weights, mean
