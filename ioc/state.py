"""The resources an API process opens in its lifespan and hands to routes."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from feeds.clock import Clock
from feeds.runner import FeedRunner
from geo import AreaIndex, BoundaryLayer, CityPack
from ioc.auth.oidc import OidcVerifier
from ioc.bus import RedisBus
from ioc.layers import LayerSet
from ioc.live.hub import LiveHub
from ioc.settings import Settings
from ioc.storage.migrate import Mode


@dataclass(slots=True)
class AppState:
    """Everything a request may need, built once per process."""

    settings: Settings
    pack: CityPack
    layer: BoundaryLayer
    index: AreaIndex
    pool: AsyncConnectionPool
    bus: RedisBus
    hub: LiveHub
    mode: Mode
    runners: dict[str, FeedRunner]
    layers: LayerSet
    oidc: OidcVerifier | None
    # The city's one clock: every "now" a route reads.
    clock: Clock
