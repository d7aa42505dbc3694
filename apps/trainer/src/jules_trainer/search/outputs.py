"""A search folder: the trials table, the best training config and the summary.

``search.json`` (the marker, written first) ends up holding the summary: the search, the
folds' windows (``train`` and ``validation`` searched, ``test`` held out), the best trial
and, with ``--train-best``, the registered model. ``trials.parquet`` and ``trials.csv`` hold
one row per trial (trial number, each parameter, objective, every figure, error, seconds).
``best.yaml`` is the base training config with the best hyperparameters:
``jules-train <algorithm> --config best.yaml`` trains it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jules_backtest.sweep.records import (
    finish_marked,
    prepare_marked,
    trial_row,
    write_trials_table,
)
from jules_runtime.output_paths import OutputFolder

from jules_trainer.search.config import TrainSearchConfig
from jules_trainer.search.runner import TrainSearchResult

__all__ = ["SEARCH_FOLDER", "prepare_search_folder", "summary", "trial_rows", "write_outputs"]

_MARKER = "search.json"

SEARCH_FOLDER = OutputFolder(
    kind="training search",
    marker=_MARKER,
    marker_keys=frozenset({"started_at", "search"}),
    entries=frozenset({_MARKER, "trials.parquet", "trials.csv", "best.yaml"}),
)
"""A search's folder: what ``jules-train search`` writes there, and its marker."""


def prepare_search_folder(
    config: TrainSearchConfig, folder: Path, *, overwrite: bool = False
) -> Path:
    """Make the search folder ready and mark it (see ``SEARCH_FOLDER``).

    Raises:
        jules_runtime.output_paths.OutputRefusedError: The folder is refused.
    """
    return prepare_marked(SEARCH_FOLDER, folder, overwrite=overwrite, search=config.name)


def trial_rows(result: TrainSearchResult) -> list[dict[str, Any]]:
    """One flat row per trial: trial, parameters, objective, figures, error, seconds."""
    names = list(result.config.parameters.parameters)
    figures = sorted({key for trial in result.trials for key in trial.figures})
    return [trial_row(trial, names, figures) for trial in result.trials]


def best_yaml(result: TrainSearchResult) -> str:
    """The best point as a training config file, with a header naming the search."""
    config = result.config
    data = result.best_config().model_dump(mode="json")
    header = (
        f"# The best hyperparameters of search {config.name} ({config.algorithm}, "
        f"{config.objective.direction} {config.objective.metric} = {result.best.objective:.6g}, "
        f"trial {result.best.number}):\n"
        + "".join(f"#   {k}: {json.dumps(v)}\n" for k, v in result.best_params.items())
        + f"# Train it: jules-train {config.algorithm} --config best.yaml\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False)


def summary(result: TrainSearchResult) -> dict[str, Any]:
    """The search's summary (``search.json`` and ``jules-train search --json``)."""
    config = result.config
    minutes = result.seconds / 60
    best = result.best
    trained = result.trained
    return {
        "search": config.name,
        "algorithm": config.algorithm,
        "model_name": config.base["name"],
        "method": config.search.model_dump(mode="json"),
        "objective": config.objective.model_dump(mode="json"),
        "parameters": list(config.parameters.parameters),
        "folds": [
            {
                "fold": fold.index,
                "train": list(fold.train.iso()),
                "validation": list(fold.validation.iso()),
                "test_held_out": list(fold.test.iso()),
            }
            for fold in result.folds
        ],
        "best": {
            "trial": best.number,
            "params": result.best_params,
            "objective": best.objective,
            "figures": best.figures,
        },
        "trials": len(result.trials),
        "failed": sum(1 for trial in result.trials if not trial.ok),
        "seconds": round(result.seconds, 3),
        "trials_per_minute": round(len(result.trials) / minutes, 2) if minutes else None,
        "trained": None
        if trained is None
        else {
            "model_name": trained.model_name,
            "model_version": trained.model_version,
            "model_dir": str(trained.model_dir),
            "metrics": trained.metrics,
        },
    }


def write_outputs(
    result: TrainSearchResult, folder: Path, *, workers: int, started: str
) -> dict[str, Any]:
    """Write the tables, ``best.yaml`` and the summary into ``folder``; return the summary."""
    write_trials_table(folder, trial_rows(result))
    (folder / "best.yaml").write_text(best_yaml(result))
    return finish_marked(SEARCH_FOLDER, folder, summary(result), workers=workers, started=started)
