"""``jules-market-data run`` live against the fake Binance exchange (in the test process) and
the real broker: the recorded trades and 1-minute bars are published; a 10 s websocket drop
is backfilled with nothing doubled; a book gap triggers a resync and books go on; 429s and
latency are survived, with the backoff and the feed health reported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jules_contracts import AggressorSide, Bar, Trade, decode_event
from jules_contracts.base import derive_event_id
from jules_contracts.topics import MD_BARS, MD_BOOK, MD_TRADES
from jules_market_data.engine import BarAggregator, BarAggregatorConfig
from jules_venues.fake import FakeExchange, FaultUpdate, Market
from jules_venues.fake.faults import DropConnections, RateLimit

from .bus_helpers import read_topic
from .live_market_data import INSTRUMENT, live_market_data, metric, metrics, play_until
from .service_process import ServiceProcess


def expected_trades(market: Market) -> list[Trade]:
    """The trades the fake applied, as the Binance adapter gives them."""
    return [
        Trade(
            event_id=derive_event_id("md.trade", INSTRUMENT, "trade_id", str(t.trade_id)),
            event_time=t.time_ms * 1_000_000,
            source="venue:binance",
            instrument_id=INSTRUMENT,
            price=float(t.price),
            size=float(t.qty),
            aggressor_side=AggressorSide.SELLER if t.buyer_maker else AggressorSide.BUYER,
            trade_id=str(t.trade_id),
        )
        for t in market.state("BTCUSDT").trades
    ]


def expected_bars(trades: list[Trade]) -> list[Bar]:
    aggregator = BarAggregator(BarAggregatorConfig(interval="1m"))
    return [bar for trade in trades for bar in aggregator.on_event(trade)]


@asynccontextmanager
async def live_service(
    kafka: Any, tmp_path: Path, streams: list[str], faults: FaultUpdate | None = None
) -> AsyncIterator[tuple[FakeExchange, ServiceProcess, str]]:
    """The fake exchange (paused) and ``jules-market-data run`` subscribed to it."""
    async with live_market_data(kafka, tmp_path, streams, faults) as running:
        yield running


async def published(kafka: Any, topic: str, count: int) -> list[Any]:
    records = await read_topic(kafka.bootstrap, topic, count, timeout_s=30)
    return [decode_event(record.value) for record in records]


async def test_live_service_publishes_the_recorded_trades_and_bars(kafka, tmp_path):
    async with live_service(kafka, tmp_path, ["trades"]) as (fake, _, scope):
        await play_until(fake.market, 120)
        trades = expected_trades(fake.market)
        bars = expected_bars(trades)
        got_trades = await published(kafka, MD_TRADES.scoped(scope), len(trades))
        got_bars = await published(kafka, MD_BARS.scoped(scope), len(bars))
    assert got_trades == trades
    assert got_bars == bars
    assert len(bars) >= 1


async def test_a_ten_second_websocket_drop_is_backfilled_and_nothing_is_doubled(kafka, tmp_path):
    async with live_service(kafka, tmp_path, ["trades"]) as (fake, service, scope):
        market = fake.market
        await play_until(market, 40, speed=20)
        before = len(expected_trades(market))
        await published(kafka, MD_TRADES.scoped(scope), before)
        await fake.set_faults(FaultUpdate(drop_connections=DropConnections(refuse_seconds=10)))
        await play_until(market, 280, speed=20)  # ~12 s: the drop, then the stream again
        trades = expected_trades(market)
        got_trades = await published(kafka, MD_TRADES.scoped(scope), len(trades))
        await asyncio.sleep(1.0)  # a repeat would come now
        got_trades = await published(kafka, MD_TRADES.scoped(scope), len(trades))
        bars = expected_bars(trades)
        got_bars = await published(kafka, MD_BARS.scoped(scope), len(bars))
        text = await metrics(service)
    assert [t.event_id for t in got_trades] == [t.event_id for t in trades]  # none doubled
    assert got_trades == trades
    assert got_bars == bars  # as without the drop
    assert metric(text, "jules_market_data_feed_reconnects_total", stream="trades") >= 1
    assert metric(text, "jules_market_data_backfilled_trades_total") > 0


async def test_a_book_gap_triggers_a_resync_and_books_continue(kafka, tmp_path):
    async with live_service(kafka, tmp_path, ["books"]) as (fake, service, scope):
        market = fake.market
        await play_until(market, 10, speed=10)
        await fake.set_faults(FaultUpdate(depth_gap=3))
        await play_until(market, 30, speed=10)

        async def resyncs() -> float:
            return metric(await metrics(service), "jules_market_data_book_resyncs_total")

        for _ in range(100):
            if await resyncs() >= 1:
                break
            await asyncio.sleep(0.1)
        assert await resyncs() >= 1
        count = len(await published(kafka, MD_BOOK.scoped(scope), 1))
        await play_until(market, 50, speed=10)
        books = await published(kafka, MD_BOOK.scoped(scope), count + 10)
    sequences = [book.sequence for book in books]
    assert sequences == sorted(sequences)
    assert len({book.event_id for book in books}) == len(books)
    assert "book resynchronised from a snapshot" in service.log.read_text()


async def test_429s_and_latency_are_survived_with_backoff_and_health_reported(kafka, tmp_path):
    faults = FaultUpdate(latency_ms=100, rate_limit=RateLimit(count=3, retry_after=1))
    async with live_service(kafka, tmp_path, ["trades", "quotes"], faults) as (fake, svc, scope):
        await play_until(fake.market, 60)
        trades = expected_trades(fake.market)
        got_trades = await published(kafka, MD_TRADES.scoped(scope), len(trades))
        text = await metrics(svc)
        injected = fake.faults.describe()
    assert got_trades == trades
    retries = metric(text, "jules_market_data_venue_retries_total")
    assert retries >= 1
    assert metric(text, "jules_market_data_venue_backoff_seconds_total") >= 1.0  # Retry-After
    labels = {"instrument": INSTRUMENT, "stream": "trades"}
    assert metric(text, "jules_market_data_feed_connected", **labels) == 1
    assert metric(text, "jules_market_data_feed_stale", **labels) == 0
    assert "jules_market_data_feed_message_age_seconds" in text
    assert injected is not None
