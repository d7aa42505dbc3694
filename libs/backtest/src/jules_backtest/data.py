"""Loading the bars of a backtest: the market-data loaders, validated and merged in event time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jules_contracts import Bar, Event, PriceType
from jules_market_data.engine import (
    BarAggregator,
    BarAggregatorConfig,
    MarketDataValidator,
    Rejection,
    merge_streams,
)
from jules_market_data.loaders import load

from jules_backtest.config import BacktestConfig, DataSource

__all__ = ["DataQuality", "load_bars", "resolve"]


@dataclass
class DataQuality:
    """What loading found: bars accepted and rows rejected, by reason (never silently dropped)."""

    accepted: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    ignored_non_bar_events: int = 0

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (for ``data_quality.json``)."""
        return {
            "accepted_bars_by_instrument": dict(sorted(self.accepted.items())),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "rejected_examples": self.examples[:20],
            "ignored_non_bar_events": self.ignored_non_bar_events,
        }


def resolve(config: BacktestConfig, source: DataSource) -> Path:
    """The file of a data source (relative paths are under ``data_dir``)."""
    path = Path(source.path)
    return path if path.is_absolute() else config.data_dir / path


def _source_stream(config: BacktestConfig, source: DataSource) -> Iterator[object]:
    path = resolve(config, source)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path} (data_dir is {config.data_dir})")
    stream = load(
        path,
        instrument_id=source.instrument_id,
        fmt=source.format,
        interval=source.interval,
        price_type=None if source.bar_interval else source.price_type,
        assume_utc=source.assume_utc,
        window=config.window_ns if source.bar_interval is None else None,
    )
    if source.bar_interval is None:
        return stream
    return _aggregated(stream, source.bar_interval, source.price_type or PriceType.MID)


def _aggregated(
    stream: Iterator[Event | Rejection], interval: str, quote_price_type: PriceType
) -> Iterator[Event | Rejection]:
    """Trades or quotes into time bars; rejections pass through in place."""
    aggregator = BarAggregator(
        BarAggregatorConfig(interval=interval, quote_price_types=(quote_price_type,))
    )
    for item in stream:
        if isinstance(item, Rejection):
            yield item
        else:
            yield from aggregator.on_event(item)
    yield from aggregator.flush()


def load_bars(config: BacktestConfig, quality: DataQuality) -> Iterator[Bar]:
    """Yield the configured bars merged in event-time order (ties by instrument id).

    Every source is validated (order, duplicates, values); rejected rows are counted by reason
    in ``quality`` with a few examples. Events other than bars are counted and skipped. With a
    ``start`` or ``end``, only the bars closing in ``[start, end)`` are yielded, and the rows of
    CSV bar tables more than an hour outside the window are not read at all (nor checked):
    a window costs what it selects (``jules_market_data.loaders.window``).
    """
    start, end = config.window_ns
    validator = MarketDataValidator()
    streams = [_source_stream(config, source) for source in config.data]
    for item in validator.validate(merge_streams(*streams)):  # type: ignore[arg-type]
        if isinstance(item, Rejection):
            reason = str(item.reason)
            quality.rejected[reason] = quality.rejected.get(reason, 0) + 1
            if len(quality.examples) < 20:
                quality.examples.append(f"{item.location}: {reason}: {item.detail}")
        elif isinstance(item, Bar):
            if (start is not None and item.event_time < start) or (
                end is not None and item.event_time >= end
            ):
                continue
            quality.accepted[item.instrument_id] = quality.accepted.get(item.instrument_id, 0) + 1
            yield item
        else:
            quality.ignored_non_bar_events += 1
