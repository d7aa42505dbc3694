"""Streams of bars and the feature vectors derived from them, and their embedded signals."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TypeVar

from jules_contracts import Bar, FeatureVector, SignalGenerated
from jules_signal.engine import LiveSchema, SmaCrossConfig, TradingMode, build_strategy

from .builders import BTC, SCHEMA_ID, make_bar, make_features

NAMES = ("sma_3", "sma_8")
SCHEMA = LiveSchema(SCHEMA_ID, NAMES)
CONFIG = SmaCrossConfig(fast=3, slow=8, mode=TradingMode.LONG_SHORT)
T = TypeVar("T")


def _sma(values: Sequence[float], period: int, index: int) -> float | None:
    if index + 1 < period:
        return None
    return sum(values[index + 1 - period : index + 1]) / period


def stream(instrument: str = BTC, count: int = 120) -> list[tuple[Bar, FeatureVector]]:
    """Bars of a wavy price and the vectors the features service would derive from them."""
    phase = 0.0 if instrument == BTC else 1.3
    closes = [100 + 5 * math.sin(i / 6 + phase) + 0.01 * i for i in range(count)]
    pairs = []
    for index, close in enumerate(closes):
        bar = make_bar(index, close, instrument=instrument)
        row = {"sma_3": _sma(closes, 3, index), "sma_8": _sma(closes, 8, index)}
        pairs.append((bar, make_features(bar, row)))
    return pairs


def embedded(pairs: Sequence[tuple[Bar, FeatureVector]]) -> list[SignalGenerated]:
    """The signals of a fresh strategy fed the pairs in order (what the embedded node does)."""
    strategy = build_strategy(CONFIG)
    return [signal for bar, vector in pairs for signal in strategy.on_features(vector, bar)]


def interleave(seed: int, *streams: Sequence[T]) -> list[T]:
    """A random merge of the streams that keeps each stream's own order (what Kafka keeps)."""
    rng = random.Random(seed)
    positions = [0] * len(streams)
    merged: list[T] = []
    while any(p < len(s) for p, s in zip(positions, streams, strict=True)):
        open_ = [i for i, s in enumerate(streams) if positions[i] < len(s)]
        pick = rng.choice(open_)
        merged.append(streams[pick][positions[pick]])
        positions[pick] += 1
    return merged
