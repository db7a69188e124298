"""The other ways records come in, against generated input: signal CSV logs, queue batch
documents, imported files (CSV, JSON Lines, Parquet) with column mappings, and boundary layers.

Hostile input is refused with a reason (a Rejected record, FeedError or LayerError), never
crashed on; good rows beside a bad one still come through.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.base import FeedError
from feeds.files import apply_mapping, read_records, replay_plan, to_payload
from feeds.queues.parse import parse_payload as parse_queues
from feeds.queues.points import load_service_points
from feeds.signals.events import ATSPM_COLUMNS, parse_csv
from geo.layer import LayerError, load_layer
from tests.feeds.test_parsers_properties import edge_times, json_values
from tests.ioc.conftest import PACK

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
cells = st.one_of(st.text(max_size=12), edge_times,
                  st.integers(-(2**70), 2**70).map(str), st.just(""))


def _csv_columns() -> str:
    return ",".join(ATSPM_COLUMNS)


@SETTINGS
@given(payload=st.binary(max_size=2048))
def test_a_signal_csv_of_any_bytes_is_refused_not_raised(payload: bytes) -> None:
    parse_csv(_csv_columns().encode() + b"\n" + payload)


@SETTINGS
@given(row=st.lists(cells, min_size=0, max_size=6), at=st.integers(0, 3))
def test_a_bad_csv_row_never_costs_the_good_ones(row: list[str], at: int) -> None:
    columns = _csv_columns().split(",")
    good = dict(zip(columns, ["2026-11-22T08:00:00.1+07:00", "sig-ba-la", "1", "2"],
                    strict=False))
    good_line = ",".join(good.get(c, "") for c in columns)
    hostile = ",".join(f'"{c}"' if "," in c or "\n" in c else c for c in row)
    lines = [good_line] * 3
    lines.insert(at, hostile)
    parsed = parse_csv("\n".join([",".join(columns), *lines]).encode())
    assert len(parsed.observations) >= 3
    assert all(r.reason for r in parsed.rejected)


@SETTINGS
@given(tickets=json_values, counters=json_values)
def test_a_queue_batch_document_of_any_shape_is_refused_not_raised(
    tickets: Any, counters: Any
) -> None:
    points = load_service_points(PACK.asset_features("service_points"))
    payload = json.dumps({"tickets": tickets, "counters": counters}).encode()
    parsed = parse_queues(payload, points)
    assert all(r.reason for r in parsed.rejected)


def _read(suffix: str, content: bytes) -> list[dict[str, Any]] | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export{suffix}"
        path.write_bytes(content)
        try:
            return read_records(path)
        except FeedError:
            return None


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@SETTINGS
@given(content=st.binary(max_size=2048))
def test_an_imported_file_of_any_bytes_is_read_or_refused(suffix: str, content: bytes) -> None:
    records = _read(suffix, content)
    assert records is None or all(isinstance(r, dict) for r in records)


# What read_records can hand over: JSON values whose integers fit 64 bits (CSV cells beyond
# that stay text; JSON Lines and Parquet cannot hold them).
row_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20), edge_times),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
records = st.lists(st.dictionaries(st.sampled_from(["id", "observed_at", "time", "at", "x"]),
                                   row_values, max_size=5), max_size=6)


@pytest.mark.parametrize("feed", ["parking", "signals", "queues"])
@SETTINGS
@given(rows=records, mapping=st.dictionaries(st.sampled_from(["id", "time", "at"]),
                                             st.sampled_from(["x", "id", "y"]), max_size=2),
       speed=st.one_of(st.none(), st.floats(0.5, 1000)))
def test_mapped_records_become_a_payload_or_a_refusal(
    feed: str, rows: list[dict[str, Any]], mapping: dict[str, str], speed: float | None
) -> None:
    mapped = apply_mapping(rows, mapping)
    try:
        plan = list(replay_plan(feed, mapped, speed))
    except FeedError:
        return
    assert sum(len(group) for _, group in plan) == len(mapped)
    assert all(wait >= 0 for wait, _ in plan)
    for _, group in plan:
        payload = to_payload(feed, group)
        assert isinstance(payload, bytes)


# -- boundary layers: a file of any shape loads or is refused with LayerError ----------------

coordinates = st.lists(st.tuples(st.floats(-200, 200), st.floats(-100, 100)), max_size=6)
geometries = st.one_of(
    st.none(),
    st.fixed_dictionaries({"type": st.just("Polygon"),
                           "coordinates": st.lists(coordinates, max_size=2)}),
    st.fixed_dictionaries({"type": st.sampled_from(["Point", "LineString", "Nonsense"]),
                           "coordinates": coordinates}),
    json_values,
)
features = st.fixed_dictionaries({
    "type": st.just("Feature"),
    "properties": st.one_of(st.dictionaries(st.sampled_from(["code", "name", "kind"]),
                                            json_values, max_size=3), json_values),
    "geometry": geometries,
})


# GDAL warns on stderr about what it repairs or drops; the loader's answer is what counts.
@pytest.mark.filterwarnings("ignore::RuntimeWarning",
                            "ignore::pytest.PytestUnraisableExceptionWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collection=st.one_of(
    st.fixed_dictionaries({"type": st.just("FeatureCollection"),
                           "features": st.lists(features, max_size=4)}),
    json_values))
def test_a_boundary_file_of_any_shape_loads_or_is_refused(collection: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layer.geojson"
        path.write_text(json.dumps(collection))
        try:
            layer = load_layer(path, "fuzzed")
        except LayerError:
            return
        assert layer.units and all(u.code for u in layer.units)
