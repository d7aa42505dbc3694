"""The replayed market: a recorded feed played as a live one, and the state it leaves behind.

A :class:`Market` applies the feed's events one by one: each trade joins the symbol's trades
(and its aggregate trade, when it closes one), each best bid/offer replaces the symbol's quote,
and each depth diff updates the symbol's order book, whose update id is the last applied diff's
``last_id``, so a snapshot served over REST chains with the diffs sent over a websocket. Every
applied event also goes to the listeners (the dialects' websocket streams).

The replay runs on the recorded receive times: :meth:`Market.run` plays them at ``speed``
recorded seconds per wall second (``0``: as fast as the event loop allows; ``None``: paused),
and :meth:`Market.step` / :meth:`Market.step_until` apply events by hand, which is what
deterministic tests do. The exchange clock (:attr:`Market.now_ms`) is the last applied event's
receive time plus the feed's clock offset.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from jules_venues.fake.feed import (
    AggTrade,
    DepthDiff,
    DepthSnapshot,
    Event,
    Level,
    Quote,
    RecordedFeed,
    Trade,
)

__all__ = ["Bar", "Book", "Listener", "Market", "SymbolState", "bar_with", "build_bars"]

Listener = Callable[[Event], None]
"""Called with every applied event, in order; it must not raise."""

_BURST = 2_000
"""Events applied at most between two yields to the event loop."""


@dataclass(slots=True)
class Book:
    """An L2 order book: levels by price, as of update id ``last_update_id``."""

    last_update_id: int
    bids: dict[Decimal, Level] = field(default_factory=dict)
    asks: dict[Decimal, Level] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, snapshot: DepthSnapshot) -> Book:
        """The book of a REST snapshot."""
        book = cls(last_update_id=snapshot.last_update_id)
        book._set(book.bids, snapshot.bids)
        book._set(book.asks, snapshot.asks)
        return book

    @staticmethod
    def _set(side: dict[Decimal, Level], levels: tuple[Level, ...]) -> None:
        for price, qty in levels:
            key = Decimal(price)
            if Decimal(qty) == 0:
                side.pop(key, None)
            else:
                side[key] = (price, qty)

    def apply(self, diff: DepthDiff) -> bool:
        """Apply a diff unless the book already covers it; whether it was applied."""
        if diff.last_id <= self.last_update_id:
            return False
        self._set(self.bids, diff.bids)
        self._set(self.asks, diff.asks)
        self.last_update_id = diff.last_id
        return True

    def levels(self, limit: int) -> tuple[list[Level], list[Level]]:
        """The best ``limit`` bids (highest first) and asks (lowest first)."""
        bids = [self.bids[p] for p in sorted(self.bids, reverse=True)[:limit]]
        asks = [self.asks[p] for p in sorted(self.asks)[:limit]]
        return bids, asks


@dataclass(frozen=True, slots=True)
class Bar:
    """A candle built from trades: ``[open_ms, open_ms + interval)``."""

    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    count: int
    taker_buy_volume: Decimal
    taker_buy_quote_volume: Decimal
    first_id: int
    last_id: int


def bar_with(bar: Bar | None, trade: Trade, interval_ms: int) -> Bar:
    """``bar`` with ``trade`` added, or a new bar if ``trade`` starts another interval."""
    start = trade.time_ms - trade.time_ms % interval_ms
    price, qty = Decimal(trade.price), Decimal(trade.qty)
    taker_buy = Decimal(0) if trade.buyer_maker else qty
    if bar is None or bar.open_ms != start or bar.count == 0:
        return Bar(start, start + interval_ms - 1, price, price, price, price, qty, qty * price, 1,
                   taker_buy, taker_buy * price, trade.trade_id, trade.trade_id)  # fmt: skip
    return Bar(
        open_ms=start,
        close_ms=bar.close_ms,
        open=bar.open,
        high=max(bar.high, price),
        low=min(bar.low, price),
        close=price,
        volume=bar.volume + qty,
        quote_volume=bar.quote_volume + qty * price,
        count=bar.count + 1,
        taker_buy_volume=bar.taker_buy_volume + taker_buy,
        taker_buy_quote_volume=bar.taker_buy_quote_volume + taker_buy * price,
        first_id=bar.first_id,
        last_id=trade.trade_id,
    )


def build_bars(trades: list[Trade], interval_ms: int) -> list[Bar]:
    """Candles of ``interval_ms`` from trades in time order; empty intervals repeat the close."""
    bars: list[Bar] = []
    for trade in trades:
        start = trade.time_ms - trade.time_ms % interval_ms
        while bars and bars[-1].open_ms + interval_ms < start:
            gap = bars[-1].open_ms + interval_ms
            bars.append(_empty_bar(gap, interval_ms, bars[-1].close))
        if bars and bars[-1].open_ms == start:
            bars[-1] = bar_with(bars[-1], trade, interval_ms)
        else:
            bars.append(bar_with(None, trade, interval_ms))
    return bars


def _empty_bar(start: int, interval_ms: int, close: Decimal) -> Bar:
    """An interval without trades (Binance: the previous close, no volume, trade ids -1)."""
    zero = Decimal(0)
    return Bar(start, start + interval_ms - 1, close, close, close, close, zero, zero, 0, zero,
               zero, -1, -1)  # fmt: skip


@dataclass(slots=True)
class SymbolState:
    """What the replay has applied so far for one symbol."""

    symbol: str
    book: Book | None = None
    quote: Quote | None = None
    trades: list[Trade] = field(default_factory=list)
    trade_times: list[int] = field(default_factory=list)
    agg_trades: list[AggTrade] = field(default_factory=list)

    def trades_between(self, start_ms: int | None, end_ms: int | None) -> list[Trade]:
        """The applied trades with ``start_ms <= time <= end_ms`` (open bounds when ``None``)."""
        lo = 0 if start_ms is None else bisect.bisect_left(self.trade_times, start_ms)
        hi = len(self.trades) if end_ms is None else bisect.bisect_right(self.trade_times, end_ms)
        return self.trades[lo:hi]

    def bars(
        self, interval_ms: int, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[Bar]:
        """Candles over the applied trades: the first ``limit`` from ``start_ms``, else the last."""
        if start_ms is None and self.trades:
            last = self.trades[-1].time_ms
            start_ms = last - last % interval_ms - (limit - 1) * interval_ms
        aligned = None if start_ms is None else start_ms - start_ms % interval_ms
        bars = build_bars(self.trades_between(aligned, end_ms), interval_ms)
        if start_ms is not None:
            bars = [b for b in bars if b.open_ms >= start_ms - start_ms % interval_ms]
        return bars[:limit]


class Market:
    """A recorded feed replayed as a live market.

    The market opens at the feed's first depth snapshot: its book is the snapshot's, updated
    by the diffs received before it that it does not cover (Binance's snapshot-plus-diffs
    procedure), so the REST snapshot and the websocket diffs chain from the first event. The
    other events before the snapshot are skipped.

    Args:
        feed: The recorded feed.
        speed: Recorded seconds per wall second for :meth:`run`; ``0`` as fast as possible,
            ``None`` paused (events are applied only by :meth:`step`).
    """

    def __init__(self, feed: RecordedFeed, speed: float | None = None) -> None:
        self.feed = feed
        self.symbols: dict[str, SymbolState] = {s: SymbolState(s) for s in feed.symbols}
        self._listeners: list[Listener] = []
        self._speed = speed
        self._wake = asyncio.Event()
        self._anchor: tuple[float, int] | None = None
        first_snapshot = next(
            (i for i, e in enumerate(feed.events) if isinstance(e, DepthSnapshot)), 0
        )
        self.position = first_snapshot
        self._clock_ns = feed.events[first_snapshot].recv_ns
        if isinstance(feed.events[first_snapshot], DepthSnapshot):
            self.step()
        for event in feed.events[:first_snapshot]:  # diffs received while the snapshot was taken
            book = self.symbols[event.symbol].book
            if isinstance(event, DepthDiff) and book is not None:
                book.apply(event)

    @property
    def now_ms(self) -> int:
        """The exchange clock: the last applied event's receive time plus the clock offset."""
        return self._clock_ns // 1_000_000 + self.feed.clock_offset_ms

    @property
    def finished(self) -> bool:
        """Whether every event has been applied."""
        return self.position >= len(self.feed.events)

    @property
    def speed(self) -> float | None:
        """Recorded seconds per wall second (``0``: as fast as possible; ``None``: paused)."""
        return self._speed

    def set_speed(self, speed: float | None) -> None:
        """Change the replay speed of :meth:`run` from the current position."""
        self._speed = speed
        self._anchor = None
        self._wake.set()

    def state(self, symbol: str) -> SymbolState:
        """The state of a symbol (``KeyError`` if the feed does not have it)."""
        return self.symbols[symbol.upper()]

    def add_listener(self, listener: Listener) -> None:
        """Send every event applied from now on to ``listener``."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop sending events to ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _apply(self, event: Event) -> None:
        state = self.symbols[event.symbol]
        if isinstance(event, Trade):
            state.trades.append(event)
            state.trade_times.append(event.time_ms)
            if event.agg is not None:
                state.agg_trades.append(event.agg)
        elif isinstance(event, Quote):
            state.quote = event
        elif isinstance(event, DepthDiff):
            if state.book is not None:
                state.book.apply(event)
        elif state.book is None or event.last_update_id > state.book.last_update_id:
            state.book = Book.from_snapshot(event)
        self._clock_ns = max(self._clock_ns, event.recv_ns)
        for listener in list(self._listeners):
            listener(event)

    def step(self, count: int = 1) -> list[Event]:
        """Apply (and publish) the next ``count`` events; the events applied."""
        events = self.feed.events[self.position : self.position + count]
        for event in events:
            self.position += 1
            self._apply(event)
        return list(events)

    def step_until(self, predicate: Callable[[Event], bool], limit: int = 100_000) -> list[Event]:
        """Apply events up to and including the first one ``predicate`` accepts.

        Args:
            predicate: Tells the event to stop after.
            limit: At most this many events are applied.

        Returns:
            The events applied (the last one is the accepted event unless the feed ended).
        """
        applied: list[Event] = []
        while not self.finished and len(applied) < limit:
            applied.extend(self.step())
            if predicate(applied[-1]):
                break
        return applied

    def due_events(self, loop_time: float) -> int:
        """How many of the next events are due at event-loop time ``loop_time``.

        The first call after a speed change anchors the replay: the current position's
        recorded time is due at ``loop_time``. At most 2,000 events are due at once.
        """
        speed = self._speed
        if speed is None:
            return 0
        if speed <= 0:
            return _BURST
        if self._anchor is None:
            self._anchor = (loop_time, self._clock_ns)
        wall, recv = self._anchor
        target = recv + int((loop_time - wall) * speed * 1e9)
        events = self.feed.events
        end = min(self.position + _BURST, len(events))
        due = self.position
        while due < end and events[due].recv_ns <= target:
            due += 1
        return due - self.position

    async def run(self) -> None:
        """Play the feed to its end at :attr:`speed` (changes take effect at once)."""
        loop = asyncio.get_running_loop()
        while not self.finished:
            self._wake.clear()
            due = self.due_events(loop.time())
            if due:
                self.step(due)
                await asyncio.sleep(0)
                continue
            if self._speed is None:
                await self._wake.wait()
                continue
            assert self._anchor is not None
            wall, recv = self._anchor
            next_ns = self.feed.events[self.position].recv_ns
            wait = wall + (next_ns - recv) / 1e9 / self._speed - loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.001))
