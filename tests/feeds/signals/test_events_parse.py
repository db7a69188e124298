"""Controller event logs: the real ATSPM sample, malformed rows rejected alone, both formats."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson

from feeds.signals import codes
from feeds.signals.detectors import detectors_from_features, parse_detector_csv
from feeds.signals.events import CsvColumns, SignalEvent, parse_csv, parse_jsonl, to_jsonl
from tests.conftest import shared_file

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
HEADER = "TimeStamp,DeviceId,EventId,Parameter\n"


def test_the_atspm_sample_parses_with_vendor_codes_rejected() -> None:
    parsed = parse_csv(shared_file("signals/atspm-sample/sample_raw_data.csv").read_bytes())
    events = parsed.observations
    assert len(events) + len(parsed.rejected) == 37_152
    # 762 rows carry MAXTIME vendor codes (301-320, 400, 500-503), outside the enumeration.
    assert len(parsed.rejected) == 762
    assert all("outside the Indiana enumeration" in r.reason for r in parsed.rejected)
    assert parsed.rejected[0].raw == "2024-04-15 12:00:00,1136,305,42"
    assert len(events) == 36_390
    assert events[0] == SignalEvent("1136", datetime(2024, 4, 15, 12, tzinfo=HANOI), 0, 5)
    assert events[0].time == datetime(2024, 4, 15, 5, tzinfo=UTC)
    assert events[-1].time == datetime(2024, 4, 15, 13, 59, 58, 500_000, tzinfo=HANOI)
    by_code = Counter(e.event_code for e in events)
    assert by_code[codes.DETECTOR_ON] == 12_595
    assert by_code[codes.DETECTOR_OFF] == 12_350
    assert by_code[codes.BEGIN_GREEN] == 351
    assert {e.signal_id for e in events} == {"1136"}
    assert len({e.key for e in events}) == len(events)


def test_the_sample_detector_configuration_parses() -> None:
    parsed = parse_detector_csv(shared_file("signals/atspm-sample/sample_config.csv").read_bytes())
    assert parsed.rejected == []
    functions = Counter(d.function for d in parsed.observations)
    assert functions == {"presence": 6, "advance": 7, "count": 2, "yellow_red": 1}
    advance = next(d for d in parsed.observations if d.channel == 15)
    assert (advance.phase, advance.function) == (5, "advance")
    assert advance.travel_s == 9.0  # defaults: 100 m at 40 km/h


def test_each_bad_row_is_rejected_with_its_reason_and_the_rest_goes_through() -> None:
    rows = [
        "2024-04-15 12:00:00,1136,1,2",
        "2024-04-15 12:00:01,1136,82",  # truncated line
        "2024-04-15 12:00:02,1136,eighty,3",  # wrong type
        "2024-04-15 12:00:03,1136,82,-1",  # negative parameter
        "2024-04-15 12:00:04,1136,999,1",  # absurd code
        "2024-04-15 25:00:05,1136,82,3",  # unparseable time
        "2024-04-15 12:00:06,,82,3",  # no signal
        "2024-04-15 12:00:07,1136,82,3.5",  # a float parameter
        "2024-04-15 12:00:08,1136,81,3",
    ]
    parsed = parse_csv((HEADER + "\n".join(rows) + "\n").encode())
    assert [(e.event_code, e.parameter) for e in parsed.observations] == [(1, 2), (81, 3)]
    reasons = [r.reason for r in parsed.rejected]
    assert reasons == [
        "expected 4 fields, got 3",
        "EventId 'eighty' is not an integer",
        "parameter -1 is negative",
        "event code 999 is outside the Indiana enumeration (0-255)",
        "time '2024-04-15 25:00:05' is not an ISO 8601 time",
        "signal id is empty",
        "Parameter '3.5' is not an integer",
    ]
    assert [r.raw for r in parsed.rejected] == rows[1:-1]


def test_a_missing_column_rejects_the_whole_file_once() -> None:
    parsed = parse_csv(b"TimeStamp,DeviceId,Parameter\n2024-04-15 12:00:00,1136,2\n")
    assert parsed.observations == []
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0].reason.startswith("missing column(s) EventId")
    assert parsed.rejected[0].raw == "TimeStamp,DeviceId,Parameter"


def test_declared_columns_zones_and_aware_times() -> None:
    payload = (
        b"note,when,controller,code,param\n"
        b"local,2024-04-15T12:00:00.1,A1,1,2\n"
        b"aware and rounded to 0.1 s,2024-04-15T05:00:00.14Z,A1,8,2\n"
    )
    columns = CsvColumns(time="when", signal_id="controller", event_code="code", parameter="param")
    parsed = parse_csv(payload, columns=columns, zone="Asia/Tokyo")
    assert parsed.rejected == []
    first, second = parsed.observations
    assert first.time == datetime(2024, 4, 15, 3, 0, 0, 100_000, tzinfo=UTC)
    assert second.time == datetime(2024, 4, 15, 5, 0, 0, 100_000, tzinfo=UTC)


def test_locations_place_events_and_reject_unknown_signals() -> None:
    payload = (HEADER + "2024-04-15 12:00:00,A,1,2\n2024-04-15 12:00:00,B,1,2\n").encode()
    parsed = parse_csv(payload, locations={"A": (105.8, 21.0)})
    assert [(e.signal_id, e.lon, e.lat) for e in parsed.observations] == [("A", 105.8, 21.0)]
    assert parsed.rejected[0].reason == "unknown signal id 'B'"


def test_json_lines_round_trip_and_type_checks() -> None:
    stamp = datetime(2025, 3, 3, 8, 0, 0, 300_000, tzinfo=HANOI)
    good = to_jsonl([("sig-a", stamp, 82, 12)])
    bad = [
        {"signal_id": "sig-a", "time": "2025-03-03T08:00:01+07:00", "event_code": "82",
         "parameter": 12},
        {"signal_id": "sig-a", "time": "2025-03-03T08:00:01+07:00", "event_code": True,
         "parameter": 12},
        {"signal_id": 3.5, "time": "2025-03-03T08:00:01+07:00", "event_code": 1, "parameter": 1},
        {"signal_id": "sig-a", "time": 1741000000, "event_code": 1, "parameter": 1},
        [1, 2, 3],
    ]
    payload = good + b"\n".join(orjson.dumps(b) for b in bad) + b'\n{"signal_id": \n'
    parsed = parse_jsonl(payload)
    assert parsed.observations == [SignalEvent("sig-a", stamp, 82, 12)]
    reasons = [r.reason for r in parsed.rejected]
    assert reasons[:5] == [
        "event_code must be an integer, got '82'",
        "event_code must be an integer, got True",
        "signal_id must be a string or a non-negative integer, got 3.5",
        "time must be an ISO 8601 string, got 1741000000",
        "an event must be an object, got list",
    ]
    assert reasons[5].startswith("line is not JSON")


def test_events_travel_as_records_with_utc_times() -> None:
    event = SignalEvent("sig-a", datetime(2025, 3, 3, 8, tzinfo=HANOI), 1, 2, 105.8, 21.0)
    record = event.with_district("005").to_record()
    assert record == {"signal_id": "sig-a", "time": "2025-03-03T01:00:00.000000+00:00",
                      "event_code": 1, "parameter": 2, "lon": 105.8, "lat": 21.0,
                      "district": "005"}


def test_detector_rows_are_validated_one_by_one() -> None:
    payload = (
        b"DeviceId,Phase,Parameter,Function,distance_m,speed_kmh\n"
        b"S,2,12,Advance,80,36\n"
        b"S,17,3,Presence,,\n"
        b"S,4,4,Loop,,\n"
        b"S,4,5,advance,-3,\n"
    )
    parsed = parse_detector_csv(payload)
    (advance,) = parsed.observations
    assert advance.travel_s == 8.0
    assert [r.reason for r in parsed.rejected] == [
        "phase '17' is outside 1-16",
        "unknown detector function 'Loop'",
        "distance_m '-3' is outside [1.0, 1000.0]",
    ]


def test_the_pack_configures_its_detectors() -> None:
    from pathlib import Path

    pack = Path(__file__).resolve().parents[3] / "packs" / "hanoi" / "assets" / "signals.geojson"
    features = orjson.loads(pack.read_bytes())["features"]
    detectors = detectors_from_features(features)
    assert len(features) >= 40
    assert sum(f["properties"]["brt"] for f in features) >= 12
    assert {d.function for d in detectors} == {"presence", "advance", "yellow_red"}
    assert all(60 <= (d.distance_m or 0) <= 120 for d in detectors if d.function == "advance")
