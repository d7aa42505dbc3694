"""``jules shadow-report``: production's signals against a shadow model's, read from Kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from jules_contracts import SignalGenerated

    from jules.shadow import Comparison, ShadowReport

__all__ = ["read_signals", "shadow_report"]


async def read_signals(
    bootstrap: str, topic: str, *, timeout_s: float = 60.0
) -> list[SignalGenerated]:
    """Read every signal of ``topic`` from its beginning up to its end offsets (now).

    Messages that are not signals (watermarks, undecodable records) are left out; a topic that
    does not exist reads as empty.

    Raises:
        TimeoutError: The topic could not be read up to its end offsets within ``timeout_s``.
    """
    from jules_contracts import SignalGenerated
    from jules_runtime.bus import read_topic
    from jules_runtime.settings import KafkaSettings

    events = await read_topic(
        KafkaSettings(bootstrap_servers=bootstrap),
        topic,
        client_id="jules-shadow-report",
        allowed=(SignalGenerated,),
        timeout_s=timeout_s,
    )
    return [event for event in events if isinstance(event, SignalGenerated)]


async def _read_both(bootstrap: str, scope: str | None) -> ShadowReport:
    from jules_contracts.topics import SIGNALS, SIGNALS_SHADOW, Topic

    from jules.shadow import compare_signals

    topics: Sequence[Topic] = (SIGNALS, SIGNALS_SHADOW)
    production, shadow = await asyncio.gather(
        *(read_signals(bootstrap, topic.scoped(scope)) for topic in topics)
    )
    return compare_signals(production, shadow)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _print(console: Console, report: ShadowReport, production: str, shadow: str) -> None:
    from jules.shadow import DIRECTIONS

    table = Table(title=f"{production} against {shadow}")
    for column in ("instrument", "signals prod/shadow", "compared", "agreement", "mean |diff|"):
        table.add_column(column, justify="left" if column == "instrument" else "right")
    rows: list[Comparison] = [*report.instruments, report.total]
    for comparison in rows:
        table.add_row(
            "all" if comparison.instrument_id == "*" else comparison.instrument_id,
            f"{comparison.production_signals}/{comparison.shadow_signals}",
            str(comparison.compared),
            _rate(comparison.agreement_rate),
            _number(comparison.mean_abs_difference),
        )
    console.print(table)
    matrix = Table(title="decisions by direction (rows: production, columns: shadow)")
    matrix.add_column("production")
    for direction in DIRECTIONS:
        matrix.add_column(direction.value, justify="right")
    for first in DIRECTIONS:
        matrix.add_row(
            first.value,
            *(str(report.total.counts.get((first, second), 0)) for second in DIRECTIONS),
        )
    console.print(matrix)


def shadow_report(
    bootstrap: Annotated[str, typer.Option(help="The Kafka broker.")] = "127.0.0.1:9092",
    scope: Annotated[
        str | None, typer.Option(help="Run scope of the topics (none: the live topics).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Compare production's signals (signals.v1) with the shadow model's (signals.shadow.v1).

    Both topics are read from their beginning up to their current end. At every feature vector
    on which either side emitted a signal, the two targets in force are compared: agreement of
    direction, counts by (production, shadow) direction, mean absolute target difference, per
    instrument and in total.
    """
    from aiokafka.errors import KafkaError
    from jules_contracts.topics import SIGNALS, SIGNALS_SHADOW

    console = Console()
    try:
        production, shadow = SIGNALS.scoped(scope), SIGNALS_SHADOW.scoped(scope)
    except ValueError as exc:
        console.print(f"[red]invalid --scope[/red]: {exc}")
        raise typer.Exit(2) from exc
    try:
        report = asyncio.run(_read_both(bootstrap, scope))
    except (KafkaError, TimeoutError) as exc:
        console.print(f"[red]could not read the signals at {bootstrap}[/red]: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print(console, report, production, shadow)
