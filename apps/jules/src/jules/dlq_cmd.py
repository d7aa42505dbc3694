"""``jules dlq``: what the dead-letter topics of a session (or of any scope) hold."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from jules_runtime.bus.dead_letters import DeadLetters

__all__ = ["dlq"]

_BODY_SHOWN = 120
"""Characters of a message's body shown by ``--show``."""


def _where(
    console: Console, run_dir: Path | None, bootstrap: str | None, scope: str | None
) -> tuple[str, str | None]:
    """The broker and run scope: given, or those of the session in ``run_dir`` (or the last)."""
    if bootstrap is not None:
        return bootstrap, scope
    from jules.session import SessionState

    try:
        state = SessionState.load(run_dir)
    except FileNotFoundError as exc:
        console.print(f"{exc} (or give --bootstrap, and --scope for a run's topics)")
        raise typer.Exit(1) from exc
    return state.bootstrap, state.scope if scope is None else scope


def _print(console: Console, found: DeadLetters, show: int) -> None:
    if not (found.letters or found.foreign):
        console.print("no dead letters")
        return
    table = Table(title="dead letters (one per message; copies: dead-lettered again)")
    for column in ("dead-letter topic", "reason", "messages", "copies"):
        table.add_column(column, justify="left" if column != "messages" else "right")
    rows: Counter[tuple[str, str]] = Counter()
    extra: Counter[tuple[str, str]] = Counter()
    for letter in found.letters:
        key = (f"{letter.origin_topic}.dlq", letter.reason.value)
        rows[key] += 1
        extra[key] += found.copies[letter.event_id] - 1
    for (topic, reason), count in sorted(rows.items()):
        table.add_row(topic, reason, str(count), str(extra[(topic, reason)]))
    for topic, count in sorted(found.foreign.items()):
        table.add_row(topic, "[yellow]not a dead letter[/yellow]", str(count), "-")
    console.print(table)
    for letter in found.letters[:show]:
        console.print(
            f"[bold]{letter.origin_topic}[/bold] partition {letter.origin_partition} offset "
            f"{letter.origin_offset} · {letter.reason.value} by {letter.service}: {letter.error}"
        )
        console.print(f"  {letter.payload[:_BODY_SHOWN]!r}", markup=False)


def dlq(
    run_dir: Annotated[
        Path | None, typer.Option(help="Session folder (default: the last session).")
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="The Kafka broker (instead of a session's).")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="Run scope of the topics (with --bootstrap: none).")
    ] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option(help="Only the DLQ of this input topic, e.g. md.bars.v1 (repeatable)."),
    ] = None,
    show: Annotated[int, typer.Option(min=0, help="Also print the first N messages.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per message.")
    ] = False,
) -> None:
    """Count the messages the services dead-lettered, by topic and reason.

    Reads every dead-letter topic (TOPIC.dlq) of the session's scope, or of --scope on
    --bootstrap, from its beginning to its end now. A message dead-lettered again after a
    service restarted (before it committed its offset) is counted once, with its extra
    copies beside it. Reading commits nothing and moves no consumer group.
    """
    from aiokafka.errors import KafkaError
    from jules_contracts.topics import ALL_TOPICS
    from jules_runtime.bus.dead_letters import read_dead_letters
    from jules_runtime.settings import KafkaSettings

    console = Console()
    server, run_scope = _where(console, run_dir, bootstrap, scope)
    names = {t.name: t for t in ALL_TOPICS}
    unknown = sorted(set(topic or ()) - names.keys())
    if unknown:
        console.print(f"[red]unknown --topic[/red] {', '.join(unknown)}: one of {', '.join(names)}")
        raise typer.Exit(2)
    try:
        dlqs = [names[name].scoped_dlq(run_scope) for name in (topic or names)]
    except ValueError as exc:
        console.print(f"[red]invalid --scope[/red]: {exc}")
        raise typer.Exit(2) from exc
    try:
        found = asyncio.run(read_dead_letters(KafkaSettings(bootstrap_servers=server), dlqs))
    except (KafkaError, TimeoutError, OSError) as exc:
        console.print(f"[red]could not read the dead-letter topics at {server}[/red]: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        for letter in found.letters:
            record = letter.model_dump(mode="json")
            typer.echo(json.dumps({**record, "copies": found.copies[letter.event_id]}))
        return
    _print(console, found, show)
