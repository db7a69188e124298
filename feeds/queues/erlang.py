"""Erlang C (M/M/c): will people wait, and how long, with c counters open at this demand?

Assumptions: Poisson arrivals, exponential service times, one queue shared by all open
counters, nobody leaves. One-stop shops break the last two a little; use it as an alarm, not
as a forecast to the minute.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class ErlangC(NamedTuple):
    """The M/M/c outlook for one desk; times in minutes."""

    servers: int
    load: float
    mean_service: float
    p_wait: float
    mean_wait: float
    unstable: bool

    @property
    def utilisation(self) -> float:
        """Share of counter time that demand asks for, ρ = A / c (infinite with no counter)."""
        return self.load / self.servers if self.servers else math.inf

    def p_wait_longer(self, minutes: float) -> float:
        """Probability of waiting longer than `minutes`: P(W > t) = C · e^(−(c − A) · t / s)."""
        if self.unstable:
            return 1.0
        if self.p_wait == 0.0:
            return 0.0
        return self.p_wait * math.exp(-(self.servers - self.load) * minutes / self.mean_service)


def erlang_c(arrival_rate: float, mean_service: float, servers: int) -> ErlangC:
    """Erlang C for λ arrivals a minute, a mean service of s minutes and c open counters.

    Load A = λ · s (Erlangs). When A > 0 and c ≤ A the queue grows without bound: flagged
    unstable, with P(wait) = 1 and an infinite mean wait. Otherwise
    C(c, A) = c·B / (c − A·(1 − B)), where B is Erlang B from the recursion
    B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)) (no factorials: stays finite for large c),
    and the mean wait in queue is Wq = C · s / (c − A).
    """
    if arrival_rate < 0 or mean_service < 0 or servers < 0:
        raise ValueError("arrival rate, mean service and servers must not be negative")
    load = arrival_rate * mean_service
    if load == 0.0:
        return ErlangC(servers, 0.0, mean_service, 0.0, 0.0, False)
    if servers <= load:
        return ErlangC(servers, load, mean_service, 1.0, math.inf, True)
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    p_wait = servers * blocking / (servers - load * (1.0 - blocking))
    return ErlangC(servers, load, mean_service, p_wait, p_wait * mean_service / (servers - load),
                   False)
