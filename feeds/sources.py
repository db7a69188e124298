"""Where payloads come from besides the simulators: HTTP polling and MQTT subscriptions."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiomqtt
import httpx

from feeds.base import FeedError
from feeds.runner import FeedRunner

logger = logging.getLogger(__name__)

MAX_PAYLOAD = 16 * 1024 * 1024


class NotOnTheBus(RuntimeError):
    """A message could not be handed to the bus; it stays unacknowledged at the broker."""


def http_poll(
    url: str, timeout_s: float = 10.0, headers: dict[str, str] | None = None
) -> Callable[[], Awaitable[bytes]]:
    """A source that GETs `url` on every call (a GTFS-Realtime or JSON endpoint)."""
    client = httpx.AsyncClient(timeout=timeout_s, headers=headers, follow_redirects=True)

    async def fetch() -> bytes:
        try:
            response = await client.get(url)
        except httpx.HTTPError as err:
            raise FeedError(f"GET {url} failed: {err}") from err
        if response.status_code != 200:
            raise FeedError(f"GET {url} answered {response.status_code}")
        if len(response.content) > MAX_PAYLOAD:
            raise FeedError(f"GET {url} returned {len(response.content)} bytes, over the limit")
        return response.content

    return fetch


def client_id(feed: str, topic: str) -> str:
    """The broker's name for a feed's subscription: stable across restarts (the broker keeps
    the session's unacknowledged messages under it) and distinct per topic, so that two
    deployments sharing a broker do not take over each other's session."""
    return f"ioc-{feed}-{hashlib.sha256(topic.encode()).hexdigest()[:12]}"


async def mqtt_listen(runner: FeedRunner, url: str, topic: str, stop: asyncio.Event) -> None:
    """Subscribe to `topic` and ingest every message as one payload, reconnecting with backoff.

    The subscription is QoS 1 with a persistent session, so messages published while the
    worker restarts are delivered when it comes back. A message is acknowledged to the broker
    only once it is on the bus: when the bus cannot take it (Redis down), the connection is
    dropped unacknowledged and the broker delivers it again after the reconnection.
    """
    parts = urlsplit(url)
    while not stop.is_set():
        try:
            client = aiomqtt.Client(
                parts.hostname or "127.0.0.1", parts.port or 1883,
                username=parts.username, password=parts.password,
                identifier=client_id(runner.feed.name, topic), clean_session=False,
            )
            # aiomqtt 2.5 has no option for it: paho's client acknowledges on our call only.
            client._client.manual_ack_set(True)
            async with client:
                await client.subscribe(topic, qos=1)
                runner.succeeded()
                await runner.report()
                await _consume(runner, client, stop)
        except (aiomqtt.MqttError, NotOnTheBus) as err:
            runner.failed(err)
            await runner.report()
            try:
                await asyncio.wait_for(stop.wait(), timeout=runner.delay())
            except TimeoutError:
                pass


async def _consume(runner: FeedRunner, client: aiomqtt.Client, stop: asyncio.Event) -> None:
    messages = client.messages.__aiter__()
    while not stop.is_set():
        waiter = asyncio.ensure_future(messages.__anext__())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            return
        stopper.cancel()
        message = waiter.result()
        payload = message.payload
        if isinstance(payload, bytes | bytearray):
            try:
                await runner.ingest(bytes(payload))
            except Exception as err:
                # Parsers refuse bad payloads without raising, so this is the bus failing.
                raise NotOnTheBus(f"message not accepted, left for redelivery: {err}") from err
            runner.succeeded()
            await runner.report()
        client._client.ack(message.mid, message.qos)
