"""Vehicles on one signal approach: arrivals, queues per lane, and what the loops see."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from feeds.signals.codes import DETECTOR_OFF, DETECTOR_ON
from feeds.signals.demand import PEAK_LANE_FLOW, demand_factor

Emit = Callable[[float, int, int], None]  # (time s, event code, parameter)

LOST_S = 2.0  # start-up lost time at the head of a queue
HEADWAY_S = 1.4  # saturation headway per lane, mixed motorbike and car traffic
STOP_IN_YELLOW = 0.15  # share of drivers that stop when reaching the line in yellow
RUN_RED = 0.1  # share that go anyway in the red clearance


class Loop:
    """One inductive loop: turns occupancy intervals into on (82) and off (81) events.

    Intervals must arrive in time order of their start; overlapping ones merge, and an off is
    logged only once no later interval can overlap it (`settle`).
    """

    def __init__(self, channel: int, emit: Emit) -> None:
        self.channel = channel
        self._emit = emit
        self._on = False
        self._held = False
        self._until = -math.inf

    def _begin(self, at: float) -> None:
        if self._held or at <= self._until:
            return
        if self._on:
            self._emit(self._until, DETECTOR_OFF, self.channel)
        self._emit(at, DETECTOR_ON, self.channel)
        self._on = True

    def pulse(self, at: float, seconds: float) -> None:
        """A vehicle passes over the loop."""
        self._begin(at)
        self._until = max(self._until, at + seconds)

    def hold(self, at: float) -> None:
        """A vehicle stops on the loop (the head of a queue)."""
        self._begin(at)
        self._held = True

    def release(self, at: float) -> None:
        """The queue over the loop has cleared."""
        if self._held:
            self._held = False
            self._until = max(self._until, at)

    def settle(self, horizon: float) -> None:
        """Log the pending off if nothing before `horizon` can extend it any more."""
        if self._on and not self._held and self._until < horizon:
            self._emit(self._until, DETECTOR_OFF, self.channel)
            self._on = False


@dataclass(slots=True)
class Approach:
    """The vehicles of one phase: a Poisson stream, lanes with queues, loops that see them."""

    phase: int
    lanes: list[Loop | None]
    advance: list[tuple[Loop, float]]  # loop and travel time to the stop bar (s)
    exit: Loop | None  # a loop past the stop line: sees every vehicle that crosses it
    rng: random.Random
    zone: tzinfo
    scale: float
    next_arrival: float
    pending: deque[tuple[float, int]] = field(default_factory=deque)  # (stop-bar time, lane)
    queues: list[list[float]] = field(default_factory=list)
    last_end: float = -math.inf  # end of the last green

    def __post_init__(self) -> None:
        self.queues = [[] for _ in self.lanes]

    def rate(self, t: float) -> float:
        """Arrivals per second at time t (all lanes)."""
        local = datetime.fromtimestamp(t, self.zone)
        per_lane = PEAK_LANE_FLOW.get(self.phase, 200.0) / 3600
        return max(per_lane * len(self.lanes) * demand_factor(local) * self.scale, 1e-4)

    def pull(self, until: float) -> None:
        """Draw arrivals up to `until`; advance loops see each one its travel time earlier."""
        while self.next_arrival < until:
            t = self.next_arrival
            self.pending.append((t, self.rng.randrange(len(self.lanes))))
            for loop, travel in self.advance:
                loop.pulse(t - travel, self.rng.uniform(0.15, 0.45))
            self.next_arrival = t + self.rng.expovariate(self.rate(t))
        for loop, travel in self.advance:
            loop.settle(self.next_arrival - travel)

    def red_arrivals(self, green: float, yellow_s: float, red_s: float) -> None:
        """Vehicles reaching the stop line since the last green: some clear, most queue."""
        self.pull(green)
        while self.pending and self.pending[0][0] < green:
            t, lane = self.pending.popleft()
            late = t - self.last_end
            go = (late < yellow_s and self.rng.random() > STOP_IN_YELLOW) or (
                late < yellow_s + red_s and self.rng.random() < RUN_RED)
            if go and not self.queues[lane]:
                self._pass(lane, t)
            else:
                self._queue(lane, t)

    def serve(self, green: float, decide: Callable[[float], float], limit: float) -> float:
        """Discharge queues from `green` and return when the green ends.

        `decide(last_call)` gives the end from the time the last call on the phase ends; it
        is asked again after each vehicle that reaches the line before the end. `limit`
        bounds the end.
        """
        clear = [green + LOST_S + HEADWAY_S * len(q) if q else green for q in self.queues]
        free: list[list[float]] = [[] for _ in self.lanes]
        end = decide(max(clear))
        self.pull(limit)
        while self.pending and self.pending[0][0] < end:
            t, lane = self.pending.popleft()
            if t < clear[lane]:  # the lane is still discharging: join the queue
                clear[lane] += HEADWAY_S
                self.queues[lane].append(t)
            else:
                free[lane].append(t)
                clear[lane] = t
            end = decide(max(clear))
        crossings: list[float] = []
        for lane, queue in enumerate(self.queues):
            departed = min(len(queue), max(0, math.ceil((end - green - LOST_S) / HEADWAY_S)))
            crossings += self._discharge(lane, green, departed, departed < len(queue), end)
            del queue[:departed]
            for t in free[lane]:
                self._pass(lane, t, exit_loop=False)
            crossings += free[lane]
        if self.exit is not None:
            for t in sorted(crossings):  # lanes were walked one after the other
                self.exit.pulse(t, self.rng.uniform(0.2, 0.5))
            self.exit.settle(end)
        self.last_end = end
        for loop in self.lanes:
            if loop is not None:
                loop.settle(end)
        return end

    def _discharge(
        self, lane: int, green: float, departed: int, left: bool, end: float
    ) -> list[float]:
        """What a lane's loop sees of a discharging queue; returns the departure times.

        The head vehicle sits on the loop until it moves off; the others cross it nose to
        tail, one per saturation headway; if some are left at the end of green, the next
        one stops on the loop through the red.
        """
        departures = [green + LOST_S + k * HEADWAY_S for k in range(departed)]
        loop = self.lanes[lane]
        if loop is None or not departed:
            return departures
        loop.release(departures[0] + self.rng.uniform(0.5, 1.0))
        for t in departures[1:]:
            loop.pulse(t, HEADWAY_S * self.rng.uniform(0.75, 1.0))
        if left:
            loop.hold(end)
        return departures

    def drive_through(self, start: float, end: float) -> None:
        """No signal control over [start, end) (flash, dark): queues leave, arrivals pass."""
        for lane, queue in enumerate(self.queues):
            queue.clear()
            loop = self.lanes[lane]
            if loop is not None:
                loop.release(start)
        self.pull(end)
        while self.pending and self.pending[0][0] < end:
            t, lane = self.pending.popleft()
            self._pass(lane, t)
        for loop in [*self.lanes, self.exit]:
            if loop is not None:
                loop.settle(end)
        self.last_end = end

    def _pass(self, lane: int, t: float, exit_loop: bool = True) -> None:
        loop = self.lanes[lane]
        if loop is not None:
            loop.pulse(t, self.rng.uniform(0.3, 0.8))
        if exit_loop and self.exit is not None:
            self.exit.pulse(t, self.rng.uniform(0.2, 0.5))

    def _queue(self, lane: int, t: float) -> None:
        loop = self.lanes[lane]
        if loop is not None and not self.queues[lane]:
            loop.hold(t)
        self.queues[lane].append(t)
