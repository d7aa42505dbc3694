"""Order-book imbalance: lean with the side of the book that has more size near the touch.

A book-driven strategy (``on_book``): it reads no bar and no feature.
"""

from __future__ import annotations

from jules_signal.examples._scores import ScoreParams, ScoreStrategy
from jules_signal.sdk import BookSnapshot, Field


class BookImbalanceParams(ScoreParams):
    """Parameters of ``BookImbalance``."""

    levels: int = Field(default=5, ge=1, le=1000, description="Levels a side in the score.")


class BookImbalance(ScoreStrategy[BookImbalanceParams]):
    """``(bid size - ask size) / (bid size + ask size)`` over the top ``levels`` as the score."""

    def on_book(self, book: BookSnapshot) -> None:
        """Score the book after each update and decide."""
        depth = self.params.levels
        bids = sum(level.size for level in book.bids[:depth])
        asks = sum(level.size for level in book.asks[:depth])
        if bids and asks:
            self.decide(book.instrument_id, (bids - asks) / (bids + asks))
