"""Building the situations engine from the settings and the city pack."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from feeds.clock import Clock
from geo import AreaIndex, CityPack
from ioc.bus import RedisBus
from ioc.settings import Settings
from ioc.situations.engine import SituationEngine
from ioc.situations.rules import RuleBook, load_rulebook


def rulebook(settings: Settings) -> RuleBook:
    """The rules and procedures in force: the configured files, else the city pack's."""
    config = settings.situations
    return load_rulebook(config.rules_file or settings.city_pack / "rules.json",
                         config.procedures_file or settings.city_pack / "procedures.json")


def situation_engine(settings: Settings, pool: AsyncConnectionPool, bus: RedisBus,
                     pack: CityPack, index: AreaIndex, clock: Clock | None = None
                     ) -> SituationEngine:
    """The engine of a worker process, watching the enabled feeds, on the process's clock
    (one is built from the settings when none is given)."""
    config = settings.situations
    return SituationEngine(
        pool, bus, pack, rulebook(settings), index.assign, settings.feeds,
        consumer=config.consumer, batch_entries=config.batch_entries, block_ms=config.block_ms,
        tick_s=config.tick_s, measure_every_s=config.measure_every_s,
        clock=clock or settings.clock.build())
