"""The Binance adapter against the local fake exchange replaying the recorded Binance feed."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

from jules_venues import BinanceAdapter, VenueConfig, fake

from .test_fake_support import SPOT_FILE

RECORDING = SPOT_FILE
INSTRUMENT = "BTCUSDT.BINANCE"


def recorded_trades() -> dict[str, dict[str, Any]]:
    with gzip.open(RECORDING, "rt") as lines:
        messages = (json.loads(line.split(" ", 1)[1]) for line in lines)
        return {
            str(m["data"]["t"]): m["data"] for m in messages if m.get("stream") == "btcusdt@trade"
        }


async def first(stream: Any, count: int) -> list[Any]:
    items: list[Any] = []

    async def gather() -> None:
        async for item in stream:
            items.append(item)
            if len(items) == count:
                return

    await asyncio.wait_for(gather(), timeout=60)
    return items


async def test_binance_adapter_against_the_fake() -> None:
    market = fake.Market(fake.load_feed((RECORDING,)), speed=10.0)
    async with fake.FakeExchange(market) as exchange:
        ccxt_config = exchange.ccxt_config()
        config = VenueConfig(
            name="binance",
            instruments={INSTRUMENT: "BTC/USDT"},
            urls=ccxt_config["urls"],
            options=ccxt_config.get("options", {}),
            book_depth=5,
        )
        async with BinanceAdapter(config) as venue:
            spec = (await venue.instruments())[INSTRUMENT]
            assert (spec.tick_size, spec.quote_currency) == (0.01, "USDT")
            trades = await first(venue.watch_trades(INSTRUMENT), 5)
            quotes = await first(venue.watch_quotes(INSTRUMENT), 5)
            books = await first(venue.watch_book(INSTRUMENT), 3)
            bars = await venue.fetch_ohlcv(INSTRUMENT, "1m", trades[0].event_time - 600 * 10**9)
    truth = recorded_trades()
    for trade in trades:
        raw = truth[trade.trade_id]
        assert (trade.price, trade.size) == (float(raw["p"]), float(raw["q"]))
        assert trade.event_time == raw["T"] * 1_000_000
    assert all(q.bid_price < q.ask_price for q in quotes)
    assert all(len(b.bids) == 5 and len(b.asks) == 5 for b in books)
    assert [b.sequence for b in books] == sorted(b.sequence for b in books)
    assert all(b.start_time < b.event_time for b in bars)
