"""Run a sweep: the search per fold, the best point out of sample, the stitched result.

Without walk-forward there is one fold (the base config's window); its best point is run as
an ordinary backtest into ``best/``. With walk-forward, fold k's best in-sample point is run
over fold k's out-of-sample window into ``oos/fold-k/`` (a run folder with its report), and
the out-of-sample equity curves are chained into one (each fold's curve scaled to start where
the previous one ended), whose metrics are the sweep's out-of-sample result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jules_backtest.config import BacktestConfig
from jules_backtest.metrics import ExecutionCounts, compute_metrics
from jules_backtest.run import RunSummary, run_backtest
from jules_backtest.sweep.config import SweepConfig
from jules_backtest.sweep.folds import Fold, data_period, walk_forward_folds
from jules_backtest.sweep.search import TrialRecord, best_trial
from jules_backtest.sweep.trial import BacktestTrial, point_config
from jules_backtest.trades import round_trips, traded_notional

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["FoldResult", "SweepResult", "run_sweep"]


@dataclass
class FoldResult:
    """A fold's search and, with walk-forward, its out-of-sample run."""

    fold: Fold
    trials: list[TrialRecord]
    best: TrialRecord
    run: RunSummary | None = None
    """The best point's backtest: out of sample, or over the whole window without folds."""


@dataclass
class SweepResult:
    """What ``run_sweep`` found."""

    config: SweepConfig
    folds: list[FoldResult]
    out_of_sample: dict[str, Any] | None = None
    """Metrics of the chained out-of-sample curve (walk-forward only)."""
    curve: tuple[list[int], list[float]] = field(default_factory=lambda: ([], []))
    """The chained out-of-sample equity curve: times (ns) and equity."""
    seconds: float = 0.0

    @property
    def trial_count(self) -> int:
        """Trials run, over every fold."""
        return sum(len(fold.trials) for fold in self.folds)

    @property
    def best_params(self) -> dict[str, Any]:
        """The point to trade next: the last fold's best."""
        return dict(self.folds[-1].best.params)


def _base(config: SweepConfig) -> BacktestConfig:
    return BacktestConfig.model_validate(config.base)


def run_sweep(
    config: SweepConfig,
    client: Client | None,
    *,
    folder: Path,
    on_trial: Callable[[int, TrialRecord], None] | None = None,
) -> SweepResult:
    """Search every fold and run each fold's best point; write the best runs under ``folder``.

    Args:
        config: The sweep.
        client: The Dask client trials run on (``None``: in this process).
        folder: The sweep folder (prepared by the caller); run folders go below it.
        on_trial: Called with the fold index and each finished trial.

    Raises:
        jules_backtest.sweep.search.SearchError: A fold's search gave no usable trial.
        ValueError: The walk-forward windows cannot be cut from the data.
    """
    clock = time.perf_counter()
    base = _base(config)
    if config.walk_forward is None:
        folds = [Fold(0, base.window_ns)]
    else:
        folds = walk_forward_folds(data_period(base), config.walk_forward)
    results = []
    for fold in folds:
        trial = BacktestTrial(config.base, Fold.iso(fold.in_sample))
        trials = config.search.run(
            trial,
            config.parameters,
            config.objective,
            client,
            on_trial=None if on_trial is None else partial(on_trial, fold.index),
            seed_offset=fold.index,
        )
        best = best_trial(trials, config.objective.direction)
        if fold.out_of_sample is None:
            window, target = Fold.iso(fold.in_sample), folder / "best"
        else:
            window, target = Fold.iso(fold.out_of_sample), folder / "oos" / f"fold-{fold.index}"
        run_config = point_config(config.base, best.params, window, output_dir=str(target))
        results.append(FoldResult(fold, trials, best, run_backtest(run_config, overwrite=True)))
    result = SweepResult(config, results)
    if config.walk_forward is not None:
        result.curve, result.out_of_sample = _chained(base, [r.run for r in results if r.run])
    result.seconds = time.perf_counter() - clock
    return result


def _chained(
    base: BacktestConfig, runs: Sequence[RunSummary]
) -> tuple[tuple[list[int], list[float]], dict[str, Any]]:
    """The out-of-sample runs' equity chained into one curve, and that curve's metrics."""
    times: list[int] = []
    equity: list[float] = []
    flags: list[bool] = []
    fills = []
    submitted = denied = filled = 0
    for run in runs:
        recorder = run.recorder
        if recorder is None or not recorder.equity:
            continue
        scale = equity[-1] / recorder.equity[0][1] if equity else 1.0
        times += [point[0] for point in recorder.equity]
        equity += [point[1] * scale for point in recorder.equity]
        flags += [point[4] for point in recorder.equity]
        fills += recorder.fills
        submitted += recorder.submitted
        denied += recorder.denied
        filled += recorder.filled_orders
    multipliers = {i: spec.multiplier for i, spec in base.instrument_table().items()}
    trips = round_trips(fills, multipliers)
    counts = ExecutionCounts(submitted, denied, filled, traded_notional(fills, multipliers))
    return (times, equity), compute_metrics(times, equity, flags, trips, counts)
