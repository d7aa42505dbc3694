"""The ``jules-market-data`` command: ``run``, ``check-config``, ``replay`` and ``record``.

``run`` streams the configured venues live (``jules_market_data.live``) or, without venues,
replays the files of its settings; ``replay`` replays the files given on the command line.

Exit status: 0 on success; 1 when a file cannot be read, the broker fails, or ``record`` read
no event; 2 for an invalid configuration or unusable arguments.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from aiokafka.errors import KafkaError
from jules_contracts import ALL_TOPICS, Topic
from jules_runtime.bus import KafkaBus
from jules_runtime.cli import EXIT_CONFIG_ERROR, service_cli
from jules_runtime.errors import ConfigError
from jules_runtime.output_paths import OutputRefusedError, check_output_file
from jules_runtime.settings import load_settings
from pydantic import ValidationError

from jules_market_data.app import create_app
from jules_market_data.config import MarketDataSettings, ReplaySource
from jules_market_data.engine import MarketDataValidator
from jules_market_data.loaders import LoaderError
from jules_market_data.record import record_topic, write_parquet
from jules_market_data.replay import ReplayReport, replay, replay_stream

__all__ = ["app", "main"]

EXIT_FAILED = 1
"""Exit status when the replay or the recording failed."""

app = service_cli(
    MarketDataSettings,
    create_app=create_app,
    summary="Normalises and validates venue and recorded market data onto the md.* topics. "
    "run streams the configured venues live, or replays the files of its settings.",
)
main = app

_TOPICS: dict[str, Topic] = {topic.name: topic for topic in ALL_TOPICS}

Scope = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="Run scope of the topics (bt-<run>); default JULES_MARKET_DATA__RUN_SCOPE, "
        "else the live topics.",
        show_default=False,
    ),
]


def _positive(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be greater than 0, not {value:g}")
    return value


def _settings(scope: str | None) -> MarketDataSettings:
    overrides: dict[str, Any] = {} if scope is None else {"run_scope": scope}
    try:
        return load_settings(MarketDataSettings, **overrides)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from exc


def _sources(files: list[Path], instrument_ids: list[str]) -> list[ReplaySource]:
    ids: list[str | None]
    if not instrument_ids:
        ids = [None] * len(files)
    elif len(instrument_ids) == 1:
        ids = [instrument_ids[0]] * len(files)
    elif len(instrument_ids) == len(files):
        ids = list(instrument_ids)
    else:
        raise typer.BadParameter(
            f"give one --instrument-id for all files or one per file ({len(files)}), "
            f"not {len(instrument_ids)}",
            param_hint="--instrument-id",
        )
    try:
        return [
            ReplaySource(path=path, instrument_id=id_) for path, id_ in zip(files, ids, strict=True)
        ]
    except ValidationError as exc:
        problems = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise typer.BadParameter(problems, param_hint="FILE") from None


async def _replay(
    settings: MarketDataSettings, sources: list[ReplaySource], speed: float | None
) -> ReplayReport:
    validator = MarketDataValidator(settings.validator)
    items = replay_stream(sources, validator, book_depth=settings.book_depth)
    async with KafkaBus(
        settings.service_name, settings.kafka, settings.run_scope, client_id=settings.client_id
    ) as bus:
        return await replay(bus, items, speed=speed, batch_size=settings.publish_batch)


@app.command("replay")
def replay_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Recorded files, merged in event time.",
            show_default=False,
        ),
    ],
    instrument_id: Annotated[
        list[str] | None,
        typer.Option(
            "--instrument-id",
            help="SYMBOL.VENUE of the files' events: once for all files, or once per file in "
            "order; by default derived from each path.",
            show_default=False,
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            callback=_positive,
            help="Pace by event time: 60 publishes one minute of data per second. Default "
            "JULES_MARKET_DATA__SPEED, else full speed.",
            show_default=False,
        ),
    ] = None,
    full_speed: Annotated[
        bool, typer.Option("--full-speed", help="Publish as fast as the broker acknowledges.")
    ] = False,
    scope: Scope = None,
) -> None:
    """Replay recorded files onto their md.* topics, validated and merged in event time.

    Refused rows are never published and never dropped silently: they are counted by
    reason and printed at the end with the first examples.
    """
    if speed is not None and full_speed:
        raise typer.BadParameter("give --speed or --full-speed, not both", param_hint="--speed")
    settings = _settings(scope)
    sources = _sources(files, instrument_id or [])
    pace = None if full_speed else (speed if speed is not None else settings.speed)
    try:
        report = asyncio.run(_replay(settings, sources, pace))
    except (LoaderError, KafkaError, OSError) as exc:
        typer.echo(f"replay failed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from exc
    target = settings.run_scope or "live topics"
    typer.echo(f"replay to {target} at {'full speed' if pace is None else f'{pace:g}x'}")
    for line in report.lines():
        typer.echo(line)


@app.command("record")
def record_command(
    topic: Annotated[
        str,
        typer.Option(
            "--topic",
            help=f"The topic to record (unscoped name): {', '.join(_TOPICS)}.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="The Parquet file to write (an existing file only with --overwrite).",
        ),
    ],
    scope: Scope = None,
    max_events: Annotated[
        int | None,
        typer.Option(
            "--max-events", min=1, help="Stop after this many events.", show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            callback=_positive,
            help="Stop after this many seconds without new data.",
        ),
    ] = 5.0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
    ] = False,
) -> None:
    """Record a topic from its beginning into a Parquet file, one row per event.

    Reads with a plain consumer (no consumer group: no service's offsets move), and writes
    each event's JSON fields flattened into columns. Stops at --max-events or after
    --timeout seconds without new data. An existing output file is refused before anything is
    read (exit 2) unless --overwrite.
    """
    spec = _TOPICS.get(topic)
    if spec is None:
        raise typer.BadParameter(
            f"unknown topic {topic!r}; one of {', '.join(_TOPICS)}", param_hint="--topic"
        )
    try:
        check_output_file(output, overwrite=overwrite)
    except OutputRefusedError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from exc
    settings = _settings(scope)
    try:
        report = asyncio.run(
            record_topic(
                settings.kafka,
                spec,
                settings.run_scope,
                max_events=max_events,
                idle_timeout_s=timeout,
                client_id=f"{settings.client_id}-recorder",
            )
        )
    except (KafkaError, OSError) as exc:
        typer.echo(f"record failed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from exc
    if not report.events:
        for line in report.lines(output)[1:]:
            typer.echo(line, err=True)
        typer.echo(f"no event on {report.topic} within {timeout:g} s: nothing written", err=True)
        raise typer.Exit(EXIT_FAILED)
    try:
        write_parquet(report.events, output, topic=report.topic, overwrite=overwrite)
    except OSError as exc:  # the file appeared meanwhile, or cannot be written
        typer.echo(f"record failed: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from exc
    for line in report.lines(output):
        typer.echo(line)
