"""Hand-made bars and feature vectors for the signal engine tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jules_contracts import Bar, FeatureVector, SignalGenerated, derive_event_id
from jules_signal.engine import Strategy

SCHEMA_ID = "5c4e0f1a9b2d3e47"
OTHER_SCHEMA_ID = "a1b2c3d4e5f60718"
BTC = "BTCUSD.COINBASE"
ETH = "ETHUSD.COINBASE"
T0 = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000

Row = Mapping[str, float | None]


def make_bar(
    index: int,
    close: float = 100.0,
    *,
    instrument: str = BTC,
    open_: float | None = None,
    high: float | None = None,
    low: float | None = None,
    volume: float = 1.0,
) -> Bar:
    """The one-minute bar number ``index`` of an instrument, closing at ``T0 + index min``."""
    open_price = close if open_ is None else open_
    end = T0 + (index + 1) * MINUTE
    return Bar(
        event_id=derive_event_id("test-bar", instrument, index),
        source="market-data",
        event_time=end,
        start_time=end - MINUTE,
        instrument_id=instrument,
        interval="1m",
        open=open_price,
        high=max(open_price, close) if high is None else high,
        low=min(open_price, close) if low is None else low,
        close=close,
        volume=volume,
    )


def make_features(bar: Bar, values: Row, *, schema_id: str = SCHEMA_ID) -> FeatureVector:
    """The feature vector the features service would derive from ``bar``."""
    return FeatureVector.derive(
        bar,
        source="features",
        instrument_id=bar.instrument_id,
        feature_schema_id=schema_id,
        features=dict(values),
    )


def run(
    strategy: Strategy, rows: Sequence[Row], *, instrument: str = BTC, close: float = 100.0
) -> list[tuple[int, SignalGenerated]]:
    """Feed one feature row per bar to a strategy; return the signals with their bar index."""
    signals = []
    for index, row in enumerate(rows):
        bar = make_bar(index, close, instrument=instrument)
        for signal in strategy.on_features(make_features(bar, row), bar):
            signals.append((index, signal))
    return signals


def pairs(fast_name: str, slow_name: str, values: Sequence[tuple[float | None, float | None]]):
    """Feature rows holding a fast and a slow average."""
    return [{fast_name: fast, slow_name: slow} for fast, slow in values]
