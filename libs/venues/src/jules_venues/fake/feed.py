"""The recorded feed: Binance spot messages as the hftbacktest collector wrote them.

Each line of a recording is ``<local receive time, ns since the epoch> <JSON>``; the JSON is a
combined-stream message (``{"stream": "btcusdt@trade", "data": {...}}``) of a trade, a best
bid/offer (``bookTicker``) or an order-book diff (``depth@100ms``), or a REST depth snapshot
(``{"lastUpdateId": ..., "bids": [...], "asks": [...]}``) that belongs to the symbol of the
file name. Events keep the exchange's own fields (prices and quantities as the exchange wrote
them) and are ordered as they were received, which is the order the replay sends them in.

Aggregate trades are not in the recordings: consecutive trades of one symbol with the same
trade time, price and maker side form one, as Binance aggregates a taker order's fills at one
price; their ids are numbered from 1 per symbol.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "AggTrade",
    "DepthDiff",
    "DepthSnapshot",
    "Event",
    "Quote",
    "RecordedFeed",
    "Trade",
    "load_feed",
    "parse_lines",
]

Level = tuple[str, str]
"""A book level: price and quantity, as the exchange wrote them."""


@dataclass(frozen=True, slots=True)
class AggTrade:
    """An aggregate trade: consecutive fills at one price, time and maker side."""

    agg_id: int
    price: str
    qty: str
    first_id: int
    last_id: int
    time_ms: int
    buyer_maker: bool


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade; ``agg`` is set on the last trade of an aggregate trade."""

    recv_ns: int
    symbol: str
    event_ms: int
    trade_id: int
    price: str
    qty: str
    time_ms: int
    buyer_maker: bool
    agg: AggTrade | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """A best bid/offer update (``bookTicker``): the book's update id and its top levels."""

    recv_ns: int
    symbol: str
    update_id: int
    bid: str
    bid_qty: str
    ask: str
    ask_qty: str


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """An order-book diff covering update ids ``first_id`` to ``last_id`` (quantity 0 deletes)."""

    recv_ns: int
    symbol: str
    event_ms: int
    first_id: int
    last_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """A REST depth snapshot: the book as of update id ``last_update_id``."""

    recv_ns: int
    symbol: str
    last_update_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


Event = Trade | Quote | DepthDiff | DepthSnapshot
"""One recorded message."""


@dataclass(frozen=True, slots=True)
class RecordedFeed:
    """The messages of one or more recordings, in receive order.

    Attributes:
        events: The messages, in the order they were received.
        clock_offset_ms: Exchange time minus receive time (the median over the messages that
            carry an exchange time): the replay's exchange clock is the receive time plus this.
        symbols: The symbols, upper case, in order of first appearance.
    """

    events: tuple[Event, ...]
    clock_offset_ms: int
    symbols: tuple[str, ...] = field(default=())


def _levels(raw: Iterable[Sequence[str]]) -> tuple[Level, ...]:
    return tuple((str(price), str(qty)) for price, qty in raw)


def _symbol_of_file(name: str) -> str:
    """``btcusdt_20240808.gz`` -> ``BTCUSDT``: the symbol a snapshot line belongs to."""
    return name.split("_", 1)[0].split(".", 1)[0].upper()


def _parse_message(recv_ns: int, message: dict[str, Any], file_symbol: str) -> Event | None:
    if "lastUpdateId" in message:
        return DepthSnapshot(
            recv_ns=recv_ns,
            symbol=file_symbol,
            last_update_id=int(message["lastUpdateId"]),
            bids=_levels(message["bids"]),
            asks=_levels(message["asks"]),
        )
    stream = str(message.get("stream", ""))
    data: dict[str, Any] = message.get("data", {})
    kind = stream.split("@", 1)[1] if "@" in stream else ""
    symbol = str(data.get("s", stream.split("@", 1)[0])).upper()
    if kind == "trade":
        return Trade(
            recv_ns=recv_ns,
            symbol=symbol,
            event_ms=int(data["E"]),
            trade_id=int(data["t"]),
            price=str(data["p"]),
            qty=str(data["q"]),
            time_ms=int(data["T"]),
            buyer_maker=bool(data["m"]),
        )
    if kind == "bookTicker":
        return Quote(
            recv_ns=recv_ns,
            symbol=symbol,
            update_id=int(data["u"]),
            bid=str(data["b"]),
            bid_qty=str(data["B"]),
            ask=str(data["a"]),
            ask_qty=str(data["A"]),
        )
    if kind.startswith("depth"):
        return DepthDiff(
            recv_ns=recv_ns,
            symbol=symbol,
            event_ms=int(data["E"]),
            first_id=int(data["U"]),
            last_id=int(data["u"]),
            bids=_levels(data["b"]),
            asks=_levels(data["a"]),
        )
    return None


def parse_lines(lines: Iterable[str], file_symbol: str) -> Iterator[Event]:
    """The events of a recording's lines (unknown streams and blank lines are skipped).

    Args:
        lines: ``<receive ns> <JSON>`` lines.
        file_symbol: The symbol a REST snapshot line belongs to.

    Yields:
        The events, in line order.
    """
    for line in lines:
        stamp, _, payload = line.strip().partition(" ")
        if not payload:
            continue
        event = _parse_message(int(stamp), json.loads(payload), file_symbol)
        if event is not None:
            yield event


def _with_aggregates(events: list[Event]) -> list[Event]:
    """Mark the last trade of every aggregate trade with its :class:`AggTrade`."""
    trades_by_symbol: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        if isinstance(event, Trade):
            trades_by_symbol.setdefault(event.symbol, []).append(index)
    out = list(events)
    for indices in trades_by_symbol.values():
        agg_id = 0
        start = 0
        for position, index in enumerate(indices):
            trade = events[index]
            assert isinstance(trade, Trade)
            following = events[indices[position + 1]] if position + 1 < len(indices) else None
            if (
                isinstance(following, Trade)
                and following.time_ms == trade.time_ms
                and following.price == trade.price
                and following.buyer_maker == trade.buyer_maker
            ):
                continue
            agg_id += 1
            members = [events[i] for i in indices[start : position + 1]]
            qty = sum((Decimal(m.qty) for m in members if isinstance(m, Trade)), Decimal(0))
            first = members[0]
            assert isinstance(first, Trade)
            agg = AggTrade(
                agg_id=agg_id,
                price=trade.price,
                qty=f"{qty:.8f}",
                first_id=first.trade_id,
                last_id=trade.trade_id,
                time_ms=trade.time_ms,
                buyer_maker=trade.buyer_maker,
            )
            out[index] = Trade(
                recv_ns=trade.recv_ns,
                symbol=trade.symbol,
                event_ms=trade.event_ms,
                trade_id=trade.trade_id,
                price=trade.price,
                qty=trade.qty,
                time_ms=trade.time_ms,
                buyer_maker=trade.buyer_maker,
                agg=agg,
            )
            start = position + 1
    return out


def _clock_offset_ms(events: Sequence[Event]) -> int:
    offsets = sorted(
        e.event_ms - e.recv_ns // 1_000_000 for e in events if isinstance(e, Trade | DepthDiff)
    )
    return offsets[len(offsets) // 2] if offsets else 0


@lru_cache(maxsize=4)
def load_feed(paths: tuple[Path, ...]) -> RecordedFeed:
    """Read recordings (gzip or plain text) into one feed, in receive order.

    The result is cached per tuple of paths: the events are immutable, and several fake
    exchanges (one per test) may share them.

    Args:
        paths: The recording files, e.g. the consecutive spot files of hftbacktest.

    Returns:
        The feed.

    Raises:
        FileNotFoundError: A file does not exist.
        ValueError: The files hold no message.
    """
    events: list[Event] = []
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            events.extend(parse_lines(lines, _symbol_of_file(path.name)))
    if not events:
        raise ValueError(f"no market data message in {', '.join(map(str, paths))}")
    events.sort(key=lambda e: e.recv_ns)
    symbols = tuple(dict.fromkeys(e.symbol for e in events))
    return RecordedFeed(
        events=tuple(_with_aggregates(events)),
        clock_offset_ms=_clock_offset_ms(events),
        symbols=symbols,
    )
