"""The ``jules-train`` command: train a model, export it, register it as a candidate.

``jules-train dqn|ppo|supervised --config FILE [--set key=value ...] [--registry DIR]``
trains on each walk-forward fold's train window, stops early on its validation window,
measures the test window, exports ONNX + TorchScript with a validated model card and registers
the model as a candidate (``jules_trainer.train.train``). ``jules-train search --config FILE``
searches hyperparameters on the validation windows (``search_cmd``); ``jules-train models
...`` manages the registry (``models_cmd``).

Exit codes: 0 trained and registered; 1 training, export or registration failed; 2 invalid
configuration or options (the message names the field), or a missing data file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from jules_runtime.cli_version import version_option
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from jules_trainer.config import TrainConfig, load_train_config
from jules_trainer.export import ExportError
from jules_trainer.models_cmd import models_app
from jules_trainer.registry import RegistryError
from jules_trainer.search_cmd import search
from jules_trainer.train import Algorithm, TrainResult, check_algorithm, train

__all__ = ["app", "main"]

app = typer.Typer(
    name="jules-train",
    help="IntradayJules trainer: train, export and register trading models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")
app.command("search")(search)


@app.callback()
def _root(version: bool = version_option("jules-trainer")) -> None:
    """IntradayJules trainer."""


ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Training configuration (YAML).", show_default=False)
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting: dotted.key=value (repeatable)."),
]
RegistryOption = Annotated[
    Path | None,
    typer.Option("--registry", help="Registry root folder (overrides registry_dir)."),
]
ProgressOption = Annotated[bool, typer.Option(help="Show progress bars.")]


def _load(
    console: Console, algorithm: Algorithm, path: Path, sets: list[str], registry: Path | None
) -> TrainConfig:
    overrides = [*sets, *([f"registry_dir={registry}"] if registry is not None else [])]
    try:
        config = load_train_config(path, overrides)
        check_algorithm(algorithm, config)
    except (ValidationError, ValueError, OSError) as exc:
        console.print(f"[red]invalid training configuration[/red]: {exc}")
        raise typer.Exit(2) from exc
    return config


def _run(
    algorithm: Algorithm, path: Path, sets: list[str], registry: Path | None, progress: bool
) -> None:
    console = Console()
    config = _load(console, algorithm, path, sets, registry)
    try:
        result = train(algorithm, config, progress=progress)
    except FileNotFoundError as exc:
        console.print(f"[red]invalid training configuration[/red]: {exc}")
        raise typer.Exit(2) from exc
    except (ExportError, RegistryError, ValueError, RuntimeError) as exc:
        console.print(f"[red]training failed[/red]: {exc}")
        raise typer.Exit(1) from exc
    _print_summary(console, algorithm, config, result)


def _print_summary(
    console: Console, algorithm: str, config: TrainConfig, result: TrainResult
) -> None:
    table = Table(title=f"{algorithm}: {result.model_name} version {result.model_version}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.metrics.items():
        table.add_row(key, f"{value:,.6g}")
    console.print(table)
    console.print(
        f"registered [bold]{result.model_name}[/bold] version "
        f"[bold]{result.model_version}[/bold] as a candidate in {config.registry_dir}"
    )
    console.print(f"model folder: {result.model_dir}")


def _command(algorithm: Algorithm, summary: str) -> Callable[..., None]:
    def command(
        config: ConfigOption,
        set_: SetOption = None,
        registry: RegistryOption = None,
        progress: ProgressOption = True,
    ) -> None:
        _run(algorithm, config, set_ or [], registry, progress)

    command.__doc__ = summary
    command.__name__ = algorithm
    return command


app.command("dqn")(
    _command("dqn", "Train a deep Q-network (stable-baselines3 DQN) on discrete actions.")
)
app.command("ppo")(
    _command("ppo", "Train PPO (stable-baselines3) on discrete or continuous actions.")
)
app.command("supervised")(
    _command(
        "supervised",
        "Train the supervised baseline: an MLP on the sign of the forward return.",
    )
)


def main() -> None:
    """Entry point of the ``jules-train`` command."""
    app()
