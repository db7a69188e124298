"""Measures that failed for one asset: counted every time, logged once while they keep failing."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from feeds.isolation import MeasureFailure
from ioc.metrics import MEASURE_FAILURES

logger = logging.getLogger(__name__)


class FailureLog:
    """What one consumer of measures (the API, the situations engine) has seen fail, per asset.

    A measure failing for an asset is logged once, with the asset and its input, until it
    succeeds for that asset again, which is logged once too; every failure is counted in
    `ioc_measure_failures_total`.
    """

    def __init__(self, consumer: str) -> None:
        self._consumer = consumer
        self._failing: set[tuple[str, str]] = set()

    def settle(self, asset_id: str, failures: Sequence[MeasureFailure]) -> dict[str, str]:
        """Record one run of an asset's measures; return measure → reason of its failures."""
        unavailable: dict[str, str] = {}
        for failure in failures:
            MEASURE_FAILURES.labels(measure=failure.measure).inc()
            key = (asset_id, failure.measure)
            if key not in self._failing:
                self._failing.add(key)
                logger.warning(
                    "%s: measure %s unavailable for %s on %s: %s", self._consumer,
                    failure.measure, asset_id, failure.detail, failure.reason,
                    exc_info=failure.error)
            reason = unavailable.get(failure.measure)
            unavailable[failure.measure] = failure.reason if reason is None \
                else f"{reason}; {failure.reason}"
        for key in sorted(k for k in self._failing if k[0] == asset_id and k[1] not in unavailable):
            self._failing.discard(key)
            logger.info("%s: measure %s available again for %s", self._consumer, key[1], asset_id)
        return unavailable
