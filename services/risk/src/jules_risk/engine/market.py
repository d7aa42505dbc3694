"""What the engine knows about each instrument's market: reference price, ATR, returns.

* Reference price: a bar's close, a quote's or a two-sided book's mid, a trade's price; its
  time is the event's.
* ATR: Wilder's average true range over bars, seeded like TA-Lib (the first value, after
  ``period + 1`` bars, is the mean of the first ``period`` true ranges that have a previous
  close; then ``ATR = (ATR * (period - 1) + TR) / period``). A caller may pass an ATR
  instead (``MarketState.set_atr``); a passed value wins until the next passed value.
* Returns: simple returns between consecutive bar closes, stamped with the bar's close time,
  the last ``history_length`` kept; quotes and trades do not add returns.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from jules_contracts.market_data import Bar, BookSnapshot, Quote, Trade

__all__ = ["MarketEvent", "MarketState", "WilderAtr"]

MarketEvent = Bar | Quote | Trade | BookSnapshot
"""A market event the engine reads."""


class WilderAtr:
    """Wilder's average true range, updated one bar at a time."""

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"atr period must be at least 1, got {period}")
        self.period = period
        self._previous_close: float | None = None
        self._seed: list[float] = []
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        """The current ATR, or ``None`` during warm-up."""
        return self._value

    def update(self, high: float, low: float, close: float) -> float | None:
        """Add a bar and return the ATR after it (``None`` during warm-up)."""
        previous = self._previous_close
        self._previous_close = close
        if previous is None:
            return None
        true_range = max(high - low, abs(high - previous), abs(low - previous))
        if self._value is None:
            self._seed.append(true_range)
            if len(self._seed) == self.period:
                self._value = sum(self._seed) / self.period
                self._seed.clear()
        else:
            self._value = (self._value * (self.period - 1) + true_range) / self.period
        return self._value


@dataclass(frozen=True, slots=True)
class ReferencePrice:
    """A price and the event time it was observed at."""

    price: float
    time: int


class MarketState:
    """Market knowledge of one instrument.

    Args:
        atr_period: Period of the Wilder ATR.
        history_length: Bar returns kept.
    """

    def __init__(self, atr_period: int, history_length: int) -> None:
        self._atr = WilderAtr(atr_period)
        self._passed_atr: float | None = None
        self.reference: ReferencePrice | None = None
        self.last_event_time: int | None = None
        self.crossed = False
        self._last_close: float | None = None
        self.returns: deque[tuple[int, float]] = deque(maxlen=history_length)

    @property
    def atr(self) -> float | None:
        """The ATR passed by the caller if any, else the internal Wilder ATR."""
        return self._passed_atr if self._passed_atr is not None else self._atr.value

    def set_atr(self, atr: float) -> None:
        """Use ``atr`` (a caller's value) instead of the internal ATR."""
        if not atr > 0:
            raise ValueError(f"atr must be a positive finite number, got {atr}")
        self._passed_atr = atr

    def update(self, event: MarketEvent) -> None:
        """Take in a market event (older events than the reference do not replace it)."""
        time = event.event_time
        self.last_event_time = max(time, self.last_event_time or time)
        if isinstance(event, Bar):
            price = event.close
            self._atr.update(event.high, event.low, event.close)
            if self._last_close is not None:
                self.returns.append((time, event.close / self._last_close - 1.0))
            self._last_close = event.close
        elif isinstance(event, Quote):
            self.crossed = event.bid_price > event.ask_price
            if self.crossed:
                return
            price = (event.bid_price + event.ask_price) / 2
        elif isinstance(event, Trade):
            price = event.price
        elif event.bids and event.asks:
            price = (event.bids[0].price + event.asks[0].price) / 2
        else:
            return  # a one-sided book shows no price
        if self.reference is None or time >= self.reference.time:
            self.reference = ReferencePrice(price, time)

    def recent_returns(self, count: int) -> list[float]:
        """The last ``count`` bar returns (fewer while warming up), oldest first."""
        newest_first = itertools.islice(reversed(self.returns), count)
        return [value for _, value in newest_first][::-1]
