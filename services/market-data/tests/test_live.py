"""The live feed (``LiveFeed``) on the in-memory bus against the fake Binance exchange in-process:
recorded trades and bars published once each, repeats dropped, a dropped websocket backfilled
over REST, and the session recorded as Parquet that the loaders read back with the same ids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jules_contracts import MARKET_HEARTBEAT_STREAM, AggressorSide, Bar, Trade, decode_event
from jules_contracts.base import derive_event_id
from jules_market_data import load
from jules_market_data.config import LiveSettings, MarketDataSettings
from jules_market_data.engine import BarAggregator, BarAggregatorConfig
from jules_market_data.live import LiveFeed
from jules_runtime.bus import InMemoryBus
from jules_runtime.service import ServiceMetrics
from jules_venues import VenueConfig
from jules_venues.fake import FakeExchange, FaultUpdate, Market, load_feed
from jules_venues.fake.faults import DropConnections
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from .data import HFT  # type: ignore[import-not-found]

SPOT_FILE = HFT / "spot" / "btcusdt_20240808.gz"
INSTRUMENT = "BTCUSDT.BINANCE"
SOURCE = "venue:binance"


def expected_trades(market: Market) -> list[Trade]:
    """The trades the market applied, as the adapter turns them into events."""
    return [
        Trade(
            event_id=derive_event_id("md.trade", INSTRUMENT, "trade_id", str(t.trade_id)),
            event_time=t.time_ms * 1_000_000,
            source=SOURCE,
            instrument_id=INSTRUMENT,
            price=float(t.price),
            size=float(t.qty),
            aggressor_side=AggressorSide.SELLER if t.buyer_maker else AggressorSide.BUYER,
            trade_id=str(t.trade_id),
        )
        for t in market.state("BTCUSDT").trades
    ]


def expected_bars(trades: list[Trade]) -> list[Bar]:
    """The closed 1-minute bars of the trades (the open one is not published)."""
    aggregator = BarAggregator(BarAggregatorConfig(interval="1m"))
    return [bar for trade in trades for bar in aggregator.on_event(trade)]


async def play(market: Market, seconds: float) -> None:
    """Apply the recorded events up to ``seconds`` after the first, a few at a time."""
    end = market.feed.events[0].recv_ns + seconds * 1e9
    while not market.finished and market.feed.events[market.position].recv_ns <= end:
        market.step(20)
        await asyncio.sleep(0.002)


async def until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


@asynccontextmanager
async def live_feed(
    tmp_path: Path, **live: Any
) -> AsyncIterator[tuple[LiveFeed, InMemoryBus, FakeExchange, CollectorRegistry]]:
    market = Market(load_feed((SPOT_FILE,)), speed=None)
    async with FakeExchange(market, ping_interval=5.0) as fake:
        ccxt = fake.ccxt_config()
        venue = VenueConfig(
            name="binance",
            instruments={INSTRUMENT: "BTC/USDT"},
            urls=ccxt["urls"],
            options=ccxt.get("options", {}),
            api_key=SecretStr("any-key"),  # the fake's historicalTrades takes any key
            rate_limit_ms=0,
        )
        settings = MarketDataSettings(
            venues=(venue,),
            live=LiveSettings(
                streams=("trades",),
                backoff_min_s=0.05,
                backoff_max_s=0.2,
                record_dir=tmp_path,
                **live,
            ),
        )
        registry = CollectorRegistry()
        bus = InMemoryBus("market-data")
        feed = LiveFeed(settings, bus, ServiceMetrics("market-data", registry), registry)
        feed.broker_connected()
        await feed.start()
        try:
            await until(lambda: fake.context.subscriptions["btcusdt@trade"] > 0)
            yield feed, bus, fake, registry
        finally:
            await feed.stop()


def published(bus: InMemoryBus, topic: str) -> list[Any]:
    return [decode_event(record.value) for record in bus.records(topic)]


def recorded(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.glob(f"{INSTRUMENT}_{kind}_*.parquet"))


async def test_live_trades_and_bars_are_published_once_and_recorded(tmp_path: Path) -> None:
    async with live_feed(tmp_path) as (_feed, bus, fake, registry):
        await fake.set_faults(FaultUpdate(duplicate_trades=5))
        await play(fake.market, 150)
        want = expected_trades(fake.market)
        await until(lambda: len(bus.records("md.trades.v1")) >= len(want))
        await asyncio.sleep(0.2)

    trades = published(bus, "md.trades.v1")
    assert trades == want
    assert published(bus, "md.bars.v1") == expected_bars(want)
    value = registry.get_sample_value
    assert value("jules_market_data_live_duplicates_total", {"instrument": INSTRUMENT}) == 5
    labels = {"instrument": INSTRUMENT, "stream": "trades"}
    assert value("jules_market_data_feed_connected", labels) == 1
    assert value("jules_market_data_feed_reconnects_total", labels) == 0
    [trade_file] = recorded(tmp_path, "trades")
    reloaded = [e for e in load(trade_file) if isinstance(e, Trade)]
    assert [t.event_id for t in reloaded] == [t.event_id for t in want]
    [bar_file] = recorded(tmp_path, "1m_bars")
    bars = [e for e in load(bar_file) if isinstance(e, Bar)]
    assert [(b.start_time, b.close) for b in bars] == [
        (b.start_time, b.close) for b in expected_bars(want)
    ]


async def test_a_dropped_websocket_is_backfilled_over_rest_without_doubles(tmp_path: Path) -> None:
    async with live_feed(tmp_path) as (_feed, bus, fake, registry):
        market = fake.market
        await play(market, 60)
        await until(lambda: len(bus.records("md.trades.v1")) == len(expected_trades(market)))
        await fake.set_faults(FaultUpdate(drop_connections=DropConnections(refuse_seconds=0.5)))
        await play(market, 150)  # missed by the stream
        await asyncio.sleep(0.1)
        await play(market, 200)
        want = expected_trades(market)
        await until(lambda: published(bus, "md.trades.v1")[-1:] == want[-1:])
        await asyncio.sleep(0.3)

    trades = published(bus, "md.trades.v1")
    assert [t.event_id for t in trades] == [t.event_id for t in want]
    assert published(bus, "md.bars.v1") == expected_bars(want)
    value = registry.get_sample_value
    labels = {"instrument": INSTRUMENT, "stream": "trades"}
    assert (value("jules_market_data_feed_reconnects_total", labels) or 0) >= 1
    assert (value("jules_market_data_backfilled_trades_total", {"instrument": INSTRUMENT}) or 0) > 0


async def test_the_feed_publishes_the_market_time_as_a_heartbeat_while_silent(
    tmp_path: Path,
) -> None:
    def beats() -> list[Any]:
        return published(bus, "watermarks.v1")

    async with live_feed(tmp_path, heartbeat_s=0.05) as (_feed, bus, fake, _registry):
        await asyncio.sleep(0.2)
        before = beats()  # nothing published yet: no market time to tell
        await play(fake.market, 30)
        last = expected_trades(fake.market)[-1].event_time
        await until(lambda: any(b.watermark > last for b in beats()))
        passed = len(beats())
        await until(lambda: len(beats()) >= passed + 3)  # the streams are silent by now

    assert before == []
    assert {(b.service, b.stream) for b in beats()} == {("market-data", MARKET_HEARTBEAT_STREAM)}
    times = [b.watermark for b in beats()]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert times[-1] < last + 60 * 1_000_000_000  # the recording's time, not the wall clock
