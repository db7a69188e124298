"""A simulated signal controller: stages, fixed-time plans or actuation, and its event log."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, time, tzinfo
from typing import Any

from feeds.signals import codes as ev
from feeds.signals.demand import PEAK_LANE_FLOW, demand_factor, is_peak
from feeds.signals.detectors import detector
from feeds.signals.faults import Fault
from feeds.signals.traffic import Approach, Loop

YELLOW_S = 3.0
RED_CLEARANCE_S = 2.0
PASSAGE_S = 2.5
WALK_S = 7.0
PED_CLEARANCE_S = 10.0
STARTUP_FLASH_S = 10.0  # NEMA start-up flash after power returns, before cycling resumes
PED_CALL_SHARE = 0.25  # chance per cycle and crossing, at peak demand
MIN_GREEN = {2: 10.0, 6: 10.0, 4: 7.0, 8: 7.0}
MAX_GREEN = {2: 60.0, 6: 60.0, 4: 35.0, 8: 35.0}
LEFT_GREEN = (5.0, 20.0)
_STAGES = ((1, 5), (2, 6), (3, 7), (4, 8))  # NEMA concurrency pairs, served in this order
# Time-of-day plans of fixed-time controllers: (from local time, pattern, cycle s).
_PLANS = ((time(0), 4, 90), (time(5, 30), 2, 110), (time(6, 30), 1, 150), (time(9), 2, 120),
          (time(16, 30), 3, 150), (time(19, 30), 2, 120), (time(22), 4, 90))
_BRT_HOURS = (5, 22)


class Controller:
    """One intersection's controller, stepping stage by stage and logging as it goes.

    `events` collects (time s, code, parameter, forced): forced events come from a fault
    itself and survive it; the others are what a healthy controller would log.
    """

    def __init__(
        self, feature: Mapping[str, Any], *, start: float, zone: tzinfo, rng: random.Random,
        faults: Sequence[Fault],
    ) -> None:
        props = feature["properties"]
        self.signal_id: str = props["id"]
        self.fixed = props.get("controller") == "fixed-time"
        self.events: list[tuple[float, int, int, bool]] = []
        self.faults = faults
        self._zone = zone
        self._rng = rng
        self._marked: set[tuple[Fault, bool]] = set()
        self._approaches = {int(item["phase"]): self._approach(int(item["phase"]), props, start)
                            for item in props["phases"]}
        stages = (tuple(p for p in pair if p in self._approaches) for pair in _STAGES)
        self._stages = [stage for stage in stages if stage]
        # Fixed-time plans coordinate on the main-street through phase.
        self._coordinated = 2 if 2 in self._approaches else self._stages[0][0]
        self._stage = 0
        self._pattern: int | None = None
        self._transition = False
        self._greens: dict[int, float] = {}
        self._next_bus = start if props.get("brt") else float("inf")
        self.t = start
        self._announce_free()

    def _approach(self, phase: int, props: Mapping[str, Any], start: float) -> Approach:
        dets = [detector(self.signal_id, d["channel"], d["phase"], d["function"],
                         d.get("distance_m"), d.get("speed_kmh"))
                for d in props.get("detectors", ()) if int(d["phase"]) == phase]
        presence = [Loop(d.channel, self._log) for d in dets if d.function == "presence"]
        lanes: list[Loop | None] = list(presence) or [None] * (2 if phase in (2, 6) else 1)
        advance = [(Loop(d.channel, self._log), d.travel_s) for d in dets
                   if d.function == "advance"]
        exits = [Loop(d.channel, self._log) for d in dets if d.function == "yellow_red"]
        scale = self._rng.uniform(0.7, 1.15)
        return Approach(phase, lanes, advance, exits[0] if exits else None, self._rng,
                        self._zone, scale, start + self._rng.expovariate(1.0))

    def _log(self, t: float, code: int, parameter: int, forced: bool = False) -> None:
        self.events.append((t, code, parameter, forced))

    def run(self, until: float) -> None:
        """Simulate whole stages until the controller's clock passes `until`."""
        while self.t < until:
            self._mark_faults()
            outage = next((f for f in self.faults if f.kind != "stuck_detector"
                           and f.start.timestamp() <= self.t < f.end.timestamp()), None)
            if outage is not None:
                self._outage(outage)
                continue
            if self._stage == 0 and self.fixed:
                self._cycle_start()
            self._buses()
            ends = [self._serve(p) for p in self._stages[self._stage]]
            self.t = max(ends) + YELLOW_S + RED_CLEARANCE_S
            self._stage = (self._stage + 1) % len(self._stages)
        self._mark_faults()

    def _local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self._zone)

    def _serve(self, phase: int) -> float:
        """One green of one phase, with its pedestrians, and the clearance after it."""
        green, approach = self.t, self._approaches[phase]
        approach.red_arrivals(green, YELLOW_S, RED_CLEARANCE_S)
        demand = demand_factor(self._local(green))
        ped = phase in (2, 4, 6, 8) and self._rng.random() < PED_CALL_SHARE * demand
        low, high = MIN_GREEN.get(phase, LEFT_GREEN[0]), MAX_GREEN.get(phase, LEFT_GREEN[1])
        if ped:
            low = max(low, WALK_S + PED_CLEARANCE_S)
            self._log(self._rng.uniform(max(approach.last_end, green - 60), green),
                      ev.PED_CALL, phase)
        if self.fixed:
            split = self._greens[phase]
            end = approach.serve(green, lambda last: green + split, green + split)
            code = ev.FORCE_OFF
        else:
            end = approach.serve(
                green, lambda last: min(max(green + low, last + PASSAGE_S), green + high),
                green + high)
            code = ev.MAX_OUT if end >= green + high else ev.GAP_OUT
        for c in (ev.PHASE_ON, ev.BEGIN_GREEN):
            self._log(green, c, phase)
        if self.fixed and phase == self._coordinated:
            self._log(green, ev.COORDINATED_PHASE_BEGIN, phase)
        if ped:
            self._log(green, ev.BEGIN_WALK, phase)
            self._log(green + WALK_S, ev.BEGIN_PED_CLEARANCE, phase)
            self._log(min(green + WALK_S + PED_CLEARANCE_S, end), ev.SOLID_DONT_WALK, phase)
        for c in (code, ev.GREEN_TERMINATION, ev.BEGIN_YELLOW):
            self._log(end, c, phase)
        for c in (ev.END_YELLOW, ev.BEGIN_RED_CLEARANCE):
            self._log(end + YELLOW_S, c, phase)
        for c in (ev.END_RED_CLEARANCE, ev.PHASE_INACTIVE):
            self._log(end + YELLOW_S + RED_CLEARANCE_S, c, phase)
        return end

    def _cycle_start(self) -> None:
        """Fixed time: pick the time-of-day plan; a new plan goes through a transition cycle."""
        local = self._local(self.t).time()
        _, pattern, cycle = next(plan for plan in reversed(_PLANS) if plan[0] <= local)
        lost = len(self._stages) * (YELLOW_S + RED_CLEARANCE_S)
        weights = [max(PEAK_LANE_FLOW.get(p, 200.0) for p in stage) for stage in self._stages]
        for stage, weight in zip(self._stages, weights, strict=True):
            for p in stage:
                self._greens[p] = max(7.0, (cycle - lost) * weight / sum(weights))
        if pattern != self._pattern:
            self._pattern, self._transition = pattern, True
            for code, value in ((ev.PATTERN_CHANGE, pattern), (ev.CYCLE_LENGTH_CHANGE, cycle),
                                (ev.OFFSET_CHANGE, 0), (ev.CYCLE_STATE, 2)):
                self._log(self.t, code, value)
        elif self._transition:
            self._transition = False
            self._log(self.t, ev.CYCLE_STATE, ev.CYCLE_STATE_IN_STEP)

    def _announce_free(self) -> None:
        if not self.fixed:
            self._log(self.t, ev.PATTERN_CHANGE, ev.PATTERN_FREE)

    def _buses(self) -> None:
        """BRT buses calling for priority (check-in 112, check-out 115) since the last stage."""
        while self._next_bus < self.t:
            local = self._local(self._next_bus)
            if _BRT_HOURS[0] <= local.hour < _BRT_HOURS[1]:
                self._log(self._next_bus, ev.TSP_CHECK_IN, 1)
                self._log(self._next_bus + self._rng.uniform(15, 45), ev.TSP_CHECK_OUT, 1)
                headway = 300 if is_peak(local) else 600 if 6 <= local.hour < 21 else 900
            else:
                headway = 1800  # no service overnight: look again in half an hour
            self._next_bus += headway * self._rng.uniform(0.7, 1.3)

    def _mark_faults(self) -> None:
        """Log the events that faults themselves cause, once, at their own times."""
        for fault in self.faults:
            for ending, at in ((False, fault.start), (True, fault.end)):
                if at.timestamp() > self.t or (fault, ending) in self._marked:
                    continue
                self._marked.add((fault, ending))
                for dt, code, value in _FAULT_EVENTS[fault.kind, ending]:
                    param = fault.value if value is None else value
                    self._log(at.timestamp() + dt, code, param, True)

    def _outage(self, fault: Fault) -> None:
        """Flash or dark: no control until the fault ends, then start afresh."""
        start, end = fault.start.timestamp(), fault.end.timestamp()
        for approach in self._approaches.values():
            approach.drive_through(start, end)
        self.t = end + (STARTUP_FLASH_S if fault.kind == "power_failure" else 0.0)
        self._stage, self._pattern = 0, None
        self._announce_free()


# (seconds after the fault's start or end, code, parameter; None: the fault's value)
_FAULT_EVENTS: dict[tuple[str, bool], tuple[tuple[float, int, int | None], ...]] = {
    ("flash", False): ((0.0, ev.UNIT_FLASH_STATUS, None),),
    ("flash", True): ((0.0, ev.UNIT_FLASH_STATUS, ev.FLASH_NOT_FLASH),),
    ("power_failure", False): ((0.0, ev.POWER_FAILURE, 0),),
    ("power_failure", True): ((0.0, ev.POWER_RESTORED, 0), (0.0, ev.UNIT_FLASH_STATUS, 7),
                              (STARTUP_FLASH_S, ev.UNIT_FLASH_STATUS, ev.FLASH_NOT_FLASH)),
    ("stuck_detector", False): ((0.0, ev.DETECTOR_ON, None),),
    ("stuck_detector", True): ((0.0, ev.DETECTOR_OFF, None),),
}
