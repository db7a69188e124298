"""One asset's measures run apart: a measure that raises is recorded, the others still run."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeVar

T = TypeVar("T")
_REASON_CHARS = 200


class MeasureFailure(NamedTuple):
    """A measure that raised for one asset: which, where in it, on what input, and why."""

    measure: str
    asset_id: str
    part: str  # e.g. "phase 2"; "" for the whole asset
    detail: str  # the input, short: window and counts
    error: Exception

    @property
    def reason(self) -> str:
        """The error in a line, prefixed with the part it struck."""
        text = f"{type(self.error).__name__}: {self.error}"[:_REASON_CHARS]
        return f"{self.part}: {text}" if self.part else text


class Isolation:
    """Runs the measures of one asset, recording each one that raises in `failures`.

    Without a `failures` list (offline analysis, tests) a measure's error propagates.
    """

    def __init__(self, asset_id: str, detail: str, failures: list[MeasureFailure] | None) -> None:
        self.asset_id = asset_id
        self.detail = detail
        self._failures = failures

    def attempt(self, measure: str, compute: Callable[[], T], part: str = "") -> T | None:
        """The measure's result, or None when it raised and the failure was recorded."""
        if self._failures is None:
            return compute()
        try:
            return compute()
        except Exception as err:  # the boundary of one measure: bad data stays inside it
            self._failures.append(MeasureFailure(measure, self.asset_id, part, self.detail, err))
            return None
