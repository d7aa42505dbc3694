"""Topic-replay backtests: the same run as embedded mode, through Kafka and the services.

``run_backtest_kafka`` creates the run's topics (``bt-<run>.…``, every one with the same
partition count), starts the services as processes in backtest mode (features, signal, risk
and the order-router; or uses services already running on that scope), replays the bars into
``md.bars.v1`` with the replay's watermarks (``publish_bars``), collects every event of the run
in the order of the embedded loop (``CollectorDriver``) and writes the same run folder as
embedded mode. See docs/architecture.md, "Topic replay".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from aiokafka.errors import KafkaError
from jules_backtest.audit import audit_sink
from jules_backtest.config import BacktestConfig
from jules_backtest.data import DataQuality, load_bars
from jules_backtest.outputs import RunRecorder
from jules_backtest.run import RunSummary, build_strategy_and_schema, finish_run, prepare_run_dir
from jules_contracts import Bar, Event
from jules_contracts.topics import (
    IN_BAND_WATERMARK_TOPICS,
    MD_BARS,
    backtest_scope,
)
from jules_market_data.replay import Pacer
from jules_runtime.bus import KafkaBus, ensure_topics
from jules_runtime.bus.kafka import admin_client
from jules_runtime.bus.records import OutboundMessage, outbound_event
from jules_runtime.lockstep import (
    COLLECT_RULE,
    STEP_ORDER,
    StepBuffer,
    StepDriver,
    StepOutput,
    Taken,
)
from jules_runtime.lockstep.runner import LockstepRunner, partition_counts, watermark_message
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaClientName, KafkaSettings

from jules.backtest_services import BACKTEST_SERVICES
from jules.session import (
    SessionState,
    alive,
    free_port,
    start_broker,
    start_service,
    stop_broker,
    stop_session,
    wait_ready,
)
from jules.session_env import service_environments

__all__ = [
    "BACKTEST_SERVICES",
    "REPLAY_SOURCE",
    "CollectorDriver",
    "KafkaRunOptions",
    "backtest_service_environments",
    "create_run_topics",
    "delete_run_topics",
    "publish_bars",
    "run_backtest_kafka",
]

REPLAY_SOURCE = "replay"
"""Producer name of the replay's watermarks."""


@dataclass(frozen=True)
class KafkaRunOptions:
    """How a backtest runs through Kafka.

    Attributes:
        bootstrap: The broker; ``None`` starts (or reuses) the local one.
        scope: Run scope of the topics; ``None``: ``bt-<name>-<time>``.
        partitions: Partitions of every topic of the run (at least the replicas of features
            and of signal: they split the partitions). One is fastest: every step writes a
            watermark into every partition of each topic.
        replicas: Processes per service (``features``, ``signal``, ``risk``,
            ``order-router``); 1 by default.
        external: The services already run on ``scope`` (none are started).
        speed: Replay pace in event-time seconds per wall second; ``None``: full speed.
        timeout_s: Longest wait for the run to finish.
        log_dir: The services' logs go to ``<log_dir>/logs``; default: the run folder.
        keep_topics: Keep the run's topics after the run (they are deleted when the services
            were started here; topics of ``external`` services are always kept).
        client: The Kafka client of the replay and of the services started here
            (``KafkaSettings.client``).
    """

    bootstrap: str | None = None
    scope: str | None = None
    partitions: int = 1
    replicas: Mapping[str, int] = field(default_factory=dict)
    external: bool = False
    speed: float | None = None
    timeout_s: float = 3600.0
    log_dir: Path | None = None
    keep_topics: bool = False
    client: KafkaClientName = "aiokafka"


class CollectorDriver(StepDriver):
    """Takes every event of a topic-replay run, step by step, in the embedded loop's order.

    For each event time, every part of ``STEP_ORDER``: the bars, the venue's events, the
    feature vectors, the signals, then risk's events (docs/architecture.md);
    at the end the venue's last events and risk's. It publishes nothing.

    Args:
        emit: Receives every event, in order.
    """

    def __init__(self, emit: Callable[[Event], None]) -> None:
        super().__init__(COLLECT_RULE)
        self.emit = emit
        self.steps = 0
        self.last_time: int | None = None

    def step(self, time: int, taken: Taken) -> list[Event]:
        """Emit the step's parts in ``STEP_ORDER``."""
        self._emit_parts(taken)
        self.steps += 1
        self.last_time = time
        return []

    def finish(self, taken: Taken) -> list[Event]:
        """Emit what the venue and risk made after the last step."""
        self._emit_parts(taken)
        return []

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Emit every step that is complete on every topic."""
        super().advance(buffer)
        return []

    def _emit_parts(self, taken: Taken) -> None:
        for part in STEP_ORDER:
            for event in taken.now[part.name]:
                self.emit(event)


async def publish_bars(
    bus: KafkaBus,
    bars: Iterable[Bar],
    *,
    partitions: int,
    speed: float | None = None,
    batch: int = 500,
) -> int:
    """Replay bars into ``md.bars.v1`` of the bus's scope, with the replay's watermarks.

    The bars of one event time go out in instrument-id order, then the watermark of that time
    into every partition; at the end a final watermark. At full speed messages go out in
    batches acknowledged by the broker before the next; paced, each event time goes out when
    the wall clock reaches it (``Pacer``).

    Returns:
        How many bars were published.
    """
    pacer = Pacer(speed) if speed else None
    pending: list[OutboundMessage] = []
    count = 0
    last = 0
    for when, group in groupby(bars, key=lambda bar: bar.event_time):
        ordered = sorted(group, key=lambda bar: bar.instrument_id)
        if pacer is not None:
            await pacer.wait(when)
        pending.extend(
            outbound_event(bar, bus.scope, sequence=index) for index, bar in enumerate(ordered)
        )
        pending.extend(_watermarks(bus.scope, partitions, when, final=False))
        count += len(ordered)
        last = when
        if pacer is not None or len(pending) >= batch:
            await bus.send(pending)
            pending = []
    pending.extend(_watermarks(bus.scope, partitions, last, final=True))
    await bus.send(pending)
    return count


def _watermarks(
    scope: str | None, partitions: int, when: int, *, final: bool
) -> list[OutboundMessage]:
    return [
        watermark_message(REPLAY_SOURCE, MD_BARS, p, when, scope, final) for p in range(partitions)
    ]


def _delete_topics(kafka: KafkaSettings, scope: str) -> None:
    try:
        asyncio.run(delete_run_topics(kafka, scope))
    except KafkaError as error:  # the run folder is written; only the cleanup failed
        logger.warning("the run's topics were not deleted", scope=scope, error=str(error))


async def delete_run_topics(kafka: KafkaSettings, scope: str) -> list[str]:
    """Delete the topics of run scope ``scope`` (data and dead-letter topics)."""
    async with admin_client(kafka, "jules-backtest-admin") as admin:
        names = [name for name in await admin.list_topics() if name.startswith(f"{scope}.")]
        if names:
            await admin.delete_topics(names)
        return names


async def create_run_topics(kafka: KafkaSettings, scope: str, partitions: int) -> list[str]:
    """Create the run's topics and their dead-letter topics (all with ``partitions``)."""
    names = [
        name
        for topic in IN_BAND_WATERMARK_TOPICS
        for name in (topic.scoped(scope), topic.scoped_dlq(scope))
    ]
    return await ensure_topics(kafka, names, partitions=partitions)


PARTITIONED_SERVICES = ("features", "signal")
"""Services whose replicas split the partitions; risk and the order-router replicas each run
the whole book (risk limits and the account are portfolio-wide)."""


def backtest_service_environments(config: BacktestConfig) -> dict[str, dict[str, str]]:
    """Each service's settings for a topic-replay run of ``config`` (variables, no prefix).

    The services get the run's engines' settings (as ``jules up`` gives them) and risk and the
    order-router run in backtest mode.
    """
    environments = service_environments(config, config.run_dir, None)
    # one broker round trip per event time sets the pace: no linger, short fetch waits
    on = {"LOCKSTEP__ENABLED": "true", "KAFKA__LINGER_MS": "0", "KAFKA__FETCH_MAX_WAIT_MS": "5"}
    return {
        "features": {**environments["features"], **on},
        "signal": {**environments["signal"], **on},
        "risk": {**environments["risk"], **on},
        "order-router": {
            **environments["order-router"],
            **on,
            "CLOSE_AT_END": "true" if config.close_at_end else "false",
        },
    }


def _default_scope(config: BacktestConfig) -> str:
    name = "".join(c if c.isalnum() else "-" for c in config.name.lower()).strip("-")[:30]
    return backtest_scope(f"{name or 'run'}-{datetime.now(UTC):%Y%m%d%H%M%S%f}")


def run_backtest_kafka(
    config: BacktestConfig,
    options: KafkaRunOptions,
    *,
    progress: Callable[[Iterator[Bar]], Iterator[Bar]] | None = None,
    on_ready: Callable[[SessionState], None] | None = None,
    overwrite: bool = False,
) -> RunSummary:
    """Run a backtest through Kafka and the services; write the same run folder as embedded.

    Args:
        config: The validated configuration.
        options: Broker, scope, partitions, replicas, and whether the services already run.
        progress: Wraps the replayed bar stream (a progress bar).
        on_ready: Called with the run's processes once they are ready, before the replay.
        overwrite: Write into a non-empty folder that holds no run
            (``jules_backtest.run.prepare_run_dir``).

    Raises:
        RuntimeError: A service did not start, or the run did not finish in time.
        ValueError: More replicas of features or signal than partitions.
        jules_runtime.output_paths.OutputRefusedError: The run folder is refused (before the
            broker or any service starts); nothing was changed.
    """
    for name in PARTITIONED_SERVICES:
        if options.replicas.get(name, 1) > options.partitions:
            raise ValueError(
                f"{options.replicas[name]} replicas of {name} need at least as many partitions "
                f"(the run has {options.partitions}): replicas split the partitions"
            )
    started = datetime.now(UTC)
    clock = time.perf_counter()
    _, schema = build_strategy_and_schema(config)  # a refused model stops here
    scope = options.scope or _default_scope(config)
    run_dir = prepare_run_dir(config, overwrite=overwrite, started=started, mode="kafka")
    bootstrap, started_broker = (options.bootstrap, False) if options.bootstrap else start_broker()
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap, linger_ms=0, fetch_max_wait_ms=5, client=options.client
    )
    state = SessionState(str(run_dir), scope, bootstrap, started_broker)
    recorder = RunRecorder()
    quality = DataQuality()
    try:
        asyncio.run(create_run_topics(kafka, scope, options.partitions))
        if not options.external:
            _start_services(config, options, state)
        if on_ready is not None:
            on_ready(state)
        with audit_sink(run_dir / "audit", config.audit.level) as audit:

            def emit(event: Event) -> None:
                recorder(event)
                audit(event)

            bars: Iterator[Bar] = load_bars(config, quality)
            asyncio.run(
                _replay_and_collect(
                    kafka, scope, options, progress(bars) if progress else bars, emit, state
                )
            )
    finally:
        stop_session(state, keep_broker=True)
        if not (options.keep_topics or options.external):
            _delete_topics(kafka, scope)
        if state.started_broker:
            stop_broker()
    return finish_run(config, schema, recorder, quality, started=started, clock=clock, mode="kafka")


def _start_services(config: BacktestConfig, options: KafkaRunOptions, state: SessionState) -> None:
    environments = backtest_service_environments(config)
    log_dir = options.log_dir or Path(state.run_dir)
    for name in BACKTEST_SERVICES:
        for replica in range(options.replicas.get(name, 1)):
            port = free_port()
            prefix = f"JULES_{name.upper().replace('-', '_')}__"
            env = {
                f"{prefix}KAFKA__BOOTSTRAP_SERVERS": state.bootstrap,
                f"{prefix}KAFKA__CLIENT": options.client,
                f"{prefix}RUN_SCOPE": state.scope,
                f"{prefix}HTTP__PORT": str(port),
                **{prefix + key: value for key, value in environments[name].items()},
            }
            if name in PARTITIONED_SERVICES:
                env[f"{prefix}LOCKSTEP__REPLICA_INDEX"] = str(replica)
                env[f"{prefix}LOCKSTEP__REPLICAS"] = str(options.replicas.get(name, 1))
            service = start_service(name, env, log_dir, port, log_name=f"{name}-{replica}")
            state.services.append(service)
    wait_ready(state.services)


async def _replay_and_collect(
    kafka: KafkaSettings,
    scope: str,
    options: KafkaRunOptions,
    bars: Iterable[Bar],
    emit: Callable[[Event], None],
    state: SessionState,
) -> None:
    bus = KafkaBus("backtest", kafka, scope, client_id="jules-backtest")
    await bus.start()
    try:
        collector = CollectorDriver(emit)
        runner = LockstepRunner(collector, bus, kafka, scope, "backtest")
        collecting = asyncio.create_task(runner.run())
        topic = MD_BARS.scoped(scope)
        partitions = (await partition_counts(kafka, [topic]))[topic]  # existing topics' count
        await publish_bars(bus, bars, partitions=partitions, speed=options.speed)
        deadline = time.monotonic() + options.timeout_s
        while not collecting.done():
            if time.monotonic() > deadline:
                collecting.cancel()
                raise RuntimeError(
                    f"the run did not finish within {options.timeout_s:.0f}s: "
                    f"{collector.steps} steps collected; see the services' logs"
                )
            if not options.external:
                _check_alive(state)
            await asyncio.wait({collecting}, timeout=1.0)
        await collecting
    finally:
        await bus.stop()


def _check_alive(state: SessionState) -> None:
    for service in state.services:
        if not alive(service.pid):
            tail = Path(service.log).read_text()[-2000:]
            raise RuntimeError(f"{service.name} stopped during the run:\n{tail}")
