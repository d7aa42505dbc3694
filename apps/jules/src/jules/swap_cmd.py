"""``jules swap-model``: tell the signal service to serve another model version (control.v1)."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from jules_contracts.control import SwapModel

__all__ = ["StageOption", "publish_swap", "swap_command", "swap_model"]


class StageOption(StrEnum):
    """The stage a swap loads the version into."""

    production = "production"
    shadow = "shadow"


def swap_command(
    name: str,
    version: str,
    *,
    stage: StageOption,
    operator: str,
    event_time: int | None = None,
) -> SwapModel:
    """Build the ``SwapModel`` command (random event id, wall-clock event time by default).

    Raises:
        pydantic.ValidationError: The name, version or operator is not a valid identifier.
    """
    from jules_contracts.base import new_event_id
    from jules_contracts.control import SwapModel
    from jules_contracts.enums import ModelStage

    return SwapModel(
        event_id=new_event_id(),
        source="operator",
        event_time=time.time_ns() if event_time is None else event_time,
        target="signal",
        model_name=name,
        model_version=version,
        stage=ModelStage.PRODUCTION if stage is StageOption.production else ModelStage.SHADOW,
        operator=operator,
    )


async def publish_swap(bootstrap: str, scope: str | None, command: SwapModel) -> None:
    """Publish ``command`` on control.v1 (within ``scope``) and wait for the broker's ack."""
    from jules_runtime.bus import KafkaBus
    from jules_runtime.settings import KafkaSettings

    bus = KafkaBus(
        "swap-model", KafkaSettings(bootstrap_servers=bootstrap), scope, client_id="jules-swap"
    )
    try:
        await bus.start()
        await bus.publish(command)
    finally:
        await bus.stop()


def swap_model(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Version to load.")],
    stage: Annotated[
        StageOption, typer.Option(help="production replaces the serving model; shadow runs beside.")
    ] = StageOption.production,
    bootstrap: Annotated[str, typer.Option(help="The Kafka broker.")] = "127.0.0.1:9092",
    scope: Annotated[
        str | None, typer.Option(help="Run scope of the topics (none: the live topics).")
    ] = None,
    operator: Annotated[
        str, typer.Option(help="Who swaps (recorded in the command).")
    ] = "operator",
) -> None:
    """Publish a SwapModel command on control.v1 for the signal service.

    The service loads the version from its model registry, checks it against the live feature
    schema and swaps it in between two messages (production), or runs it beside production on
    signals.shadow.v1 (shadow). A refused version leaves the running model serving and raises a
    MODEL_REJECTED alert on risk.alerts.v1. A production version swapped in is kept on
    control-state.v1: the service serves it again after a restart. The command is printed.
    """
    from jules_contracts.topics import CONTROL
    from pydantic import ValidationError

    console = Console()
    try:
        topic = CONTROL.scoped(scope)
    except ValueError as exc:
        console.print(f"[red]invalid --scope[/red]: {exc}")
        raise typer.Exit(2) from exc
    try:
        command = swap_command(name, version, stage=stage, operator=operator)
    except ValidationError as exc:
        console.print(f"[red]invalid command[/red]: {exc}")
        raise typer.Exit(2) from exc
    try:
        asyncio.run(publish_swap(bootstrap, scope, command))
    except Exception as exc:  # the broker's errors are many; say which and stop
        console.print(
            f"[red]could not publish on {topic} at {bootstrap}[/red]: {type(exc).__name__}: {exc}"
        )
        raise typer.Exit(1) from exc
    console.print(f"published on {topic}:")
    typer.echo(command.model_dump_json(indent=2))
