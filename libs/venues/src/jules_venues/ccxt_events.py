"""Pure conversions from ccxt's unified structures to the contract events.

Each function takes one ccxt structure (a trade, a ticker or bid/ask, an order book, an OHLCV
row) and returns the event, with ``event_time`` from the exchange's timestamp in nanoseconds
(the receive time only when the venue gives none, like Binance's spot ``bookTicker``).

Event ids are deterministic, derived from the instrument id (``SYMBOL.VENUE``, so the venue
too) and the exchange's own identity of the item: the trade id, the book's update id
(``nonce``), the bar's start. A trade re-sent after a reconnect or fetched again by a REST
backfill therefore has the id it had the first time, and a consumer that deduplicates by
``event_id`` never publishes it twice. The formulas are the file loaders' too
(``derive_event_id("md.trade", instrument_id, "trade_id", id)`` and
``derive_event_id("md.bar", instrument_id, interval, price_type, start)``), so a trade or a bar
recorded live and loaded again from a file keeps its id.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from jules_contracts import (
    AggressorSide,
    Bar,
    BookLevel,
    BookSnapshot,
    PriceType,
    Quote,
    Trade,
    derive_event_id,
)

from jules_venues.errors import VenueDataError

__all__ = [
    "NANOS_PER_MS",
    "bar_from_ohlcv",
    "book_from_order_book",
    "interval_of_timeframe",
    "nanos_from_ms",
    "quote_from_ticker",
    "trade_from_ccxt",
]

NANOS_PER_MS = 1_000_000
"""Nanoseconds in a millisecond (ccxt timestamps are milliseconds)."""

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_SIDES = {"buy": AggressorSide.BUYER, "sell": AggressorSide.SELLER}


def nanos_from_ms(timestamp: object) -> int | None:
    """A ccxt timestamp (integer milliseconds since the epoch) in nanoseconds; ``None`` stays."""
    if timestamp is None:
        return None
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise VenueDataError(f"timestamp {timestamp!r} is not a number of milliseconds")
    return int(timestamp) * NANOS_PER_MS


def interval_of_timeframe(timeframe: str) -> tuple[str, int]:
    """A ccxt timeframe as a bar interval and its length in nanoseconds.

    ``1m`` is ``("1m", 60e9)``; weeks become days (``1w`` is ``7d``).

    Raises:
        VenueDataError: The timeframe has no fixed length (``1M``, a month) or is malformed.
    """
    count, unit = timeframe[:-1], timeframe[-1:]
    if not count.isdigit() or int(count) < 1 or unit not in _UNIT_SECONDS:
        raise VenueDataError(
            f"timeframe {timeframe!r} is not a fixed length (use s, m, h, d or w, as in 1m)"
        )
    seconds = int(count) * _UNIT_SECONDS[unit]
    interval = f"{seconds // 86_400}d" if unit == "w" else f"{int(count)}{unit}"
    return interval, seconds * 1_000_000_000


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or value is None:
        raise VenueDataError(f"{what} is missing")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise VenueDataError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise VenueDataError(f"{what} {value!r} is not finite")
    return number


def _time(structure: Mapping[str, Any], received_ns: int) -> int:
    stamp = nanos_from_ms(structure.get("timestamp"))
    return received_ns if stamp is None else stamp


def trade_from_ccxt(
    trade: Mapping[str, Any], *, instrument_id: str, source: str, received_ns: int
) -> Trade:
    """A ccxt trade structure as a ``Trade``.

    Args:
        trade: ccxt's unified trade (``id``, ``timestamp``, ``price``, ``amount``, ``side``:
            the taker's side).
        instrument_id: Our instrument id.
        source: The event's source (``venue:binance``).
        received_ns: When it was received, the event time if the trade has no timestamp.

    Returns:
        The trade, its id derived from the instrument and the exchange's trade id (or, for a
        venue without trade ids, from its time, price, size and side).

    Raises:
        VenueDataError: A price or an amount is missing, not a number or not positive.
    """
    event_time = _time(trade, received_ns)
    price = _number(trade.get("price"), "trade price")
    size = _number(trade.get("amount"), "trade amount")
    side = _SIDES.get(str(trade.get("side")).lower(), AggressorSide.NONE)
    raw_id = trade.get("id")
    trade_id = None if raw_id is None or raw_id == "" else str(raw_id)
    if trade_id is not None:
        event_id = derive_event_id("md.trade", instrument_id, "trade_id", trade_id)
    else:
        event_id = derive_event_id(
            "md.trade", instrument_id, event_time, repr(price), repr(size), side.value
        )
    if price <= 0 or size <= 0:
        raise VenueDataError(f"trade {trade_id or event_id}: price {price} or size {size} <= 0")
    return Trade(
        event_id=event_id,
        source=source,
        event_time=event_time,
        instrument_id=instrument_id,
        price=price,
        size=size,
        aggressor_side=side,
        trade_id=trade_id,
    )


def quote_from_ticker(
    ticker: Mapping[str, Any],
    *,
    instrument_id: str,
    source: str,
    received_ns: int,
    sequence: int | None = None,
) -> Quote | None:
    """A ccxt ticker or bid/ask structure as a ``Quote`` (top of book).

    Args:
        ticker: ccxt's unified ticker (``bid``, ``bidVolume``, ``ask``, ``askVolume``,
            ``timestamp``), as ``watch_ticker`` or ``watch_bids_asks`` give it.
        instrument_id: Our instrument id.
        source: The event's source.
        received_ns: When it was received, the event time if the ticker has no timestamp.
        sequence: The venue's update id of this top of book (Binance ``bookTicker`` ``u``);
            the id is derived from it when given, else from the time and the four values.

    Returns:
        The quote, or ``None`` when one side is missing (an empty side has no price).

    Raises:
        VenueDataError: A price or size is not a number.
    """
    if ticker.get("bid") is None or ticker.get("ask") is None:
        return None
    bid = _number(ticker["bid"], "bid")
    ask = _number(ticker["ask"], "ask")
    if bid <= 0 or ask <= 0:
        return None
    bid_size = _number(ticker.get("bidVolume") or 0.0, "bid size")
    ask_size = _number(ticker.get("askVolume") or 0.0, "ask size")
    event_time = _time(ticker, received_ns)
    if sequence is not None:
        event_id = derive_event_id("md.quote", instrument_id, "sequence", sequence)
    else:
        event_id = derive_event_id(
            "md.quote", instrument_id, event_time, *map(repr, (bid, bid_size, ask, ask_size))
        )
    return Quote(
        event_id=event_id,
        source=source,
        event_time=event_time,
        instrument_id=instrument_id,
        bid_price=bid,
        ask_price=ask,
        bid_size=max(bid_size, 0.0),
        ask_size=max(ask_size, 0.0),
    )


def _levels(side: Sequence[Sequence[Any]], depth: int, what: str) -> tuple[BookLevel, ...]:
    levels: list[BookLevel] = []
    for entry in side:
        if len(levels) == depth:
            break
        price = _number(entry[0], f"{what} price")
        size = _number(entry[1], f"{what} size")
        if price > 0 and size > 0:
            levels.append(BookLevel(price=price, size=size))
    return tuple(levels)


def book_from_order_book(
    order_book: Mapping[str, Any],
    *,
    instrument_id: str,
    source: str,
    received_ns: int,
    depth: int,
) -> BookSnapshot:
    """A ccxt order book (the one ccxt.pro maintains, or a REST one) as a ``BookSnapshot``.

    Args:
        order_book: ccxt's unified order book (``bids`` best first, ``asks`` best first, each a
            list of ``[price, amount]``; ``nonce``: the venue's last update id; ``timestamp``).
        instrument_id: Our instrument id.
        source: The event's source.
        received_ns: When it was received, the event time if the book has no timestamp.
        depth: Levels kept per side.

    Returns:
        The snapshot: its ``sequence`` is the book's ``nonce``, and its id is derived from the
        instrument, the nonce and the depth (without a nonce: from the time and the levels).

    Raises:
        VenueDataError: A level is not a pair of numbers, or the book is crossed in a way the
            contract refuses (sides not strictly sorted).
    """
    bids = _levels(order_book.get("bids") or (), depth, "bid")
    asks = _levels(order_book.get("asks") or (), depth, "ask")
    event_time = _time(order_book, received_ns)
    nonce = order_book.get("nonce")
    sequence = int(nonce) if isinstance(nonce, int | float) and nonce >= 0 else None
    if sequence is not None:
        event_id = derive_event_id("md.book_snapshot", instrument_id, "sequence", sequence, depth)
    else:
        content = repr(([(b.price, b.size) for b in bids], [(a.price, a.size) for a in asks]))
        digest = hashlib.sha256(content.encode()).hexdigest()
        event_id = derive_event_id("md.book_snapshot", instrument_id, event_time, digest)
    try:
        return BookSnapshot(
            event_id=event_id,
            source=source,
            event_time=event_time,
            instrument_id=instrument_id,
            bids=bids,
            asks=asks,
            sequence=sequence,
        )
    except ValueError as error:
        raise VenueDataError(f"book of {instrument_id} (nonce {nonce}): {error}") from None


def bar_from_ohlcv(row: Sequence[Any], *, instrument_id: str, source: str, timeframe: str) -> Bar:
    """A ccxt OHLCV row ``[start ms, open, high, low, close, volume]`` as a ``Bar``.

    The bar covers ``[start, start + timeframe)``; its ``event_time`` is the end. Its id is
    the file loaders' (instrument, interval, price type, start), so a bar fetched twice, or
    fetched and loaded from a file, has one id.

    Raises:
        VenueDataError: The row is short, a value is not a number, or the prices are not a
            valid bar (not positive, high below low).
    """
    if len(row) < 5:
        raise VenueDataError(f"OHLCV row {list(row)!r} has fewer than five values")
    interval, length = interval_of_timeframe(timeframe)
    start = nanos_from_ms(row[0])
    if start is None:
        raise VenueDataError(f"OHLCV row {list(row)!r} has no start time")
    open_, high, low, close = (
        _number(row[index + 1], name) for index, name in enumerate(("open", "high", "low", "close"))
    )
    volume = _number(row[5], "volume") if len(row) > 5 and row[5] is not None else 0.0
    try:
        return Bar(
            event_id=derive_event_id(
                "md.bar", instrument_id, interval, PriceType.TRADE.value, start
            ),
            source=source,
            event_time=start + length,
            instrument_id=instrument_id,
            interval=interval,
            price_type=PriceType.TRADE,
            start_time=start,
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=max(volume, 0.0),
        )
    except ValueError as error:
        raise VenueDataError(f"bar of {instrument_id} at {row[0]}: {error}") from None
