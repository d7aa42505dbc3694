"""The features service's handler: market data to the feature engine, feature vectors out.

Bars (``md.bars.v1``) give one ``FeatureVector`` each on ``features.v1``; quotes
(``md.quotes.v1``) and book snapshots and deltas (``md.book.v1``) update the L1/L2 state the
next vector reads, and publish nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import Bar, BookDelta, BookSnapshot, Event, Quote
from jules_contracts.topics import MD_BARS, MD_BOOK, MD_QUOTES
from jules_runtime.bus import Handler

from jules_features.engine import FeatureEngine

__all__ = ["INPUT_TOPICS", "market_data_handler"]

INPUT_TOPICS = (MD_BARS, MD_QUOTES, MD_BOOK)
"""What the features service consumes, with one consumer."""


def market_data_handler(engine: FeatureEngine) -> Handler:
    """The handler of ``md.*`` events: bars give a vector; quotes and books update L1/L2 state."""

    async def handle(event: Event) -> Sequence[Event]:
        if isinstance(event, Bar):
            return [engine.on_bar(event)]
        if isinstance(event, Quote):
            engine.on_quote(event)
        elif isinstance(event, BookSnapshot | BookDelta):
            engine.on_book(event)
        return []

    return handle
