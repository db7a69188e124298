"""The queue parser: good records become observations, each bad one is rejected alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from feeds.base import geo_tag
from feeds.queues.model import CounterSnapshot, TicketEvent
from feeds.queues.parse import parse_payload
from feeds.queues.points import ServicePoint


def _ticket(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "ticket", "point_id": "mc-ba-dinh", "ticket_id": "20261123-0001",
        "event": "called", "service_type": "land", "counter_id": "3",
        "at": "2026-11-23T08:12:03+07:00",
    }
    record.update(overrides)
    return record


def _counters(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "counters", "point_id": "mc-ba-dinh", "at": "2026-11-23T08:15:00+07:00",
        "counters_open": 3, "waiting": {"land": 4, "civil_status": 1},
    }
    record.update(overrides)
    return record


def _lines(*records: Any) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records) + b"\n"


def test_json_lines_give_ticket_events_and_snapshots(points: dict[str, ServicePoint]) -> None:
    parsed = parse_payload(_lines(_ticket(), _counters()), points)
    assert parsed.rejected == []
    event, snapshot = parsed.observations
    assert isinstance(event, TicketEvent) and isinstance(snapshot, CounterSnapshot)
    assert event.key == ("mc-ba-dinh", "20261123-0001", "called")
    assert event.at == datetime(2026, 11, 23, 1, 12, 3, tzinfo=UTC)
    assert (event.lon, event.lat) == (105.8142, 21.0339)
    assert snapshot.key == ("mc-ba-dinh", datetime(2026, 11, 23, 1, 15, tzinfo=UTC))
    assert snapshot.waiting_total == 5


def test_a_batch_document_needs_no_kind_on_its_records(points: dict[str, ServicePoint]) -> None:
    ticket = _ticket(event="issued", counter_id=None)
    del ticket["kind"]
    counters = _counters()
    del counters["kind"]
    document = {"source": "qms", "tickets": [ticket, _ticket(ticket_id="")], "counters": [counters]}
    parsed = parse_payload(orjson.dumps(document, option=orjson.OPT_INDENT_2), points)
    assert [type(o).__name__ for o in parsed.observations] == ["TicketEvent", "CounterSnapshot"]
    assert [r.reason for r in parsed.rejected] == ["ticket_id must be a non-empty string, got ''"]


def test_bad_records_are_rejected_with_a_reason_and_the_rest_goes_through(
    points: dict[str, ServicePoint],
) -> None:
    bad: list[tuple[Any, str]] = [
        (_ticket(ticket_id=42), "ticket_id must be a non-empty string, got 42"),
        (_ticket(event="cancelled"), "unknown event 'cancelled'"),
        (_ticket(at="2026-11-23T08:12:03"), "has no time zone"),
        (_ticket(at="yesterday"), "is not ISO 8601"),
        (_ticket(at="1970-01-01T00:00:00+00:00"), "the source clock is unset"),
        ({k: v for k, v in _ticket().items() if k != "service_type"},
         "service_type must be a non-empty string, got None"),
        (_ticket(service_type="marriage"), "'marriage' is not offered at 'mc-ba-dinh'"),
        (_ticket(point_id="mc-atlantis"), "unknown service point 'mc-atlantis'"),
        (_ticket(event="served", counter_id=None), "a served event needs the counter_id"),
        (_ticket(counter_id=3), "counter_id must be a non-empty string, got 3"),
        (_counters(counters_open=-1), "counters_open must be a non-negative integer, got -1"),
        (_counters(counters_open=True), "counters_open must be a non-negative integer, got True"),
        (_counters(counters_open=50), "counters_open 50 exceeds the 4 counters of 'mc-ba-dinh'"),
        (_counters(waiting={"land": -2}), "waiting.land must be an integer in [0, 5000], got -2"),
        (_counters(waiting={"land": 10**9}), "waiting.land must be an integer in [0, 5000]"),
        (_counters(waiting={"land": 2.5}), "waiting.land must be an integer in [0, 5000], got 2.5"),
        (_counters(waiting=[4]), "waiting must be an object"),
        (_ticket(kind="complaint"), "kind must be 'ticket' or 'counters', got 'complaint'"),
        (["not", "an", "object"], "a record must be an object, got list"),
    ]
    good_first, good_last = _ticket(ticket_id="first"), _ticket(ticket_id="last")
    parsed = parse_payload(_lines(good_first, *(record for record, _ in bad), good_last), points)
    assert [o.ticket_id for o in parsed.observations if isinstance(o, TicketEvent)] == [
        "first", "last"
    ]
    assert len(parsed.rejected) == len(bad)
    for rejected, (record, expected) in zip(parsed.rejected, bad, strict=True):
        assert expected in rejected.reason
        assert orjson.loads(rejected.raw) == record


def test_a_truncated_line_is_rejected_alone(points: dict[str, ServicePoint]) -> None:
    whole = _lines(_ticket(ticket_id="a"), _ticket(ticket_id="b"), _ticket(ticket_id="c"))
    cut = whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 30]  # the third line loses its end
    parsed = parse_payload(cut, points)
    assert [o.ticket_id for o in parsed.observations if isinstance(o, TicketEvent)] == ["a", "b"]
    [rejected] = parsed.rejected
    assert rejected.reason.startswith("line 3 is not JSON")
    assert rejected.raw == cut.decode().splitlines()[2]


def test_a_garbled_line_in_the_middle_and_blank_lines_do_not_stop_the_rest(
    points: dict[str, ServicePoint],
) -> None:
    payload = _lines(_ticket(ticket_id="a"), b"", b"\xff\xfe{oops", b"   ", _ticket(ticket_id="b"))
    parsed = parse_payload(payload, points)
    assert len(parsed.observations) == 2
    assert [r.reason.split(" is not")[0] for r in parsed.rejected] == ["line 3"]


def test_personal_data_is_refused_and_blanked_in_the_dead_letter(
    points: dict[str, ServicePoint],
) -> None:
    leaky = _ticket(full_name="Nguyễn Văn A", cccd="001099012345")
    parsed = parse_payload(_lines(leaky, _ticket()), points)
    assert len(parsed.observations) == 1
    [rejected] = parsed.rejected
    assert rejected.reason == "carries personal data (cccd, full_name): refused"
    assert "Nguyễn" not in rejected.raw and "001099012345" not in rejected.raw
    assert orjson.loads(rejected.raw)["ticket_id"] == "20261123-0001"


def test_a_payload_that_is_not_json_and_an_empty_one(points: dict[str, ServicePoint]) -> None:
    parsed = parse_payload(b"<html>502 Bad Gateway</html>", points)
    assert parsed.observations == []
    assert parsed.rejected[0].reason.startswith("line 1 is not JSON")
    assert "502 Bad Gateway" in parsed.rejected[0].raw
    empty = parse_payload(b"", points)
    assert (empty.observations, empty.rejected) == ([], [])


def test_a_batch_member_that_is_not_a_list_is_one_reject(points: dict[str, ServicePoint]) -> None:
    parsed = parse_payload(orjson.dumps({"tickets": {"oops": 1}, "counters": []}), points)
    assert parsed.observations == []
    assert [r.reason for r in parsed.rejected] == ["batch member for ticket records is not a list"]


def test_the_bus_form_is_utc_with_a_fixed_width_and_carries_the_district(
    points: dict[str, ServicePoint],
) -> None:
    event, snapshot = parse_payload(_lines(_ticket(), _counters()), points).observations
    record = event.with_district("001").to_record()
    assert record["at"] == "2026-11-23T01:12:03.000000+00:00"
    assert (record["kind"], record["district"], record["counter_id"]) == ("ticket", "001", "3")
    assert orjson.loads(orjson.dumps(record)) == record
    counters = snapshot.with_district("001").to_record()
    assert counters["kind"] == "counters"
    assert counters["waiting"] == {"land": 4, "civil_status": 1}
    assert counters["district"] == "001"


def test_both_observations_go_through_geo_tagging(points: dict[str, ServicePoint]) -> None:
    observations = parse_payload(_lines(_ticket(), _counters()), points).observations

    def assign(lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
        return ["001" if lon == 105.8142 else None for lon in lons]

    tagged = geo_tag(observations, assign)
    assert [o.to_record()["district"] for o in tagged] == ["001", "001"]
