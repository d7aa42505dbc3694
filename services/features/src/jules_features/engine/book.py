"""Top-of-book (L1) and depth (L2) features from quotes and order-book events.

State per instrument:

* the **top of the book** (best bid/ask prices and sizes) comes from whichever came last of a
  ``Quote`` or a book event (``BookSnapshot`` / ``BookDelta``, whose best levels are then the
  top): a feed with quotes only, books only, or both gets L1 features;
* the **L2 book** is replaced by each ``BookSnapshot`` and changed by each ``BookDelta``
  (size 0 removes a level). Deltas before the first snapshot are ignored: the book is unknown
  until a snapshot says what it is. Sequence checks are the market-data service's job.

The features, evaluated when a bar closes from the latest state:

* ``spread`` = ask - bid; ``spread_bps`` = spread / mid * 10,000 with mid = (bid + ask) / 2;
* ``book_imbalance`` = (bid size - ask size) / (bid size + ask size) at the top;
* ``microprice`` = (bid * ask size + ask * bid size) / (bid size + ask size);
* ``book_imbalance_<n>`` = the same imbalance over the summed sizes of the best ``n`` levels
  of each side (fewer if a side has fewer).

A feature is ``None`` when its data has not arrived, a side is empty, the sizes it divides by
are zero (quotes without sizes), or the data is older than ``book_max_age_ns``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from jules_contracts import BookDelta, BookSide, BookSnapshot, Quote

from jules_features.engine.schema import FeatureSource, FeatureSpec

__all__ = ["BookState", "TopOfBook"]


@dataclass(frozen=True)
class TopOfBook:
    """Best bid and ask with their sizes."""

    bid: float
    ask: float
    bid_size: float
    ask_size: float

    @property
    def spread(self) -> float:
        """Ask minus bid."""
        return self.ask - self.bid

    @property
    def spread_bps(self) -> float:
        """Spread over the mid price, in basis points."""
        return (self.ask - self.bid) / ((self.bid + self.ask) / 2.0) * 10_000.0

    @property
    def imbalance(self) -> float | None:
        """Size imbalance in [-1, 1]; ``None`` when both sizes are zero."""
        return _imbalance(self.bid_size, self.ask_size)

    @property
    def microprice(self) -> float | None:
        """Size-weighted mid; ``None`` when both sizes are zero."""
        total = self.bid_size + self.ask_size
        if total <= 0:
            return None
        return (self.bid * self.ask_size + self.ask * self.bid_size) / total


def _imbalance(bid_size: float, ask_size: float) -> float | None:
    total = bid_size + ask_size
    return (bid_size - ask_size) / total if total > 0 else None


class BookState:
    """The latest top of book and L2 book of one instrument."""

    def __init__(self) -> None:
        self._quote: TopOfBook | None = None
        self._top_time: int | None = None
        self._top_from_book = False
        self._bids: dict[float, float] | None = None  # None until the first snapshot
        self._asks: dict[float, float] = {}
        self._book_time: int | None = None

    def apply_quote(self, quote: Quote) -> None:
        """Take a quote: it becomes the top of the book."""
        self._quote = TopOfBook(quote.bid_price, quote.ask_price, quote.bid_size, quote.ask_size)
        self._top_time = quote.event_time
        self._top_from_book = False

    def apply_book(self, event: BookSnapshot | BookDelta) -> None:
        """Take a book snapshot or delta: it updates the L2 book and the top of the book."""
        if isinstance(event, BookSnapshot):
            self._bids = {level.price: level.size for level in event.bids}
            self._asks = {level.price: level.size for level in event.asks}
        elif self._bids is None:
            return
        else:
            for change in event.changes:
                side = self._bids if change.side is BookSide.BID else self._asks
                if change.size > 0:
                    side[change.price] = change.size
                else:
                    side.pop(change.price, None)
        self._book_time = self._top_time = event.event_time
        self._top_from_book = True

    def top(self, now: int, max_age: int | None) -> TopOfBook | None:
        """The top of the book at time ``now``, or ``None`` if unknown, one-sided or stale."""
        if self._top_time is None or _stale(self._top_time, now, max_age):
            return None
        if not self._top_from_book:
            return self._quote
        if not self._bids or not self._asks:
            return None
        bid = max(self._bids)
        ask = min(self._asks)
        return TopOfBook(bid, ask, self._bids[bid], self._asks[ask])

    def depth_imbalance(self, levels: int, now: int, max_age: int | None) -> float | None:
        """Size imbalance over the best ``levels`` levels of each side, or ``None``."""
        if self._bids is None or self._book_time is None or _stale(self._book_time, now, max_age):
            return None
        bids = heapq.nlargest(levels, self._bids.items())
        asks = heapq.nsmallest(levels, self._asks.items())
        return _imbalance(sum(size for _, size in bids), sum(size for _, size in asks))

    def values(
        self, specs: tuple[FeatureSpec, ...], now: int, max_age: int | None
    ) -> list[float | None]:
        """Values of quote/book features ``specs`` at time ``now``, in order."""
        top = self.top(now, max_age)
        values: list[float | None] = []
        for spec in specs:
            if spec.source is FeatureSource.BOOK:  # book_imbalance_<n>
                values.append(self.depth_imbalance(int(spec.params[0]), now, max_age))
            elif top is None:
                values.append(None)
            elif spec.indicator == "spread":
                values.append(top.spread)
            elif spec.indicator == "spread_bps":
                values.append(top.spread_bps)
            elif spec.indicator == "book_imbalance":
                values.append(top.imbalance)
            else:  # microprice
                values.append(top.microprice)
        return values


def _stale(time: int, now: int, max_age: int | None) -> bool:
    return max_age is not None and now - time > max_age
