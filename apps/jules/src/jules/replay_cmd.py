"""``jules replay``: publish a backtest's bars into a run's topics, with the replay's watermarks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from jules.backtest_cmd import DataDir, Overrides, load_backtest_config

if TYPE_CHECKING:
    from jules_backtest.config import BacktestConfig
    from jules_backtest.data import DataQuality

__all__ = ["replay"]


def replay(
    config: Annotated[Path, typer.Option("--config", "-c", help="Backtest file (YAML or TOML).")],
    scope: Annotated[str, typer.Option(help="Run scope of the topics (bt-<run>).")],
    bootstrap: Annotated[str, typer.Option(help="The Kafka broker.")] = "127.0.0.1:9092",
    partitions: Annotated[
        int, typer.Option(min=1, help="Partitions of the run's topics if they are created here.")
    ] = 4,
    speed: Annotated[
        float | None,
        typer.Option(help="Event-time seconds per wall second (60: a minute a second)."),
    ] = None,
    set_: Overrides = None,
    data_dir: DataDir = None,
) -> None:
    """Replay a backtest's bars into SCOPE.md.bars.v1 at full speed or at --speed.

    The bars of one event time go out in instrument-id order, then the replay's watermark
    into every partition, and a final watermark at the end: services in backtest mode
    (``LOCKSTEP__ENABLED=true``, ``RUN_SCOPE=<scope>``) step on them. The run's topics are
    created if missing.
    """
    from aiokafka.errors import KafkaError
    from jules_backtest.data import DataQuality
    from jules_contracts.topics import MD_BARS

    console = Console()
    try:
        MD_BARS.scoped(scope)
    except ValueError as exc:
        console.print(f"[red]invalid --scope[/red]: {exc}")
        raise typer.Exit(2) from exc
    settings = load_backtest_config(console, config, set_, data_dir=data_dir)
    quality = DataQuality()
    try:
        count = asyncio.run(_replay(settings, quality, scope, bootstrap, partitions, speed))
    except KafkaError as exc:
        console.print(f"[red]replay failed: the broker at {bootstrap} said[/red] {exc}")
        raise typer.Exit(1) from exc
    rejected = sum(quality.rejected.values())
    console.print(
        f"replayed {count:,} bars into {MD_BARS.scoped(scope)} ({rejected:,} rows rejected "
        "by validation)"
    )


async def _replay(
    config: BacktestConfig,
    quality: DataQuality,
    scope: str,
    bootstrap: str,
    partitions: int,
    speed: float | None,
) -> int:
    from jules_backtest.data import load_bars
    from jules_contracts.topics import MD_BARS
    from jules_runtime.bus import KafkaBus
    from jules_runtime.lockstep.runner import partition_counts
    from jules_runtime.settings import KafkaSettings

    from jules.backtest_kafka import create_run_topics, publish_bars

    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    topic = MD_BARS.scoped(scope)
    await create_run_topics(kafka, scope, partitions)
    counts = await partition_counts(kafka, [topic])
    bus = KafkaBus("replay", kafka, scope, client_id="jules-replay")
    await bus.start()
    try:
        return await publish_bars(
            bus, load_bars(config, quality), partitions=counts[topic], speed=speed
        )
    finally:
        await bus.stop()
