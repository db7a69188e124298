"""The parking adapter: valid documents become observations, bad records are rejected alone."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from feeds.parking import ParkingObservation, parse_payload


def _site(**overrides: object) -> dict[str, object]:
    site: dict[str, object] = {
        "id": "hk-ly-thuong-kiet-01",
        "lon": 105.8460,
        "lat": 21.0240,
        "open": True,
        "observed_at": "2026-11-22T08:00:00+07:00",
        "vehicles": {"car": {"capacity": 100, "occupied": 95},
                     "motorbike": {"capacity": 400, "occupied": 120}},
    }
    site.update(overrides)
    return site


def _doc(*sites: object) -> bytes:
    return orjson.dumps({"sites": list(sites)})


def test_a_site_gives_one_observation_per_vehicle_type() -> None:
    parsed = parse_payload(_doc(_site()))
    assert parsed.rejected == []
    by_type = {o.vehicle_type: o for o in parsed.observations if isinstance(o, ParkingObservation)}
    assert set(by_type) == {"car", "motorbike"}
    car = by_type["car"]
    assert car.observed_at == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    assert (car.capacity, car.occupied, car.available, car.status) == (100, 95, 5, "almostFull")
    assert by_type["motorbike"].status == "spacesAvailable"


def test_bad_records_are_rejected_with_a_reason_and_the_rest_goes_through() -> None:
    bad = [
        _site(id=""),
        _site(lat="21.02"),
        _site(observed_at="2026-11-22T08:00:00"),
        _site(vehicles={"car": {"capacity": 10, "occupied": 11}}),
        _site(vehicles={"truck": {"capacity": 10, "occupied": 1}}),
        _site(lon=181),
        "not an object",
    ]
    parsed = parse_payload(_doc(_site(id="good-1"), *bad, _site(id="good-2")))
    assert sorted({o.site_id for o in parsed.observations}) == ["good-1", "good-2"]
    reasons = [r.reason for r in parsed.rejected]
    assert len(reasons) == len(bad)
    assert "id must be a non-empty string" in reasons[0]
    assert "lat must be a finite number" in reasons[1]
    assert "has no time zone" in reasons[2]
    assert "exceeds capacity" in reasons[3]
    assert "unknown vehicle type 'truck'" in reasons[4]
    assert "outside [-180.0, 180.0]" in reasons[5]
    assert orjson.loads(parsed.rejected[3].raw)["vehicles"]["car"]["occupied"] == 11


def test_a_payload_that_is_not_json_is_one_rejected_record() -> None:
    parsed = parse_payload(b"<html>502 Bad Gateway</html>")
    assert parsed.observations == []
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0].reason.startswith("payload is not JSON")
    assert "502 Bad Gateway" in parsed.rejected[0].raw


def test_the_bus_form_is_utc_with_a_fixed_width_and_carries_the_district() -> None:
    [obs, _] = parse_payload(_doc(_site())).observations
    record = obs.with_district("002").to_record()
    assert record["observed_at"] == "2026-11-22T01:00:00.000000+00:00"
    assert record["district"] == "002"
    assert orjson.loads(orjson.dumps(record)) == record
