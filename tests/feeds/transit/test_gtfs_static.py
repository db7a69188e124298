"""GTFS static import: real feeds load, a broken feed fails clearly, bad rows go alone."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import orjson
import pytest

from feeds.transit.gtfs_static import GtfsError, load_gtfs
from feeds.transit.schedule import Timetable, frequency_starts, runs_on, scheduled_at
from tests.conftest import shared_file

PACK_BRT = Path(__file__).resolve().parents[3] / "packs" / "hanoi" / "brt"


def test_caltrain_imports_whole() -> None:
    feed = load_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    assert feed.rejected == []
    assert (len(feed.stops), len(feed.routes), len(feed.trips)) == (109, 9, 176)
    assert sum(len(calls) for calls in feed.stop_times.values()) == 3498
    assert len(feed.shapes) == 33
    assert str(feed.timezone) == "America/Los_Angeles"
    # Times without a leading zero ("5:00:00") are valid GTFS.
    first = feed.stop_times["501"][0]
    assert (first.stop_id, first.arrival_s) == ("70271", 5 * 3600)
    assert feed.stops["70021"].parent_station == "22nd_street"


def test_bart_imports_whole_with_crlf_lines_and_empty_frequencies() -> None:
    feed = load_gtfs(shared_file("gtfs/bart/gtfs.zip"))
    assert feed.rejected == []
    assert (len(feed.stops), len(feed.trips)) == (48, 2641)
    assert feed.frequencies == {}


def test_calendar_dates_override_the_weekly_pattern() -> None:
    feed = load_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    tuesday, thanksgiving = date(2023, 11, 7), date(2023, 11, 23)
    assert runs_on(feed, "72982", tuesday) and not runs_on(feed, "72981", tuesday)
    assert not runs_on(feed, "72982", thanksgiving) and runs_on(feed, "72981", thanksgiving)


def test_scheduled_headway_from_stop_times_brackets_the_time() -> None:
    feed = load_gtfs(shared_file("gtfs/caltrain/gtfs.zip"))
    table = Timetable(feed, date(2023, 11, 7))
    # L1 northbound at San Francisco (70011): 16:31 then 17:31; 06:50 then 07:31.
    assert table.headway_at("L1", 0, "70011", 17 * 3600) == 3600
    assert table.headway_at("L1", 0, "70011", 7 * 3600) == 41 * 60
    assert Timetable(feed, date(2030, 1, 1)).headway_at("L1", 0, "70011", 17 * 3600) is None
    # After midnight the previous day's trips count: 24:11 and 24:52 of Tuesday.
    wednesday = Timetable(feed, date(2023, 11, 8))
    assert wednesday.headway_at("L1", 0, "70011", 30 * 60) == 41 * 60


def test_scheduled_headway_from_frequencies_follows_the_period_and_the_stop() -> None:
    feed = load_gtfs(PACK_BRT)
    table = Timetable(feed, date(2026, 11, 23))
    first, last = "BRT01_01", "BRT01_21"
    assert table.headway_at("BRT01", 0, first, 5.5 * 3600) == 900
    assert table.headway_at("BRT01", 0, first, 7.5 * 3600) == 300
    assert table.headway_at("BRT01", 0, first, 10 * 3600) == 600
    assert table.headway_at("BRT01", 0, first, 23 * 3600) is None
    # At the far end a window is shifted by the running time (40 min 58 s): the bus at
    # Yên Nghĩa at 09:30 left Kim Mã at 08:49, in the 5-minute peak.
    assert table.headway_at("BRT01", 0, last, 9.5 * 3600) == 300
    assert table.headway_at("BRT01", 0, last, 9.75 * 3600) == 600


def test_scheduled_instant_of_a_frequency_trip_needs_its_start_time() -> None:
    feed = load_gtfs(PACK_BRT)
    day = date(2026, 11, 23)
    assert scheduled_at(feed, "BRT01_0", 21, day) is None
    when = scheduled_at(feed, "BRT01_0", 21, day, start_s=7 * 3600)
    assert when is not None
    assert when.astimezone(feed.timezone).strftime("%H:%M:%S") == "07:40:58"
    assert len(frequency_starts(feed, "BRT01_0")) == 4 + 3 + 30 + 45 + 30 + 9 + 6


def _copy_pack(tmp_path: Path) -> Path:
    target = tmp_path / "feed"
    shutil.copytree(PACK_BRT, target)
    return target


def test_a_missing_required_file_or_column_is_a_clear_error(tmp_path: Path) -> None:
    folder = _copy_pack(tmp_path)
    (folder / "stop_times.txt").unlink()
    with pytest.raises(GtfsError, match=r"stop_times.txt is missing"):
        load_gtfs(folder)
    folder = _copy_pack(tmp_path / "again")
    text = (folder / "stops.txt").read_text().replace("stop_lat,", "latitude,", 1)
    (folder / "stops.txt").write_text(text)
    with pytest.raises(GtfsError, match=r"stops.txt has no column 'stop_lat'"):
        load_gtfs(folder)
    (folder / "calendar.txt").unlink()
    with pytest.raises(GtfsError):
        load_gtfs(folder)
    with pytest.raises(GtfsError, match="does not exist"):
        load_gtfs(tmp_path / "nowhere")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(GtfsError, match="neither a folder nor a zip"):
        load_gtfs(tmp_path / "junk.zip")


def _append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))


def test_bad_rows_are_rejected_one_by_one_and_the_rest_loads(tmp_path: Path) -> None:
    folder = _copy_pack(tmp_path)
    _append(folder / "stops.txt",
            "BAD_LAT,X,Nowhere,abc,105.8,0,1",
            "FAR_NORTH,X,Nowhere,95.0,105.8,0,1",
            "BRT01_01,X,Duplicate,21.0,105.8,0,1")
    _append(folder / "stop_times.txt",
            "BRT01_0,05:01:00,05:01:00,BRT01_02,x,0,",
            "BRT01_0,25:61:00,25:61:00,BRT01_02,99,0,",
            "BRT01_0,05:01:00,05:01:00,NO_SUCH_STOP,98,0,",
            "NO_SUCH_TRIP,05:01:00,05:01:00,BRT01_02,1,0,")
    _append(folder / "frequencies.txt", "BRT01_1,22:00:00,23:00:00,-5,0",
            "BRT01_1,23:00:00,23:30:00,600,2")
    _append(folder / "routes.txt", "R2,TRANSERCO,,,,bus,,")
    feed = load_gtfs(folder)
    reasons = [r.reason for r in feed.rejected]
    assert reasons == [
        "stops.txt line 23: stop_lat 'abc' is not a number",
        "stops.txt line 24: stop_lat=95.0 is outside [-90, 90]",
        "stops.txt line 25: repeats the key 'BRT01_01' of an earlier row",
        "routes.txt line 3: route_short_name and route_long_name are both empty",
        "stop_times.txt line 44: stop_sequence 'x' is not an integer",
        "stop_times.txt line 45: arrival_time '25:61:00' is not a GTFS time (H:MM:SS)",
        "stop_times.txt line 46: stop_id 'NO_SUCH_STOP' is not defined",
        "stop_times.txt line 47: trip_id 'NO_SUCH_TRIP' is not defined",
        "frequencies.txt line 16: headway_secs=-5 is outside [1, 86400]",
        "frequencies.txt line 17: exact_times=2 is outside [0, 1]",
    ]
    raw = orjson.loads(feed.rejected[0].raw)
    assert raw == {"file": "stops.txt", "line": 23, "row": {
        "stop_id": "BAD_LAT", "stop_code": "X", "stop_name": "Nowhere", "stop_lat": "abc",
        "stop_lon": "105.8", "location_type": "0", "wheelchair_boarding": "1"}}
    assert len(feed.stops) == 21 and feed.stops["BRT01_01"].name == "Kim Mã"
    assert [len(calls) for calls in feed.stop_times.values()] == [21, 21]


def test_a_zip_with_a_byte_order_mark_loads_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "brt.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(PACK_BRT.glob("*.txt")):
            data = path.read_bytes()
            out.writestr(path.name, b"\xef\xbb\xbf" + data if path.name == "stops.txt" else data)
    assert load_gtfs(archive).stops == load_gtfs(PACK_BRT).stops
