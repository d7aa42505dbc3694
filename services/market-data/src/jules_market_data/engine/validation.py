"""Stream validation: order, duplicates, crossed quotes and books, with a report of every count.

The loaders already refuse rows that do not make a valid contract (NaN, prices <= 0, ...); the
``MarketDataValidator`` checks what needs the stream's history:

* **order** — each stream (instrument x kind, see ``stream_key``) must be in event-time order;
  an earlier event is ``OUT_OF_ORDER``;
* **duplicates** — an event id seen before, a venue trade id seen before for the instrument,
  and (``trade_content_dedup``) a trade identical in time, price, size and aggressor to one
  already seen at that time are ``DUPLICATE``;
* **crossed markets** — a quote with bid above ask (and, when configured, bid equal to ask:
  ``LOCKED_BOOK``), a book snapshot whose best bid is at or above its best ask;
* **book continuity** (``track_books``) — each instrument's book is rebuilt with ``L2Book``; a
  delta that does not chain is ``SEQUENCE_GAP``, one that crosses the book is ``CROSSED_BOOK``
  (the book then waits for the next snapshot, so every accepted delta applies cleanly to a book
  built from the accepted events only).

Rejections coming from the loaders pass through unchanged and are counted too.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from jules_contracts import BookDelta, BookSnapshot, Event, Quote, Trade

from jules_market_data.engine.book import BookStatus, L2Book
from jules_market_data.engine.config import ValidatorConfig
from jules_market_data.engine.rejections import Rejection, RejectReason
from jules_market_data.engine.streams import stream_key

__all__ = ["MarketDataValidator", "ValidationReport", "rebuilt_books"]

T = TypeVar("T")

SOURCE = "validator"


@dataclass(frozen=True)
class ValidationReport:
    """Counts of everything the validator saw.

    Attributes:
        accepted: Events passed on.
        rejected: Refused rows and events by reason (loader rejections included).
        accepted_by_instrument: Accepted events per instrument id.
    """

    accepted: int = 0
    rejected: Mapping[RejectReason, int] = field(default_factory=dict)
    accepted_by_instrument: Mapping[str, int] = field(default_factory=dict)

    @property
    def total_rejected(self) -> int:
        """All refused rows and events."""
        return sum(self.rejected.values())

    @property
    def total(self) -> int:
        """Everything seen: accepted plus refused."""
        return self.accepted + self.total_rejected


class _RecentKeys:
    """A set that remembers only the last ``capacity`` keys added."""

    def __init__(self, capacity: int) -> None:
        self._order: deque[Hashable] = deque()
        self._keys: set[Hashable] = set()
        self._capacity = capacity

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def add(self, key: Hashable) -> None:
        if key in self._keys:
            return
        self._order.append(key)
        self._keys.add(key)
        if len(self._order) > self._capacity:
            self._keys.discard(self._order.popleft())


class MarketDataValidator:
    """Checks a stream of events and loader rejections; counts everything.

    Use ``validate(stream)`` to filter a whole stream, or ``check(item)`` one item at a time;
    ``report()`` gives the counts so far.
    """

    def __init__(self, config: ValidatorConfig | None = None) -> None:
        self.config = config or ValidatorConfig()
        self._accepted = 0
        self._rejected: Counter[RejectReason] = Counter()
        self._by_instrument: Counter[str] = Counter()
        self._last_time: dict[tuple[str, ...], int] = {}
        self._recent = _RecentKeys(self.config.dedup_window)
        self._same_time_trades: dict[str, tuple[int, set[tuple[float, float, str]]]] = {}
        self._books: dict[str, L2Book] = {}

    def validate(self, items: Iterable[Event | Rejection]) -> Iterator[Event | Rejection]:
        """Check every item in order, yielding the accepted events and all rejections."""
        for item in items:
            yield self.check(item)

    def check(self, item: Event | Rejection) -> Event | Rejection:
        """Return the event if it passes, else a ``Rejection`` (loader rejections unchanged)."""
        if isinstance(item, Rejection):
            self._rejected[item.reason] += 1
            return item
        failure = self._failure(item)
        if failure is not None:
            reason, detail = failure
            self._rejected[reason] += 1
            return Rejection(
                source=SOURCE,
                location=f"event {item.event_id}",
                reason=reason,
                detail=detail,
                event_time=item.event_time,
                instrument_id=getattr(item, "instrument_id", None),
            )
        self._accept(item)
        return item

    def report(self) -> ValidationReport:
        """The counts so far (reasons and instruments in sorted order)."""
        return ValidationReport(
            accepted=self._accepted,
            rejected=dict(sorted(self._rejected.items())),
            accepted_by_instrument=dict(sorted(self._by_instrument.items())),
        )

    def book(self, instrument_id: str) -> L2Book | None:
        """The book rebuilt for ``instrument_id`` (``track_books``), if it has book events."""
        return self._books.get(instrument_id)

    # --- checks ---------------------------------------------------------------------------
    def _failure(self, event: Event) -> tuple[RejectReason, str] | None:
        if ("id", event.event_id) in self._recent:
            return RejectReason.DUPLICATE, f"event_id {event.event_id} was already accepted"
        key = stream_key(event)
        last = self._last_time.get(key)
        if last is not None and (
            event.event_time < last
            or (event.event_time == last and not self.config.allow_equal_times)
        ):
            return (
                RejectReason.OUT_OF_ORDER,
                f"event_time {event.event_time} is before {last}, the previous "
                f"{event.event_type} of {key[0] or 'the stream'}",
            )
        if isinstance(event, Trade):
            return self._trade_failure(event)
        if isinstance(event, Quote):
            return self._quote_failure(event)
        if isinstance(event, BookSnapshot | BookDelta):
            return self._book_failure(event)
        return None

    def _trade_failure(self, trade: Trade) -> tuple[RejectReason, str] | None:
        if trade.trade_id is not None and ("trade", trade.instrument_id, trade.trade_id) in (
            self._recent
        ):
            return (
                RejectReason.DUPLICATE,
                f"trade_id {trade.trade_id} of {trade.instrument_id} was already accepted",
            )
        if self.config.trade_content_dedup:
            time, seen = self._same_time_trades.get(trade.instrument_id, (-1, set()))
            content = (trade.price, trade.size, trade.aggressor_side.value)
            if time == trade.event_time and content in seen:
                return (
                    RejectReason.DUPLICATE,
                    f"a trade of {trade.size} at {trade.price} at {trade.event_time} "
                    "was already accepted",
                )
        return None

    def _quote_failure(self, quote: Quote) -> tuple[RejectReason, str] | None:
        if quote.bid_price > quote.ask_price and self.config.reject_crossed_quotes:
            return (
                RejectReason.CROSSED_BOOK,
                f"bid_price {quote.bid_price} is above ask_price {quote.ask_price}",
            )
        if quote.bid_price == quote.ask_price and self.config.reject_locked_quotes:
            return (
                RejectReason.LOCKED_BOOK,
                f"bid_price {quote.bid_price} equals ask_price {quote.ask_price}",
            )
        return None

    def _book_failure(self, event: BookSnapshot | BookDelta) -> tuple[RejectReason, str] | None:
        if isinstance(event, BookSnapshot) and (
            self.config.reject_crossed_quotes
            and event.bids
            and event.asks
            and event.bids[0].price >= event.asks[0].price
        ):
            return (
                RejectReason.CROSSED_BOOK,
                f"best bid {event.bids[0].price} is at or above best ask {event.asks[0].price}",
            )
        if not self.config.track_books:
            return None
        book = self._books.get(event.instrument_id)
        if book is None:
            book = self._books[event.instrument_id] = L2Book(event.instrument_id, self.config.book)
        status = book.apply(event)
        if isinstance(event, BookSnapshot):
            return None
        if status is BookStatus.GAP:
            return (
                RejectReason.SEQUENCE_GAP,
                f"delta {event.first_sequence}..{event.sequence} does not follow the book's "
                "last update: updates are missing; the book waits for a new snapshot",
            )
        if status is BookStatus.APPLIED and book.is_crossed and self.config.reject_crossed_quotes:
            bid, ask = book.best_bid(), book.best_ask()
            book.invalidate()
            return (
                RejectReason.CROSSED_BOOK,
                f"after delta {event.sequence} the best bid {bid and bid.price} is at or above "
                f"the best ask {ask and ask.price}; the book waits for a new snapshot",
            )
        return None

    def _accept(self, event: Event) -> None:
        self._accepted += 1
        instrument = getattr(event, "instrument_id", None)
        if instrument is not None:
            self._by_instrument[instrument] += 1
        self._recent.add(("id", event.event_id))
        self._last_time[stream_key(event)] = event.event_time
        if isinstance(event, Trade):
            if event.trade_id is not None:
                self._recent.add(("trade", event.instrument_id, event.trade_id))
            if self.config.trade_content_dedup:
                time, seen = self._same_time_trades.get(event.instrument_id, (-1, set()))
                if time != event.event_time:
                    seen = set()
                seen.add((event.price, event.size, event.aggressor_side.value))
                self._same_time_trades[event.instrument_id] = (event.event_time, seen)


def rebuilt_books(
    items: Iterable[T], validator: MarketDataValidator, depth_of: Callable[[str], int]
) -> Iterator[T | BookSnapshot]:
    """``items`` with each accepted book update replaced by the book after it.

    A snapshot or delta of ``validator``'s stream (``track_books``) becomes the instrument's
    rebuilt book as a ``BookSnapshot`` of ``depth_of(instrument)`` levels a side, derived from
    the update; none while the book waits for its snapshot. Other items pass unchanged.
    """
    for item in items:
        if isinstance(item, BookSnapshot | BookDelta):
            book = validator.book(item.instrument_id)
            if book is not None and book.synced:
                yield book.snapshot(item, depth=depth_of(item.instrument_id))
        else:
            yield item
