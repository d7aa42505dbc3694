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
    from collections.abc import Callable

    from jules_backtest.config import BacktestConfig

    from jules.paper import FakeExchangeOptions
    from jules.session import Environments, SessionState

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
        typer.Option(
            help="Replay speed, times real time (0: as fast as possible); default 60, and 1 "
            "for the fake exchange of a paper session."
        ),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Use this Kafka broker instead of starting the local one."),
    ] = None,
    paper: Annotated[
        bool,
        typer.Option(
            "--paper",
            help="Live market data from venues (a fake exchange the session starts, unless "
            "--venues-file); orders filled by the simulated venue against the live book.",
        ),
    ] = False,
    venues_file: Annotated[
        Path | None,
        typer.Option(help="Paper: the venues to stream (a YAML file with a venues: list)."),
    ] = None,
    dialect: Annotated[
        str, typer.Option(help="Paper without --venues-file: the fake exchange's API.")
    ] = "binance",
) -> None:
    """Start the local broker and all six services: a replay of recorded data, or ``--paper``.

    Without ``--paper`` the market-data service replays the session file's data as a live
    feed. With ``--paper`` it streams live market data from venues (docs/paper.md): the
    venues of ``--venues-file``, or a fake exchange the session starts, which serves the
    sample data's recorded Binance market over the real exchange API; the strategy, risk,
    fill model and account are the session file's.

    Each service runs under a supervisor process that restarts it when it dies (it resumes
    from its committed offsets and restores its state); ``jules status`` shows its restarts,
    last exit code, and the account's positions and PnL.

    A non-empty folder that holds no session is refused (exit 2, nothing touched) unless
    ``--overwrite``; a stopped session's folder is used again (its logs and audit log grow).
    """
    from jules_backtest.config import load_config
    from jules_runtime.output_paths import OutputRefusedError
    from pydantic import ValidationError

    from jules.paper import PaperConfigError
    from jules.session import start_session

    console = Console()
    try:
        settings = load_config(config)
    except (ValidationError, ValueError, OSError) as exc:
        console.print(f"[red]invalid session configuration[/red]: {exc}")
        raise typer.Exit(2) from exc
    if not paper and venues_file is not None:
        console.print("[red]--venues-file is for a paper session: add --paper[/red]")
        raise typer.Exit(2)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = run_dir or Path("runs") / f"session-{stamp}"
    scope = f"paper-{stamp.lower()}"
    try:
        environments, fake = _environments(settings, folder, speed, paper, venues_file, dialect)
        state = start_session(
            folder, scope, environments, bootstrap, overwrite=overwrite, fake_exchange=fake
        )
    except (OutputRefusedError, PaperConfigError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except RuntimeError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    kind = "paper session" if paper else "session"
    console.print(f"{kind} up: scope {state.scope}, broker {state.bootstrap}, folder {folder}")
    _print_status(console, state)
    console.print("`jules status` to follow it, `jules down` to stop it.")


def _environments(
    settings: BacktestConfig,
    folder: Path,
    speed: float | None,
    paper: bool,
    venues_file: Path | None,
    dialect: str,
) -> tuple[Environments | Callable[[], Environments], FakeExchangeOptions | None]:
    """The services' settings (or what computes them) and the fake exchange to start, if any.

    Raises:
        PaperConfigError: The venues file is invalid or misses an instrument, or the dialect
            is unknown.
    """
    from jules.paper import FakeExchangeOptions, PaperConfigError, paper_environments
    from jules.session_env import service_environments

    if not paper:
        return service_environments(
            settings, folder, 60.0 if speed is None else speed or None
        ), None
    if venues_file is not None:
        return paper_environments(settings, folder, venues_file), None
    from jules_venues.fake import DIALECTS

    if dialect not in DIALECTS:
        raise PaperConfigError(
            f"unknown --dialect {dialect!r} (known: {', '.join(sorted(DIALECTS))})"
        )
    fake = FakeExchangeOptions(
        dialect=dialect, speed=1.0 if speed is None else speed, data_dir=settings.data_dir
    )

    def environments() -> Environments:
        from jules.paper import VENUES_FILE

        return paper_environments(settings, folder, folder / VENUES_FILE)

    return environments, fake


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

    from jules.session import alive, session_status
    from jules.session_portfolio import latest_portfolios, portfolio_json

    services = [asdict(item) for item in session_status(state)]
    healthy = all(s["running"] and s["healthy"] and s["ready"] for s in services)
    report: dict[str, object] = {
        "scope": state.scope,
        "run_dir": str(state.run_dir),
        "paper": state.paper,
        "healthy": healthy,
        "services": services,
        "accounts": [
            portfolio_json(snapshot) for snapshot in latest_portfolios(state.bootstrap, state.scope)
        ],
    }
    if state.fake_exchange is not None:
        fake = state.fake_exchange
        report["fake_exchange"] = {"running": alive(fake.pid), "port": fake.port, "log": fake.log}
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
    _print_accounts(console, state)
    return all_good


def _print_accounts(console: Console, state: SessionState) -> None:
    """The fake exchange (if the session runs one) and each account's positions and PnL."""
    from jules.session import alive
    from jules.session_portfolio import latest_portfolios, portfolio_table

    fake = state.fake_exchange
    if fake is not None:
        running = "running" if alive(fake.pid) else "[red]stopped[/red]"
        console.print(f"fake exchange: {running} on port {fake.port} (log {fake.log})")
    snapshots = latest_portfolios(state.bootstrap, state.scope)
    for snapshot in snapshots:
        console.print(portfolio_table(snapshot))
    if not snapshots:
        console.print("account: no portfolio snapshot yet (one follows every bar)")
