"""The features service's handler: market data to the feature engine, feature vectors out.

Bars (``md.bars.v1``) give one ``FeatureVector`` each on ``features.v1``; quotes
(``md.quotes.v1``) and book snapshots and deltas (``md.book.v1``) update the L1/L2 state the
next vector reads, and publish nothing.

A bar the engine refuses because of where it falls in its instrument's stream (not after the
previous bar, or too far after it) is dead-lettered alone, with reason ``OUT_OF_ORDER`` or
``TOO_FAR_AHEAD``, and reported by a ``RiskAlert`` (``BAR_OUT_OF_ORDER``,
``BAR_TOO_FAR_AHEAD``) on ``risk.alerts.v1``; the instrument's state is as if it never came, so
the later bars are processed normally.
"""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import (
    AlertCode,
    AlertSeverity,
    Bar,
    BookDelta,
    BookSnapshot,
    DeadLetterReason,
    Event,
    Quote,
    RiskAlert,
)
from jules_contracts.topics import MD_BARS, MD_BOOK, MD_QUOTES
from jules_runtime.bus import EventRejectedError, Handler

from jules_features.engine import SOURCE, FeatureEngine, FeatureError, FeatureErrorReason

__all__ = ["INPUT_TOPICS", "market_data_handler"]

INPUT_TOPICS = (MD_BARS, MD_QUOTES, MD_BOOK)
"""What the features service consumes, with one consumer."""

_REFUSED: dict[FeatureErrorReason, tuple[DeadLetterReason, AlertCode]] = {
    FeatureErrorReason.BAR_OUT_OF_ORDER: (
        DeadLetterReason.OUT_OF_ORDER,
        AlertCode.BAR_OUT_OF_ORDER,
    ),
    FeatureErrorReason.BAR_TOO_FAR_AHEAD: (
        DeadLetterReason.TOO_FAR_AHEAD,
        AlertCode.BAR_TOO_FAR_AHEAD,
    ),
}


def market_data_handler(engine: FeatureEngine) -> Handler:
    """The handler of ``md.*`` events: bars give a vector; quotes and books update L1/L2 state.

    Raises ``EventRejectedError`` (with its alert) for a bar out of its instrument's order.
    """

    async def handle(event: Event) -> Sequence[Event]:
        if isinstance(event, Bar):
            try:
                return [engine.on_bar(event)]
            except FeatureError as error:
                refused = _REFUSED.get(error.reason)
                if refused is None:
                    raise
                reason, code = refused
                raise EventRejectedError(
                    reason, str(error), [_alert(event, code, error)]
                ) from error
        if isinstance(event, Quote):
            engine.on_quote(event)
        elif isinstance(event, BookSnapshot | BookDelta):
            engine.on_book(event)
        return []

    return handle


def _alert(bar: Bar, code: AlertCode, error: FeatureError) -> RiskAlert:
    return RiskAlert.derive(
        bar,
        source=SOURCE,
        severity=AlertSeverity.WARNING,
        code=code,
        message=f"bar refused and dead-lettered: {error}",
        instrument_id=bar.instrument_id,
    )
