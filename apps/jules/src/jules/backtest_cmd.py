"""``jules backtest``: run a backtest (embedded, or through Kafka) and print its summary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jules.backtest_services import BACKTEST_SERVICES

if TYPE_CHECKING:
    from jules_backtest.config import BacktestConfig
    from jules_backtest.data import DataQuality
    from jules_backtest.run import RunSummary

_T = TypeVar("_T")


class Wrap(Protocol):
    """Wraps the stream a run reads (bars, or every market event) with a progress bar."""

    def __call__(self, items: Iterator[_T], /) -> Iterator[_T]: ...


__all__ = ["DataDir", "Mode", "Overrides", "backtest", "load_backtest_config"]

Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting: section.key=value (repeatable)."),
]
"""``--set``: overrides of the backtest file's settings."""

DataDir = Annotated[
    Path | None, typer.Option(envvar="JULES_DATA_DIR", help="Folder of the sample data.")
]
"""``--data-dir``: the folder of the sample data."""


def load_backtest_config(
    console: Console, config: Path | None, overrides: list[str] | None, **fields: Any
) -> BacktestConfig:
    """``load_config``; an invalid configuration is printed and exits with status 2."""
    from jules_backtest.config import load_config
    from pydantic import ValidationError

    try:
        return load_config(config, overrides or [], **fields)
    except (ValidationError, ValueError, OSError) as exc:
        console.print(f"[red]invalid backtest configuration[/red]: {exc}")
        raise typer.Exit(2) from exc


class Mode(StrEnum):
    """Where a backtest runs."""

    EMBEDDED = "embedded"
    KAFKA = "kafka"


class KafkaClient(StrEnum):
    """The Kafka client library (``KafkaSettings.client``)."""

    AIOKAFKA = "aiokafka"
    CONFLUENT = "confluent"


def backtest(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Backtest file (YAML or TOML).")
    ] = None,
    set_: Overrides = None,
    data_dir: DataDir = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(help="Run folder: new, empty, or an earlier run's (replaced)."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Write into a non-empty folder that holds no run: the run's files replace "
            "those of the same name, anything else is left in place.",
        ),
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the Monte Carlo bootstrap.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    mode: Annotated[
        Mode, typer.Option(help="embedded: one process; kafka: topic replay through the services.")
    ] = Mode.EMBEDDED,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="kafka mode: the broker (default: start or reuse the local one)."),
    ] = None,
    partitions: Annotated[
        int, typer.Option(min=1, help="kafka mode: partitions of every topic of the run.")
    ] = 1,
    replicas: Annotated[
        list[str] | None,
        typer.Option(help="kafka mode: processes of a service, e.g. features=2 (repeatable)."),
    ] = None,
    external: Annotated[
        bool,
        typer.Option(help="kafka mode: use services already running on --scope; start none."),
    ] = False,
    scope: Annotated[
        str | None, typer.Option(help="kafka mode: run scope of the topics (bt-<run>).")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="kafka mode: replay at this many event seconds per second."),
    ] = None,
    keep_topics: Annotated[
        bool, typer.Option(help="kafka mode: keep the run's topics (deleted by default).")
    ] = False,
    kafka_client: Annotated[
        KafkaClient,
        typer.Option(help="kafka mode: the Kafka client of the replay and of the services."),
    ] = KafkaClient.AIOKAFKA,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="kafka mode: fail the run after this many seconds (default: no limit); the "
            "error says which lockstep step waited for which service.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(help="Fail (exit 2) when the data validation rejected any row."),
    ] = False,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config",
            help="Print the configuration with every default filled in (YAML), and exit.",
        ),
    ] = False,
    print_schema: Annotated[
        bool,
        typer.Option(
            "--print-schema", help="Print the JSON Schema of a configuration file, and exit."
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the run's summary as one JSON object (the rest goes to stderr).",
        ),
    ] = False,
) -> None:
    """Run a backtest: real data through every engine; writes a run folder.

    A re-run into an earlier run's folder replaces that run's files; any other file there is
    left in place. A non-empty folder that holds no run is refused (exit 2, nothing touched)
    unless ``--overwrite``.

    ``--mode kafka`` replays the data into the run's topics and runs the services as
    processes in backtest mode (or uses running ones with ``--external``); the run folder is
    the same as embedded mode's. A service that ends during the run fails it at once (exit
    1, naming the service, its exit code and the end of its log). SIGTERM or Ctrl-C stops the
    services and deletes the run's topics before exiting (status 143 or 130).

    ``--json`` prints the summary as one JSON object on stdout (the progress and messages go
    to stderr). ``--print-config`` prints the configuration (file, ``--set`` and options) with every
    default filled in; ``--print-schema`` the JSON Schema of a configuration file
    (docs/backtest-config.md is the reference).

    A run that had no market event left after validation (every row rejected, or no row in
    the window) fails with exit 2, the rejections by reason code and the fix; with
    ``--strict``, so does a run with any rejected row. The run folder is kept either way.
    """
    # The engines, and in kafka mode the bus, are imported by the mode that runs (``jules
    # --help`` and embedded runs import neither Kafka client).
    from jules_runtime.output_paths import OutputRefusedError
    from jules_signal.engine import ModelLoadError

    if print_schema:
        from jules_backtest.reference import json_schema

        typer.echo(json.dumps(json_schema(), indent=2))
        return
    console = Console(width=max(Console().width, 120), stderr=as_json)
    replica_counts = _replicas(replicas or [])  # a bad option stops before anything is read
    settings = load_backtest_config(
        console, config, set_, data_dir=data_dir, output_dir=output_dir, seed=seed
    )
    if print_config:
        import yaml

        dumped = settings.model_dump(mode="json")
        for key in ("data_dir", "output_dir"):  # absolute: the printout loads from anywhere
            if dumped.get(key) is not None:
                dumped[key] = str(Path(dumped[key]).resolve())
        typer.echo(yaml.safe_dump(dumped, sort_keys=False, allow_unicode=True).rstrip())
        return
    if mode is Mode.KAFKA:
        from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka

        options = KafkaRunOptions(
            bootstrap=bootstrap,
            scope=scope,
            partitions=partitions,
            replicas=replica_counts,
            external=external,
            speed=speed,
            keep_topics=keep_topics,
            client=kafka_client.value,
            timeout_s=timeout,
        )

        def run(config: BacktestConfig, wrap: Wrap | None) -> RunSummary:
            return run_backtest_kafka(config, options, progress=wrap, overwrite=overwrite)

    else:
        from jules_backtest.run import run_backtest

        def run(config: BacktestConfig, wrap: Wrap | None) -> RunSummary:
            return run_backtest(config, progress=wrap, overwrite=overwrite)

    with _interruptible(mode, console):
        try:
            summary = _run_with_progress(console, settings, run, progress)
        except ModelLoadError as exc:
            console.print(f"[red]model refused[/red] ({exc.reason.value}): {exc}")
            raise typer.Exit(2) from exc
        except OutputRefusedError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        except (FileNotFoundError, RuntimeError, TimeoutError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        except ValueError as exc:  # options that do not fit together
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(_summary_data(summary)))
    else:
        _print_summary(console, summary)
    _check_data(console, summary.quality, strict=strict)


def _summary_data(summary: RunSummary) -> dict[str, Any]:
    """The run's summary as plain data (``--json``)."""
    return {
        "run_dir": str(summary.run_dir),
        "bars": summary.bars,
        "ticks": sum(summary.quality.ticks.values()),
        "seconds": summary.seconds,
        "metrics": summary.metrics,
        "monte_carlo": summary.intervals,
        "data_quality": summary.quality.as_dict(),
    }


FIXES: dict[str, str] = {
    "BAD_TIMESTAMP": "timestamps need a UTC offset; if the file is in UTC, set assume_utc: true "
    "on its data source",
    "OUT_OF_ORDER": "rows must come in time order; sort the file, or check interval and format",
    "DUPLICATE": "the file repeats rows (or two sources hold the same instrument's data)",
    "MALFORMED": "the rows do not fit the format; set format: on the data source",
    "INCONSISTENT_OHLC": "open, high, low and close disagree (low above high, or outside them)",
}
"""What to do about the commonest rejections, by reason code."""


def _check_data(console: Console, quality: DataQuality, *, strict: bool) -> None:
    """Exit 2 when no market event was left (or, ``strict``, when any row was rejected)."""
    rejected = sum(quality.rejected.values())
    used = sum(quality.accepted.values()) + sum(quality.ticks.values())
    if used and not (strict and rejected):
        return
    if used:
        console.print(f"[red]--strict: {rejected:,} row(s) rejected by validation[/red]")
    elif rejected:
        console.print(f"[red]no market event left: all {rejected:,} row(s) were rejected[/red]")
    else:
        console.print("[red]no market event: the data files hold no row in the run's window[/red]")
    for reason, count in sorted(quality.rejected.items(), key=lambda item: -item[1]):
        fix = FIXES.get(reason)
        console.print(f"  {reason}: {count:,}" + (f" — {fix}" if fix else ""))
    for example in quality.examples[:3]:
        console.print(f"  e.g. {escape(example)}", highlight=False)
    console.print("  (every rejection is counted in data_quality.json in the run folder)")
    raise typer.Exit(2)


def _title(summary: RunSummary) -> str:
    """The summary's title: bars and speed; a tick-driven run's ticks and events per second."""
    name, seconds = summary.run_dir.name, max(summary.seconds, 1e-9)
    ticks = sum(summary.quality.ticks.values())
    if not ticks:
        speed = summary.bars / seconds
        return f"Backtest {name}: {summary.bars:,} bars in {seconds:.2f}s ({speed:,.0f} bars/s)"
    events = summary.bars + ticks
    return (
        f"Backtest {name}: {summary.bars:,} bars and {ticks:,} ticks in {seconds:.2f}s "
        f"({events / seconds:,.0f} events/s)"
    )


def _run_with_progress(
    console: Console,
    settings: BacktestConfig,
    run: Callable[[BacktestConfig, Wrap | None], RunSummary],
    progress: bool,
) -> RunSummary:
    """``run(settings)``, with a progress bar of the market events read when ``progress``."""
    if not progress:
        return run(settings, None)
    with Progress(
        TextColumn("[bold]backtest[/bold] {task.fields[name]}"),
        BarColumn(),
        TextColumn("{task.completed:,} events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("events", total=None, name=settings.name)

        def tick(items: Iterator[_T]) -> Iterator[_T]:
            for item in items:
                bar.advance(task)
                yield item

        return run(settings, tick)


@contextmanager
def _interruptible(mode: Mode, console: Console) -> Iterator[None]:
    """In kafka mode, SIGTERM and Ctrl-C stop the run and its services, then exit 143 / 130.

    Embedded runs keep the default handling of signals.
    """
    if mode is not Mode.KAFKA:
        yield
        return
    from jules.processes import Interrupted, signals_raise

    try:
        with signals_raise():
            yield
    except Interrupted as exc:
        console.print(f"[red]{exc}: the run was stopped[/red]")
        raise typer.Exit(exc.exit_code) from exc


def _replicas(values: list[str]) -> dict[str, int]:
    """``["features=2"]`` → ``{"features": 2}``; a bad value stops with exit code 2."""
    replicas: dict[str, int] = {}
    for value in values:
        name, _, count = value.partition("=")
        if name not in BACKTEST_SERVICES or not count.isdigit() or int(count) < 1:
            raise typer.BadParameter(
                f"{value!r}: expected <service>=<count> with a service of "
                f"{', '.join(BACKTEST_SERVICES)} and a count of at least 1",
                param_hint="--replicas",
            )
        replicas[name] = int(count)
    return replicas


def _print_summary(console: Console, summary: RunSummary) -> None:
    metrics = summary.metrics
    table = Table(
        title=_title(summary),
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    percent = {
        "total_return",
        "cagr",
        "annual_volatility",
        "max_drawdown",
        "win_rate",
        "exposure",
        "execution_success_rate",
    }
    for key, value in metrics.items():
        if value is None:
            shown = "n/a"
        elif key in percent:
            shown = f"{value:.2%}"
        elif isinstance(value, float):
            shown = f"{value:,.3f}"
        else:
            shown = f"{value:,}"
        table.add_row(key, shown)
    for name, quantiles in summary.intervals.items():
        table.add_row(
            f"{name} (MC p05 / p50 / p95)",
            " / ".join(f"{quantiles[q]:.2%}" for q in ("p05", "p50", "p95")),
        )
    rejected = sum(summary.quality.rejected.values())
    table.add_row("rows rejected by validation", f"{rejected:,}")
    console.print(table)
    console.print(f"run folder: {summary.run_dir}  (report: {summary.run_dir / 'report.html'})")
