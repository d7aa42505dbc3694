"""``jules up`` / ``jules status`` / ``jules down``: a paper-trading session on this machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from jules.session import SessionState

__all__ = ["down", "status", "up"]


def up(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Session file (the backtest format).")
    ] = Path("examples") / "demo.yaml",
    run_dir: Annotated[
        Path | None,
        typer.Option(help="Session folder (logs, audit): new, empty, or a stopped session's."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Use a non-empty folder that holds no session (its files are left in place).",
        ),
    ] = False,
    speed: Annotated[
        float | None,
        typer.Option(help="Replay speed, times real time (0: as fast as possible)."),
    ] = 60.0,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Use this Kafka broker instead of starting the local one."),
    ] = None,
) -> None:
    """Start the local broker and all six services; replay recorded data as a live feed.

    Each service runs under a supervisor process that restarts it when it dies (it resumes
    from its committed offsets); ``jules status`` shows its restarts and last exit code.

    A non-empty folder that holds no session is refused (exit 2, nothing touched) unless
    ``--overwrite``; a stopped session's folder is used again (its logs and audit log grow).
    """
    from jules_backtest.config import load_config
    from jules_runtime.output_paths import OutputRefusedError
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
        from jules.session_env import service_environments

        environments = service_environments(settings, folder, speed or None)
        state = start_session(folder, scope, environments, bootstrap, overwrite=overwrite)
    except OutputRefusedError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
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


def status(
    run_dir: SessionDir = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: the session and its services.")
    ] = False,
) -> None:
    """Show each service: process, restarts, last exit code, health, readiness, lag, event time.

    Exits with status 1 unless every service runs, healthy and ready (with ``--json`` too).
    """
    console = Console()
    state = _load_state(console, run_dir)
    healthy = _print_json_status(state) if as_json else _print_status(console, state)
    if not healthy:
        raise typer.Exit(1)


def down(run_dir: SessionDir = None) -> None:
    """Stop the session's services (gracefully) and the broker if the session started it."""
    from jules.session import stop_session

    console = Console()
    state = _load_state(console, run_dir)
    for line in stop_session(state):
        console.print(line)


def _print_json_status(state: SessionState) -> bool:
    from dataclasses import asdict

    from jules.session import session_status

    services = [asdict(item) for item in session_status(state)]
    healthy = all(s["running"] and s["healthy"] and s["ready"] for s in services)
    report = {
        "scope": state.scope,
        "run_dir": str(state.run_dir),
        "healthy": healthy,
        "services": services,
    }
    typer.echo(json.dumps(report))
    return healthy


def _print_status(console: Console, state: SessionState) -> bool:
    from jules.processes import describe_exit
    from jules.session import session_status

    table = Table(title=f"session {state.scope} ({state.run_dir})")
    columns = ("service", "process", "restarts", "last exit", "health", "ready", "lag")
    for column in (*columns, "last event time", "port"):
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
            str(item.restarts) if not item.restarts else f"[yellow]{item.restarts}[/yellow]",
            "-" if item.last_exit_code is None else describe_exit(item.last_exit_code),
            "ok" if item.healthy else "[red]down[/red]",
            "ok" if item.ready else "[red]not ready[/red]",
            "-" if item.lag is None else str(item.lag),
            last,
            str(item.port),
        )
    console.print(table)
    return all_good
