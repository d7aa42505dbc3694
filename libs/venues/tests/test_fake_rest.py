"""The fake Binance's REST API, through the real ``ccxt.async_support.binance``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest
from jules_venues.fake import Market
from jules_venues.fake.feed import Trade

from .test_fake_support import new_market, recorded, recorded_stream, rest_client, started_fake


def _played_trades(count: int) -> tuple[list[dict[str, Any]], Market]:
    """A market with the first ``count`` recorded trades applied, and those trades."""
    market = new_market()
    seen = 0

    def is_trade(event: object) -> bool:
        nonlocal seen
        seen += isinstance(event, Trade)
        return seen >= count

    market.step_until(is_trade)
    return recorded_stream("trade")[:count], market


async def test_load_markets_gives_btc_usdt_with_tick_lot_and_limits() -> None:
    async with started_fake() as fake, rest_client(fake) as exchange:
        markets = await exchange.load_markets()
    assert list(markets) == ["BTC/USDT"]
    market = markets["BTC/USDT"]
    assert (market["id"], market["base"], market["quote"], market["spot"]) == (
        "BTCUSDT",
        "BTC",
        "USDT",
        True,
    )
    assert market["precision"]["price"] == 0.01
    assert market["precision"]["amount"] == 0.00001
    assert market["limits"]["amount"] == {"min": 0.00001, "max": 9000.0}
    assert market["limits"]["cost"]["min"] == 5.0
    assert market["limits"]["price"] == {"min": 0.01, "max": 1_000_000.0}


async def test_fetch_order_book_is_the_fakes_book_and_chains_with_the_diffs() -> None:
    market = new_market()
    market.step(500)
    book = market.state("BTCUSDT").book
    assert book is not None
    async with started_fake(market) as fake, rest_client(fake) as exchange:
        fetched = await exchange.fetch_order_book("BTC/USDT", limit=50)
    bids, asks = book.levels(50)
    assert fetched["nonce"] == book.last_update_id
    assert fetched["bids"] == [[float(p), float(q)] for p, q in bids]
    assert fetched["asks"] == [[float(p), float(q)] for p, q in asks]
    assert fetched["bids"][0][0] < fetched["asks"][0][0]
    # the recorded diff stream continues from the snapshot's update id
    later = [d for d in recorded_stream("depth@100ms") if d["u"] > book.last_update_id]
    assert later[0]["U"] == book.last_update_id + 1


async def test_fetch_trades_returns_the_recorded_trades() -> None:
    trades, market = _played_trades(300)
    async with started_fake(market) as fake, rest_client(fake) as exchange:
        fetched = await exchange.fetch_trades(
            "BTC/USDT", limit=100, params={"fetchTradesMethod": "publicGetTrades"}
        )
        aggregated = await exchange.fetch_trades("BTC/USDT", since=trades[0]["T"], limit=1000)
    assert [t["id"] for t in fetched] == [str(t["t"]) for t in trades[-100:]]
    assert [t["price"] for t in fetched] == [float(t["p"]) for t in trades[-100:]]
    assert [t["side"] for t in fetched] == ["sell" if t["m"] else "buy" for t in trades[-100:]]
    # aggregate trades: the same volume, at the same prices and times
    volume = sum((Decimal(t["q"]) for t in trades), Decimal(0))
    assert sum(Decimal(str(t["amount"])) for t in aggregated) == volume
    assert {(t["timestamp"], t["price"]) for t in aggregated} == {
        (t["T"], float(t["p"])) for t in trades
    }


async def test_fetch_ohlcv_returns_bars_of_the_recorded_trades() -> None:
    trades, market = _played_trades(4000)
    expected: dict[int, list[Decimal]] = {}
    for trade in trades:
        start = trade["T"] - trade["T"] % 60_000
        price, qty = Decimal(trade["p"]), Decimal(trade["q"])
        bar = expected.setdefault(start, [price, price, price, price, Decimal(0)])
        bar[1], bar[2], bar[3], bar[4] = max(bar[1], price), min(bar[2], price), price, bar[4] + qty
    async with started_fake(market) as fake, rest_client(fake) as exchange:
        bars = await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=100)
        since = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=min(expected) + 60_000)
    assert len(expected) >= 3
    assert bars == [[start, *map(float, values)] for start, values in sorted(expected.items())]
    assert since == bars[1:]


async def test_tickers_time_and_ping() -> None:
    market = new_market()
    market.step(2000)
    played = recorded()[:2001]  # the snapshot and the 2,000 events after it
    quote = next(m["data"] for _, m in reversed(played) if m.get("stream") == "btcusdt@bookTicker")
    async with started_fake(market) as fake, rest_client(fake) as exchange:
        bid_ask = (await exchange.fetch_bids_asks(["BTC/USDT"]))["BTC/USDT"]
        ticker = await exchange.fetch_ticker("BTC/USDT")
        server_time = await exchange.fetch_time()
        await exchange.publicGetPing()
        status = await exchange.fetch_status()
    assert (bid_ask["bid"], bid_ask["ask"]) == (float(quote["b"]), float(quote["a"]))
    assert (bid_ask["bidVolume"], bid_ask["askVolume"]) == (float(quote["B"]), float(quote["A"]))
    state = market.state("BTCUSDT")
    assert ticker["last"] == float(state.trades[-1].price)
    assert ticker["open"] == float(state.trades[0].price)
    assert ticker["info"]["count"] == len(state.trades)
    assert server_time == market.now_ms
    assert status["status"] == "ok"


async def test_binance_errors_for_bad_requests() -> None:
    async with started_fake() as fake, rest_client(fake) as exchange:
        with pytest.raises(ccxt_async.BadSymbol):
            await exchange.publicGetDepth({"symbol": "NOPEUSDT"})
        with pytest.raises(ccxt_async.BadRequest):
            await exchange.publicGetKlines({"symbol": "BTCUSDT", "interval": "7m"})
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{fake.urls.http}/api/v3/depth") as response:
                assert response.status == 400
                assert (await response.json())["code"] == -1102
            async with session.get(f"{fake.urls.http}/fapi/v1/exchangeInfo") as response:
                assert response.status == 404
