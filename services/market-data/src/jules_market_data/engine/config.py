"""Configuration of the market-data engine: frozen models that refuse bad values at construction.

Every error names the field and the value (pydantic reports the field; the validators below
explain what a valid value looks like).
"""

from __future__ import annotations

from typing import Annotated, Self

from jules_contracts import PriceType
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jules_market_data.engine.units import interval_ns

__all__ = ["BarAggregatorConfig", "BookConfig", "GapDetectorConfig", "ValidatorConfig"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _check_interval(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        interval_ns(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
    return value


class BookConfig(BaseModel):
    """How an ``L2Book`` handles deltas.

    Attributes:
        max_buffered_deltas: Deltas kept while waiting for a snapshot (Binance's procedure
            buffers the diff stream before the REST snapshot arrives); the oldest are dropped
            beyond this many.
    """

    model_config = _FROZEN

    max_buffered_deltas: Annotated[int, Field(ge=0, strict=True)] = 10_000


class ValidatorConfig(BaseModel):
    """What the ``MarketDataValidator`` refuses.

    Attributes:
        reject_crossed_quotes: Refuse quotes and book snapshots with bid above ask.
        reject_locked_quotes: Also refuse quotes with bid equal to ask (FX feeds publish them).
        allow_equal_times: Accept consecutive events of one stream with the same event time.
        trade_content_dedup: Also treat a trade with the same time, price, size and aggressor as
            the previous trades at that time as a duplicate. Off by default: one-second feeds
            (bitcoincharts) print distinct trades that look the same.
        dedup_window: How many recent ids (event ids, venue trade ids) are remembered.
        track_books: Rebuild each instrument's book from snapshots and deltas to refuse deltas
            that do not chain (``SEQUENCE_GAP``) or cross the book (``CROSSED_BOOK``).
        book: Book options when ``track_books`` is on.
    """

    model_config = _FROZEN

    reject_crossed_quotes: bool = True
    reject_locked_quotes: bool = False
    allow_equal_times: bool = True
    trade_content_dedup: bool = False
    dedup_window: Annotated[int, Field(gt=0, strict=True)] = 100_000
    track_books: bool = True
    book: BookConfig = BookConfig()


class BarAggregatorConfig(BaseModel):
    """Which bars the ``BarAggregator`` builds.

    Attributes:
        interval: Bar length (``1s``, ``1m``, ``5m``, ``1h``); bars are aligned on multiples of
            it since the Unix epoch (UTC).
        quote_price_types: Bars built from each quote: any of ``BID``, ``ASK``, ``MID``.
    """

    model_config = _FROZEN

    interval: str = "1m"
    quote_price_types: tuple[PriceType, ...] = (PriceType.BID, PriceType.ASK)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        _check_interval(value, "interval")
        return value

    @field_validator("quote_price_types")
    @classmethod
    def _price_types(cls, value: tuple[PriceType, ...]) -> tuple[PriceType, ...]:
        if not value:
            raise ValueError("quote_price_types: give at least one of BID, ASK, MID")
        if PriceType.TRADE in value:
            raise ValueError("quote_price_types: TRADE bars come from trades, not quotes")
        if len(set(value)) != len(value):
            raise ValueError(f"quote_price_types: {list(value)} lists a price type twice")
        return value

    @property
    def interval_ns(self) -> int:
        """The interval in nanoseconds."""
        return interval_ns(self.interval)


class GapDetectorConfig(BaseModel):
    """When the ``GapDetector`` reports a gap or a stale stream.

    Give either ``max_gap`` (a duration such as ``90s`` or ``5m``) or ``max_gap_intervals``
    with ``interval`` (for bar streams: ``max_gap_intervals=3, interval="1m"``). A gap is
    reported when two consecutive events of one stream are more than that apart; a stream is
    stale when its last event is more than that before the time given to ``check_stale``.

    Attributes:
        max_gap: Longest accepted silence, as a duration.
        max_gap_intervals: Longest accepted silence, in intervals.
        interval: The interval of ``max_gap_intervals`` (also used to count missing bars).
    """

    model_config = _FROZEN

    max_gap: str | None = None
    max_gap_intervals: Annotated[int, Field(gt=0, strict=True)] | None = None
    interval: str | None = None

    @field_validator("max_gap", "interval")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        return _check_interval(value, "duration")

    @model_validator(mode="after")
    def _one_threshold(self) -> Self:
        if (self.max_gap is None) == (self.max_gap_intervals is None):
            raise ValueError(
                "give exactly one of max_gap (a duration like '5m') or max_gap_intervals "
                f"(got max_gap={self.max_gap!r}, max_gap_intervals={self.max_gap_intervals!r})"
            )
        if self.max_gap_intervals is not None and self.interval is None:
            raise ValueError("interval: required with max_gap_intervals (for example '1m')")
        return self

    @property
    def threshold_ns(self) -> int:
        """The longest accepted silence in nanoseconds."""
        if self.max_gap_intervals is not None and self.interval is not None:
            return self.max_gap_intervals * interval_ns(self.interval)
        return interval_ns(str(self.max_gap))
