"""An L2 order book rebuilt from a snapshot and deltas, with Binance's update-id rules.

Binance's documented procedure (spot and USD-M futures): buffer the diff stream, take a REST
snapshot with ``lastUpdateId`` L, drop buffered diffs with ``u <= L``, apply the first diff that
covers ``L + 1`` (``U <= L + 1 <= u``), then each next diff must start right after the previous
one (``U == previous u + 1``). A diff that starts later means updates were lost: the book is
out of sync until the next snapshot.

``BookDelta.first_sequence`` plays the part of ``U``. Binance USD-M futures number updates
across the whole venue, so consecutive diffs of one symbol leave holes between ``u`` and the
next ``U``; their continuity is ``pu == previous u`` instead. The loaders therefore set
``first_sequence = pu + 1`` for futures diffs ("this diff moves the book from update ``pu`` to
``u``"), and one rule serves both markets. Deltas without update ids are applied in arrival
order once a snapshot is in place.

Prices are keys as given (floats parsed from the feed's decimal strings): the same text always
gives the same float, so a level set and later deleted by the same price string matches.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from enum import StrEnum

from jules_contracts import BookDelta, BookLevel, BookSide, BookSnapshot, Event

from jules_market_data.engine.config import BookConfig

__all__ = ["BookStatus", "L2Book"]

SOURCE = "market-data"


class BookStatus(StrEnum):
    """What ``L2Book.apply`` did with an event."""

    SNAPSHOT = "SNAPSHOT"
    """The book was reset from a snapshot (and buffered deltas replayed onto it)."""
    APPLIED = "APPLIED"
    """The delta chained onto the book and was applied."""
    BUFFERED = "BUFFERED"
    """No usable snapshot yet: the delta is kept until one arrives."""
    STALE = "STALE"
    """The delta is entirely older than the book (``u <= `` book's update id): ignored."""
    GAP = "GAP"
    """Updates are missing (the delta, or a buffered one replayed after a snapshot, does not
    chain): the book is cleared and out of sync until the next snapshot."""


class _Side:
    """One side of the book: sizes by price plus the prices in ascending order."""

    __slots__ = ("prices", "sizes")

    def __init__(self) -> None:
        self.sizes: dict[float, float] = {}
        self.prices: list[float] = []

    def clear(self) -> None:
        self.sizes.clear()
        self.prices.clear()

    def load(self, levels: Iterable[BookLevel]) -> None:
        self.clear()
        for level in levels:
            self.sizes[level.price] = level.size
        self.prices = sorted(self.sizes)

    def set(self, price: float, size: float) -> None:
        if size == 0:
            if self.sizes.pop(price, None) is not None:
                del self.prices[bisect.bisect_left(self.prices, price)]
            return
        if price not in self.sizes:
            bisect.insort(self.prices, price)
        self.sizes[price] = size


class L2Book:
    """The L2 book of one instrument.

    Feed it the instrument's snapshots and deltas in order (``apply``), then read the best
    levels (``best_bid``, ``best_ask``), the depth (``bids``, ``asks``) and ``is_crossed``.

    Attributes:
        instrument_id: The instrument.
    """

    def __init__(self, instrument_id: str, config: BookConfig | None = None) -> None:
        self.instrument_id = instrument_id
        self._config = config or BookConfig()
        self._bids = _Side()
        self._asks = _Side()
        self._synced = False
        self._sequence: int | None = None
        self._buffer: deque[BookDelta] = deque(maxlen=self._config.max_buffered_deltas)
        self._last_time: int | None = None

    # --- state ----------------------------------------------------------------------------
    @property
    def synced(self) -> bool:
        """Whether the book holds a snapshot and every delta since (no known gap)."""
        return self._synced

    @property
    def sequence(self) -> int | None:
        """Update id of the last snapshot or delta applied (``None`` when unknown)."""
        return self._sequence

    @property
    def last_event_time(self) -> int | None:
        """Event time of the last snapshot or delta applied."""
        return self._last_time

    @property
    def buffered(self) -> int:
        """How many deltas wait for a snapshot."""
        return len(self._buffer)

    def best_bid(self) -> BookLevel | None:
        """The highest bid, or ``None`` when the bid side is empty."""
        prices = self._bids.prices
        return BookLevel(price=prices[-1], size=self._bids.sizes[prices[-1]]) if prices else None

    def best_ask(self) -> BookLevel | None:
        """The lowest ask, or ``None`` when the ask side is empty."""
        prices = self._asks.prices
        return BookLevel(price=prices[0], size=self._asks.sizes[prices[0]]) if prices else None

    def bids(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        """Bid levels, best (highest) first, at most ``depth`` of them."""
        prices = self._bids.prices
        chosen = prices[::-1] if depth is None else prices[: -depth - 1 : -1]
        return tuple(BookLevel(price=p, size=self._bids.sizes[p]) for p in chosen)

    def asks(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        """Ask levels, best (lowest) first, at most ``depth`` of them."""
        prices = self._asks.prices if depth is None else self._asks.prices[:depth]
        return tuple(BookLevel(price=p, size=self._asks.sizes[p]) for p in prices)

    @property
    def is_crossed(self) -> bool:
        """Best bid at or above best ask (a venue's book can be neither crossed nor locked)."""
        bids, asks = self._bids.prices, self._asks.prices
        return bool(bids and asks and bids[-1] >= asks[0])

    def snapshot(self, cause: Event, *, depth: int | None = None) -> BookSnapshot:
        """The book as a ``BookSnapshot`` event derived from ``cause`` (deterministic id)."""
        return BookSnapshot.derive(
            cause,
            key=f"book:{self._sequence}:{depth}",
            source=SOURCE,
            instrument_id=self.instrument_id,
            bids=self.bids(depth),
            asks=self.asks(depth),
            sequence=self._sequence,
        )

    # --- updates --------------------------------------------------------------------------
    def apply(self, event: BookSnapshot | BookDelta) -> BookStatus:
        """Apply a snapshot or a delta; see ``BookStatus`` for the outcomes."""
        if isinstance(event, BookSnapshot):
            return self.apply_snapshot(event)
        return self.apply_delta(event)

    def apply_snapshot(self, snapshot: BookSnapshot) -> BookStatus:
        """Reset the book from ``snapshot``, then replay the buffered deltas that follow it."""
        self._bids.load(snapshot.bids)
        self._asks.load(snapshot.asks)
        self._sequence = snapshot.sequence
        self._synced = True
        self._last_time = snapshot.event_time
        buffered = list(self._buffer)
        self._buffer.clear()
        for index, delta in enumerate(buffered):
            if delta.sequence is None and snapshot.sequence is not None:
                continue  # cannot be placed relative to the snapshot: the snapshot supersedes it
            if self.apply_delta(delta) is BookStatus.GAP:
                # Kept (with the one that broke the chain) for the next snapshot.
                self._buffer.extend(buffered[index + 1 :])
                return BookStatus.GAP
        return BookStatus.SNAPSHOT

    def apply_delta(self, delta: BookDelta) -> BookStatus:
        """Apply ``delta`` if it chains onto the book; buffer it when there is no snapshot."""
        if not self._synced:
            self._buffer.append(delta)
            return BookStatus.BUFFERED
        current, last = self._sequence, delta.sequence
        if current is not None and last is not None:
            if last <= current:
                return BookStatus.STALE
            first = delta.first_sequence if delta.first_sequence is not None else last
            if first > current + 1:
                self.invalidate()
                self._buffer.append(delta)  # a later snapshot may be covered by it
                return BookStatus.GAP
        for change in delta.changes:
            side = self._bids if change.side is BookSide.BID else self._asks
            side.set(change.price, change.size)
        if last is not None:
            self._sequence = last
        self._last_time = delta.event_time
        return BookStatus.APPLIED

    def invalidate(self) -> None:
        """Clear the book and wait for the next snapshot (after a gap or a refused delta)."""
        self._bids.clear()
        self._asks.clear()
        self._synced = False
        self._sequence = None
