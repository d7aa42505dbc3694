"""Which stream an event belongs to: the unit of order, duplicate and gap checks."""

from __future__ import annotations

__all__ = ["stream_key"]

_BOOK_TYPES = frozenset({"md.book_snapshot", "md.book_delta"})


def stream_key(event: object) -> tuple[str, ...]:
    """The stream an event belongs to, for order, duplicate and gap checks.

    One instrument carries several streams (trades, quotes, book, bars of each interval and
    price type); each is in event-time order on its own. Book snapshots and deltas of an
    instrument form one stream (``md.book``). Events without an instrument share
    the key ``("", <event type>)``.
    """
    instrument = str(getattr(event, "instrument_id", ""))
    event_type = str(getattr(event, "event_type", type(event).__name__))
    if event_type in _BOOK_TYPES:
        return (instrument, "md.book")
    interval = getattr(event, "interval", None)
    if interval is None:
        return (instrument, event_type)
    return (instrument, event_type, str(interval), str(getattr(event, "price_type", "")))
