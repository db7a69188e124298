"""Online applications by level, per district and day, beside tickets at the desks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson

from feeds.queues.model import TicketEvent
from feeds.queues.online import ChannelMix, OnlineApplications, channel_mix, parse_applications

HANOI = timezone(timedelta(hours=7))


def _record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"district": "001", "day": "2026-11-23", "level": 4,
                              "applications": 120}
    record.update(overrides)
    return record


def test_old_level_numbers_and_decree_42_names_read_alike() -> None:
    payload = b"\n".join(orjson.dumps(_record(level=level)) for level in
                         (3, "3", "partial", "một phần", 4, "end-to-end", "toàn trình"))
    parsed = parse_applications(payload)
    assert parsed.rejected == []
    assert [o.level for o in parsed.observations] == ["partial"] * 4 + ["end_to_end"] * 3
    assert parsed.observations[0].to_record() == {
        "kind": "online_applications", "district": "001", "day": "2026-11-23",
        "level": "partial", "applications": 120,
    }


def test_bad_records_are_rejected_alone() -> None:
    bad = [
        (_record(level=2), "level must be 3/partial or 4/end-to-end"),
        (_record(level=True), "level must be 3/partial or 4/end-to-end"),
        (_record(district=1), "district must be a 3-digit GSO code"),
        (_record(district="999"), "unknown district '999'"),
        (_record(day="23/11/2026"), "day must be a YYYY-MM-DD date"),
        (_record(applications=-5), "applications must be a non-negative integer"),
        (_record(applications="12"), "applications must be a non-negative integer"),
    ]
    document = {"applications": [_record(), *(r for r, _ in bad), _record(district="002")]}
    parsed = parse_applications(orjson.dumps(document), districts={"001", "002"})
    assert [o.district for o in parsed.observations] == ["001", "002"]
    for rejected, (record, reason) in zip(parsed.rejected, bad, strict=True):
        assert reason in rejected.reason
        assert orjson.loads(rejected.raw) == record
    lines = parse_applications(orjson.dumps(_record()) + b"\n{\"district\": \"00")
    assert len(lines.observations) == 1
    assert lines.rejected[0].reason.startswith("line is not JSON")


def _issued(point: str, ticket: str, at: datetime, district: str | None) -> TicketEvent:
    return TicketEvent(point, ticket, "issued", at, "land", None, 105.8, 21.0, district)


def test_channel_mix_puts_online_filings_beside_desk_visits() -> None:
    monday = date(2026, 11, 23)
    applications = [
        OnlineApplications("001", monday, "partial", 30),
        OnlineApplications("001", monday, "end_to_end", 50),
        OnlineApplications("001", monday, "end_to_end", 60),  # a correction replaces 50
        OnlineApplications("002", monday, "partial", 5),
    ]
    events = [
        _issued("mc-ba-dinh", "1", datetime(2026, 11, 23, 8, 5, tzinfo=HANOI), "001"),
        _issued("mc-ba-dinh", "1", datetime(2026, 11, 23, 8, 5, tzinfo=HANOI), "001"),  # replay
        _issued("mc-ba-dinh", "2", datetime(2026, 11, 23, 16, 55, tzinfo=HANOI), "001"),
        # 23:30 UTC on the 23rd is already the 24th in Hanoi.
        _issued("mc-ba-dinh", "3", datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "001"),
    ]
    mix = channel_mix(applications, events, HANOI)
    assert mix == [
        ChannelMix("001", monday, 30, 60, 2),
        ChannelMix("002", monday, 5, 0, 0),
        ChannelMix("001", date(2026, 11, 24), 0, 0, 1),
    ]
    assert mix[0].online == 90
    assert mix[0].online_share == 90 / 92
    assert mix[2].online_share == 0.0
    assert ChannelMix("003", monday, 0, 0, 0).online_share is None
