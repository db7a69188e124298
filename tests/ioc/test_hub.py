"""The live fan-out's rules without a socket: filters, coalescing, frames, level of detail."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from geo import load_pack
from ioc.bus import parse_live
from ioc.live import protocol
from ioc.live.client import DeltaEntry, LiveClient, Subscription
from ioc.live.hub import Delta, Shared
from ioc.live.lod import Level, aggregate, cell_degrees, level_for
from ioc.live.protocol import Code, ProtocolError
from ioc.live.streams import Item, Places, registry, split
from ioc.live.subscriptions import Filter, Matcher, parse_filter

PACK = load_pack(Path(__file__).resolve().parents[2] / "packs" / "hanoi")
SPECS = registry()
STREAMS = list(SPECS)


@pytest.fixture(scope="module")
def places() -> Places:
    layer = PACK.layer(PACK.default_layer)
    return Places.build(layer, {"parking": PACK.asset_features("parking")})


def _delta(seq: int, places: Places, *sites: tuple[str, int]) -> Delta:
    body = orjson.dumps({"sites": [{"id": s, "district": "002", "occupied": n}
                                   for s, n in sites]})
    items, extras = split(SPECS["parking"], orjson.loads(body), places)
    return Delta("parking", seq, body, items, extras)


def _sub(client: LiveClient) -> Subscription:
    return Subscription(client, "p", Filter(frozenset({"parking"})))


def test_a_full_outbox_turns_into_the_latest_value_of_each_object(places: Places) -> None:
    client = LiveClient(limit=3)
    sub = _sub(client)
    for seq in range(1, 4):
        delta = _delta(seq, places, ("a", seq), ("b", seq))
        client.offer_delta(sub, Shared(delta, delta.items, True))
    assert len(client.outbox) == 3 and not client.backlog
    delta = _delta(4, places, ("a", 40))
    client.offer_delta(sub, Shared(delta, delta.items, True))
    assert not any(isinstance(e, DeltaEntry) for e in client.outbox)
    backlog = client.backlog[(sub, "parking")]
    assert (backlog.first_seq, backlog.last_seq) == (1, 4)
    body = backlog.body(SPECS["parking"], after=0)
    assert body == {"sites": [{"id": "a", "district": "002", "occupied": 40},
                              {"id": "b", "district": "002", "occupied": 3}]}
    # What the client already holds is not sent again.
    assert backlog.body(SPECS["parking"], after=4) is None
    assert client.behind_since is not None


def test_control_frames_beyond_twice_the_limit_are_refused() -> None:
    client = LiveClient(limit=2)
    assert all(client.push(b"{}") for _ in range(4))
    assert not client.push(b"{}")


def test_a_frame_splices_the_published_body_after_stream_and_seq() -> None:
    frame = protocol.head("delta", "map") + protocol.tail("parking", 42, b'{"sites":[]}',
                                                          coalesced=True)
    assert orjson.loads(frame) == {"type": "delta", "sub": "map", "stream": "parking",
                                   "seq": 42, "coalesced": True, "sites": []}
    assert orjson.loads(protocol.head("snapshot", "x") + protocol.tail("brt", 1, b"{}")) == {
        "type": "snapshot", "sub": "x", "stream": "brt", "seq": 1}


def test_live_messages_round_trip_through_their_wire_form() -> None:
    message = parse_live(b"parking|7|" + orjson.dumps({"sites": []}))
    assert (message.stream, message.seq) == ("parking", 7)


def test_objects_are_placed_from_their_body_or_else_the_catalogue(places: Places) -> None:
    items, _ = split(SPECS["parking"], {"sites": [{"id": "hk-ly-thuong-kiet"},
                                                  {"id": "nowhere", "district": "002"}]},
                     places)
    assert (items[0].lon, items[0].lat) == (105.8468, 21.0246)
    assert (items[1].lon, items[1].district) == (None, "002")
    change = {"change": "opened", "situation": {"id": 3, "lon": 105.8, "lat": 21.0}}
    [situation], extras = split(SPECS["situations"], change, places)
    assert (situation.section, situation.key, situation.lon) == ("situations", "3", 105.8)
    assert extras == {"change": "opened"}


def test_filters_are_validated_and_name_their_fault() -> None:
    assert parse_filter({}, STREAMS).streams == frozenset(STREAMS)
    bad = [{"streams": []}, {"streams": ["weather"]}, {"bbox": [1, 2, 3]},
           {"bbox": [106, 21, 105, 22]}, {"bbox": [105, 21, 106, 22], "zoom": 30},
           {"zoom": 12}, {"districts": "002"}, {"layer": "districts"},
           {"bbox": [105, 21, float("nan"), 22]}]
    for fields in bad:
        with pytest.raises(ProtocolError) as err:
            parse_filter(fields, STREAMS)
        assert err.value.code in {Code.BAD_FILTER, Code.UNKNOWN_STREAM}, fields


def test_a_box_keeps_points_inside_and_districts_whose_bounds_meet_it(places: Places) -> None:
    spec = parse_filter({"streams": ["signals"], "bbox": [105.84, 21.02, 105.86, 21.03],
                         "zoom": 15}, STREAMS)
    matcher = Matcher(spec, places, lambda layer, codes: pytest.fail("no areas here"))
    body = {"districts": [{"code": "002"}, {"code": "282"}],
            "units": [{"id": "in", "lon": 105.85, "lat": 21.025},
                      {"id": "out", "lon": 105.80, "lat": 21.025},
                      {"id": "unplaced-in-002", "district": "002"}]}
    items, _ = split(SPECS["signals"], body, places)
    assert [i.key for i in matcher.select(items)] == ["002", "in", "unplaced-in-002"]
    assert [i.key for i in matcher.select(items, with_objects=False)] == ["002"]


def test_zoom_chooses_districts_then_grid_then_points() -> None:
    assert [level_for(z) for z in (9, 11.9, 12, 13.9, 14, 18)] == [
        Level.DISTRICTS, Level.DISTRICTS, Level.GRID, Level.GRID, Level.POINTS, Level.POINTS]
    assert cell_degrees(12.7) == cell_degrees(12) == 360 / 4096 / 4


def test_aggregates_count_sum_and_break_down_by_category(places: Places) -> None:
    def site(key: str, lon: float, occupied: int, status: str) -> Item:
        return Item("sites", key, "002", lon, 21.025, {"capacity": 10, "occupied": occupied,
                                                       "status": status})

    items = [site("a", 105.8401, 3, "full"), site("b", 105.8402, 5, "spacesAvailable"),
             site("c", 105.95, 1, "full")]
    summary = SPECS["parking"].summary
    [district] = aggregate(items, summary, Level.DISTRICTS, 10, places)
    assert district == {"key": "002", "count": 3, "lon": 105.8421, "lat": 21.0239,
                        "sums": {"capacity": 30, "occupied": 9},
                        "by": {"full": 2, "spacesAvailable": 1}}
    cells = aggregate(items, summary, Level.GRID, 13, places)
    assert sorted(c["count"] for c in cells) == [1, 2]


class _Socket:
    """A socket that takes frames at once while `ready`."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.ready_now = True

    def ready(self) -> bool:
        return self.ready_now

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)


def test_deltas_go_straight_out_only_when_nothing_is_ahead_of_them(places: Places) -> None:
    client = LiveClient(limit=8)
    socket = _Socket()
    client.writer = socket  # type: ignore[assignment]
    sub = _sub(client)

    def offer(seq: int) -> None:
        delta = _delta(seq, places, ("a", seq))
        client.offer_delta(sub, Shared(delta, delta.items, True))

    # Owed a snapshot (nothing sent yet): the delta waits behind it.
    offer(1)
    assert not socket.frames and len(client.outbox) == 1
    client.outbox.clear()
    sub.sent["parking"] = 1
    offer(2)
    assert [orjson.loads(f)["seq"] for f in socket.frames] == [2]
    assert orjson.loads(socket.frames[0])["sub"] == "p" and sub.sent["parking"] == 2
    # A backed-up socket: queued; and later deltas queue behind it, even once it drains.
    socket.ready_now = False
    offer(3)
    socket.ready_now = True
    offer(4)
    assert len(socket.frames) == 1
    assert [e.shared.delta.seq for e in client.outbox if isinstance(e, DeltaEntry)] == [3, 4]
    # While the sender works, nothing overtakes it either.
    client.outbox.clear()
    client.busy = True
    offer(5)
    assert len(socket.frames) == 1 and len(client.outbox) == 1
