"""Fan-out rules: a client that falls behind is owed a snapshot instead of a backlog."""

from __future__ import annotations

import asyncio

import orjson

from ioc.bus import LiveMessage, parse_live
from ioc.hub import LiveClient, delta_frame


def _message(seq: int, stream: str = "districts") -> LiveMessage:
    return LiveMessage(stream, seq, orjson.dumps({"districts": [{"code": "002"}]}))


async def test_a_full_queue_is_replaced_by_a_snapshot_owed() -> None:
    client = LiveClient({"districts", "parking"}, queue=asyncio.Queue(3))
    for seq in range(1, 4):
        client.offer(_message(seq))
    assert client.queue.qsize() == 3 and not client.stale
    client.offer(_message(4, "parking"))
    assert client.queue.empty()
    assert client.stale == {"districts", "parking"}
    assert client.overflows == 1


async def test_streams_a_client_does_not_follow_are_not_queued() -> None:
    client = LiveClient({"parking"})
    client.offer(_message(1, "districts"))
    assert client.queue.empty()


def test_a_delta_frame_is_json_with_type_stream_and_seq() -> None:
    frame = orjson.loads(delta_frame(_message(42)))
    assert frame == {"type": "delta", "stream": "districts", "seq": 42,
                     "districts": [{"code": "002"}]}


def test_live_messages_round_trip_through_their_wire_form() -> None:
    message = parse_live(b"parking|7|" + orjson.dumps({"sites": []}))
    assert (message.stream, message.seq) == ("parking", 7)
    assert orjson.loads(message.body) == {"sites": []}
