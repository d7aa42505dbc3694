"""The service's file replay (``FileReplay``) on the in-memory bus: it waits for the broker,
publishes every accepted event, counts what it publishes and refuses, and stops when told."""

from __future__ import annotations

import asyncio

from jules_contracts import Bar, decode_event
from jules_market_data import load
from jules_market_data.config import MarketDataSettings, ReplaySource
from jules_market_data.handlers import FileReplay
from jules_runtime.bus import InMemoryBus
from jules_runtime.service import ServiceMetrics
from prometheus_client import CollectorRegistry

from .data import BITSTAMP, COINBASE  # type: ignore[import-not-found]

ETH_BARS = COINBASE / "minute" / "ethusd" / "20180405_trade.zip"
STATE = "jules_market_data_replay_state"


def file_replay(settings: MarketDataSettings) -> tuple[FileReplay, InMemoryBus, CollectorRegistry]:
    registry = CollectorRegistry()
    bus = InMemoryBus("market-data")
    metrics = ServiceMetrics("market-data", registry)
    return FileReplay(settings, bus, metrics, registry), bus, registry


def state(registry: CollectorRegistry) -> str:
    states = ("idle", "running", "finished", "failed", "stopped")
    [current] = [s for s in states if registry.get_sample_value(STATE, {STATE: s})]
    return current


async def test_the_files_are_replayed_and_what_is_published_and_refused_is_counted() -> None:
    settings = MarketDataSettings(files=(ReplaySource(path=ETH_BARS), ReplaySource(path=BITSTAMP)))
    replay, bus, registry = file_replay(settings)

    replay.broker_connected()
    await replay.run()

    bars = [decode_event(r.value) for r in bus.records("md.bars.v1")]
    trades = [decode_event(r.value) for r in bus.records("md.trades.v1")]
    assert bars == [e for e in load(ETH_BARS) if isinstance(e, Bar)]
    assert len(trades) == 9998
    value = registry.get_sample_value
    assert value("jules_market_data_events_out_total", {"event_type": "md.bar"}) == 1440
    assert value("jules_market_data_events_out_total", {"event_type": "md.trade"}) == 9998
    assert value("jules_market_data_rejected_rows_total", {"reason": "ZERO_SIZE"}) == 1
    last = max(event.event_time for event in [*bars, *trades])
    assert value("jules_market_data_replay_event_time_seconds") == last / 1e9
    assert state(registry) == "finished"


async def test_the_replay_waits_for_the_broker_and_stopping_cancels_it() -> None:
    replay, bus, registry = file_replay(MarketDataSettings(files=(ReplaySource(path=ETH_BARS),)))

    await replay.start()
    await asyncio.sleep(0.05)
    assert bus.records("md.bars.v1") == []
    await replay.stop()

    replay.broker_connected()
    await asyncio.sleep(0.05)
    assert bus.records("md.bars.v1") == []  # cancelled: it never started publishing
    assert state(registry) == "idle"


async def test_stopping_a_running_replay_cancels_it_and_says_so() -> None:
    settings = MarketDataSettings(files=(ReplaySource(path=ETH_BARS),), speed=1.0)  # a day long
    replay, bus, registry = file_replay(settings)
    replay.broker_connected()

    await replay.start()
    await asyncio.sleep(0.2)
    assert state(registry) == "running"
    await replay.stop()

    assert state(registry) == "stopped"
    assert len(bus.records("md.bars.v1")) < 1440


async def test_without_files_nothing_is_replayed_and_the_broker_is_not_awaited() -> None:
    replay, bus, registry = file_replay(MarketDataSettings())

    await asyncio.wait_for(replay.run(), timeout=1)

    assert bus.records("md.bars.v1") == []
    assert state(registry) == "idle"
