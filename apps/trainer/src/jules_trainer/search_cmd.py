"""``jules-train search``: a hyperparameter grid or Optuna search over Dask.

Exit codes: 0 searched (and, with ``--train-best``, the best point trained and registered);
1 the search or the best point's training failed (every trial failed, Dask unreachable, an
export refused); 2 invalid search file or training config (the message names the field), a
missing data file or a refused search folder.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from jules_runtime.cli_dask import DaskScheduler, DaskWorkers
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from jules_backtest.sweep.search import TrialRecord

    from jules_trainer.search.config import TrainSearchConfig
    from jules_trainer.search.runner import TrainSearchResult

__all__ = ["search"]


def search(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Search file (YAML).", show_default=False)
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a setting: key=value of the search file, base.key=value of the "
            "training config (repeatable).",
        ),
    ] = None,
    scheduler: DaskScheduler = None,
    workers: DaskWorkers = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Search folder: new, empty, or an earlier search's.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Write into a non-empty folder that holds no search.")
    ] = False,
    train_best: Annotated[
        bool,
        typer.Option(help="Train the best point in full and register it as a candidate."),
    ] = False,
    registry: Annotated[
        Path | None,
        typer.Option(help="With --train-best: registry root (overrides registry_dir)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="With --train-best: progress bars.")] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Search hyperparameters: a grid or Optuna, each point scored on the validation windows.

    The search file names a training config (``base``), the algorithm, the hyperparameters
    by dotted key with their values or ranges, the search and the objective (a validation
    figure such as ``validation.sharpe``). Each trial trains on every fold's train window
    and is scored on its validation window; the test windows are never read. Trials run on
    a local Dask cluster, or on ``--scheduler``'s.

    The search folder gets ``trials.parquet`` and ``trials.csv`` (every trial), ``best.yaml``
    (the best point as a training config) and ``search.json`` (summary).
    """
    from jules_backtest.sweep.search import SearchError, client_threads, local_client
    from jules_runtime.output_paths import OutputRefusedError
    from pydantic import ValidationError

    from jules_trainer.export import ExportError
    from jules_trainer.registry import RegistryError
    from jules_trainer.search.config import load_search
    from jules_trainer.search.outputs import prepare_search_folder, write_outputs
    from jules_trainer.search.runner import run_train_search, search_folds
    from jules_trainer.search.runner import train_best as train_point

    console = Console(width=max(Console().width, 120), stderr=as_json)

    def fail(code: int, message: str, exc: BaseException) -> typer.Exit:
        console.print(f"[red]{message}[/red]: {escape(str(exc))}")
        return typer.Exit(code)

    try:
        settings = load_search(config, set_ or [])
    except (ValidationError, ValueError, OSError) as exc:
        raise fail(2, "invalid search configuration", exc) from exc
    address = scheduler or settings.dask.scheduler
    count = workers or settings.dask.workers
    try:
        prepared = prepare_search_folder(
            settings, output_dir or settings.folder, overwrite=overwrite
        )
    except OutputRefusedError as exc:
        raise fail(2, "search folder refused", exc) from exc
    try:
        folds = search_folds(settings)
    except (ValueError, OSError) as exc:
        raise fail(2, "invalid training configuration", exc) from exc
    started = datetime.now(UTC).isoformat()
    console.print(_plan(settings, address, count))
    try:
        with local_client(address, workers=count) as client:
            threads = client_threads(client)
            result = run_train_search(settings, client, folds=folds, on_trial=_progress(console))
    except SearchError as exc:
        raise fail(1, "search failed", exc) from exc
    except (OSError, TimeoutError) as exc:
        raise fail(1, "Dask", exc) from exc
    summary = write_outputs(result, prepared, workers=threads, started=started)
    _print_result(console, result, prepared)
    if train_best:
        try:
            trained = train_point(result, registry=registry, progress=progress and not as_json)
        except (ExportError, RegistryError, ValueError, RuntimeError, OSError) as exc:
            raise fail(1, "training the best point failed", exc) from exc
        summary = write_outputs(result, prepared, workers=threads, started=started)
        console.print(
            f"registered [bold]{trained.model_name}[/bold] version "
            f"[bold]{trained.model_version}[/bold] as a candidate: {trained.model_dir}"
        )
    if as_json:
        typer.echo(json.dumps({"search_dir": str(prepared), **summary}, default=str))


def _plan(settings: TrainSearchConfig, address: str | None, workers: int | None) -> str:
    where = (
        f"Dask scheduler {address}"
        if address
        else f"a local Dask cluster ({workers or 'one worker per core'})"
    )
    method = settings.search
    how = "grid" if method.method == "grid" else f"Optuna, {method.trials} trials"
    objective = settings.objective
    return (
        f"search {settings.name}: {settings.algorithm} {how}, {objective.direction} "
        f"{objective.metric}, on {where}"
    )


def _progress(console: Console) -> Any:
    def report(trial: TrialRecord) -> None:
        params = ", ".join(f"{k}={v}" for k, v in trial.params.items())
        value = "n/a" if trial.objective is None else f"{trial.objective:.4g}"
        reason = f" ({trial.error})" if trial.error else ""
        console.print(f"  trial {trial.number}: {params} → {value}{reason}", highlight=False)

    return report


def _print_result(console: Console, result: TrainSearchResult, folder: Path) -> None:
    metric = result.config.objective.metric
    table = Table(
        title=f"search {result.config.name}: best by {metric} (trial {result.best.number})"
    )
    table.add_column("hyperparameter")
    table.add_column("value")
    for name, value in result.best_params.items():
        table.add_row(name, json.dumps(value))
    table.add_row(metric, f"{result.best.objective:.6g}")
    console.print(table)
    failed = sum(1 for trial in result.trials if not trial.ok)
    minutes = result.seconds / 60
    rate = len(result.trials) / minutes if minutes else 0.0
    console.print(
        f"{len(result.trials)} trials ({failed} without a {metric}) in {result.seconds:.1f} s: "
        f"{rate:.1f} trials/minute"
    )
    console.print(f"search folder: {folder} (best.yaml, trials.parquet, search.json)")
