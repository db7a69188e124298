"""Every feed parser against generated input: hostile payloads are refused, never crashed on.

Properties, for each of the eight feeds:
- any bytes, any JSON document and any mutation of a good record parse without raising;
  what cannot be used comes back as Rejected records with a reason;
- whatever is accepted travels: its bus record serialises and the writer decodes it;
- one bad record in a batch never costs the good ones.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from feeds.base import Feed, Parsed, Rejected
from feeds.clock import Clock
from feeds.registry import FEEDS, build_parser, simulator_for
from ioc.tables import TABLES
from tests.clock import DAY, HOURS
from tests.ioc.conftest import PACK

CARD_KEY = b"property-test-card-key-0123456789"
JSON_FEEDS = ["parking", "parking_sessions", "queues", "online_services", "signals", "brt_taps"]
PROTOBUF_FEEDS = ["brt_vehicles", "brt_trips"]
# Feeds whose sources are scheduled: at 02:30 the BRT line and the one-stop shops are shut.
NIGHT_IDLE = {"brt_vehicles", "brt_trips", "brt_taps", "queues"}
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# JSON values of every kind, with the numbers and strings that break naive parsers.
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", " ", "0", "-1", "NaN", "1e400", "car", "motorbike", "\u0000",
                     "2026-11-22", "2026-11-22T08:00:00", "9999-12-31T23:59:59+00:00"]),
)
# Times at the very edges of what Python can represent, with offsets that push them over.
def _stamp(when: datetime, minutes: int) -> str:
    return when.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


edge_times = st.one_of(
    st.builds(_stamp, st.datetimes(max_value=datetime(1, 1, 2)), st.integers(1, 23 * 60)),
    st.builds(_stamp, st.datetimes(min_value=datetime(9999, 12, 30)), st.integers(-23 * 60, -1)),
    st.builds(_stamp, st.datetimes(), st.integers(-23 * 60, 23 * 60)),
)
json_values = st.recursive(
    st.one_of(scalars, edge_times),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


@cache
def good_payload(feed: str, at: datetime = DAY) -> bytes:
    """One payload of the feed's simulator at `at`: real records of the real shape (at 10:00
    on a weekday by default, when every feed has records to sample from)."""
    source, _ = simulator_for(feed, PACK, Clock.pinned(at))
    return asyncio.run(source())


@pytest.mark.parametrize("hour", sorted(HOURS))
@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_every_simulator_payload_parses_without_a_reject_night_and_day(
    feed: str, hour: str
) -> None:
    parsed = build_parser(feed, PACK).parse(good_payload(feed, HOURS[hour]))
    assert parsed.rejected == []
    if feed not in NIGHT_IDLE or hour == "day":
        assert parsed.observations, f"{feed} simulated nothing at {hour}"


@cache
def good_records(feed: str) -> list[dict[str, Any]]:
    """A few of the simulator's records, as JSON objects."""
    payload = good_payload(feed)
    if feed in ("queues", "signals"):
        records = [orjson.loads(line) for line in payload.splitlines() if line.strip()]
    else:
        document = orjson.loads(payload)
        records = document if isinstance(document, list) else document[_container(feed)]
    return records[:: max(1, len(records) // 20)][:20]


def _container(feed: str) -> str:
    return {"parking": "sites", "parking_sessions": "sessions",
            "online_services": "applications"}[feed]


def batch(feed: str, records: list[Any]) -> bytes:
    """A payload of the feed's format holding `records` (lines, a list, or a document)."""
    # The standard library writes what a hostile source may send (integers past 64 bits).
    if feed in ("queues", "signals"):
        return b"\n".join(json.dumps(r).encode() for r in records) + b"\n"
    if feed == "brt_taps":
        return json.dumps(records).encode()
    return json.dumps({_container(feed): records}).encode()


def parse(feed: str, payload: bytes) -> Parsed[Any]:
    """Parse with a fresh parser (parsers that remember state start from nothing)."""
    parser: Feed = build_parser(feed, PACK, CARD_KEY)
    return parser.parse(payload)


def assert_usable(feed: str, parsed: Parsed[Any]) -> None:
    """Rejections have reasons; accepted observations survive the bus and the writer."""
    for rejected in parsed.rejected:
        assert isinstance(rejected, Rejected)
        assert rejected.reason.strip()
        assert isinstance(rejected.raw, str)
        orjson.dumps({"reason": rejected.reason, "raw": rejected.raw})
    for observation in parsed.observations:
        record = orjson.loads(orjson.dumps(observation.with_district(None).to_record()))
        TABLES[feed].decode(record)


def identities(feed: str, parsed: Parsed[Any]) -> list[bytes]:
    """What identifies each primary observation, leaving out state derived across records."""
    derived = {"status"}  # car park status has hysteresis across a site's records
    out = []
    for observation in parsed.observations:
        record = observation.to_record()
        if feed == "signals" and "event_code" not in record:
            continue  # unit statuses are derived from the events around them
        out.append(orjson.dumps({k: v for k, v in record.items() if k not in derived},
                                option=orjson.OPT_SORT_KEYS))
    return out


def test_every_feed_is_covered() -> None:
    assert sorted(FEEDS) == sorted(JSON_FEEDS + PROTOBUF_FEEDS)


@pytest.mark.parametrize("feed", sorted(FEEDS))
@SETTINGS
@given(payload=st.binary(max_size=4096))
def test_any_bytes_are_refused_with_a_reason_not_raised(feed: str, payload: bytes) -> None:
    parsed = parse(feed, payload)
    assert_usable(feed, parsed)


@pytest.mark.parametrize("feed", JSON_FEEDS)
@SETTINGS
@given(document=json_values)
def test_any_json_document_is_refused_with_a_reason_not_raised(feed: str, document: Any) -> None:
    assert_usable(feed, parse(feed, json.dumps(document).encode()))


@st.composite
def mutated(draw: st.DrawFn, feed: str) -> dict[str, Any]:
    """A good record of the feed with some fields replaced, added or removed."""
    record = dict(draw(st.sampled_from(good_records(feed))))
    for key in draw(st.lists(st.sampled_from(sorted(record)), max_size=3, unique=True)):
        if draw(st.booleans()):
            # Text fields (ids, times) also get times at the edges of the representable.
            text = isinstance(record[key], str)
            record[key] = draw(st.one_of(edge_times, edge_times, json_values) if text
                               else json_values)
        else:
            del record[key]
    record.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return record


@pytest.mark.parametrize("feed", JSON_FEEDS)
@SETTINGS
@given(data=st.data())
def test_a_mutated_record_is_accepted_or_refused_alone(feed: str, data: st.DataObject) -> None:
    record = data.draw(mutated(feed))
    parsed = parse(feed, batch(feed, [record]))
    assert_usable(feed, parsed)


@pytest.mark.parametrize("feed", JSON_FEEDS)
@SETTINGS
@given(data=st.data())
def test_one_bad_record_never_costs_the_good_ones(feed: str, data: st.DataObject) -> None:
    good = good_records(feed)
    hostile = data.draw(st.one_of(mutated(feed), json_values))
    at = data.draw(st.integers(min_value=0, max_value=len(good)))
    alone = parse(feed, batch(feed, good))
    assume(not alone.rejected)
    mixed = parse(feed, batch(feed, [*good[:at], hostile, *good[at:]]))
    assert_usable(feed, mixed)
    kept = identities(feed, mixed)
    for identity in identities(feed, alone):
        assert identity in kept
    assert len(mixed.rejected) <= 1


@pytest.mark.parametrize("feed", JSON_FEEDS)
def test_the_simulators_records_round_trip(feed: str) -> None:
    parsed = parse(feed, good_payload(feed))
    assert parsed.observations and not parsed.rejected
    assert_usable(feed, parsed)


# -- car parks: a generated site reads back as it was written -----------------------------

sites = st.fixed_dictionaries({
    "id": st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
                  min_size=1, max_size=20).filter(str.strip),
    "lon": st.floats(min_value=-180, max_value=180),
    "lat": st.floats(min_value=-90, max_value=90),
    "open": st.booleans(),
    "observed_at": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                                timezones=st.just(UTC)).map(datetime.isoformat),
    "vehicles": st.dictionaries(
        st.sampled_from(["car", "motorbike"]),
        st.integers(min_value=0, max_value=100_000).flatmap(lambda cap: st.fixed_dictionaries(
            {"capacity": st.just(cap), "occupied": st.integers(min_value=0, max_value=cap)})),
        min_size=1),
})


@SETTINGS
@given(site=sites)
def test_a_well_formed_site_reads_back_as_written(site: dict[str, Any]) -> None:
    parsed = parse("parking", batch("parking", [site]))
    assert not parsed.rejected
    assert_usable("parking", parsed)
    read = {o.vehicle_type: o for o in parsed.observations}
    assert read.keys() == site["vehicles"].keys()
    for vehicle, counts in site["vehicles"].items():
        observation = read[vehicle]
        assert observation.site_id == site["id"]
        assert (observation.capacity, observation.occupied) == (counts["capacity"],
                                                                  counts["occupied"])
        assert observation.observed_at == datetime.fromisoformat(site["observed_at"])
        assert (observation.lon, observation.lat) == (site["lon"], site["lat"])


# -- GTFS-Realtime: generated messages, one bad entity among good ones ---------------------

finite_or_not = st.one_of(st.floats(width=32), st.sampled_from([0.0, 21.03, 105.8]))


@pytest.mark.parametrize("feed", PROTOBUF_FEEDS)
@SETTINGS
@given(data=st.data())
def test_a_bad_entity_never_costs_the_good_ones(feed: str, data: st.DataObject) -> None:
    from google.transit import gtfs_realtime_pb2 as rt

    message = rt.FeedMessage()
    message.ParseFromString(good_payload(feed))
    alone = parse(feed, message.SerializeToString())
    good_ids = [e.id for e in message.entity]
    hostile = message.entity.add()
    hostile.CopyFrom(message.entity[data.draw(st.integers(0, len(good_ids) - 1))])
    hostile.id = data.draw(st.text(max_size=12))
    if feed == "brt_vehicles":
        vehicle = hostile.vehicle
        vehicle.position.latitude = data.draw(finite_or_not)
        vehicle.position.longitude = data.draw(finite_or_not)
        vehicle.timestamp = data.draw(st.integers(0, 2**64 - 1))
        vehicle.trip.start_date = data.draw(st.text(max_size=10))
        vehicle.position.bearing = data.draw(st.floats(width=32))
        vehicle.position.speed = data.draw(st.floats(width=32))
    else:
        update = hostile.trip_update
        update.timestamp = data.draw(st.integers(0, 2**64 - 1))
        update.trip.start_date = data.draw(st.text(max_size=10))
        for stop in update.stop_time_update:
            stop.arrival.time = data.draw(st.integers(-(2**63), 2**63 - 1))
            stop.departure.delay = data.draw(st.integers(-(2**31), 2**31 - 1))
            stop.stop_sequence = data.draw(st.integers(0, 2**32 - 1))
    message.header.timestamp = data.draw(st.sampled_from(
        [message.header.timestamp, 0, 2**64 - 1]))
    mixed = parse(feed, message.SerializeToString())
    assert_usable(feed, mixed)
    if mixed.rejected and mixed.rejected[0].reason.startswith("header"):
        return  # a bad header refuses the whole message, as the parser documents
    kept = identities(feed, mixed)
    for identity in identities(feed, alone):
        assert identity in kept
