"""Rules and procedures as city-pack data: the model, loading, and validation.

A rule names a *source* of readings (implemented in code: signal status, detector faults,
split failures, BRT headways and vehicles, car-park occupancy, queue measures, feed lag) and
one of its *measures*; the rest is data: thresholds with hysteresis, durations, severity,
situation type, whether clearing resolves, and how alerts merge. See packs/hanoi/README.md.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ioc.situations.conditions import Thresholds

Severity = Literal["info", "minor", "major", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "minor", "major", "critical")

# Every measure each source provides; categorical ones (text values) take `in`.
MEASURES: dict[str, dict[str, Literal["number", "category"]]] = {
    "signal_status": {"state": "category"},
    "detector": {"fault": "number", "on": "number"},
    "split_failures": {"share": "number"},
    "brt_headway": {"bunching": "number", "gap": "number", "ratio": "number"},
    "brt_vehicle": {"stopped_away": "number"},
    "parking": {"occupancy": "number"},
    "queue": {"wait_p90_ratio": "number", "service_level": "number"},
    "feed": {"lag_ratio": "number"},
}
# Sources read from the feeds' streams (the others are measured on the periodic tick).
STREAM_SOURCES: dict[str, str] = {
    "signal_status": "signals", "detector": "signals", "brt_headway": "brt_vehicles",
    "brt_vehicle": "brt_vehicles", "parking": "parking",
}


class RulesError(ValueError):
    """A rules or procedures file that cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Text(_Strict):
    """A text in Vietnamese and English."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Condition(_Strict):
    """What is measured, and the thresholds it is judged against."""

    source: str
    measure: str
    # For a categorical measure: the values that count as bad (then on is 1 and off 0).
    values_in: tuple[str, ...] | None = Field(None, alias="in")
    on: float = 1.0
    off: float = 0.0
    above: bool = True
    # Raise only while the measure is rising: higher than it was this long ago.
    rising_window_s: float | None = Field(None, gt=0)
    # Source-specific settings (e.g. window_min, min_cycles, station_radius_m).
    params: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_measure(self) -> Condition:
        kinds = MEASURES.get(self.source)
        if kinds is None:
            raise ValueError(f"unknown source {self.source!r}; known: {sorted(MEASURES)}")
        kind = kinds.get(self.measure)
        if kind is None:
            raise ValueError(f"source {self.source!r} has no measure {self.measure!r}; "
                             f"it has {sorted(kinds)}")
        if (kind == "category") != (self.values_in is not None):
            raise ValueError(f"measure {self.measure!r} is a {kind}: "
                             + ("give the bad values with 'in'" if kind == "category"
                                else "'in' applies only to categories"))
        return self


class Merge(_Strict):
    """How a new alert joins an open situation of the same type.

    Alerts about the same asset always merge while its situation is active; with
    `by: "district"` an alert also joins the situation of its district whose last alert
    came within `window_s`.
    """

    by: Literal["asset", "district"] = "asset"
    window_s: float = Field(900.0, ge=0)


class Rule(_Strict):
    """One rule of the pack."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    type: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    severity: Severity
    title: Text
    condition: Condition
    min_duration_s: float = Field(0.0, ge=0)
    clear_duration_s: float = Field(0.0, ge=0)
    auto_resolve: bool = False
    merge: Merge = Merge()
    enabled: bool = True

    @model_validator(mode="after")
    def _thresholds_consistent(self) -> Rule:
        self.thresholds()  # raises ValueError on an off threshold on the bad side
        return self

    def thresholds(self) -> Thresholds:
        """The condition's thresholds and durations."""
        return Thresholds(self.condition.on, self.condition.off, self.condition.above,
                          timedelta(seconds=self.min_duration_s),
                          timedelta(seconds=self.clear_duration_s))

    def value(self, measured: float | str) -> float | None:
        """The number judged against the thresholds (None when the measure is unusable)."""
        if self.condition.values_in is not None:
            return 1.0 if str(measured) in self.condition.values_in else 0.0
        return None if isinstance(measured, str) else float(measured)


class ChecklistItem(_Strict):
    """One step of a standard operating procedure."""

    id: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Procedure(_Strict):
    """A situation type: its name, escalation limit, and standard operating procedure."""

    name: Text
    escalate_after_s: float = Field(gt=0)
    checklist: tuple[ChecklistItem, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_items(self) -> Procedure:
        ids = [item.id for item in self.checklist]
        if len(ids) != len(set(ids)):
            raise ValueError("checklist item ids must be unique within a procedure")
        return self


class RuleBook(_Strict):
    """Every rule and procedure of a pack, checked against each other."""

    rules: tuple[Rule, ...]
    procedures: dict[str, Procedure]

    @model_validator(mode="after")
    def _consistent(self) -> RuleBook:
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {duplicates}")
        missing = sorted({r.type for r in self.rules} - set(self.procedures))
        if missing:
            raise ValueError(f"situation types without a procedure: {missing}")
        return self

    @property
    def enabled(self) -> list[Rule]:
        """The rules in force."""
        return [rule for rule in self.rules if rule.enabled]

    def stream_feeds(self) -> list[str]:
        """Feeds whose streams the enabled rules read."""
        return sorted({STREAM_SOURCES[r.condition.source] for r in self.enabled
                       if r.condition.source in STREAM_SOURCES})


def load_rulebook(rules_path: Path, procedures_path: Path) -> RuleBook:
    """Read and check a pack's rules and procedures (RulesError says what is wrong)."""
    try:
        rules = json.loads(rules_path.read_text(encoding="utf-8"))
        procedures = json.loads(procedures_path.read_text(encoding="utf-8"))
        return RuleBook.model_validate(
            {"rules": rules.get("rules", []), "procedures": procedures.get("types", {})})
    except (OSError, json.JSONDecodeError, AttributeError) as err:
        raise RulesError(f"cannot read {rules_path} or {procedures_path}: {err}") from err
    except ValidationError as err:
        raise RulesError(f"invalid rules in {rules_path} / {procedures_path}:\n{err}") from err


def worst(a: str, b: str) -> Severity:
    """The more severe of two severities."""
    return SEVERITIES[max(SEVERITIES.index(a), SEVERITIES.index(b))]
