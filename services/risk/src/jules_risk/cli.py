"""The ``jules-risk`` command: ``check-config``, ``run`` and the operator's ``kill``.

``jules-risk kill`` engages or releases the kill switch by publishing the control command on
``control.v1`` (within ``JULES_RISK__RUN_SCOPE`` when set), or asks a running service for its
state::

    jules-risk kill --engage --reason "venue outage" --operator alice
    jules-risk kill --engage --reducing --instrument BTCUSDT.BINANCE --reason "..." --operator alice
    jules-risk kill --release --reason "venue back" --operator alice
    jules-risk kill --status [--url http://127.0.0.1:8104] [--instrument BTCUSDT.BINANCE]

An operator's command has no cause, so its event id is random (``new_event_id``) and its
event time is the wall-clock time when it is sent (``--event-time`` gives another). Control
commands do not move the engine's market clock, so a command sent into a replay of older data
takes effect at once and makes no later order of the replay look stale; its event time is kept
on it and on the alerts it causes.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated, Any

import typer
from jules_contracts import EngageKillSwitch, Event, KillSwitchState, ReleaseKillSwitch
from jules_contracts.base import new_event_id, parse_utc_nanos
from jules_contracts.topics import CONTROL
from jules_runtime.cli import EXIT_CONFIG_ERROR, service_cli
from jules_runtime.errors import ConfigError
from jules_runtime.settings import load_settings
from pydantic import ValidationError

from jules_risk.config import KILL_SWITCH_PATH, RiskSettings
from jules_risk.engine import SOURCE

__all__ = ["COMMAND_SOURCE", "app", "main"]

COMMAND_SOURCE = "jules-risk-cli"
"""``source`` of the control commands the command publishes."""

EXIT_FAILURE = 1
"""Exit status when the broker or the service cannot be reached."""


def _create_app(settings: RiskSettings) -> Any:
    from jules_risk.app import create_app  # imported when the service runs, not for `kill`

    return create_app(settings)


app = service_cli(
    RiskSettings,
    create_app=_create_app,
    summary="Pre-trade controls, sizing, stops, kill switch and portfolio risk.",
)
main = app


@app.command("kill")
def kill(
    engage: Annotated[
        bool, typer.Option("--engage", help="Engage the kill switch (HALTED unless --reducing).")
    ] = False,
    release: Annotated[bool, typer.Option("--release", help="Release it: back to ACTIVE.")] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Print the state of the running service.")
    ] = False,
    reducing: Annotated[
        bool,
        typer.Option("--reducing", help="With --engage: risk-reducing orders only, not HALTED."),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in the audit record).")
    ] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Who.")] = None,
    instrument: Annotated[
        str | None,
        typer.Option("--instrument", help="One instrument (BTCUSDT.BINANCE); default the book."),
    ] = None,
    event_time: Annotated[
        str | None,
        typer.Option(
            "--event-time",
            help="Event time of the command (ISO-8601 with offset); default the wall clock.",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="With --status: the service's base URL "
            "(default http://127.0.0.1:<JULES_RISK__HTTP__PORT or 8104>).",
        ),
    ] = None,
) -> None:
    """Engage or release the kill switch (a command on control.v1), or show its state.

    The command goes to control.v1 within JULES_RISK__RUN_SCOPE when set.

    It has a random event id and the wall-clock time as event time (or --event-time).

    What was sent is printed.
    """
    modes = [name for name, on in (("--engage", engage), ("--release", release)) if on]
    if status:
        modes.append("--status")
    if len(modes) != 1:
        raise typer.BadParameter(
            "give exactly one of --engage, --release and --status", param_hint="mode"
        )
    if reducing and not engage:
        raise typer.BadParameter("--reducing goes with --engage", param_hint="--reducing")
    settings = _load()
    if status:
        _print_status(url or f"http://127.0.0.1:{settings.http_port}", instrument)
        return
    if reason is None or operator is None:
        raise typer.BadParameter(
            "--engage and --release need --reason and --operator", param_hint="--reason"
        )
    command = _command(
        engage=engage,
        reducing=reducing,
        reason=reason,
        operator=operator,
        instrument=instrument,
        event_time=event_time,
    )
    try:
        asyncio.run(_publish(settings, command))
    except Exception as error:  # the broker's errors are many; say which and stop
        typer.echo(
            f"could not publish on {CONTROL.scoped(settings.run_scope)} at "
            f"{settings.kafka.bootstrap_servers}: {type(error).__name__}: {error}",
            err=True,
        )
        raise typer.Exit(EXIT_FAILURE) from error
    typer.echo(f"published on {CONTROL.scoped(settings.run_scope)}:")
    typer.echo(command.model_dump_json(indent=2))


def _load() -> RiskSettings:
    try:
        return load_settings(RiskSettings)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from error


def _command(
    *,
    engage: bool,
    reducing: bool,
    reason: str,
    operator: str,
    instrument: str | None,
    event_time: str | None,
) -> EngageKillSwitch | ReleaseKillSwitch:
    try:
        when = time.time_ns() if event_time is None else parse_utc_nanos(event_time)
        fields = {
            "event_id": new_event_id(),
            "source": COMMAND_SOURCE,
            "event_time": when,
            "target": SOURCE,
            "reason": reason,
            "operator": operator,
            "instrument_id": instrument,
        }
        if engage:
            state = KillSwitchState.REDUCING if reducing else KillSwitchState.HALTED
            return EngageKillSwitch.model_validate({**fields, "state": state})
        return ReleaseKillSwitch.model_validate(fields)
    except (ValidationError, ValueError) as error:
        typer.echo(f"invalid command: {error}", err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from error


async def _publish(settings: RiskSettings, command: Event) -> None:
    from jules_runtime.bus import KafkaBus

    bus = KafkaBus(
        f"{settings.service_name}-cli",
        settings.kafka,
        settings.run_scope,
        client_id=f"{settings.client_id}-cli",
    )
    try:
        await bus.start()
        await bus.publish(command)
    finally:
        await bus.stop()  # also after a failed start: the producer is closed


def _print_status(base_url: str, instrument: str | None) -> None:
    query = "" if instrument is None else "?" + urllib.parse.urlencode({"instrument": instrument})
    address = base_url.rstrip("/") + KILL_SWITCH_PATH + query
    if urllib.parse.urlsplit(address).scheme not in ("http", "https"):
        raise typer.BadParameter(f"{base_url!r} is not an http(s) URL", param_hint="--url")
    try:
        with urllib.request.urlopen(address, timeout=10) as response:  # noqa: S310 (http only)
            body = json.loads(response.read())
    except (OSError, ValueError) as error:
        typer.echo(f"could not read {address}: {error}", err=True)
        raise typer.Exit(EXIT_FAILURE) from error
    typer.echo(json.dumps(body))
