"""A signal simulator: controller event logs for the pack's intersections, faults on demand.

Each controller steps stage by stage from the first clock reading with its own random
stream, so a seed gives the same events whatever the polling cadence. Controllers run
LOOKAHEAD_S ahead of the clock so that every event released is final (a loop's off is only
known once later vehicles cannot extend it). Output is the JSON Lines that `parse_jsonl`
reads, so simulated data takes the same path as real logs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from feeds.signals.controller import Controller
from feeds.signals.events import DEFAULT_ZONE, to_jsonl, zone_info
from feeds.signals.faults import Fault

LOOKAHEAD_S = 600.0


class UnknownSignal(KeyError):
    """A fault named a signal the simulator does not run."""


class SignalSimulator:
    """Produces controller event logs, as the signal centre's collector would, for a pack."""

    def __init__(
        self,
        features: Sequence[Mapping[str, Any]],
        *,
        timezone: str = DEFAULT_ZONE,
        seed: int = 2016,
        now: Callable[[], datetime],
        faults: Iterable[Fault] = (),
    ) -> None:
        self._zone = zone_info(timezone)
        self._now = now
        start = self._start = now().timestamp()
        self._faults: dict[str, list[Fault]] = {f["properties"]["id"]: [] for f in features}
        self._controllers = [
            Controller(feature, start=start, zone=self._zone, faults=self._faults[sid],
                       rng=random.Random(f"{seed}:{sid}"))
            for feature in features for sid in [feature["properties"]["id"]]
        ]
        for fault in faults:
            self.inject(fault)

    @property
    def signal_ids(self) -> list[str]:
        """The simulated signals, in pack order."""
        return [c.signal_id for c in self._controllers]

    def inject(self, fault: Fault) -> None:
        """Schedule a fault (now or later); events it silences are dropped as it runs."""
        if fault.signal_id not in self._faults:
            raise UnknownSignal(f"no simulated signal {fault.signal_id!r}")
        self._faults[fault.signal_id].append(fault)

    def events(self) -> list[tuple[str, datetime, int, int]]:
        """Advance to the clock and return the events logged since the last call."""
        now = self._now().timestamp()
        out: list[tuple[float, str, int, int]] = []
        for controller in self._controllers:
            controller.run(now + LOOKAHEAD_S)
            # Vehicles seen upstream just before the first reading belong to no log yet.
            ready = [e for e in controller.events if self._start <= e[0] <= now]
            controller.events = [e for e in controller.events if e[0] > now]
            faults = self._faults[controller.signal_id]
            out.extend(
                (t, controller.signal_id, code, param)
                for t, code, param, forced in ready
                if forced or not any(f.start.timestamp() <= t < f.end.timestamp()
                                     and f.silences(code, param) for f in faults)
            )
        out.sort()
        return [(sid, datetime.fromtimestamp(round(t, 1), self._zone), code, param)
                for t, sid, code, param in out]

    def payload(self) -> bytes:
        """Advance to the clock and return the new events as JSON Lines."""
        return to_jsonl(self.events())

    async def __call__(self) -> bytes:
        """The feed's source interface: the next batch of JSON Lines."""
        return self.payload()
