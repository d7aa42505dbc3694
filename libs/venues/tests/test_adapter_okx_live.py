"""The OKX adapter against the local fake exchange speaking OKX over the recorded feed.

Both dialects replay the same recording, so the OKX adapter must give the trades, quotes
and bars the Binance adapter gives, under its own instrument id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from jules_venues import BinanceAdapter, OkxAdapter, VenueAdapter, VenueConfig, adapter_for, fake
from jules_venues.fake import FaultUpdate
from jules_venues.fake.feed import DepthDiff

from .test_fake_support import SPOT_FILE, recorded_stream, until

OKX = "BTCUSDT.OKX"
BINANCE = "BTCUSDT.BINANCE"


@asynccontextmanager
async def venue(dialect: str, instrument: str) -> AsyncIterator[tuple[VenueAdapter, Any]]:
    """An adapter of ``dialect`` against its own fake over a paused market."""
    market = fake.Market(fake.load_feed((SPOT_FILE,)), speed=None)
    async with fake.FakeExchange(market, dialect=dialect) as exchange:
        urls = exchange.ccxt_config()["urls"]
        config = VenueConfig(
            name=dialect, instruments={instrument: "BTC/USDT"}, urls=urls, book_depth=5
        )
        adapter_class = OkxAdapter if dialect == "okx" else BinanceAdapter
        async with adapter_class(config) as adapter:
            yield adapter, exchange


async def collect(stream: AsyncIterator[Any], count: int) -> list[Any]:
    items: list[Any] = []
    async for item in stream:
        items.append(item)
        if len(items) == count:
            break
    return items


async def stepped(
    exchange: Any, channel: str, stream: AsyncIterator[Any], count: int, step: int | None = None
) -> list[Any]:
    """The first ``count`` items of ``stream``, stepping the fake's market once subscribed.

    The market moves ``step`` events at a time, or one book diff at a time if ``None``.
    """
    task = asyncio.ensure_future(collect(stream, count))
    await until(lambda: exchange.context.subscriptions[channel] > 0)
    while not task.done():
        if step is None:
            exchange.market.step_until(lambda e: isinstance(e, DepthDiff))
        else:
            exchange.market.step(step)
        await asyncio.sleep(0.01)
    return task.result()


async def test_okx_adapter_gives_the_binance_adapters_trades_quotes_and_bars() -> None:
    async with venue("okx", OKX) as (okx, okx_fake), venue("binance", BINANCE) as (bnb, bnb_fake):
        okx_spec = (await okx.instruments())[OKX]
        assert (okx_spec.tick_size, okx_spec.lot_size, okx_spec.min_quantity) == (
            0.01,
            1e-08,
            1e-05,
        )
        assert okx_spec.quote_currency == "USDT"
        okx_trades = await stepped(okx_fake, "trades:BTC-USDT", okx.watch_trades(OKX), 30, 20)
        bnb_trades = await stepped(bnb_fake, "btcusdt@trade", bnb.watch_trades(BINANCE), 30, 20)
        okx_quotes = await stepped(okx_fake, "bbo-tbt:BTC-USDT", okx.watch_quotes(OKX), 10, 5)
        bnb_quotes = await stepped(bnb_fake, "btcusdt@bookTicker", bnb.watch_quotes(BINANCE), 10, 5)
        okx_fake.market.step(40_000)
        bnb_fake.market.step(40_000)
        since = okx_trades[0].event_time - 120 * 10**9
        end = okx_trades[0].event_time + 300 * 10**9
        okx_bars = await okx.fetch_ohlcv(OKX, "1m", since, end)
        bnb_bars = await bnb.fetch_ohlcv(BINANCE, "1m", since, end)

    def trade_view(t: Any) -> tuple[Any, ...]:
        return (t.trade_id, t.price, t.size, t.event_time, t.aggressor_side)

    assert [trade_view(t) for t in okx_trades] == [trade_view(t) for t in bnb_trades]
    assert [t.trade_id for t in okx_trades] == [str(t["t"]) for t in recorded_stream("trade")[:30]]
    assert {t.instrument_id for t in okx_trades} == {OKX}
    assert {t.event_id for t in okx_trades}.isdisjoint(t.event_id for t in bnb_trades)

    def quote_view(q: Any) -> tuple[float, ...]:
        return (q.bid_price, q.bid_size, q.ask_price, q.ask_size)

    recorded_quotes = {
        (float(q["b"]), float(q["B"]), float(q["a"]), float(q["A"]))
        for q in recorded_stream("bookTicker")
    }
    assert {quote_view(q) for q in okx_quotes} <= recorded_quotes
    assert {quote_view(q) for q in bnb_quotes} <= recorded_quotes
    assert len({q.event_id for q in okx_quotes}) == len(okx_quotes)  # one id per seqId

    def bar_view(b: Any) -> tuple[Any, ...]:
        return (b.start_time, b.open, b.high, b.low, b.close, b.volume)

    assert len(okx_bars) >= 3
    assert [bar_view(b) for b in okx_bars] == [bar_view(b) for b in bnb_bars]


async def test_okx_adapter_backfills_the_streamed_trades_and_resyncs_books() -> None:
    async with venue("okx", OKX) as (okx, okx_fake):
        market = okx_fake.market
        streamed = await stepped(okx_fake, "trades:BTC-USDT", okx.watch_trades(OKX), 250, 50)
        since, until_ns = streamed[0].event_time, streamed[-1].event_time + 1
        backfilled = await okx.fetch_trades(OKX, since, until_ns)
        applied = list(market.state("BTCUSDT").trades)
        books = await stepped(okx_fake, "books:BTC-USDT", okx.watch_book(OKX), 2, 10)
        okx_fake.faults.apply(FaultUpdate(depth_gap=1))
        gap = okx.watch_book(OKX)
        resynced = await stepped(okx_fake, "books:BTC-USDT", gap, 4)

    def trade_view(t: Any) -> tuple[Any, ...]:
        return (t.event_id, t.trade_id, t.price, t.size, t.event_time, t.aggressor_side)

    # every trade the fake printed in the window, the streamed ones as they were streamed
    printed = [str(t.trade_id) for t in applied if since <= t.time_ms * 10**6 < until_ns]
    assert [t.trade_id for t in backfilled] == printed
    by_id = {t.trade_id: trade_view(t) for t in backfilled}
    assert [by_id[t.trade_id] for t in streamed] == [trade_view(t) for t in streamed]
    assert len(backfilled) > 100  # several pages of market/history-trades
    assert all(len(b.bids) == 5 and len(b.asks) == 5 for b in books + resynced)
    assert okx.book_resyncs == {OKX: 1}
    assert [b.sequence for b in resynced] == sorted(b.sequence for b in resynced)


def test_okx_is_a_registered_venue() -> None:
    config = VenueConfig(name="okx", instruments={OKX: "BTC/USDT"})
    adapter = adapter_for(config)
    assert isinstance(adapter, OkxAdapter)
    assert adapter.rest.options["fetchMarkets"] == {"types": ["spot"]}
