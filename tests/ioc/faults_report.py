"""What each fault test counted: printed always, and merged into the JSON file named by
`IOC_FAULTS_REPORT` when set (`make bench` sets it to bench/results/faults.json), so that
`make test` leaves the tree as it found it."""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

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
    target = os.environ.get("IOC_FAULTS_REPORT")
    if not target:
        return
    report_path = Path(target)
    with _LOCK:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report = orjson.loads(report_path.read_bytes()) if report_path.exists() \
            else {"faults": {}}
        report["faults"][counts.fault] = {
            **asdict(counts), "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
        report_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2
                                        | orjson.OPT_SORT_KEYS))
