"""Training data: the configured bars, their hash, walk-forward folds and feature statistics.

Bars are loaded exactly as a backtest loads them (``jules_backtest.data.load_bars``: the
market-data loaders, validated, merged in event time), then split per instrument.

Walk-forward folds are *rolling and non-overlapping*: the distinct bar times of the whole data
set are cut into ``folds`` consecutive blocks of (nearly) equal bar counts, and each block into
its train, validation and test windows by the configured fractions, in time order. So every
window is later than the one before it, and no bar belongs to two windows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
from jules_backtest.config import BacktestConfig, OnnxStrategyConfig
from jules_backtest.data import DataQuality, load_bars, resolve
from jules_contracts import Bar
from jules_features.engine import FeatureEngine, FeatureSchema
from numpy.typing import NDArray

from jules_trainer.config import FoldsConfig, TrainConfig

__all__ = [
    "STD_FLOOR",
    "Dataset",
    "Fold",
    "Segment",
    "Window",
    "compute_normalisation",
    "feature_rows",
    "load_dataset",
    "walk_forward_folds",
]

STD_FLOOR = 1e-8
"""Smallest standard deviation of a feature's normalisation (a constant feature gets it)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(nanos: int) -> str:
    """UTC ISO-8601 of a time in nanoseconds, rounded up to the microsecond (``datetime``)."""
    return (_EPOCH + timedelta(microseconds=-(-nanos // 1_000))).isoformat()


@dataclass(frozen=True)
class Segment:
    """Consecutive bars of one instrument (in event-time order)."""

    instrument_id: str
    bars: tuple[Bar, ...]

    def __len__(self) -> int:
        return len(self.bars)


@dataclass(frozen=True)
class Window:
    """A time window ``[start_ns, end_ns)`` of bar event times (bar closes)."""

    start_ns: int
    end_ns: int

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError(f"window end {self.end_ns} must be after its start {self.start_ns}")

    def contains(self, event_time: int) -> bool:
        """Whether a bar closing at ``event_time`` is in the window."""
        return self.start_ns <= event_time < self.end_ns

    def iso(self) -> tuple[str, str]:
        """Start and end as UTC ISO-8601 strings (a backtest's ``start`` and ``end``)."""
        return _iso(self.start_ns), _iso(self.end_ns)


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: train, then validation, then test, in time order."""

    index: int
    train: Window
    validation: Window
    test: Window


@dataclass(frozen=True)
class Dataset:
    """The bars of a training run.

    Attributes:
        bars: Per instrument, its bars in event-time order.
        data_hash: SHA-256 (hex) over the source files' bytes, in configuration order.
        quality: What loading found (``DataQuality.as_dict``): accepted and rejected rows.
    """

    bars: dict[str, tuple[Bar, ...]]
    data_hash: str
    quality: Mapping[str, object] = field(default_factory=dict)

    def segments(self, window: Window) -> list[Segment]:
        """One segment per instrument with the bars closing in ``window`` (instrument order).

        Instruments without bars in the window are left out.
        """
        segments = []
        for instrument_id in sorted(self.bars):
            bars = tuple(bar for bar in self.bars[instrument_id] if window.contains(bar.event_time))
            if bars:
                segments.append(Segment(instrument_id, bars))
        return segments

    def event_times(self) -> list[int]:
        """Every distinct bar event time, ascending."""
        return sorted({bar.event_time for bars in self.bars.values() for bar in bars})


def _loading_config(config: TrainConfig) -> BacktestConfig:
    """A backtest configuration that only serves to load the bars (no strategy runs)."""
    return BacktestConfig(
        name=config.name,
        data_dir=config.data_dir,
        data=config.data,
        strategy=OnnxStrategyConfig(model="unused.onnx"),
    )


def data_hash(config: TrainConfig) -> str:
    """SHA-256 (hex) over the bytes of the configured data files, in configuration order.

    Raises:
        FileNotFoundError: A data file is missing.
    """
    loading = _loading_config(config)
    digest = hashlib.sha256()
    for source in config.data:
        path = resolve(loading, source)
        if not path.is_file():
            raise FileNotFoundError(f"data file not found: {path} (data_dir is {config.data_dir})")
        with Path(path).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def load_dataset(config: TrainConfig) -> Dataset:
    """Load the configured bars (as a backtest does) and hash the source files.

    Raises:
        FileNotFoundError: A data file is missing.
        ValueError: No bar was loaded.
    """
    hashed = data_hash(config)
    quality = DataQuality()
    per_instrument: dict[str, list[Bar]] = {}
    for bar in load_bars(_loading_config(config), quality):
        per_instrument.setdefault(bar.instrument_id, []).append(bar)
    if not per_instrument:
        raise ValueError(
            f"no bars loaded from {[s.path for s in config.data]}: {quality.as_dict()}"
        )
    return Dataset(
        bars={key: tuple(per_instrument[key]) for key in sorted(per_instrument)},
        data_hash=hashed,
        quality=quality.as_dict(),
    )


def walk_forward_folds(dataset: Dataset, folds: FoldsConfig) -> list[Fold]:
    """Cut the data into rolling, non-overlapping walk-forward folds.

    The distinct bar times are split into ``folds.folds`` consecutive blocks of (nearly) equal
    bar counts; each block's first ``train`` fraction of times is its train window, the next
    ``validation`` fraction its validation window, the rest its test window. Window bounds are
    bar times, so each window is ``[first bar time, first bar time of the next window)`` (the
    last one ends a microsecond after the last bar).

    Raises:
        ValueError: Some window would hold no bar (too few bars for the folds asked).
    """
    times = dataset.event_times()
    count = len(times)
    result = []
    for index in range(folds.folds):
        first = index * count // folds.folds
        last = (index + 1) * count // folds.folds  # exclusive
        size = last - first
        train_end = first + math.floor(size * folds.train)
        validation_end = first + math.floor(size * (folds.train + folds.validation))
        cuts = (first, train_end, validation_end, last)
        if any(b <= a for a, b in pairwise(cuts)):
            raise ValueError(
                f"fold {index} has {size} bar times: too few for train {folds.train}, "
                f"validation {folds.validation} and test {folds.test} windows with "
                f"{folds.folds} folds over {count} bar times"
            )

        def bound(position: int) -> int:
            return times[position] if position < count else times[-1] + 1_000

        result.append(
            Fold(
                index=index,
                train=Window(bound(first), bound(train_end)),
                validation=Window(bound(train_end), bound(validation_end)),
                test=Window(bound(validation_end), bound(last)),
            )
        )
    return result


def feature_rows(
    config: TrainConfig, segment: Segment
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Run a fresh features engine over a segment.

    Returns:
        ``X`` of shape ``[bars, features]`` (raw values in ``config.features`` order, NaN while
        undefined) and the bars' closes.
    """
    schema = FeatureSchema.from_names(config.features)
    engine = FeatureEngine(schema)
    names = schema.names
    rows = np.full((len(segment.bars), len(names)), np.nan)
    closes = np.empty(len(segment.bars))
    for row, bar in enumerate(segment.bars):
        values = engine.on_bar(bar).features
        for column, name in enumerate(names):
            value = values[name]
            if value is not None:
                rows[row, column] = value
        closes[row] = bar.close
    return rows, closes


def compute_normalisation(
    config: TrainConfig, segments: Sequence[Segment]
) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation of each feature over its defined values on ``segments``.

    Each segment runs through a fresh features engine (``feature_rows``). The standard
    deviation is the population one, at least ``STD_FLOOR``; a feature never defined gets
    ``(0.0, 1.0)``.

    Returns:
        ``{feature name: (mean, std)}`` in ``config.features`` order, all finite, std > 0.
    """
    matrices = [feature_rows(config, segment)[0] for segment in segments]
    width = len(config.features)
    stacked = np.concatenate(matrices) if matrices else np.empty((0, width))
    result: dict[str, tuple[float, float]] = {}
    for column, name in enumerate(config.features):
        values = stacked[:, column]
        values = values[np.isfinite(values)]
        if values.size == 0:
            result[name] = (0.0, 1.0)
            continue
        mean = float(values.mean())
        std = float(values.std())
        result[name] = (mean, max(std, STD_FLOOR))
    return result
