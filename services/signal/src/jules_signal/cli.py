"""The ``jules-signal`` command: ``run``, ``check-config`` and ``check-strategy``."""

from __future__ import annotations

import json

import typer
from faststream.asgi import AsgiFastStream
from jules_runtime.cli import EXIT_CONFIG_ERROR, service_cli
from jules_runtime.errors import ConfigError
from jules_runtime.settings import load_settings

from jules_signal.app import create_app
from jules_signal.config import SignalSettings
from jules_signal.engine import OnnxPolicy
from jules_signal.models import load_strategy

__all__ = ["app", "main"]


def _create_app(settings: SignalSettings) -> AsgiFastStream:
    """``create_app``, with a refused model ending the command with status 2 (not a traceback)."""
    try:
        return create_app(settings)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from error


app = service_cli(
    SignalSettings,
    "Turns feature vectors into signals with users' strategies, rule strategies or ONNX policies.",
    create_app=_create_app,
)
main = app


@app.command("check-strategy")
def check_strategy() -> None:
    """Build the configured strategy as ``run`` would, and print what it reads.

    An ONNX model is loaded and checked against the live feature schema; its model card is
    printed. Exits with status 2 when the settings or the model are refused.
    """
    try:
        settings = load_settings(SignalSettings)
        strategy = load_strategy(settings)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from error
    summary: dict[str, object] = {
        "strategy_id": strategy.strategy_id,
        "required_features": list(strategy.required_features),
        "feature_schema_id": settings.feature_schema_id,
    }
    if isinstance(strategy, OnnxPolicy):
        summary["model_card"] = strategy.card.model_dump(mode="json")
    else:
        summary["strategy"] = (
            settings.strategy.model_dump(mode="json") if settings.strategy else None
        )
    typer.echo(json.dumps(summary, indent=2))
