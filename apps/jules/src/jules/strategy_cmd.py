"""``jules strategy``: the strategies one can run, and what a strategy takes."""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["strategy_app"]

strategy_app = typer.Typer(
    help="Users' strategies: list those registered, show what one takes.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@strategy_app.command("list")
def list_strategies() -> None:
    """List the strategies registered as jules.strategies entry points, and the rule kinds.

    The rule strategies (sma_cross, ema_cross, rsi_reversion) are registered too, and can also
    be configured by their kind.
    """
    from importlib.metadata import entry_points

    from jules_signal.engine import STRATEGY_KINDS
    from jules_signal.engine.python_strategy import ENTRY_POINT_GROUP

    table = Table(title=f"strategies ({ENTRY_POINT_GROUP} entry points)")
    for column in ("entry point", "class", "config"):
        table.add_column(column)
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        table.add_row(entry.name, entry.value, f"{{kind: python, entry_point: {entry.name}}}")
    console = Console()
    console.print(table)
    rules = ", ".join(kind for kind in STRATEGY_KINDS if kind != "python")
    console.print(
        f"rule strategies, also by kind ({{kind: sma_cross, fast: 10, slow: 30}}): {rules}; "
        "an ONNX policy: kind onnx"
    )


def _required(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if field.is_required()]


def _type_of(field: dict[str, Any], definitions: dict[str, Any]) -> str:
    """A field's JSON type; an enum's values (``long_only | long_short``); options joined."""
    if "$ref" in field:
        field = definitions.get(field["$ref"].rsplit("/", 1)[-1], {})
    if "enum" in field:
        return " | ".join(str(value) for value in field["enum"])
    if "type" in field:
        return str(field["type"])
    options = field.get("anyOf", ())
    return " | ".join(_type_of(option, definitions) for option in options) or "?"


def _field_rows(schema: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    required = set(schema.get("required", ()))
    definitions = schema.get("$defs", {})
    rows = []
    for name, field in schema.get("properties", {}).items():
        kind = _type_of(field, definitions)
        bounds = [
            f"{label} {field[key]}"
            for key, label in (
                ("minimum", ">="),
                ("exclusiveMinimum", ">"),
                ("maximum", "<="),
                ("exclusiveMaximum", "<"),
            )
            if key in field
        ]
        default = "required" if name in required else json.dumps(field.get("default"))
        about = " ".join([field.get("description", ""), *bounds]).strip()
        rows.append((name, str(kind), default, about))
    return rows


@strategy_app.command("show")
def show(
    target: Annotated[
        str, typer.Argument(help="module:Class, path/to/file.py:Class, or an entry point name.")
    ],
    params: Annotated[
        list[str] | None,
        typer.Option("--param", help="KEY=VALUE: show the features these parameters need."),
    ] = None,
) -> None:
    """Show a strategy's parameters (type, default, bounds, description) and its features.

    The features are those of the default parameters, or of those given with --param.
    """
    from jules_signal.engine import PythonStrategyConfig, StrategyLoadError, load_strategy
    from jules_signal.engine.python_strategy import TICK_HOOKS, load_strategy_class
    from pydantic import ValidationError

    console = Console()
    where = {"path": target} if ":" in target else {"entry_point": target}
    values = dict(item.split("=", 1) for item in params or () if "=" in item)
    try:
        config = PythonStrategyConfig.model_validate({**where, "params": values})
        cls = load_strategy_class(config)
    except (StrategyLoadError, ValidationError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"[bold]{cls.__name__}[/bold] ({cls.__module__})")
    if cls.__doc__:
        console.print(inspect.cleandoc(cls.__doc__), markup=False)
    table = Table(title="parameters")
    for column in ("name", "type", "default", "description"):
        table.add_column(column)
    for row in _field_rows(cls.Params.model_json_schema()):
        table.add_row(*row)
    console.print(table)
    try:
        strategy = load_strategy(config)
    except StrategyLoadError:  # a required parameter not given: no features to show
        missing = ", ".join(f"--param {name}=..." for name in _required(cls.Params))
        console.print(f"features: give {missing} to see them")
        return
    console.print(f"features: {', '.join(strategy.required_features) or '(none)'}")
    ticks = sorted(TICK_HOOKS[kind] for kind in strategy.market_kinds)
    console.print(f"tick hooks: {', '.join(ticks) or '(none: bars only)'}")
    console.print(f"fills: {'on_fill' if strategy.asks_fills else '(none)'}")
