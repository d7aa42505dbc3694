"""The feature engine: per-instrument streaming features, one ``FeatureVector`` per bar.

``on_bar`` returns the vector of the bar's instrument at the bar's close (``event_time``), its
values in schema order and ``None`` while a feature is undefined (warm-up, no quote yet).
``on_quote`` and ``on_book`` return nothing: they update the instrument's top of book and L2
book, and the quote/book features of the next vector are computed from the latest state when
that bar closes (see ``book.py``). Each instrument has its own state, created by its first
event; events of one instrument must arrive in event-time order.

The engine is pure and deterministic: no clock, I/O or randomness; a vector's id is derived
from its bar's id, so a replay regenerates byte-identical vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jules_contracts import Bar, BookDelta, BookSnapshot, FeatureVector, Quote

from jules_features.engine.book import BookState
from jules_features.engine.config import FeatureEngineConfig
from jules_features.engine.errors import FeatureError, FeatureErrorReason
from jules_features.engine.indicators import BarFeatures
from jules_features.engine.schema import FeatureSchema, FeatureSource

__all__ = ["SOURCE", "FeatureEngine"]

SOURCE = "features"
"""``source`` of the events the engine produces."""


@dataclass
class _Instrument:
    bars: BarFeatures
    book: BookState = field(default_factory=BookState)
    interval: str | None = None
    last: FeatureVector | None = None
    refused_ahead: int | None = None
    """Close of the previous bar if it was refused as too far ahead."""


class FeatureEngine:
    """Streaming features of many instruments, following one feature schema.

    Args:
        schema: The features to compute, in vector order.
        config: Session and order-book settings; the defaults if omitted.
    """

    def __init__(self, schema: FeatureSchema, config: FeatureEngineConfig | None = None) -> None:
        self._schema = schema
        self._config = config or FeatureEngineConfig()
        self._book_specs = tuple(s for s in schema.specs if s.source is not FeatureSource.BAR)
        self._layout = tuple((s.name, s.source is FeatureSource.BAR) for s in schema.specs)
        self._instruments: dict[str, _Instrument] = {}
        self._bar_lookback = BarFeatures(schema.specs, self._config).lookback

    @property
    def schema(self) -> FeatureSchema:
        """The feature schema."""
        return self._schema

    @property
    def config(self) -> FeatureEngineConfig:
        """The engine configuration."""
        return self._config

    @property
    def required_history(self) -> int:
        """Bars of an instrument until every bar feature of the schema is defined.

        The vector of the ``required_history``-th bar (counting from 1) is the first with no
        ``None`` among bar features (``vwap`` also needs some volume in the session). The
        recursive indicators (EMA, RSI, ATR, MACD, ADX ...) depend on all earlier bars, as in
        TA-Lib, so a run that should match another one must start from the same bar.
        """
        return self._bar_lookback + 1

    def on_bar(self, bar: Bar) -> FeatureVector:
        """Take the next bar of an instrument and return its feature vector.

        A bar delivered again (the same ``event_id`` as the instrument's previous bar) returns
        the same vector again without changing any state. A refused bar changes no feature
        and not the instrument's clock: the next valid bar is taken as if it never came.

        Raises:
            FeatureError: ``BAR_OUT_OF_ORDER`` if the bar does not close after the previous one
                of its instrument; ``BAR_TOO_FAR_AHEAD`` if it closes more than
                ``max_bar_lead_intervals`` intervals after it (see ``FeatureEngineConfig``);
                ``INTERVAL_MISMATCH`` if its interval differs from theirs.
        """
        state = self._instrument(bar.instrument_id)
        last = state.last
        if last is not None:
            if bar.event_id == last.causation_id:
                return last
            self._check_next(bar, state, last)
        bar_values = iter(state.bars.update(bar))
        book_values = iter(
            state.book.values(self._book_specs, bar.event_time, self._config.book_max_age_ns)
        )
        features = {
            name: next(bar_values if from_bars else book_values) for name, from_bars in self._layout
        }
        vector = FeatureVector.derive(
            bar,
            source=SOURCE,
            instrument_id=bar.instrument_id,
            feature_schema_id=self._schema.schema_id,
            features=features,
        )
        state.interval = bar.interval
        state.last = vector
        state.refused_ahead = None
        return vector

    def on_quote(self, quote: Quote) -> None:
        """Take a quote: the instrument's top of book for the next vectors."""
        self._instrument(quote.instrument_id).book.apply_quote(quote)

    def on_book(self, book: BookSnapshot | BookDelta) -> None:
        """Take a book snapshot or delta: the instrument's L2 book and top of book."""
        self._instrument(book.instrument_id).book.apply_book(book)

    def _instrument(self, instrument_id: str) -> _Instrument:
        state = self._instruments.get(instrument_id)
        if state is None:
            state = _Instrument(BarFeatures(self._schema.specs, self._config))
            self._instruments[instrument_id] = state
        return state

    def _check_next(self, bar: Bar, state: _Instrument, last: FeatureVector) -> None:
        if bar.interval != state.interval:
            raise FeatureError(
                FeatureErrorReason.INTERVAL_MISMATCH,
                f"bar {bar.event_id} of {bar.instrument_id} has interval {bar.interval!r}, "
                f"earlier bars {state.interval!r}: use one engine per bar interval",
                subject=bar.instrument_id,
            )
        if bar.event_time <= last.event_time:
            raise FeatureError(
                FeatureErrorReason.BAR_OUT_OF_ORDER,
                f"bar {bar.event_id} of {bar.instrument_id} closes at {bar.event_time} ns, "
                f"not after the previous bar's close at {last.event_time} ns",
                subject=bar.instrument_id,
            )
        intervals = self._config.max_bar_lead_intervals
        if intervals is None:
            return
        limit = intervals * (bar.event_time - bar.start_time)
        if bar.event_time - last.event_time <= limit:
            return
        ahead = state.refused_ahead
        if ahead is not None and ahead < bar.event_time <= ahead + limit:
            return  # the second bar after a gap, in step with the first: the stream jumped
        state.refused_ahead = bar.event_time
        raise FeatureError(
            FeatureErrorReason.BAR_TOO_FAR_AHEAD,
            f"bar {bar.event_id} of {bar.instrument_id} closes at {bar.event_time} ns, more "
            f"than {intervals} intervals after the previous bar's close at {last.event_time} ns",
            subject=bar.instrument_id,
        )
