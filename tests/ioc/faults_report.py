"""What each fault test counted, gathered into bench/results/faults.json for the record."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

REPORT = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults.json"
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class FaultCounts:
    """Accepted against stored for one injected fault."""

    fault: str
    accepted: int
    stored: int
    lost: int
    duplicated: int
    note: str = ""


def record(counts: FaultCounts) -> None:
    """Print the counts and merge them into the report (one entry per fault, newest wins)."""
    print(f"fault {counts.fault}: accepted={counts.accepted} stored={counts.stored} "
          f"lost={counts.lost} duplicated={counts.duplicated} {counts.note}")
    with _LOCK:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        report = orjson.loads(REPORT.read_bytes()) if REPORT.exists() else {"faults": {}}
        report["faults"][counts.fault] = {
            **asdict(counts), "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
        REPORT.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2
                                        | orjson.OPT_SORT_KEYS))
