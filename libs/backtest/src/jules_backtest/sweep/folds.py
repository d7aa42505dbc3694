"""Walk-forward windows: in-sample then out-of-sample, per fold, in event time."""

from __future__ import annotations

from dataclasses import dataclass

from jules_contracts import format_utc_nanos

from jules_backtest.config import BacktestConfig
from jules_backtest.data import DataQuality, load_market
from jules_backtest.sweep.config import WalkForward

__all__ = ["Fold", "data_period", "walk_forward_folds"]

_SECOND = 1_000_000_000


@dataclass(frozen=True)
class Fold:
    """One fold's windows as ``[start, end)`` nanoseconds (no out-of-sample: a plain search)."""

    index: int
    in_sample: tuple[int | None, int | None]
    out_of_sample: tuple[int, int] | None = None

    @staticmethod
    def iso(window: tuple[int | None, int | None] | None) -> tuple[str | None, str | None]:
        """A window as ISO-8601 UTC times (``None`` stays open)."""
        if window is None:
            return None, None
        first, last = window
        return (
            None if first is None else format_utc_nanos(first),
            None if last is None else format_utc_nanos(last),
        )


def data_period(config: BacktestConfig) -> tuple[int, int]:
    """``[first, last + 1)`` event time of the config's window (its ``start``/``end`` when set).

    Raises:
        ValueError: The window holds no market event.
    """
    start, end = config.window_ns
    if start is not None and end is not None:
        return start, end
    first = last = None
    for event in load_market(config, DataQuality()):
        first = event.event_time if first is None else first
        last = event.event_time
    if first is None or last is None:
        raise ValueError("walk-forward: the base config's data holds no market event")
    return (start if start is not None else first), (end if end is not None else last + 1)


def walk_forward_folds(period: tuple[int, int], options: WalkForward) -> list[Fold]:
    """Cut ``period`` into the folds of ``options`` (see ``WalkForward``).

    Raises:
        ValueError: A window would be empty.
    """
    start, end = period
    total = end - start
    # whole seconds, so that every boundary is exact as a config's start/end
    in_sample = int(total * options.in_sample) // _SECOND * _SECOND
    step = (total - in_sample) // options.folds // _SECOND * _SECOND
    if in_sample <= 0 or step <= 0:
        raise ValueError(f"walk-forward: the period of {total} ns is too short for the folds")
    folds = []
    for index in range(options.folds):
        boundary = start + in_sample + index * step
        first = start if options.anchored else boundary - in_sample
        last = end if index == options.folds - 1 else boundary + step
        folds.append(Fold(index, (first, boundary), (boundary, last)))
    return folds
