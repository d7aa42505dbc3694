"""``jules-train models``: list, show, gate, promote and roll back registered models.

Mounted by the ``jules-train`` command as ``app.add_typer(models_app, name="models")``. The
registry root is ``--registry DIR``, else the ``JULES_MODEL_REGISTRY`` environment variable,
else ``models``. Exit codes: 0 done, 1 refused (missing model or version, failed gate, no
version to roll back to), 2 bad usage (an invalid name, version or threshold).
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from jules_contracts.enums import ModelStage
from jules_signal.model_store import ModelStoreError, StageRecord, check_path_part
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from jules_trainer.gate import GateConfig, GateResult, run_gate
from jules_trainer.registry import ModelRegistry, RegisteredModel, RegistryError

__all__ = ["DEFAULT_GATE", "REGISTRY_ENV", "models_app"]

REGISTRY_ENV = "JULES_MODEL_REGISTRY"
"""Environment variable naming the registry root (default ``models``)."""

DEFAULT_GATE = GateConfig(min_sharpe=0.0, max_drawdown=0.2, min_trades=1)
"""Thresholds used when none are given: Sharpe >= 0, drawdown <= 20 %, at least one trade."""

models_app = typer.Typer(
    name="models",
    help="The model registry: list, show, gate, promote and roll back model versions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_SHOWN_METRICS = ("sharpe", "total_return", "max_drawdown")

RegistryOption = Annotated[
    Path,
    typer.Option(
        "--registry",
        envvar=REGISTRY_ENV,
        help=f"Registry root folder (default: ${REGISTRY_ENV}, else ./models).",
    ),
]
NameArgument = Annotated[str, typer.Argument(help="Model name.")]
VersionArgument = Annotated[str, typer.Argument(help="Model version (1, 2, ...).")]
MinSharpe = Annotated[
    float | None,
    typer.Option(help=f"Gate: lowest Sharpe ratio per test fold [{DEFAULT_GATE.min_sharpe:g}]."),
]
MaxDrawdown = Annotated[
    float | None,
    typer.Option(
        help=f"Gate: largest drawdown per test fold, a positive fraction "
        f"[{DEFAULT_GATE.max_drawdown:g}]."
    ),
]
MinTrades = Annotated[
    int | None,
    typer.Option(help=f"Gate: fewest closed trades per test fold [{DEFAULT_GATE.min_trades}]."),
]
Operator = Annotated[
    str | None, typer.Option(help="Who makes the change (default: $USER).", show_default=False)
]
Reason = Annotated[str, typer.Option(help="Why (recorded in the stage history).")]


class Target(StrEnum):
    """Stages a version can be promoted to."""

    SHADOW = "shadow"
    PRODUCTION = "production"


def _console() -> Console:
    return Console(width=max(Console().width, 120))


def _fail(message: str, code: int = 1) -> NoReturn:
    Console(stderr=True).print(f"[red]error[/red]: {message}", highlight=False)
    raise typer.Exit(code)


def _check_names(name: str, version: str | None = None) -> None:
    try:
        check_path_part("model name", name)
        if version is not None:
            check_path_part("version", version)
    except ModelStoreError as error:
        _fail(str(error), 2)


def _operator(value: str | None) -> str:
    return value or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _gate_config(
    min_sharpe: float | None, max_drawdown: float | None, min_trades: int | None
) -> GateConfig:
    try:
        return GateConfig(
            min_sharpe=DEFAULT_GATE.min_sharpe if min_sharpe is None else min_sharpe,
            max_drawdown=DEFAULT_GATE.max_drawdown if max_drawdown is None else max_drawdown,
            min_trades=DEFAULT_GATE.min_trades if min_trades is None else min_trades,
        )
    except ValidationError as error:
        _fail(f"invalid gate thresholds: {error}", 2)


def _gate_text(gate: dict[str, Any] | None) -> str:
    if gate is None:
        return "-"
    return "[green]passed[/green]" if gate.get("passed") else "[red]failed[/red]"


def _metric(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _metrics_text(metrics: dict[str, Any]) -> str:
    keys = [key for key in metrics if any(word in key for word in _SHOWN_METRICS)] or list(metrics)
    return ", ".join(f"{key}={_metric(metrics[key])}" for key in keys[:4]) or "-"


def _history_of(registry: ModelRegistry, model: RegisteredModel) -> list[StageRecord]:
    return [
        record
        for record in registry.stages(model.name).history
        if model.version in (record.version, record.previous)
    ]


@models_app.command("list")
def list_models(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    registry: RegistryOption = Path("models"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List registered versions: stage, creation time, algorithm, test metrics, gate."""
    if name is not None:
        _check_names(name)
    store = ModelRegistry(registry)
    try:
        models = store.list(name)
    except RegistryError as error:
        _fail(str(error))
    if as_json:
        rows = [
            {
                "name": model.name,
                "version": model.version,
                "stage": model.stage.value,
                "created_at": model.card.created_at,
                "algorithm": model.experiment.get("algorithm"),
                "metrics": model.card.metrics,
                "gate": model.gate_passed,
            }
            for model in models
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    console = _console()
    if not models:
        console.print(f"no models in {registry}" + (f" named {name}" if name else ""))
        return
    table = Table(title=f"models in {registry}")
    for column in ("name", "version", "stage", "created", "algorithm", "test metrics", "gate"):
        table.add_column(column)
    for model in models:
        table.add_row(
            model.name,
            model.version,
            model.stage.value,
            model.card.created_at,
            str(model.experiment.get("algorithm", "-")),
            _metrics_text(model.card.metrics),
            _gate_text(model.gate),
        )
    console.print(table)


def _show_json(registry: ModelRegistry, model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "version": model.version,
        "stage": model.stage.value,
        "path": str(model.path),
        "card": model.card.model_dump(mode="json"),
        "experiment": model.experiment,
        "gate": model.gate,
        "history": [record.model_dump(mode="json") for record in _history_of(registry, model)],
    }


@models_app.command("show")
def show(
    name: NameArgument,
    version: VersionArgument,
    registry: RegistryOption = Path("models"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a version: its card, experiment, gate result and stage history."""
    _check_names(name, version)
    store = ModelRegistry(registry)
    try:
        model = store.get(name, version)
    except RegistryError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps(_show_json(store, model), indent=2))
        return
    console = _console()
    card = model.card
    console.print(f"[bold]{model.name}[/bold] version {model.version}: {model.stage.value}")
    console.print(f"folder: {model.path}", highlight=False)
    card_table = Table(title="model card", show_header=False)
    card_table.add_column("field")
    card_table.add_column("value")
    card_table.add_row("features", ", ".join(card.feature_names))
    card_table.add_row("feature schema", card.feature_schema_id)
    card_table.add_row("action", card.action.model_dump_json())
    card_table.add_row("position input", str(card.position_input))
    card_table.add_row("training data", card.training_data_hash)
    card_table.add_row("code version", card.code_version)
    card_table.add_row("created", card.created_at)
    card_table.add_row("metrics", _metrics_text(dict(card.metrics)) if card.metrics else "-")
    console.print(card_table)
    experiment = model.experiment
    if experiment:
        summary = ("algorithm", "seed", "data_hash", "code_version", "created_at")
        lines = [f"{key}: {experiment[key]}" for key in summary if key in experiment]
        for fold in experiment.get("folds", []):
            if isinstance(fold, dict) and "test" in fold:
                lines.append(f"fold {fold.get('index', '?')} test window: {fold['test']}")
                if isinstance(fold.get("metrics"), dict) and fold["metrics"]:
                    lines.append(f"  metrics: {_metrics_text(fold['metrics'])}")
        console.print("[bold]experiment[/bold]\n  " + "\n  ".join(lines or ["(no summary)"]))
    if model.gate is None:
        console.print("[bold]gate[/bold]: not run")
    else:
        _print_gate(console, GateResult.from_json(model.gate))
    history = _history_of(store, model)
    if history:
        table = Table(title="stage history")
        for column in ("at", "action", "stage", "version", "previous", "operator", "reason"):
            table.add_column(column)
        for record in history:
            table.add_row(
                record.at,
                record.action,
                record.stage.value,
                record.version or "-",
                record.previous or "-",
                record.operator,
                record.reason,
            )
        console.print(table)


def _print_gate(console: Console, result: GateResult) -> None:
    verdict = "[green]passed[/green]" if result.passed else "[red]failed[/red]"
    limits = result.thresholds
    console.print(
        f"[bold]gate[/bold] {verdict} at {result.at}: sharpe >= {limits.min_sharpe:g}, "
        f"drawdown <= {limits.max_drawdown:.2%}, trades >= {limits.min_trades}",
        highlight=False,
    )
    table = Table()
    for column in ("fold", "test window", "sharpe", "max drawdown", "trades", "return", "result"):
        table.add_column(column)
    for fold in result.folds:
        table.add_row(
            str(fold.index),
            f"{fold.window[0]} .. {fold.window[1]}",
            f"{_metric(fold.gate_sharpe.value)} ({fold.gate_sharpe.basis})",
            _metric(fold.metrics.get("max_drawdown")),
            _metric(fold.metrics.get("trade_count")),
            _metric(fold.metrics.get("total_return")),
            "passed" if fold.passed else "; ".join(fold.reasons),
        )
    console.print(table)


def _run_gate(store: ModelRegistry, name: str, version: str, gate: GateConfig) -> GateResult:
    try:
        return run_gate(store, name, version, gate)
    except RegistryError as error:
        _fail(str(error))


@models_app.command("gate")
def gate(
    name: NameArgument,
    version: VersionArgument,
    registry: RegistryOption = Path("models"),
    min_sharpe: MinSharpe = None,
    max_drawdown: MaxDrawdown = None,
    min_trades: MinTrades = None,
) -> None:
    """Run the out-of-sample gate: a backtest on the exported fold's test window."""
    _check_names(name, version)
    thresholds = _gate_config(min_sharpe, max_drawdown, min_trades)
    store = ModelRegistry(registry)
    result = _run_gate(store, name, version, thresholds)
    _print_gate(_console(), result)
    if not result.passed:
        _fail(f"model {name} version {version} failed its gate: " + "; ".join(result.reasons))


@models_app.command("promote")
def promote(
    name: NameArgument,
    version: VersionArgument,
    to: Annotated[Target, typer.Option("--to", help="The stage: shadow or production.")],
    registry: RegistryOption = Path("models"),
    operator: Operator = None,
    reason: Reason = "promoted",
    min_sharpe: MinSharpe = None,
    max_drawdown: MaxDrawdown = None,
    min_trades: MinTrades = None,
) -> None:
    """Promote a version to shadow or production; it must pass the gate.

    The stored gate result is used; the gate runs first when none is stored, or again when a
    threshold option is given.
    """
    _check_names(name, version)
    store = ModelRegistry(registry)
    try:
        model = store.get(name, version)
    except RegistryError as error:
        _fail(str(error))
    console = _console()
    rerun = any(value is not None for value in (min_sharpe, max_drawdown, min_trades))
    if model.gate is None or rerun:
        result = _run_gate(store, name, version, _gate_config(min_sharpe, max_drawdown, min_trades))
        _print_gate(console, result)
    stage = ModelStage.SHADOW if to is Target.SHADOW else ModelStage.PRODUCTION
    try:
        stages = store.promote(name, version, stage, operator=_operator(operator), reason=reason)
    except RegistryError as error:
        _fail(str(error))
    console.print(
        f"model {name} version {version} is now in {stage.value} "
        f"(production: {stages.production or '-'}, shadow: {stages.shadow or '-'})",
        highlight=False,
    )


@models_app.command("rollback")
def rollback(
    name: NameArgument,
    registry: RegistryOption = Path("models"),
    operator: Operator = None,
    reason: Reason = "rolled back",
) -> None:
    """Put back the production version the current one replaced."""
    _check_names(name)
    store = ModelRegistry(registry)
    try:
        before = store.stages(name).production
        stages = store.rollback(name, operator=_operator(operator), reason=reason)
    except RegistryError as error:
        _fail(str(error))
    _console().print(
        f"model {name}: production rolled back from version {before} to {stages.production}",
        highlight=False,
    )
