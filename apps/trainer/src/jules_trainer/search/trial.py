"""A search trial: train a point's configuration on each fold, score it on the validation window.

The trial function (``TrainTrial``) is what the Dask workers run. Per walk-forward fold it
trains as ``jules_trainer.train.train`` does (``train_fold``: seeding, the train window's
normalisation, training, early stopping on the validation window), on a copy of the data
that holds the fold's train and validation bars only: the fold windows are cut from the bar times
as training cuts them, then the test window's bars are dropped, so no trial reads them and
they stay out of sample for the promotion gate. Nothing is exported or registered, no
TensorBoard log is written, torch runs on one thread per worker.

Figures of a trial:

* ``validation.<metric>``: the mean over the folds of the best validation state's metrics
  (``mean_episode_pnl``, ``sharpe``, ``max_drawdown``, ``target_changes``, ``episodes``;
  ``accuracy`` for ``supervised``), what training records as each fold's validation
  metrics in ``experiment.json``;
* ``training.epochs`` or ``training.timesteps`` (summed over the folds) and
  ``training.stopped_early`` (folds that stopped early);
* ``last_bar``: the time (UTC RFC 3339) of the latest bar the trial read, before every
  fold's test window.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from jules_backtest.config import apply_overrides
from jules_contracts import format_utc_nanos

from jules_trainer.config import TrainConfig
from jules_trainer.data import Dataset, Fold, Window, load_dataset, walk_forward_folds
from jules_trainer.train import Algorithm, check_algorithm, train_fold
from jules_trainer.train.common import set_determinism

__all__ = ["TrainTrial", "point_config", "searched_data", "validation_figures"]

_CACHED_DATASETS = 2


def point_config(base: Mapping[str, Any], params: Mapping[str, Any]) -> TrainConfig:
    """The base training config with a point's hyperparameters (dotted keys) applied.

    Args:
        base: The training config as plain data.
        params: The point.

    Raises:
        pydantic.ValidationError: The point makes an invalid config (the message names it).
    """
    data = apply_overrides(dict(base), [f"{k}={json.dumps(v)}" for k, v in params.items()])
    return TrainConfig.model_validate(data)


def searched_data(dataset: Dataset, fold: Fold) -> Dataset:
    """The fold's train and validation bars only: what a trial may read of the data."""
    window = Window(fold.train.start_ns, fold.validation.end_ns)
    kept = {
        instrument: tuple(bar for bar in bars if window.contains(bar.event_time))
        for instrument, bars in dataset.bars.items()
    }
    return Dataset(
        bars={instrument: bars for instrument, bars in kept.items() if bars},
        data_hash=dataset.data_hash,
        quality=dataset.quality,
    )


def validation_figures(
    algorithm: Algorithm, config: TrainConfig, dataset: Dataset
) -> dict[str, Any]:
    """Train ``config`` on every fold's train window; its validation figures (module docstring).

    Raises:
        ValueError: The algorithm does not fit, or a window is too short.
    """
    check_algorithm(algorithm, config)
    set_determinism(config.seed)
    metrics: list[dict[str, float]] = []
    steps = stopped = last_bar = 0
    for fold in walk_forward_folds(dataset, config.folds):
        seen = searched_data(dataset, fold)
        outcome, _ = train_fold(algorithm, config, seen, fold, validation_only=True)
        metrics.append(outcome.metrics["validation"])
        steps += int(outcome.training.get("epochs", outcome.training.get("timesteps", 0)))
        stopped += int(bool(outcome.training.get("stopped_early")))
        last_bar = max(last_bar, *(bars[-1].event_time for bars in seen.bars.values()))
    keys = [key for key in metrics[0] if all(key in m for m in metrics)]
    figures: dict[str, Any] = {
        f"validation.{key}": float(np.mean([m[key] for m in metrics])) for key in keys
    }
    unit = "epochs" if algorithm == "supervised" else "timesteps"
    figures[f"training.{unit}"] = steps
    figures["training.stopped_early"] = stopped
    figures["last_bar"] = format_utc_nanos(last_bar)
    return figures


def _data_key(config: TrainConfig) -> str:
    """What the loaded bars depend on: the data sources and their folder."""
    return json.dumps(config.model_dump(mode="json", include={"data_dir", "data"}), sort_keys=True)


@lru_cache(maxsize=_CACHED_DATASETS)
def _dataset(key: str) -> Dataset:
    """The bars of a data key (``_data_key``), loaded once per worker process."""
    data = json.loads(key)
    placeholder = {"name": "search", "features": ["logret_1"]}
    return load_dataset(TrainConfig.model_validate({**data, **placeholder}))


@dataclass(frozen=True)
class TrainTrial:
    """The trial function of ``jules-train search``: a point in, its validation figures out."""

    algorithm: Algorithm
    base: dict[str, Any]
    """The training config, as plain data (``data_dir`` absolute: workers may run elsewhere)."""

    def config(self, params: Mapping[str, Any]) -> TrainConfig:
        """The training config of a point."""
        return point_config(self.base, params)

    def __call__(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Train the point's config without exporting it; return its validation figures."""
        config = self.config(params)
        return validation_figures(self.algorithm, config, _dataset(_data_key(config)))
