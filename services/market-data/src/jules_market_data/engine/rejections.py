"""Why a row or an event was refused: reason codes, records, contract-error mapping.

Nothing is dropped silently: a loader yields a ``Rejection`` for every row it cannot turn into a
valid event, and the ``MarketDataValidator`` yields one for every event it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

__all__ = ["RejectReason", "Rejection", "reason_for_validation_error"]


class RejectReason(StrEnum):
    """Reason codes of refused rows and events. Users act on them, so they never change."""

    NON_FINITE = "NON_FINITE"
    """A price, size or time is NaN or infinite."""
    NON_POSITIVE_PRICE = "NON_POSITIVE_PRICE"
    """A price is zero or negative."""
    NEGATIVE_SIZE = "NEGATIVE_SIZE"
    """A size or volume is negative."""
    ZERO_SIZE = "ZERO_SIZE"
    """A trade or a book level has a size of zero (a trade of nothing, an empty level)."""
    CROSSED_BOOK = "CROSSED_BOOK"
    """Best bid above best ask (a quote, a book snapshot, or a book after a delta)."""
    LOCKED_BOOK = "LOCKED_BOOK"
    """Best bid equal to best ask, refused only when configured (``reject_locked_quotes``)."""
    OUT_OF_ORDER = "OUT_OF_ORDER"
    """Event time earlier than the previous event of the same stream."""
    DUPLICATE = "DUPLICATE"
    """Same event id, same venue trade id, or (when configured) same trade content again."""
    MALFORMED = "MALFORMED"
    """The row cannot be parsed: wrong column count, text where a number belongs, bad JSON."""
    BAD_TIMESTAMP = "BAD_TIMESTAMP"
    """The time is unparsable, naive (no UTC offset), or outside 1970..2262."""
    INCONSISTENT_OHLC = "INCONSISTENT_OHLC"
    """A bar whose high is below open/close/low or whose low is above open/close."""
    UNSORTED_BOOK = "UNSORTED_BOOK"
    """A book snapshot with the same price twice on one side."""
    SEQUENCE_GAP = "SEQUENCE_GAP"
    """A book delta that does not chain onto the book (update ids missing)."""
    UNKNOWN_MESSAGE = "UNKNOWN_MESSAGE"
    """A well-formed message of a kind the loader does not know."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused row or event, with where it came from and why.

    Attributes:
        source: Who refused it: the loader format (``lean_quote_ticks``) or ``validator``.
        location: Where: ``<file name>:<line>`` for a file row (``row <n>`` for Parquet), the
            event id for an event refused by the validator.
        reason: The reason code.
        detail: A message naming the field and value at fault.
        event_time: The event time when it could be read (UTC nanoseconds), else ``None``.
        instrument_id: The instrument when known.
    """

    source: str
    location: str
    reason: RejectReason
    detail: str
    event_time: int | None = None
    instrument_id: str | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.reason.value}: {self.detail}"


_PRICE_FIELDS = frozenset({"price", "bid_price", "ask_price", "open", "high", "low", "close"})
_SIZE_FIELDS = frozenset({"size", "bid_size", "ask_size", "volume", "trade_count"})
_TIME_FIELDS = frozenset({"event_time", "start_time"})

# When one row breaks several rules, the most specific code wins (first in this list).
_PRIORITY = (
    RejectReason.NON_FINITE,
    RejectReason.BAD_TIMESTAMP,
    RejectReason.NON_POSITIVE_PRICE,
    RejectReason.NEGATIVE_SIZE,
    RejectReason.ZERO_SIZE,
    RejectReason.INCONSISTENT_OHLC,
    RejectReason.UNSORTED_BOOK,
    RejectReason.SEQUENCE_GAP,
    RejectReason.MALFORMED,
)


def reason_for_validation_error(error: ValidationError) -> tuple[RejectReason, str]:
    """Map a contract ``ValidationError`` onto a reason code and a readable detail.

    NaN/infinity gives ``NON_FINITE``; a price ``<= 0`` gives ``NON_POSITIVE_PRICE``; a negative
    size ``NEGATIVE_SIZE`` and a zero trade or level size ``ZERO_SIZE``; a bar whose high/low
    do not bound open and close ``INCONSISTENT_OHLC``; a bad timestamp ``BAD_TIMESTAMP``; an
    unsorted book ``UNSORTED_BOOK``; anything else ``MALFORMED``.

    Args:
        error: The error raised while validating a contract.

    Returns:
        The most specific reason among the errors, and a detail listing every error with its
        field and value.
    """
    reasons: list[RejectReason] = []
    parts: list[str] = []
    for item in error.errors(include_url=False):
        reasons.append(_reason_of(item))
        where = ".".join(str(part) for part in item["loc"]) or "row"
        parts.append(f"{where}: {item['msg']} (got {item['input']!r})"[:300])
    reason = min(reasons, key=_PRIORITY.index) if reasons else RejectReason.MALFORMED
    return reason, "; ".join(parts)


def _reason_of(item: Any) -> RejectReason:
    kind: str = item["type"]
    loc: tuple[str | int, ...] = item["loc"]
    field = next((part for part in reversed(loc) if isinstance(part, str)), "")
    value = item.get("input")
    if kind == "finite_number":
        return RejectReason.NON_FINITE
    if field in _TIME_FIELDS:
        return RejectReason.BAD_TIMESTAMP
    if kind in {"greater_than", "greater_than_equal"}:
        if field in _PRICE_FIELDS:
            return RejectReason.NON_POSITIVE_PRICE
        if field in _SIZE_FIELDS:
            return RejectReason.ZERO_SIZE if value == 0 else RejectReason.NEGATIVE_SIZE
    if kind == "value_error" and not loc:
        message = str(item.get("msg", ""))
        if "start_time" in message:
            return RejectReason.BAD_TIMESTAMP
        if "high" in message or "low" in message:
            return RejectReason.INCONSISTENT_OHLC
        if "sorted" in message:
            return RejectReason.UNSORTED_BOOK
    return RejectReason.MALFORMED
