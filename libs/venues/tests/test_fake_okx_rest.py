"""The fake OKX's REST API, through the real ``ccxt.async_support.okx``."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest
from jules_venues.fake import FaultUpdate, Market, RateLimit
from jules_venues.fake.market import build_bars

from .test_fake_support import new_market, recorded, recorded_stream, rest_client, started_fake


async def test_load_markets_gives_btc_usdt_with_okx_precision_and_limits() -> None:
    async with started_fake(dialect="okx") as fake, rest_client(fake) as exchange:
        markets = await exchange.load_markets()
    assert list(markets) == ["BTC/USDT"]
    market = markets["BTC/USDT"]
    assert (market["id"], market["type"], market["spot"], market["active"]) == (
        "BTC-USDT",
        "spot",
        True,
        True,
    )
    assert market["precision"] == {"amount": 1e-08, "price": 0.01}
    assert market["limits"]["amount"]["min"] == 1e-05


def market_levels(market: Market, depth: int) -> tuple[list[list[float]], list[list[float]]]:
    """The replayed book's top levels, as ccxt gives them."""
    book = market.state("BTCUSDT").book
    assert book is not None
    bids, asks = book.levels(depth)
    return [[float(p), float(q)] for p, q in bids], [[float(p), float(q)] for p, q in asks]


async def test_order_book_is_the_replayed_book() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, rest_client(fake) as exchange:
        opening = await exchange.fetch_order_book("BTC/USDT", 20)
        assert ([lv[:2] for lv in opening["bids"]], [lv[:2] for lv in opening["asks"]]) == (
            market_levels(market, 20)
        )
        market.step(2_000)
        later = await exchange.fetch_order_book("BTC/USDT", 20)
        assert ([lv[:2] for lv in later["bids"]], [lv[:2] for lv in later["asks"]]) == (
            market_levels(market, 20)
        )
    snapshot = recorded()[0][1]
    assert opening["bids"][-1][0] == float(snapshot["bids"][19][0])
    assert later["bids"] != opening["bids"]


async def test_trades_and_history_trades_are_the_recorded_trades() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, rest_client(fake) as exchange:
        market.step(5_000)
        latest = await exchange.fetch_trades("BTC/USDT", limit=50)
        applied = market.state("BTCUSDT").trades
        middle = applied[len(applied) // 2]
        older = await exchange.fetch_trades(
            "BTC/USDT",
            limit=20,
            params={"method": "publicGetMarketHistoryTrades", "after": middle.trade_id},
        )
    truth = {str(t["t"]): t for t in recorded_stream("trade")}
    assert [t["id"] for t in latest] == [str(t.trade_id) for t in applied[-50:]]
    for trade in latest + older:
        raw = truth[trade["id"]]
        assert (trade["price"], trade["amount"], trade["timestamp"]) == (
            float(raw["p"]),
            float(raw["q"]),
            raw["T"],
        )
        assert trade["side"] == ("sell" if raw["m"] else "buy")
    assert [int(t["id"]) for t in older] == list(range(middle.trade_id - 20, middle.trade_id))


async def test_ohlcv_are_the_bars_of_the_recorded_trades() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, rest_client(fake) as exchange:
        market.step(40_000)
        trades = market.state("BTCUSDT").trades
        since = trades[0].time_ms - trades[0].time_ms % 60_000
        rows = await exchange.fetch_ohlcv("BTC/USDT", "1m", since, 5)
    bars = build_bars(list(trades), 60_000)[:5]
    assert len(rows) == len(bars) > 1
    assert rows == [
        [b.open_ms, float(b.open), float(b.high), float(b.low), float(b.close), float(b.volume)]
        for b in bars
    ]


async def test_ticker_time_and_unknown_instrument() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, rest_client(fake) as exchange:
        market.step(3_000)
        ticker = await exchange.fetch_ticker("BTC/USDT")
        now = await exchange.fetch_time()
        state = market.state("BTCUSDT")
        assert state.quote is not None
        assert (ticker["bid"], ticker["ask"]) == (float(state.quote.bid), float(state.quote.ask))
        assert ticker["last"] == float(state.trades[-1].price)
        assert now == market.now_ms
        with pytest.raises(ccxt.BadSymbol):
            await exchange.publicGetMarketBooks({"instId": "DOGE-USDT"})


async def test_rate_limit_answers_429_with_okx_code_and_retry_after() -> None:
    faults = FaultUpdate(rate_limit=RateLimit(count=1, retry_after=3))
    async with started_fake(faults=faults, dialect="okx") as fake, rest_client(fake) as exchange:
        with pytest.raises(ccxt.RateLimitExceeded) as refused:
            await exchange.fetch_time()
        assert exchange.last_response_headers["Retry-After"] == "3"
        assert '"code":"50011"' in str(refused.value).replace(" ", "")
        assert await exchange.fetch_time() > 0
    assert fake.faults.injected["rate_limited"] == 1


def test_okx_numbers_drop_trailing_zeros() -> None:
    from jules_venues.fake.okx_format import number

    assert [number(x) for x in ("61849.49000000", "0.00010000", "0.00000000", "62000")] == [
        "61849.49",
        "0.0001",
        "0",
        "62000",
    ]
    assert number(Decimal("1E+2")) == "100"
