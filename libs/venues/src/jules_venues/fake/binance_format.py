"""Binance's JSON shapes of the market's objects, shared by the REST routes and the streams."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jules_venues.fake.feed import AggTrade, DepthDiff, Quote, Trade
from jules_venues.fake.market import Bar

__all__ = [
    "INTERVALS",
    "agg_trade",
    "book_ticker",
    "depth_update",
    "kline_event",
    "kline_row",
    "number",
    "trade_event",
]

INTERVALS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}
"""Kline intervals (the monthly one is not served) and their lengths in ms."""


def number(value: Decimal) -> str:
    """A decimal as Binance writes prices and quantities: fixed point, 8 decimals."""
    return f"{value:.8f}"


def agg_trade(agg: AggTrade) -> dict[str, Any]:
    """An aggregate trade as ``/api/v3/aggTrades`` lists it."""
    return {
        "a": agg.agg_id,
        "p": agg.price,
        "q": agg.qty,
        "f": agg.first_id,
        "l": agg.last_id,
        "T": agg.time_ms,
        "m": agg.buyer_maker,
        "M": True,
    }


def trade_event(trade: Trade) -> dict[str, Any]:
    """The ``<symbol>@trade`` payload of a trade (as recorded)."""
    return {
        "e": "trade",
        "E": trade.event_ms,
        "s": trade.symbol,
        "t": trade.trade_id,
        "p": trade.price,
        "q": trade.qty,
        "T": trade.time_ms,
        "m": trade.buyer_maker,
        "M": True,
    }


def book_ticker(quote: Quote) -> dict[str, Any]:
    """The ``<symbol>@bookTicker`` payload of a best bid/offer (as recorded)."""
    return {
        "u": quote.update_id,
        "s": quote.symbol,
        "b": quote.bid,
        "B": quote.bid_qty,
        "a": quote.ask,
        "A": quote.ask_qty,
    }


def depth_update(diff: DepthDiff) -> dict[str, Any]:
    """The ``<symbol>@depth@100ms`` payload of a book diff (as recorded)."""
    return {
        "e": "depthUpdate",
        "E": diff.event_ms,
        "s": diff.symbol,
        "U": diff.first_id,
        "u": diff.last_id,
        "b": [list(level) for level in diff.bids],
        "a": [list(level) for level in diff.asks],
    }


def kline_row(bar: Bar) -> list[Any]:
    """A bar as ``/api/v3/klines`` lists it."""
    return [
        bar.open_ms,
        number(bar.open),
        number(bar.high),
        number(bar.low),
        number(bar.close),
        number(bar.volume),
        bar.close_ms,
        number(bar.quote_volume),
        bar.count,
        number(bar.taker_buy_volume),
        number(bar.taker_buy_quote_volume),
        "0",
    ]


def kline_event(
    symbol: str, interval: str, bar: Bar, event_ms: int, closed: bool
) -> dict[str, Any]:
    """The ``<symbol>@kline_<interval>`` payload of a bar."""
    return {
        "e": "kline",
        "E": event_ms,
        "s": symbol,
        "k": {
            "t": bar.open_ms,
            "T": bar.close_ms,
            "s": symbol,
            "i": interval,
            "f": bar.first_id,
            "L": bar.last_id,
            "o": number(bar.open),
            "c": number(bar.close),
            "h": number(bar.high),
            "l": number(bar.low),
            "v": number(bar.volume),
            "n": bar.count,
            "x": closed,
            "q": number(bar.quote_volume),
            "V": number(bar.taker_buy_volume),
            "Q": number(bar.taker_buy_quote_volume),
            "B": "0",
        },
    }
