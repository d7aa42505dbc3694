"""Market data events: trades, quotes, bars and order-book snapshots and deltas."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from jules_contracts.base import (
    Contract,
    Event,
    Identifier,
    InstrumentId,
    NonNegativeFloat,
    PositiveFloat,
    UtcNanos,
)
from jules_contracts.enums import AggressorSide, BookSide, PriceType

__all__ = [
    "MARKET_EVENT_TYPES",
    "Bar",
    "BookChange",
    "BookDelta",
    "BookLevel",
    "BookSnapshot",
    "MarketEvent",
    "Quote",
    "Trade",
    "market_price",
]

BarInterval = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*(ms|s|m|h|d)$")]
"""A bar length: ``1s``, ``1m``, ``5m``, ``1h``, ``1d``, ``250ms``."""


class Trade(Event):
    """A trade printed by a venue (``md.trades.v1``).

    Attributes:
        instrument_id: What traded.
        price: Trade price, in the quote currency.
        size: Traded quantity, in base units.
        aggressor_side: Which side took liquidity, when the venue says.
        trade_id: The venue's trade id, when it has one.
    """

    event_type: Literal["md.trade"] = "md.trade"
    instrument_id: InstrumentId
    price: PositiveFloat
    size: PositiveFloat
    aggressor_side: AggressorSide = AggressorSide.NONE
    trade_id: Identifier | None = None


class Quote(Event):
    """Best bid and offer (``md.quotes.v1``).

    Sizes may be zero: some feeds (FX) publish prices without sizes. Whether a quote is
    crossed is judged by the market-data engine, which rejects it with a reason code.
    """

    event_type: Literal["md.quote"] = "md.quote"
    instrument_id: InstrumentId
    bid_price: PositiveFloat
    ask_price: PositiveFloat
    bid_size: NonNegativeFloat = 0.0
    ask_size: NonNegativeFloat = 0.0


class Bar(Event):
    """An OHLCV bar covering ``[start_time, event_time)`` (``md.bars.v1``).

    ``event_time`` is the bar's close time, when it becomes known.
    """

    event_type: Literal["md.bar"] = "md.bar"
    instrument_id: InstrumentId
    interval: BarInterval
    price_type: PriceType = PriceType.TRADE
    start_time: UtcNanos
    open: PositiveFloat
    high: PositiveFloat
    low: PositiveFloat
    close: PositiveFloat
    volume: NonNegativeFloat = 0.0
    trade_count: Annotated[int, Field(ge=0, strict=True)] | None = None

    @model_validator(mode="after")
    def _check_ohlc(self) -> Self:
        if self.high < max(self.open, self.close, self.low):
            raise ValueError(
                f"high {self.high} is below open, close or low "
                f"(open {self.open}, low {self.low}, close {self.close})"
            )
        if self.low > min(self.open, self.close):
            raise ValueError(
                f"low {self.low} is above open or close (open {self.open}, close {self.close})"
            )
        if self.start_time >= self.event_time:
            raise ValueError(
                f"start_time {self.start_time} must be before event_time {self.event_time}"
            )
        return self


class BookLevel(Contract):
    """One price level of a book: price and the total size resting at it."""

    price: PositiveFloat
    size: PositiveFloat


class BookSnapshot(Event):
    """A full L2 order book (``md.book.v1``): bids best first (descending), asks ascending."""

    event_type: Literal["md.book_snapshot"] = "md.book_snapshot"
    instrument_id: InstrumentId
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()
    sequence: Annotated[int, Field(ge=0, strict=True)] | None = None

    @model_validator(mode="after")
    def _check_sorted(self) -> Self:
        bid_prices = [level.price for level in self.bids]
        ask_prices = [level.price for level in self.asks]
        if any(a <= b for a, b in itertools.pairwise(bid_prices)):
            raise ValueError("bids must be sorted by strictly descending price")
        if any(a >= b for a, b in itertools.pairwise(ask_prices)):
            raise ValueError("asks must be sorted by strictly ascending price")
        return self


class BookChange(Contract):
    """One level update of a book delta: the new size at a price (0 removes the level)."""

    side: BookSide
    price: PositiveFloat
    size: NonNegativeFloat


class BookDelta(Event):
    """Incremental L2 book update (``md.book.v1``), applied in order after a snapshot.

    Attributes:
        changes: Level updates, applied in order.
        first_sequence: First update id covered (Binance ``U``), when the venue numbers them.
        sequence: Last update id covered (Binance ``u``).
    """

    event_type: Literal["md.book_delta"] = "md.book_delta"
    instrument_id: InstrumentId
    changes: Annotated[tuple[BookChange, ...], Field(min_length=1)]
    first_sequence: Annotated[int, Field(ge=0, strict=True)] | None = None
    sequence: Annotated[int, Field(ge=0, strict=True)] | None = None

    @model_validator(mode="after")
    def _check_sequence(self) -> Self:
        if (
            self.first_sequence is not None
            and self.sequence is not None
            and self.first_sequence > self.sequence
        ):
            raise ValueError(
                f"first_sequence {self.first_sequence} is after sequence {self.sequence}"
            )
        return self


MarketEvent = Bar | Quote | Trade | BookSnapshot
"""A market event an order can fill on and a position be marked at."""

MARKET_EVENT_TYPES = (Bar, Quote, Trade, BookSnapshot)
"""The classes of ``MarketEvent`` (for ``isinstance``)."""


def market_price(event: MarketEvent) -> float | None:
    """The price an event shows: a bar's close, a quote's or a book's mid, a trade's price.

    ``None`` for a one-sided or empty book.
    """
    if isinstance(event, Bar):
        return event.close
    if isinstance(event, Quote):
        return (event.bid_price + event.ask_price) / 2
    if isinstance(event, Trade):
        return event.price
    if event.bids and event.asks:
        return (event.bids[0].price + event.asks[0].price) / 2
    return None
