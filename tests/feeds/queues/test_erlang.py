"""Erlang C against values computed independently with the textbook factorial formula."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from feeds.queues.erlang import erlang_c


def _textbook(load: Fraction, servers: int) -> Fraction:
    """C(c, A) = (A^c/c! · c/(c − A)) / (Σ_{k<c} A^k/k! + A^c/c! · c/(c − A)), exactly."""
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    return top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)


def test_two_a_minute_served_in_two_and_a_half_minutes_by_six_counters() -> None:
    outlook = erlang_c(2.0, 2.5, 6)
    expected = _textbook(Fraction(5), 6)
    # By hand: A^6/6! · 6/1 = 3125/24 and Σ_{k<6} 5^k/k! = 1097/12, so C = 3125/5319 ≈ 0.5875.
    assert expected == Fraction(3125, 5319)
    assert outlook.load == 5.0
    assert outlook.utilisation == pytest.approx(5 / 6)
    assert outlook.p_wait == pytest.approx(float(expected), rel=1e-12)
    # Wq = C · s / (c − A) = 0.5876 · 2.5 / 1 ≈ 1.469 minutes.
    assert outlook.mean_wait == pytest.approx(float(expected) * 2.5, rel=1e-12)
    assert not outlook.unstable


def test_the_classic_small_case_and_more_counters() -> None:
    assert _textbook(Fraction(2), 3) == Fraction(4, 9)
    assert erlang_c(1.0, 2.0, 3).p_wait == pytest.approx(4 / 9, rel=1e-12)
    for servers in (7, 8, 12):
        assert erlang_c(2.0, 2.5, servers).p_wait == pytest.approx(
            float(_textbook(Fraction(5), servers)), rel=1e-12
        )


def test_waiting_longer_than_t_decays_from_p_wait() -> None:
    outlook = erlang_c(2.0, 2.5, 6)
    assert outlook.p_wait_longer(0.0) == pytest.approx(outlook.p_wait)
    # P(W > t) = C · exp(−(c − A) t / s): with c − A = 1 and s = 2.5, t = 2.5 divides by e.
    assert outlook.p_wait_longer(2.5) == pytest.approx(outlook.p_wait / math.e)


def test_as_many_counters_as_erlangs_or_fewer_is_unstable() -> None:
    for servers in (0, 4, 5):
        outlook = erlang_c(2.0, 2.5, servers)
        assert outlook.unstable
        assert (outlook.p_wait, outlook.mean_wait) == (1.0, math.inf)
        assert outlook.p_wait_longer(60.0) == 1.0
    assert not erlang_c(0.0, 2.5, 0).unstable  # nobody coming: nothing to overflow


def test_large_desks_stay_finite_and_bad_inputs_are_refused() -> None:
    big = erlang_c(19.0, 10.0, 200)
    assert 0.0 < big.p_wait < 1.0
    assert math.isfinite(big.mean_wait)
    with pytest.raises(ValueError):
        erlang_c(-1.0, 2.5, 6)
