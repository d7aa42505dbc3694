"""A sweep folder: the trials table, the best config, the summary and the report.

``sweep.json`` (the marker, written first) ends up holding the summary: the search, each
fold's windows and best point, the out-of-sample metrics and the run's speed.
``trials.parquet`` and ``trials.csv`` hold one row per trial (fold, trial number, each
parameter, objective, every metric, error, seconds). ``best.yaml`` is the base config with the
best point (the last fold's) over the base's window: ``jules backtest -c best.yaml`` runs it.
``report.html`` plots the search and, with walk-forward, the out-of-sample result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jules_runtime.output_paths import OutputFolder

from jules_backtest.sweep.config import SweepConfig
from jules_backtest.sweep.folds import Fold
from jules_backtest.sweep.records import (
    finish_marked,
    prepare_marked,
    trial_row,
    write_trials_table,
)
from jules_backtest.sweep.runner import SweepResult
from jules_backtest.sweep.trial import point_config

__all__ = [
    "SWEEP_FOLDER",
    "prepare_sweep_folder",
    "trial_rows",
    "write_outputs",
]

_MARKER = "sweep.json"

SWEEP_FOLDER = OutputFolder(
    kind="sweep",
    marker=_MARKER,
    marker_keys=frozenset({"started_at", "sweep"}),
    entries=frozenset(
        {_MARKER, "trials.parquet", "trials.csv", "best.yaml", "report.html", "best", "oos"}
    ),
)
"""A sweep's folder: what ``jules sweep`` writes there, and its marker (``sweep.json``)."""


def prepare_sweep_folder(config: SweepConfig, folder: Path, *, overwrite: bool = False) -> Path:
    """Make the sweep folder ready and mark it (see ``SWEEP_FOLDER``).

    Raises:
        jules_runtime.output_paths.OutputRefusedError: The folder is refused.
    """
    return prepare_marked(SWEEP_FOLDER, folder, overwrite=overwrite, sweep=config.name)


def trial_rows(result: SweepResult) -> list[dict[str, Any]]:
    """One flat row per trial: fold, trial, parameters, objective, metrics, error, seconds."""
    names = list(result.config.parameters.parameters)
    keys = sorted({key for fold in result.folds for trial in fold.trials for key in trial.figures})
    return [
        trial_row(trial, names, keys, prefix="metric.", fold=fold.fold.index)
        for fold in result.folds
        for trial in fold.trials
    ]


def _best_yaml(result: SweepResult) -> str:
    config = point_config(result.config.base, result.best_params)
    data = config.model_dump(mode="json", exclude={"output_dir"})
    data["name"] = f"{result.config.name}-best"
    header = (
        f"# The best point of sweep {result.config.name} "
        f"({result.config.objective.direction} {result.config.objective.metric}"
        + (", the last walk-forward fold's" if result.config.walk_forward else "")
        + "):\n"
        + "".join(f"#   {k}: {v}\n" for k, v in result.best_params.items())
        + "# Run it: jules backtest -c best.yaml\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False)


def summary(result: SweepResult) -> dict[str, Any]:
    """The sweep's summary (``sweep.json`` and ``jules sweep --json``)."""
    folds = []
    for fold in result.folds:
        entry: dict[str, Any] = {
            "fold": fold.fold.index,
            "in_sample": Fold.iso(fold.fold.in_sample),
            "trials": len(fold.trials),
            "failed": sum(1 for t in fold.trials if not t.ok),
            "best": {"trial": fold.best.number, "params": fold.best.params},
            "in_sample_objective": fold.best.objective,
        }
        if fold.fold.out_of_sample is not None and fold.run is not None:
            entry["out_of_sample"] = Fold.iso(fold.fold.out_of_sample)
            entry["out_of_sample_objective"] = fold.run.metrics.get(result.config.objective.metric)
        if fold.run is not None:
            entry["run_dir"] = (
                fold.run.run_dir.name
                if fold.fold.out_of_sample is None
                else (f"oos/{fold.run.run_dir.name}")
            )
        folds.append(entry)
    minutes = result.seconds / 60 if result.seconds else 0.0
    return {
        "sweep": result.config.name,
        "search": result.config.search.model_dump(mode="json"),
        "objective": result.config.objective.model_dump(mode="json"),
        "parameters": list(result.config.parameters.parameters),
        "walk_forward": None
        if result.config.walk_forward is None
        else result.config.walk_forward.model_dump(mode="json"),
        "folds": folds,
        "best_params": result.best_params,
        "out_of_sample": result.out_of_sample,
        "trials": result.trial_count,
        "seconds": round(result.seconds, 3),
        "trials_per_minute": round(result.trial_count / minutes, 2) if minutes else None,
    }


def write_outputs(result: SweepResult, folder: Path, *, workers: int, started: str) -> None:
    """Write the table, ``best.yaml``, ``report.html`` and the summary into ``folder``."""
    from jules_backtest.sweep.report import render_sweep_report

    write_trials_table(folder, trial_rows(result))
    (folder / "best.yaml").write_text(_best_yaml(result))
    data = summary(result)
    (folder / "report.html").write_text(render_sweep_report(result, data))
    finish_marked(SWEEP_FOLDER, folder, data, workers=workers, started=started)
