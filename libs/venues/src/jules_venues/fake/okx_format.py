"""OKX's JSON shapes of the market's objects, shared by the REST routes and the channels.

The recorded feed is Binance's (``BTCUSDT``, prices and sizes with 8 decimals); OKX names the
instrument ``BTC-USDT`` and writes numbers without trailing zeros, so everything served in
the OKX dialect goes through :func:`inst_id` and :func:`number`. Trade ids, book update ids
(OKX's ``seqId``) and times are the recorded ones, so both dialects replay the same market.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal

from jules_venues.fake.feed import Level, Trade
from jules_venues.fake.market import Bar, SymbolState

__all__ = [
    "CHECKSUM_LEVELS",
    "INSTRUMENTS",
    "bar_length_ms",
    "book_levels",
    "candle_row",
    "checksum",
    "inst_id",
    "instrument",
    "number",
    "symbol_of",
    "top_of_book",
    "trade_row",
]

CHECKSUM_LEVELS = 25
"""Levels per side in an order-book checksum."""

INSTRUMENTS: dict[str, dict[str, str]] = {
    # Binance symbol -> OKX spot instrument (lot and minimum as OKX lists them; the tick is
    # the recording's, 0.01, so that every replayed price is on the grid)
    "BTCUSDT": {
        "instId": "BTC-USDT",
        "baseCcy": "BTC",
        "quoteCcy": "USDT",
        "tickSz": "0.01",
        "lotSz": "0.00000001",
        "minSz": "0.00001",
        "maxLmtSz": "9999999999",
        "maxMktSz": "1000000",
    },
    "ETHUSDT": {
        "instId": "ETH-USDT",
        "baseCcy": "ETH",
        "quoteCcy": "USDT",
        "tickSz": "0.01",
        "lotSz": "0.000001",
        "minSz": "0.0001",
        "maxLmtSz": "9999999999",
        "maxMktSz": "1000000",
    },
}
"""OKX spot reference data of the symbols the fake can serve."""

_BAR = re.compile(r"^(?P<count>\d+)(?P<unit>[smHDWM])(?P<utc>utc)?$")
_UNIT_MS = {
    "s": 1_000,
    "m": 60_000,
    "H": 3_600_000,
    "D": 86_400_000,
    "W": 604_800_000,
}


def inst_id(symbol: str) -> str:
    """``BTCUSDT`` -> ``BTC-USDT`` (``KeyError`` if the fake has no reference data)."""
    return INSTRUMENTS[symbol]["instId"]


def symbol_of(instrument_id: str) -> str | None:
    """``BTC-USDT`` -> ``BTCUSDT``; ``None`` for an instrument the fake does not list."""
    for symbol, info in INSTRUMENTS.items():
        if info["instId"] == instrument_id:
            return symbol
    return None


def instrument(symbol: str, list_time_ms: int) -> dict[str, str]:
    """The ``/api/v5/public/instruments`` entry of a spot symbol."""
    info = INSTRUMENTS[symbol]
    return {
        "instType": "SPOT",
        "instFamily": "",
        "uly": "",
        "category": "1",
        "settleCcy": "",
        "ctVal": "",
        "ctMult": "",
        "ctValCcy": "",
        "ctType": "",
        "optType": "",
        "stk": "",
        "listTime": str(list_time_ms),
        "expTime": "",
        "lever": "10",
        "alias": "",
        "state": "live",
        "ruleType": "normal",
        "maxIcebergSz": info["maxLmtSz"],
        "maxTriggerSz": info["maxLmtSz"],
        "maxTwapSz": info["maxLmtSz"],
        "maxStopSz": info["maxMktSz"],
        "maxLmtAmt": "20000000",
        "maxMktAmt": "1000000",
        **info,
    }


def number(value: str | Decimal) -> str:
    """A price or size as OKX writes it: fixed point, no trailing zeros (``0`` for zero)."""
    text = f"{Decimal(value):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def book_levels(levels: Iterable[Level]) -> list[list[str]]:
    """Book levels as OKX sends them: ``[price, size, "0", orders]`` (size 0 deletes)."""
    return [[number(p), number(q), "0", "0" if Decimal(q) == 0 else "1"] for p, q in levels]


def checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """OKX's order-book checksum: a signed CRC32 of the top 25 levels per side.

    The string is ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...``, the levels interleaved best
    first, with a side's levels alone once the other side runs out, prices and sizes as sent.
    """
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        for side in (bids, asks):
            if i < len(side):
                parts += [side[i][0], side[i][1]]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def trade_row(trade: Trade) -> dict[str, str]:
    """A trade as ``/api/v5/market/trades`` and the ``trades`` channel send it."""
    return {
        "instId": inst_id(trade.symbol),
        "tradeId": str(trade.trade_id),
        "px": number(trade.price),
        "sz": number(trade.qty),
        "side": "sell" if trade.buyer_maker else "buy",
        "ts": str(trade.time_ms),
        "count": "1",
        "source": "0",
    }


def bar_length_ms(bar: str) -> int | None:
    """An OKX bar size (``1m``, ``1H``, ``1Dutc``) in ms; ``None`` if not served (months)."""
    match = _BAR.match(bar)
    if match is None or match["unit"] not in _UNIT_MS or int(match["count"]) < 1:
        return None
    return int(match["count"]) * _UNIT_MS[match["unit"]]


def candle_row(bar: Bar, closed: bool) -> list[str]:
    """A spot candle: ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``."""
    return [
        str(bar.open_ms),
        number(bar.open),
        number(bar.high),
        number(bar.low),
        number(bar.close),
        number(bar.volume),
        number(bar.quote_volume),
        number(bar.quote_volume),
        "1" if closed else "0",
    ]


def top_of_book(state: SymbolState, now_ms: int) -> dict[str, str]:
    """The live part of a ticker: the last trade and the best bid/offer."""
    quote = state.quote
    last = state.trades[-1] if state.trades else None
    return {
        "instType": "SPOT",
        "instId": inst_id(state.symbol),
        "last": number(last.price) if last else "0",
        "lastSz": number(last.qty) if last else "0",
        "askPx": number(quote.ask) if quote else "",
        "askSz": number(quote.ask_qty) if quote else "",
        "bidPx": number(quote.bid) if quote else "",
        "bidSz": number(quote.bid_qty) if quote else "",
        "ts": str(now_ms),
    }
