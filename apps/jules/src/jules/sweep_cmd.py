"""``jules sweep``: a parameter grid or an Optuna search, walk-forward, over Dask."""

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

from jules.backtest_cmd import Overrides

if TYPE_CHECKING:
    from jules_backtest.sweep.config import SweepConfig
    from jules_backtest.sweep.runner import SweepResult
    from jules_backtest.sweep.search import TrialRecord

__all__ = ["sweep"]


def sweep(
    config: Annotated[Path, typer.Option("--config", "-c", help="Sweep file (YAML or TOML).")],
    set_: Overrides = None,
    scheduler: DaskScheduler = None,
    workers: DaskWorkers = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Sweep folder: new, empty, or an earlier sweep's.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Write into a non-empty folder that holds no sweep.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Search a backtest's parameters: a grid or Optuna, optionally walk-forward, on Dask.

    The sweep file names a backtest config (``base``), the parameters by dotted key with
    their values or ranges, the search, the objective (any metric) and optional walk-forward
    folds (docs/sweeps.md). Trials run on a local Dask cluster, or on ``--scheduler``'s.

    The sweep folder gets ``trials.parquet`` and ``trials.csv`` (every trial), ``best.yaml``
    (the best point as a config to run), ``report.html`` (plots), ``sweep.json`` (summary),
    and the best point's backtest: ``best/``, or with walk-forward ``oos/fold-k/`` per fold.
    """
    from jules_backtest.sweep.config import load_sweep
    from jules_backtest.sweep.outputs import prepare_sweep_folder, summary, write_outputs
    from jules_backtest.sweep.runner import run_sweep
    from jules_backtest.sweep.search import SearchError, client_threads, local_client
    from jules_runtime.output_paths import OutputRefusedError
    from pydantic import ValidationError

    console = Console(width=max(Console().width, 120), stderr=as_json)
    try:
        settings = load_sweep(config, set_ or [])
    except (ValidationError, ValueError, OSError) as exc:
        console.print(f"[red]invalid sweep configuration[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    address = scheduler or settings.dask.scheduler
    count = workers or settings.dask.workers
    folder = output_dir or settings.folder
    try:
        prepared = prepare_sweep_folder(settings, folder, overwrite=overwrite)
    except OutputRefusedError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    started = datetime.now(UTC).isoformat()
    console.print(_plan(settings, address, count))
    try:
        with local_client(address, workers=count) as client:
            threads = client_threads(client)
            result = run_sweep(
                settings, client, folder=prepared, on_trial=_progress(console, settings)
            )
    except SearchError as exc:
        console.print(f"[red]sweep failed[/red]: {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except (OSError, TimeoutError) as exc:
        console.print(f"[red]Dask: {escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    write_outputs(result, prepared, workers=threads, started=started)
    if as_json:
        typer.echo(json.dumps({"sweep_dir": str(prepared), **summary(result)}, default=str))
    else:
        _print_result(console, result, prepared)


def _plan(settings: SweepConfig, address: str | None, workers: int | None) -> str:
    where = (
        f"Dask scheduler {address}"
        if address
        else f"a local Dask cluster ({workers or 'one worker per core'})"
    )
    search = settings.search
    how = "grid" if search.method == "grid" else f"Optuna, {search.trials} trials"
    folds = (
        f", walk-forward {settings.walk_forward.folds} folds"
        if settings.walk_forward is not None
        else ""
    )
    objective = settings.objective
    return (
        f"sweep {settings.name}: {how}{folds}, {objective.direction} {objective.metric}, on {where}"
    )


def _progress(console: Console, settings: SweepConfig) -> Any:
    def report(fold: int, trial: TrialRecord) -> None:
        params = ", ".join(f"{k}={v}" for k, v in trial.params.items())
        value = "n/a" if trial.objective is None else f"{trial.objective:.4g}"
        prefix = f"fold {fold} " if settings.walk_forward is not None else ""
        console.print(f"  {prefix}trial {trial.number}: {params} → {value}", highlight=False)

    return report


def _print_result(console: Console, result: SweepResult, folder: Path) -> None:
    metric = result.config.objective.metric
    table = Table(title=f"sweep {result.config.name}: best by {metric}")
    for column in ("fold", "best point", f"in-sample {metric}", f"out-of-sample {metric}"):
        table.add_column(column)
    for fold in result.folds:
        oos = None
        if fold.fold.out_of_sample is not None and fold.run is not None:
            oos = fold.run.metrics.get(metric)
        table.add_row(
            str(fold.fold.index),
            ", ".join(f"{k}={v}" for k, v in fold.best.params.items()),
            _fmt(fold.best.objective),
            _fmt(oos) if fold.fold.out_of_sample is not None else "-",
        )
    console.print(table)
    if result.out_of_sample is not None:
        console.print(
            f"out of sample (folds chained): {metric} {_fmt(result.out_of_sample.get(metric))}"
        )
    minutes = result.seconds / 60
    rate = result.trial_count / minutes if minutes else 0.0
    failed = sum(1 for f in result.folds for t in f.trials if not t.ok)
    console.print(
        f"{result.trial_count} trials ({failed} without a {metric}) in {result.seconds:.1f} s: "
        f"{rate:.1f} trials/minute"
    )
    console.print(f"sweep folder: {folder} (report.html, trials.parquet, best.yaml)")


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
