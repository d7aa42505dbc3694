"""The ccxt conversions, fed with recorded Binance spot messages through ccxt's own parsing."""

from __future__ import annotations

import gzip
import itertools
import json
from typing import Any

import ccxt.pro
import pytest
from jules_contracts import AggressorSide, Bar, BookSnapshot, Quote, Trade, derive_event_id
from jules_venues.ccxt_events import (
    bar_from_ohlcv,
    book_from_order_book,
    interval_of_timeframe,
    quote_from_ticker,
    trade_from_ccxt,
)
from jules_venues.errors import VenueDataError
from jules_venues.markets import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE, market_rules

from .test_fake_support import SPOT_FILE

RECORDING = SPOT_FILE
INSTRUMENT = "BTCUSDT.BINANCE"
SOURCE = "venue:binance"
RECEIVED = 1_723_161_254_000_000_000

BTCUSDT_INFO: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "status": "TRADING",
    "baseAsset": "BTC",
    "baseAssetPrecision": 8,
    "quoteAsset": "USDT",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "orderTypes": ["LIMIT", "MARKET"],
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": True,
    "permissions": ["SPOT"],
    "permissionSets": [["SPOT"]],
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.01",
            "maxPrice": "1000000",
            "tickSize": "0.01",
        },
        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
        {"filterType": "NOTIONAL", "minNotional": "5", "maxNotional": "9000000"},
    ],
}


def recorded(limit: int = 4000) -> list[dict[str, Any]]:
    with gzip.open(RECORDING, "rt") as lines:
        return [json.loads(line.split(" ", 1)[1]) for line in itertools.islice(lines, limit)]


@pytest.fixture(scope="module")
def binance() -> Any:
    exchange = ccxt.pro.binance({"options": {"defaultType": "spot"}})
    # fetch_markets fills these from the margin endpoints; a spot-only load leaves them empty
    exchange.options.update(crossMarginPairsData=[], isolatedMarginPairsData=[])
    exchange.set_markets([exchange.parse_market(BTCUSDT_INFO)])
    return exchange


def streamed(kind: str) -> list[dict[str, Any]]:
    return [m["data"] for m in recorded() if m.get("stream") == f"btcusdt@{kind}"]


def test_trades_from_recorded_stream(binance: Any) -> None:
    raw = streamed("trade")
    assert len(raw) > 50
    market = binance.market("BTC/USDT")
    trades = [
        trade_from_ccxt(
            binance.parse_ws_trade(data, market),
            instrument_id=INSTRUMENT,
            source=SOURCE,
            received_ns=RECEIVED,
        )
        for data in raw
    ]
    for data, trade in zip(raw, trades, strict=True):
        assert isinstance(trade, Trade)
        assert trade.instrument_id == INSTRUMENT
        assert trade.source == SOURCE
        assert trade.trade_id == str(data["t"])
        assert trade.price == float(data["p"])
        assert trade.size == float(data["q"])
        assert trade.event_time == data["T"] * 1_000_000
        expected = AggressorSide.SELLER if data["m"] else AggressorSide.BUYER
        assert trade.aggressor_side is expected
        assert trade.event_id == derive_event_id("md.trade", INSTRUMENT, "trade_id", data["t"])
    assert len({t.event_id for t in trades}) == len(trades)
    again = binance.parse_ws_trade(raw[0], market)
    replayed = trade_from_ccxt(again, instrument_id=INSTRUMENT, source=SOURCE, received_ns=1)
    assert replayed == trades[0]


def test_quotes_from_recorded_book_ticker(binance: Any) -> None:
    raw = streamed("bookTicker")[:500]
    quotes = []
    for data in raw:
        ticker = binance.parse_ws_ticker(data, "spot")
        quote = quote_from_ticker(
            ticker,
            instrument_id=INSTRUMENT,
            source=SOURCE,
            received_ns=RECEIVED,
            sequence=data["u"],
        )
        assert isinstance(quote, Quote)
        assert (quote.bid_price, quote.bid_size) == (float(data["b"]), float(data["B"]))
        assert (quote.ask_price, quote.ask_size) == (float(data["a"]), float(data["A"]))
        assert quote.event_time == RECEIVED  # spot bookTicker has no time: the receive time
        assert quote.event_id == derive_event_id("md.quote", INSTRUMENT, "sequence", data["u"])
        quotes.append(quote)
    assert len({q.event_id for q in quotes}) == len({d["u"] for d in raw}) == len(quotes)


def test_quote_without_sequence_has_a_content_id_and_one_sided_is_none() -> None:
    ticker = {"bid": 10.0, "bidVolume": 1.0, "ask": 10.5, "askVolume": 2.0, "timestamp": 5}
    first = quote_from_ticker(ticker, instrument_id=INSTRUMENT, source=SOURCE, received_ns=9)
    same = quote_from_ticker(dict(ticker), instrument_id=INSTRUMENT, source=SOURCE, received_ns=1)
    moved = quote_from_ticker(
        {**ticker, "ask": 10.6}, instrument_id=INSTRUMENT, source=SOURCE, received_ns=9
    )
    assert first is not None
    assert same is not None
    assert moved is not None
    assert first.event_time == 5_000_000
    assert first.event_id == same.event_id != moved.event_id
    one_sided = {**ticker, "ask": None}
    assert (
        quote_from_ticker(one_sided, instrument_id=INSTRUMENT, source=SOURCE, received_ns=1) is None
    )


class _Client:
    """The part of a ccxt websocket client that the Binance book handlers use."""

    url = "wss://stream.binance.com:9443/stream"

    def __init__(self) -> None:
        self.subscriptions: dict[str, Any] = {}
        self.resolved: list[Any] = []
        self.rejected: list[Exception] = []

    def resolve(self, result: Any, message_hash: str) -> None:
        self.resolved.append(result)

    def reject(self, error: Exception, message_hash: str) -> None:
        self.rejected.append(error)


def _rebuild(
    snapshot: dict[str, Any], diffs: list[dict[str, Any]]
) -> tuple[dict[float, float], ...]:
    """An independent book rebuild (Binance's procedure) to check ccxt's against."""
    bids = {float(p): float(q) for p, q in snapshot["bids"]}
    asks = {float(p): float(q) for p, q in snapshot["asks"]}
    for diff in diffs:
        for side, key in ((bids, "b"), (asks, "a")):
            for price, size in diff[key]:
                if float(size) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = float(size)
    return bids, asks


async def test_books_from_recorded_snapshot_and_diffs(binance: Any) -> None:
    messages = recorded()
    at = next(i for i, m in enumerate(messages) if "lastUpdateId" in m)
    snapshot = messages[at]
    diffs = [m["data"] for m in messages if m.get("stream") == "btcusdt@depth@100ms"]
    before = [d for d in diffs if messages.index({"stream": "btcusdt@depth@100ms", "data": d}) < at]
    after = [d for d in diffs if d not in before][:80]
    client = _Client()
    binance.orderbooks["BTC/USDT"] = binance.order_book({})
    binance.orderbooks["BTC/USDT"].cache.extend(before)

    async def rest_snapshot(symbol: str, limit: Any = None, params: Any = None) -> Any:
        book = binance.parse_order_book(snapshot, symbol)
        book["nonce"] = snapshot["lastUpdateId"]
        return book

    binance.fetch_rest_order_book_safe = rest_snapshot
    await binance.fetch_order_book_snapshot(
        client, None, {"symbol": "BTC/USDT", "type": "spot", "limit": 1000, "params": {}}
    )
    applied = [d for d in before if d["u"] > snapshot["lastUpdateId"]]
    books = []
    for diff in after:
        binance.handle_order_book(client, diff)
        applied.append(diff)
        book = book_from_order_book(
            binance.orderbooks["BTC/USDT"].limit(),
            instrument_id=INSTRUMENT,
            source=SOURCE,
            received_ns=RECEIVED,
            depth=10,
        )
        bids, asks = _rebuild(snapshot, applied)
        expected_bids = sorted(bids.items(), reverse=True)[:10]
        expected_asks = sorted(asks.items())[:10]
        assert isinstance(book, BookSnapshot)
        assert [(lv.price, lv.size) for lv in book.bids] == expected_bids
        assert [(lv.price, lv.size) for lv in book.asks] == expected_asks
        assert book.sequence == diff["u"]
        assert book.event_time == diff["E"] * 1_000_000
        assert book.event_id == derive_event_id(
            "md.book_snapshot", INSTRUMENT, "sequence", diff["u"], 10
        )
        books.append(book)
    assert not client.rejected
    assert len({b.event_id for b in books}) == len(books)


async def test_a_gap_in_the_diffs_is_rejected_by_ccxt(binance: Any) -> None:
    client = _Client()
    book = binance.order_book({"bids": [[100.0, 1.0]], "asks": [[101.0, 1.0]]})
    book["nonce"], book["timestamp"] = 10, 1
    binance.orderbooks["BTC/USDT"] = book
    gap = {"e": "depthUpdate", "E": 2, "s": "BTCUSDT", "U": 15, "u": 16, "b": [], "a": []}
    binance.handle_order_book(client, gap)
    assert client.rejected
    assert type(client.rejected[0]).__name__ == "ChecksumError"
    assert "BTC/USDT" not in binance.orderbooks  # dropped: the next watch re-snapshots


def test_bar_from_ohlcv_row() -> None:
    row = [1_723_161_240_000, 61837.63, 61850.0, 61800.5, 61840.1, 12.5]
    bar = bar_from_ohlcv(row, instrument_id=INSTRUMENT, source=SOURCE, timeframe="1m")
    assert isinstance(bar, Bar)
    assert bar.start_time == row[0] * 1_000_000
    assert bar.event_time == bar.start_time + 60 * 10**9
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == tuple(row[1:])
    assert bar.interval == "1m"
    assert bar.event_id == derive_event_id("md.bar", INSTRUMENT, "1m", "TRADE", bar.start_time)
    with pytest.raises(VenueDataError, match="high"):
        bar_from_ohlcv(
            [row[0], 10, 9, 11, 10, 1], instrument_id=INSTRUMENT, source=SOURCE, timeframe="1m"
        )


def test_timeframes() -> None:
    assert interval_of_timeframe("1m") == ("1m", 60 * 10**9)
    assert interval_of_timeframe("1w") == ("7d", 7 * 86_400 * 10**9)
    with pytest.raises(VenueDataError):
        interval_of_timeframe("1M")


def test_trade_without_price_is_refused() -> None:
    with pytest.raises(VenueDataError, match="price"):
        trade_from_ccxt(
            {"id": "1", "amount": 1.0}, instrument_id=INSTRUMENT, source=SOURCE, received_ns=1
        )


def test_market_rules_tick_size_mode(binance: Any) -> None:
    rules = market_rules(
        binance.market("BTC/USDT"), instrument_id=INSTRUMENT, precision_mode=TICK_SIZE
    )
    assert binance.precisionMode == TICK_SIZE
    spec = rules.spec
    assert (spec.tick_size, spec.lot_size, spec.min_quantity) == (0.01, 0.00001, 0.00001)
    assert (spec.multiplier, spec.quote_currency) == (1.0, "USDT")
    assert rules.min_notional == 5.0
    assert rules.max_quantity == 9000.0


def test_market_rules_decimal_places_and_significant_digits() -> None:
    market = {
        "symbol": "ETH/EUR",
        "quote": "EUR",
        "precision": {"price": 2, "amount": 8},
        "limits": {"amount": {"min": 0.0001}, "price": {"min": 0.05}, "cost": {}},
        "contractSize": None,
    }
    spec = market_rules(market, instrument_id="ETHEUR.KRAKEN", precision_mode=DECIMAL_PLACES).spec
    assert (spec.tick_size, spec.lot_size) == (0.01, 1e-8)
    by_digits = market_rules(
        market, instrument_id="ETHEUR.KRAKEN", precision_mode=SIGNIFICANT_DIGITS
    )
    assert (by_digits.spec.tick_size, by_digits.spec.lot_size) == (0.05, 0.0001)
    with pytest.raises(VenueDataError, match="price increment"):
        market_rules(
            {**market, "limits": {}},
            instrument_id="ETHEUR.KRAKEN",
            precision_mode=SIGNIFICANT_DIGITS,
        )
