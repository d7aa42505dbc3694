"""``jules up`` / ``jules status`` / ``jules down``: a paper-trading session on this machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from jules_backtest.config import BacktestConfig

    from jules.session import SessionState

__all__ = ["down", "service_environments", "status", "up"]


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def service_environments(
    config: BacktestConfig, run_dir: Path, speed: float | None
) -> dict[str, dict[str, str]]:
    """Each service's settings (environment variables without the prefix) for a session."""
    from jules_backtest.config import OnnxStrategyConfig
    from jules_backtest.data import resolve
    from jules_backtest.run import build_strategy_and_schema

    _, schema = build_strategy_and_schema(config)
    features = list(schema.names)
    strategy = config.strategy
    signal: dict[str, str] = {
        "FEATURES": _json(features),
        "FEATURE_SCHEMA_ID": schema.schema_id,
    }
    if isinstance(strategy, OnnxStrategyConfig):
        signal["MODEL_PATH"] = str(Path(strategy.model).resolve())
        signal["POLICY"] = _json(
            {"dead_band": strategy.dead_band, "min_weight_change": strategy.min_weight_change}
        )
    else:
        signal["STRATEGY"] = _json(strategy.model_dump(mode="json"))
    account = config.account
    router = {
        "ACCOUNT_ID": account.account_id,
        "CURRENCY": account.currency,
        "STARTING_CASH": repr(account.starting_cash),
        "ENGINE": _json(config.execution.model_dump(mode="json")),
    }
    files = [
        {"path": str(resolve(config, source).resolve()), "instrument_id": source.instrument_id}
        for source in config.data
    ]
    market_data = {"FILES": _json(files)}
    if speed is not None:
        market_data["SPEED"] = repr(speed)
    return {
        "audit": {"DIRECTORY": str((run_dir / "audit").resolve())},
        "order-router": router,
        "risk": {
            "ACCOUNT_ID": account.account_id,
            "ENGINE": _json(config.risk.model_dump(mode="json")),
        },
        "signal": signal,
        "features": {"FEATURES": _json(features)},
        "market-data": market_data,
    }


def up(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Session file (the backtest format).")
    ] = Path("examples") / "demo.yaml",
    run_dir: Annotated[Path | None, typer.Option(help="Session folder (logs, audit).")] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Replay speed, times real time (0: as fast as possible)."),
    ] = 60.0,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Use this Kafka broker instead of starting the local one."),
    ] = None,
) -> None:
    """Start the local broker and all six services; replay recorded data as a live feed."""
    from jules_backtest.config import load_config
    from pydantic import ValidationError

    from jules.session import start_session

    console = Console()
    try:
        settings = load_config(config)
    except (ValidationError, ValueError, OSError) as exc:
        console.print(f"[red]invalid session configuration[/red]: {exc}")
        raise typer.Exit(2) from exc
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = run_dir or Path("runs") / f"session-{stamp}"
    scope = f"paper-{stamp.lower()}"
    try:
        environments = service_environments(settings, folder, speed or None)
        state = start_session(folder, scope, environments, bootstrap)
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"session up: scope {state.scope}, broker {state.bootstrap}, folder {folder}")
    _print_status(console, state)
    console.print("`jules status` to follow it, `jules down` to stop it.")


SessionDir = Annotated[Path | None, typer.Option(help="Session folder (default: the last).")]
"""``--run-dir`` of ``status`` and ``down``: a session's folder."""


def _load_state(console: Console, run_dir: Path | None) -> SessionState:
    """The session's state; a missing session is printed and exits with status 1."""
    from jules.session import SessionState

    try:
        return SessionState.load(run_dir)
    except FileNotFoundError as exc:
        console.print(str(exc))
        raise typer.Exit(1) from exc


def status(run_dir: SessionDir = None) -> None:
    """Show each service of the session: process, health, readiness, lag, last event time."""
    console = Console()
    state = _load_state(console, run_dir)
    healthy = _print_status(console, state)
    if not healthy:
        raise typer.Exit(1)


def down(run_dir: SessionDir = None) -> None:
    """Stop the session's services (gracefully) and the broker if the session started it."""
    from jules.session import stop_session

    console = Console()
    state = _load_state(console, run_dir)
    for line in stop_session(state):
        console.print(line)


def _print_status(console: Console, state: SessionState) -> bool:
    from jules.session import session_status

    table = Table(title=f"session {state.scope} ({state.run_dir})")
    for column in ("service", "process", "health", "ready", "lag", "last event time", "port"):
        table.add_column(column)
    all_good = True
    for item in session_status(state):
        all_good &= item.running and item.healthy and item.ready
        last = (
            datetime.fromtimestamp(item.last_event_time, tz=UTC).isoformat()
            if item.last_event_time
            else "-"
        )
        table.add_row(
            item.name,
            "running" if item.running else "[red]stopped[/red]",
            "ok" if item.healthy else "[red]down[/red]",
            "ok" if item.ready else "[red]not ready[/red]",
            "-" if item.lag is None else str(item.lag),
            last,
            str(item.port),
        )
    console.print(table)
    return all_good
