"""The /ws/live wire protocol: client messages, error codes, and server frames.

Every message is a JSON object with a `type`. docs/live-protocol.md is the reference; this
module is its executable form. A malformed or unknown client message raises ProtocolError,
which the connection answers with an `error` frame and survives.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson

from feeds.clock import Clock

PROTOCOL = 2
# Close code sent to a client that stayed behind too long (application range 4000-4999).
CLOSE_TOO_SLOW = 4008
MAX_ID = 64


class Code(StrEnum):
    """Error codes of `error` frames."""

    BAD_JSON = "bad_json"
    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_STREAM = "unknown_stream"
    BAD_FILTER = "bad_filter"
    UNKNOWN_SUBSCRIPTION = "unknown_subscription"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    TOO_LARGE = "too_large"


class ProtocolError(Exception):
    """A client message the server refuses, with the code and reason sent back."""

    def __init__(self, code: Code, reason: str, sub: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.sub = sub


def decode(text: str | bytes, max_bytes: int) -> tuple[str, dict[str, Any]]:
    """A client message's type and fields (ProtocolError when it is not a typed object)."""
    if len(text) > max_bytes:
        raise ProtocolError(Code.TOO_LARGE, f"messages are limited to {max_bytes} bytes")
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise ProtocolError(Code.BAD_JSON, f"not JSON: {err}") from err
    if not isinstance(message, dict):
        raise ProtocolError(Code.BAD_MESSAGE, "a message must be a JSON object")
    kind = message.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(Code.BAD_MESSAGE, "a message must have a string `type`")
    return kind, message


def subscription_id(message: dict[str, Any], required: bool = True) -> str:
    """The `id` naming a subscription (a short string)."""
    value = message.get("id")
    if value is None and not required:
        return "default"
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        raise ProtocolError(Code.BAD_MESSAGE,
                            f"`id` must be a string of 1 to {MAX_ID} characters")
    return value


def seqs(value: Any, sub: str | None) -> dict[str, int]:
    """A `resume` map of stream to the last sequence number the client holds."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in value.items()
    ):
        raise ProtocolError(Code.BAD_MESSAGE,
                            "resume must map stream names to sequence numbers (integers >= 0)",
                            sub)
    return dict(value)


def now(clock: Clock) -> str:
    """The city's time by `clock`, as ISO 8601."""
    return clock.now().isoformat()


def frame(kind: str, **fields: Any) -> bytes:
    """A server frame of `kind` with `fields`."""
    return orjson.dumps({"type": kind, **fields})


def error(code: Code, reason: str, sub: str | None = None) -> bytes:
    """An `error` frame (with the subscription it concerns, if any)."""
    fields: dict[str, Any] = {"code": code.value, "reason": reason}
    if sub is not None:
        fields["sub"] = sub
    return frame("error", **fields)


def head(kind: str, sub: str) -> bytes:
    """The opening of a shared frame, up to and including its subscription id."""
    return b'{"type":"' + kind.encode() + b'","sub":' + orjson.dumps(sub)


def tail(stream: str, seq: int, body: bytes, **fields: Any) -> bytes:
    """The rest of a frame after `head`: stream, seq, extra fields, then the body's fields.

    `body` is a JSON object as published; its opening brace is dropped and its fields spliced
    in, so a delta that passes whole is never decoded and re-encoded.
    """
    extra = b"".join(b"," + orjson.dumps(k) + b":" + orjson.dumps(v) for k, v in fields.items())
    opening = b',"stream":' + orjson.dumps(stream) + b',"seq":' + str(seq).encode() + extra
    inner = body[1:].lstrip()
    return opening + (b"}" if inner.startswith(b"}") else b"," + inner)
