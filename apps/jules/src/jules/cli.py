"""The ``jules`` command."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jules.audit_cmd import audit_app
from jules.demo import DemoResult, run_demo

app = typer.Typer(
    name="jules",
    help="IntradayJules: an event-driven intraday trading platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(audit_app, name="audit")

DEFAULT_DATA_DIR = Path("..") / "shared" / "data"


@app.callback()
def _root() -> None:
    """IntradayJules command line."""


@app.command()
def demo(
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="JULES_DATA_DIR",
            help="Folder of the shared sample market data.",
            show_default=True,
        ),
    ] = DEFAULT_DATA_DIR,
) -> None:
    """Smoke demo: real sample data through the contracts and the in-memory bus.

    Not yet a backtest: the trading engines land with the trading core, and then this command
    runs a backtest on the same data.
    """
    console = Console(width=max(Console().width, 160))
    if not data_dir.is_dir():
        console.print(
            f"[red]sample data folder not found: {data_dir.resolve()}[/red]\n"
            "Give it with --data-dir or JULES_DATA_DIR."
        )
        raise typer.Exit(1)
    started = time.perf_counter()
    try:
        result = asyncio.run(run_demo(data_dir))
    except FileNotFoundError as exc:
        console.print(f"[red]sample file missing: {exc.filename}[/red]")
        raise typer.Exit(1) from exc
    _report(console, result, time.perf_counter() - started)


def _report(console: Console, result: DemoResult, seconds: float) -> None:
    console.print(
        "[bold]IntradayJules smoke demo[/bold]: contracts and the in-memory bus on real data "
        "(not a backtest yet: the trading core comes next)."
    )
    table = Table(title="Per instrument, as seen by a bus consumer")
    for column, justify in [
        ("instrument", "left"),
        ("data", "left"),
        ("events", "right"),
        ("from (UTC)", "left"),
        ("to (UTC)", "left"),
        ("first", "right"),
        ("last", "right"),
        ("change", "right"),
        ("high", "right"),
        ("low", "right"),
        ("volume", "right"),
        ("VWAP", "right"),
    ]:
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for summary in sorted(result.summaries.values(), key=lambda s: s.instrument_id):
        table.add_row(
            summary.instrument_id,
            summary.kind,
            f"{summary.count:,}",
            summary.first_time,
            summary.last_time,
            f"{summary.first_price:,.2f}",
            f"{summary.last_price:,.2f}",
            f"{summary.change:+.2%}",
            f"{summary.high:,.2f}",
            f"{summary.low:,.2f}",
            f"{summary.volume:,.2f}",
            f"{summary.vwap:,.2f}",
        )
    console.print(table)
    stats = result.stats
    console.print(
        f"files read: {len(result.files)}   rows rejected by validation: {len(result.rejected)}   "
        f"events published: {result.published:,}   delivered: {result.delivered:,}   "
        f"processed: {stats.processed:,}   dead-lettered: {stats.dead_lettered}   "
        f"time: {seconds:.2f}s (pid {os.getpid()})"
    )
    for row in result.rejected[:10]:
        console.print(f"  rejected {row}")


def main() -> None:
    """Entry point of the ``jules`` command."""
    app()
