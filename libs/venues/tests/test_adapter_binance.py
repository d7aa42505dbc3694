"""The Binance adapter on ccxt's real REST code (canned Binance responses) and stubbed streams."""

from __future__ import annotations

import gzip
import itertools
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from ccxt.base.errors import ChecksumError
from jules_contracts import OrderSide, SubmitOrder, derive_event_id
from jules_venues import (
    BinanceAdapter,
    VenueCapabilityError,
    VenueConfig,
    VenueConfigError,
    adapter_for,
)

from .test_fake_support import SPOT_FILE

RECORDING = SPOT_FILE
INSTRUMENT = "BTCUSDT.BINANCE"
MINUTE_MS = 60_000
START_MS = 1_723_161_240_000

EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": START_MS,
    "symbols": [
        {
            "symbol": "BTCUSDT",
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
            "baseAssetPrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "MARKET"],
            "permissions": ["SPOT"],
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01", "tickSize": "0.01"},
                {
                    "filterType": "LOT_SIZE",
                    "minQty": "0.00001",
                    "maxQty": "9000",
                    "stepSize": "0.00001",
                },
                {"filterType": "NOTIONAL", "minNotional": "5"},
            ],
        }
    ],
}


def recorded_trades(limit: int = 3000) -> list[dict[str, Any]]:
    with gzip.open(RECORDING, "rt") as lines:
        messages = [json.loads(line.split(" ", 1)[1]) for line in itertools.islice(lines, limit)]
    return [m["data"] for m in messages if m.get("stream") == "btcusdt@trade"]


class Venue:
    """Canned Binance spot REST responses, routed by path, as ccxt's ``fetch`` returns them."""

    def __init__(
        self, trades: list[dict[str, Any]] | None = None, server_ms: int | None = None
    ) -> None:
        self.trades = trades or []
        self.server_ms = server_ms
        self.calls: list[str] = []

    async def fetch(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        parsed = urlparse(url)
        query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
        path = parsed.path.rsplit("/", 1)[-1]
        self.calls.append(path)
        if path == "exchangeInfo":
            return EXCHANGE_INFO
        if path == "time":
            return {"serverTime": self.server_ms}
        if path == "klines":
            return self.klines(int(query["startTime"]), int(query.get("limit", 500)))
        if path == "aggTrades":
            start, end = int(query["startTime"]), int(query["endTime"])
            hits = [t for t in self.trades if start <= t["T"] <= end][: int(query["limit"])]
            return [
                {
                    "a": t["t"] - 1000,
                    "p": t["p"],
                    "q": t["q"],
                    "f": t["t"],
                    "l": t["t"],
                    "T": t["T"],
                    "m": t["m"],
                }
                for t in hits
            ]
        if path == "historicalTrades":
            first, limit = int(query["fromId"]), int(query["limit"])
            hits = [t for t in self.trades if t["t"] >= first][:limit]
            return [
                {
                    "id": t["t"],
                    "price": t["p"],
                    "qty": t["q"],
                    "time": t["T"],
                    "isBuyerMaker": t["m"],
                }
                for t in hits
            ]
        raise AssertionError(f"unexpected request {url}")

    @staticmethod
    def klines(start: int, limit: int) -> list[list[Any]]:
        first = max(start, START_MS)
        first += -(first - START_MS) % MINUTE_MS
        rows: list[list[Any]] = []
        for index in range(10):
            open_ms = START_MS + index * MINUTE_MS
            if open_ms >= first and len(rows) < limit:
                price = str(61_000 + index)
                rows.append(
                    [
                        open_ms,
                        price,
                        str(61_001 + index),
                        price,
                        price,
                        "1.5",
                        open_ms + MINUTE_MS - 1,
                    ]
                )
        return rows


def config(**extra: Any) -> VenueConfig:
    return VenueConfig(name="binance", instruments={INSTRUMENT: "BTC/USDT"}, **extra)


def adapter_on(venue: Venue, *, now_ms: int, **extra: Any) -> BinanceAdapter:
    adapter = BinanceAdapter(config(**extra), clock=lambda: now_ms * 1_000_000)
    adapter.rest.fetch = venue.fetch
    return adapter


async def test_instruments_from_exchange_info() -> None:
    venue = Venue()
    async with adapter_on(venue, now_ms=START_MS) as adapter:
        specs = await adapter.instruments()
        rules = await adapter.market_rules()
    spec = specs[INSTRUMENT]
    assert (spec.tick_size, spec.lot_size, spec.min_quantity, spec.quote_currency) == (
        0.01,
        0.00001,
        0.00001,
        "USDT",
    )
    assert rules[INSTRUMENT].min_notional == 5.0
    # spot only, loaded once, no private currency call; the server time read once
    assert venue.calls == ["exchangeInfo", "time"]


async def test_unknown_symbol_is_a_config_error() -> None:
    venue = Venue()
    adapter = BinanceAdapter(VenueConfig(name="binance", instruments={"ETHBTC.BINANCE": "ETH/BTC"}))
    adapter.rest.fetch = venue.fetch
    async with adapter:
        with pytest.raises(VenueConfigError, match="ETH/BTC"):
            await adapter.instruments()


async def test_fetch_ohlcv_pages_and_leaves_the_open_bar_out() -> None:
    venue = Venue()
    now_ms = START_MS + 9 * MINUTE_MS + 30_000  # the tenth bar is still open
    async with adapter_on(venue, now_ms=now_ms, page_limit=3) as adapter:
        bars = await adapter.fetch_ohlcv(INSTRUMENT, "1m", START_MS * 1_000_000)
        again = await adapter.fetch_ohlcv(INSTRUMENT, "1m", (START_MS + 2 * MINUTE_MS) * 1_000_000)
    assert [b.start_time // 1_000_000 for b in bars] == [START_MS + i * MINUTE_MS for i in range(9)]
    assert venue.calls.count("klines") >= 3
    assert [b.open for b in bars] == [61_000.0 + i for i in range(9)]
    assert {b.event_id for b in again} <= {b.event_id for b in bars}  # an overlap keeps its ids
    assert bars[0].event_id == derive_event_id(
        "md.bar", INSTRUMENT, "1m", "TRADE", bars[0].start_time
    )


async def test_fetch_trades_backfill_has_the_stream_ids() -> None:
    raw = recorded_trades()
    venue = Venue(raw)
    since, until = raw[5]["T"], raw[-5]["T"]
    with_key = {"api_key": "k", "api_secret": "s"}  # ccxt asks for a key on historicalTrades
    async with adapter_on(venue, now_ms=raw[-1]["T"] + 1, page_limit=7, **with_key) as adapter:
        trades = await adapter.fetch_trades(INSTRUMENT, since * 1_000_000, until * 1_000_000)
        market = adapter.ws.market("BTC/USDT")
        streamed = [adapter.ws.parse_ws_trade(t, market) for t in raw if since <= t["T"] < until]
    assert [t.trade_id for t in trades] == [str(t["id"]) for t in streamed]
    expected = [derive_event_id("md.trade", INSTRUMENT, "trade_id", t["id"]) for t in streamed]
    assert [t.event_id for t in trades] == expected
    assert venue.calls.count("historicalTrades") >= 2


async def test_fetch_trades_without_a_key_pages_agg_trades() -> None:
    raw = recorded_trades()
    venue = Venue(raw)
    since, until = raw[5]["T"], raw[-5]["T"]
    async with adapter_on(venue, now_ms=raw[-1]["T"] + 1, page_limit=100) as adapter:
        trades = await adapter.fetch_trades(INSTRUMENT, since * 1_000_000, until * 1_000_000)
    expected = [str(t["t"]) for t in raw if since <= t["T"] < until]
    assert [t.trade_id for t in trades] == expected  # one trade per aggregate: the stream's ids
    assert "historicalTrades" not in venue.calls


class _Book(dict[str, Any]):
    pass


class _Stream:
    """A stand-in for the ccxt.pro client: scripted results, an error once."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results

    async def _next(self, *args: Any, **kwargs: Any) -> Any:
        if not self.results:
            raise EOFError
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    watch_order_book = watch_bids_asks = watch_trades = _next

    async def close(self) -> None:
        pass


def streaming(results: list[Any]) -> BinanceAdapter:
    adapter = BinanceAdapter(config(book_depth=2), clock=lambda: 7)
    adapter._ws = _Stream(results)

    async def loaded(*, reload: bool = False) -> dict[str, Any]:
        return {}

    adapter.load_markets = loaded  # type: ignore[method-assign]
    return adapter


async def collect(stream: Any) -> list[Any]:
    items = []
    try:
        async for item in stream:
            items.append(item)
    except EOFError:
        pass
    return items


async def test_watch_book_resyncs_after_a_gap() -> None:
    book = {
        "bids": [[10.0, 1.0], [9.0, 2.0], [8.0, 1.0]],
        "asks": [[11.0, 1.0]],
        "nonce": 5,
        "timestamp": 1,
    }
    later = {**book, "nonce": 9, "timestamp": 2}
    adapter = streaming([book, dict(book), ChecksumError("gap"), later])
    books = await collect(adapter.watch_book(INSTRUMENT))
    assert [b.sequence for b in books] == [5, 9]  # the repeat of nonce 5 is not published
    assert len(books[0].bids) == 2
    assert adapter.book_resyncs == {INSTRUMENT: 1}


async def test_watch_quotes_from_book_ticker() -> None:
    ticker = {
        "bid": 10.0,
        "bidVolume": 1.0,
        "ask": 10.5,
        "askVolume": 2.0,
        "timestamp": None,
        "info": {"u": 42},
    }
    adapter = streaming([{"BTC/USDT": ticker}, {}])
    quotes = await collect(adapter.watch_quotes(INSTRUMENT))
    assert len(quotes) == 1
    assert quotes[0].event_id == derive_event_id("md.quote", INSTRUMENT, "sequence", 42)
    assert quotes[0].event_time == 7


async def test_watch_trades_skips_a_malformed_trade() -> None:
    good = {"id": "1", "price": 10.0, "amount": 1.0, "side": "buy", "timestamp": 3}
    adapter = streaming([[good, {"id": "2", "price": None, "amount": 1.0}]])
    trades = await collect(adapter.watch_trades(INSTRUMENT))
    assert [t.trade_id for t in trades] == ["1"]
    assert trades[0].event_time == 3_000_000


async def test_execution_is_refused_for_now() -> None:
    adapter = BinanceAdapter(config())
    order = SubmitOrder(
        event_id=derive_event_id("t"),
        source="test",
        event_time=1,
        client_order_id="c1",
        account_id="a",
        instrument_id=INSTRUMENT,
        side=OrderSide.BUY,
        quantity=1.0,
        strategy_id="s",
    )
    calls = [
        adapter.place_order(order),
        adapter.cancel_order(INSTRUMENT, "c1"),
        adapter.amend_order(INSTRUMENT, "c1", quantity=2.0),
        adapter.fetch_order(INSTRUMENT, "c1"),
        adapter.fetch_open_orders(),
        adapter.fetch_fills(),
        adapter.fetch_positions(),
    ]
    for call in calls:
        with pytest.raises(VenueCapabilityError, match="venue binance"):
            await call
    assert isinstance(VenueCapabilityError("x"), NotImplementedError)


def test_registry() -> None:
    assert isinstance(adapter_for(config()), BinanceAdapter)
    aliased = VenueConfig(name="binance-fake", exchange_id="binance")
    assert isinstance(adapter_for(aliased), BinanceAdapter)
    with pytest.raises(VenueConfigError, match="no adapter"):
        adapter_for(VenueConfig(name="nowhere"))


def test_ccxt_keeps_enough_trades_between_two_reads() -> None:
    from jules_venues.adapter import TRADES_CACHE

    config = VenueConfig(name="binance", instruments={INSTRUMENT: "BTC/USDT"})
    adapter = BinanceAdapter(config)
    assert adapter.ws.options["tradesLimit"] == TRADES_CACHE >= 20_000
    mine = VenueConfig(
        name="binance", instruments={INSTRUMENT: "BTC/USDT"}, options={"tradesLimit": 50_000}
    )
    assert BinanceAdapter(mine).ws.options["tradesLimit"] == 50_000


async def test_undated_quotes_are_dated_on_the_venues_clock() -> None:
    """A venue replaying another day: its server time, then its trades, set the offset."""
    venue = Venue(server_ms=START_MS)
    ticker = {"bid": 10.0, "bidVolume": 1.0, "ask": 10.5, "askVolume": 2.0, "timestamp": None}
    trade = {"id": "1", "price": 10.0, "amount": 1.0, "side": "buy", "timestamp": START_MS + 60_000}
    now_ms = START_MS + 86_400_000  # our clock runs a day ahead of the venue's
    async with adapter_on(venue, now_ms=now_ms) as adapter:
        await adapter.load_markets()
        adapter._ws = _Stream([{"BTC/USDT": ticker}, [trade], {"BTC/USDT": ticker}, {}])
        adapter.ws.set_markets = lambda *args: None
        first = await anext(adapter.watch_quotes(INSTRUMENT))
        await anext(adapter.watch_trades(INSTRUMENT))
        second = await anext(adapter.watch_quotes(INSTRUMENT))
    assert venue.calls.count("time") == 1
    assert first.event_time == START_MS * 1_000_000  # the server time, not ours
    assert second.event_time == (START_MS + 60_000) * 1_000_000  # as of the last dated trade
