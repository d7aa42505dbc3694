"""Loading a backtest's market data: the loaders' events, validated and merged in event time.

``load_bars`` yields the bars of a bar-driven run; ``load_market`` every market event of a run,
the quotes, trades and order books of the sources whose ``events`` ask for them besides the
bars. A ``book`` source's snapshot and updates become ``BookSnapshot`` events: after each
accepted update, the book rebuilt by the validator (``book_depth`` levels a side), once it is
in sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jules_contracts import (
    Bar,
    BookDelta,
    BookSnapshot,
    Event,
    MarketEvent,
    PriceType,
    Quote,
    Trade,
)
from jules_market_data.engine import (
    BarAggregator,
    BarAggregatorConfig,
    MarketDataValidator,
    Rejection,
    merge_streams,
    rebuilt_books,
)
from jules_market_data.loaders import Format, default_instrument_id, detect_format, load

from jules_backtest.config import BacktestConfig, DataSource, MarketKind

__all__ = ["DataQuality", "load_bars", "load_market", "read_bars", "resolve"]

_KINDS: dict[type[Event], MarketKind] = {
    Bar: "bar",
    Quote: "quote",
    Trade: "trade",
    BookSnapshot: "book",
    BookDelta: "book",
}


@dataclass
class DataQuality:
    """What loading found: bars accepted and rows rejected, by reason (never silently dropped)."""

    accepted: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    ignored_non_bar_events: int = 0
    ticks: dict[str, int] = field(default_factory=dict)
    """Quotes, trades and book snapshots a tick-driven run took, by kind."""

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (``data_quality.json``; ticks only in a tick-driven run)."""
        report: dict[str, object] = {
            "accepted_bars_by_instrument": dict(sorted(self.accepted.items())),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "rejected_examples": self.examples[:20],
            "ignored_non_bar_events": self.ignored_non_bar_events,
        }
        if self.ticks:
            report["accepted_ticks_by_kind"] = dict(sorted(self.ticks.items()))
        return report

    def reject(self, item: Rejection) -> None:
        """Count a rejected row or event (the first 20 kept as examples)."""
        reason = str(item.reason)
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if len(self.examples) < 20:
            self.examples.append(f"{item.location}: {reason}: {item.detail}")


def resolve(config: BacktestConfig, source: DataSource) -> Path:
    """The file of a data source (relative paths are under ``data_dir``)."""
    path = Path(source.path)
    return path if path.is_absolute() else config.data_dir / path


def _source_stream(config: BacktestConfig, source: DataSource) -> Iterator[Event | Rejection]:
    path = resolve(config, source)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path} (data_dir is {config.data_dir})")
    return _stream(source, path, config.window_ns)


def read_bars(source: DataSource, path: Path, quality: DataQuality) -> Iterator[Bar]:
    """The validated bars of one data source, read from ``path`` as a backtest reads them.

    The same formats and options (``format``, ``interval``, ``price_type``, ``bar_interval``,
    ``assume_utc``); rejected rows are counted in ``quality``.
    """
    for item in MarketDataValidator().validate(_stream(source, path, None)):
        if isinstance(item, Rejection):
            quality.reject(item)
        elif isinstance(item, Bar):
            quality.accepted[item.instrument_id] = quality.accepted.get(item.instrument_id, 0) + 1
            yield item


def _stream(
    source: DataSource, path: Path, window: tuple[int | None, int | None] | None
) -> Iterator[Event | Rejection]:
    price_type = source.price_type
    fmt = Format(source.format) if source.format else detect_format(path)
    if price_type is None and fmt is Format.LEAN_QUOTE_BARS:
        price_type = PriceType.MID  # one bar a row (not a bid and an ask bar of one minute)
    stream = load(
        path,
        instrument_id=source.instrument_id,
        fmt=source.format,
        interval=source.interval,
        price_type=None if source.bar_interval else price_type,
        assume_utc=source.assume_utc,
        window=window if source.bar_interval is None else None,
        kinds=_read_kinds(source),
    )
    ticks = frozenset(source.events) - {"bar"}
    if source.bar_interval is None:
        if not ticks:
            return stream
        return (
            i for i in stream if isinstance(i, Rejection) or _KINDS.get(type(i)) in source.events
        )
    return _aggregated(stream, source.bar_interval, source.price_type, ticks)


def _read_kinds(source: DataSource) -> frozenset[str] | None:
    """The kinds of message a feed needs read for ``source`` (``None``: all of them).

    Its ticks, and what its bars are built from: the trades (``TRADE``), the quotes (``BID``,
    ``ASK``, ``MID``) or both.
    """
    if "bar" in source.events and source.bar_interval is None:
        return None  # the file's own bars
    kinds = set(source.events) - {"bar"}
    if source.bar_interval is not None:
        if source.price_type in (None, PriceType.TRADE):
            kinds.add("trade")
        if source.price_type is not PriceType.TRADE:
            kinds.add("quote")
    return frozenset(kinds)


def _aggregated(
    stream: Iterator[Event | Rejection],
    interval: str,
    price_type: PriceType | None,
    ticks: frozenset[MarketKind] = frozenset(),
) -> Iterator[Event | Rejection]:
    """Trades or quotes into time bars; rejections and ``ticks`` kinds pass through in place.

    ``price_type`` ``TRADE`` builds bars of the trades only, ``BID``, ``ASK`` or ``MID`` of the
    quotes only (``None``: trade bars of trades, mid bars of quotes). A bar comes before the
    tick that closed it.
    """
    from_trades = price_type in (None, PriceType.TRADE)
    from_quotes = price_type is not PriceType.TRADE
    quote_type = PriceType.MID if price_type in (None, PriceType.TRADE) else price_type
    aggregator = BarAggregator(
        BarAggregatorConfig(interval=interval, quote_price_types=(quote_type,))
    )
    for item in stream:
        if isinstance(item, Rejection):
            yield item
            continue
        if (from_trades or not isinstance(item, Trade)) and (
            from_quotes or not isinstance(item, Quote)
        ):
            yield from aggregator.on_event(item)
        if _KINDS.get(type(item)) in ticks:
            yield item
    yield from aggregator.flush()


def load_bars(config: BacktestConfig, quality: DataQuality) -> Iterator[Bar]:
    """Yield the configured bars merged in event-time order (ties by instrument id).

    Every source is validated (order, duplicates, values); rejected rows are counted by reason
    in ``quality`` with a few examples. Events other than bars are counted and skipped. With a
    ``start`` or ``end``, only the bars closing in ``[start, end)`` are yielded, and the rows of
    CSV bar tables more than an hour outside the window are not read at all (nor checked):
    a window costs what it selects (``jules_market_data.loaders.window``).
    """
    for event in _validated(config, quality, MarketDataValidator()):
        if isinstance(event, Bar):
            quality.accepted[event.instrument_id] = quality.accepted.get(event.instrument_id, 0) + 1
            yield event
        else:
            quality.ignored_non_bar_events += 1


def load_market(config: BacktestConfig, quality: DataQuality) -> Iterator[MarketEvent]:
    """Yield the market events of the run merged in event-time order (ties by instrument id).

    As ``load_bars``, with the quotes, trades and books of the sources whose ``events`` ask for
    them: a book update becomes the ``BookSnapshot`` of the book after it (none while the book
    waits for a snapshot). Accepted ticks are counted by kind in ``quality.ticks``.
    """
    depths = {
        source.instrument_id or default_instrument_id(resolve(config, source)): source.book_depth
        for source in config.data
    }
    validator = MarketDataValidator()
    validated = _validated(config, quality, validator)
    for event in rebuilt_books(validated, validator, lambda i: depths.get(i, 20)):
        if isinstance(event, Bar):
            quality.accepted[event.instrument_id] = quality.accepted.get(event.instrument_id, 0) + 1
            yield event
        elif isinstance(event, Quote | Trade | BookSnapshot):
            kind = _KINDS[type(event)]
            quality.ticks[kind] = quality.ticks.get(kind, 0) + 1
            yield event
        else:
            quality.ignored_non_bar_events += 1


def _validated(
    config: BacktestConfig, quality: DataQuality, validator: MarketDataValidator
) -> Iterator[Event]:
    """The accepted events of every source in ``[start, end)``, rejections counted."""
    start, end = config.window_ns
    streams = [_source_stream(config, source) for source in config.data]
    for item in validator.validate(merge_streams(*streams)):
        if isinstance(item, Rejection):
            quality.reject(item)
        elif (start is None or item.event_time >= start) and (end is None or item.event_time < end):
            yield item
