"""Signal events go through the bus into storage; a fault shows as a unit status change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.runner import FeedRunner
from feeds.signals.faults import Fault
from feeds.signals.feed import SignalsFeed, locations_from_features
from feeds.signals.simulator import SignalSimulator
from ioc.storage.signals import district_signals, signal_units
from tests.clock import TEST_CLOCK
from tests.conftest import shared_file
from tests.ioc.conftest import PACK, Ingest

MONDAY_8_HANOI = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


async def test_a_signal_put_into_flash_is_reported_flash_and_the_rest_normal(
    ingest: Ingest,
) -> None:
    bus, pool, index = ingest.bus, ingest.pool, ingest.index
    features = PACK.asset_features("signals")
    clock = [MONDAY_8_HANOI]
    simulator = SignalSimulator(features, timezone=PACK.timezone, now=lambda: clock[0])
    feed = SignalsFeed(simulator, zone=PACK.timezone, locations=locations_from_features(features))
    runner = FeedRunner(feed, bus, index.assign, clock=TEST_CLOCK)
    victim = features[0]["properties"]["id"]
    simulator.inject(Fault(victim, "flash", MONDAY_8_HANOI + timedelta(minutes=2),
                           MONDAY_8_HANOI + timedelta(hours=1)))
    for _ in range(4):
        clock[0] += timedelta(minutes=1)
        await runner.run_once()
    writer = await ingest.store(["signals"])
    assert writer.stats.dead == 0 and runner.health.rejected == 0
    assert writer.stats.stored > 10_000  # four minutes of 41 intersections at the morning peak
    async with pool.connection() as conn:
        units = {u["id"]: u for u in await signal_units(conn)}
        districts = await district_signals(conn)
    assert len(units) == len(features)
    assert units[victim]["state"] == "flash"
    assert units[victim]["reason"]
    assert sum(u["state"] == "normal" for u in units.values()) == len(features) - 1
    assert sum(d["signals"] for d in districts.values()) == len(features)


async def test_the_real_atspm_sample_is_stored_once_even_when_imported_twice(
    ingest: Ingest,
) -> None:
    bus, pool, index = ingest.bus, ingest.pool, ingest.index
    payload = shared_file("signals/atspm-sample/sample_raw_data.csv").read_bytes()

    async def source() -> bytes:
        return payload

    # The sample's signal is not in the Hanoi pack: no locations, so nothing is geo-tagged.
    runner = FeedRunner(SignalsFeed(source, fmt="csv"), bus, index.assign, clock=TEST_CLOCK)
    await runner.run_once()
    await runner.run_once()
    writer = await ingest.store(["signals"])
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT count(*), min(time), max(time) FROM signal_events")).fetchone()
    assert row is not None
    count, first, last = row
    # 37,152 rows, of which 762 carry vendor codes above 255 and are rejected with a reason.
    assert count == 36_390
    assert writer.stats.duplicates == 36_390
    assert runner.health.rejected == 2 * 762
    assert first.astimezone(UTC) == datetime(2024, 4, 15, 5, 0, tzinfo=UTC)
    assert last - first <= timedelta(hours=2)
