"""Run a training search: the trials over Dask, the best point, optionally trained in full.

The driver loads the data once to cut the walk-forward folds (the windows every trial
trains and validates on, recorded in the summary), then ``run_search`` evaluates the points
with ``TrainTrial`` on the client's workers. The best point is the trial with the best
validation objective; ``train_best`` trains its configuration as ``jules-train <algorithm>``
does (every fold, the test windows measured, exported and registered as a candidate).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jules_backtest.sweep.search import TrialRecord, best_trial

from jules_trainer.config import TrainConfig
from jules_trainer.data import Fold, load_dataset, walk_forward_folds
from jules_trainer.search.config import TrainSearchConfig
from jules_trainer.search.trial import TrainTrial
from jules_trainer.train import TrainResult, train

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["TrainSearchResult", "run_train_search", "search_folds", "train_best"]


@dataclass
class TrainSearchResult:
    """What ``run_train_search`` found."""

    config: TrainSearchConfig
    folds: list[Fold]
    """The walk-forward folds: every trial trains and validates on these windows."""
    trials: list[TrialRecord]
    best: TrialRecord
    """The trial with the best validation objective (the earliest among equals)."""
    seconds: float = 0.0
    trained: TrainResult | None = None
    """The best point trained in full and registered (``train_best``), if asked."""

    @property
    def best_params(self) -> dict[str, Any]:
        """The best hyperparameters."""
        return dict(self.best.params)

    def best_config(self) -> TrainConfig:
        """The base training config with the best hyperparameters."""
        return self.config.point_config(self.best.params)


def _worker_base(base: dict[str, Any]) -> dict[str, Any]:
    """The base config as sent to workers: ``data_dir`` made absolute."""
    return {**base, "data_dir": os.path.abspath(base["data_dir"])}


def search_folds(config: TrainSearchConfig) -> list[Fold]:
    """The walk-forward folds of the base config: the windows every trial uses.

    Raises:
        FileNotFoundError: A data file is missing.
        ValueError: No bar was loaded, or too few for the folds.
    """
    base = TrainConfig.model_validate(config.base)
    return walk_forward_folds(load_dataset(base), base.folds)


def run_train_search(
    config: TrainSearchConfig,
    client: Client | None,
    *,
    folds: list[Fold] | None = None,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> TrainSearchResult:
    """Evaluate the search's points and pick the best by its validation objective.

    Args:
        config: The search.
        client: The Dask client trials run on (``None``: in this process).
        folds: The base config's folds, if already cut (``search_folds``).
        on_trial: Called with each finished trial.

    Raises:
        jules_backtest.sweep.search.SearchError: No trial gave the objective.
        FileNotFoundError: A data file is missing.
        ValueError: The data is too short for the folds.
    """
    clock = time.perf_counter()
    folds = search_folds(config) if folds is None else folds
    trial = TrainTrial(config.algorithm, _worker_base(config.base))
    records = config.search.run(
        trial, config.parameters, config.objective, client, on_trial=on_trial
    )
    best = best_trial(records, config.objective.direction)
    return TrainSearchResult(config, folds, records, best, time.perf_counter() - clock)


def train_best(
    result: TrainSearchResult, *, registry: Path | None = None, progress: bool = False
) -> TrainResult:
    """Train the best point in full, export and register it as a candidate.

    Args:
        result: The search.
        registry: The registry root (default: the training config's ``registry_dir``).
        progress: Show progress bars.

    Raises:
        As ``jules_trainer.train.train``.
    """
    config = result.best_config()
    if registry is not None:
        config = config.model_copy(update={"registry_dir": registry})
    result.trained = train(result.config.algorithm, config, progress=progress)
    return result.trained
