"""Topic-replay backtests: the same run as embedded mode, through Kafka and the services.

``run_backtest_kafka`` creates the run's topics (``bt-<run>.…``, every one with the same
partition count), starts the services as processes in backtest mode (features, signal, risk
and the order-router; or uses services already running on that scope), replays the bars into
``md.bars.v1`` with the replay's watermarks (``publish_bars``), collects every event of the run
in the order of the embedded loop (``CollectorDriver``) and writes the same run folder as
embedded mode. See docs/architecture.md, "Topic replay".

The run watches the services it started: one that ends fails the run within a second, naming
the service, its exit code and the end of its log; ``timeout_s`` bounds the whole run and its
failure says which lockstep step waited for which part (and service). Whatever way the run
ends (an error, ``jules.processes.Interrupted``, Ctrl-C), the services are stopped (SIGTERM,
then SIGKILL after a grace period) and the run's topics deleted.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from aiokafka.errors import KafkaError
from jules_backtest.audit import audit_sink
from jules_backtest.config import BacktestConfig
from jules_backtest.data import DataQuality, load_market
from jules_backtest.outputs import RunRecorder
from jules_backtest.run import RunSummary, build_strategy_and_schema, finish_run, prepare_run_dir
from jules_contracts import Event, MarketEvent, Topic
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
    StepBuffer,
    StepDriver,
    StepOutput,
    Taken,
    step_rules,
)
from jules_runtime.lockstep.runner import LockstepRunner, partition_counts, watermark_message
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaClientName, KafkaSettings

from jules.backtest_services import BACKTEST_SERVICES
from jules.processes import ChildProcess, spawn, stop_processes
from jules.session import (
    ServiceState,
    SessionState,
    free_port,
    start_broker,
    stop_broker,
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
        timeout_s: Longest the run may take, from the start of the services to the last
            event collected; ``None``: no limit.
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
    timeout_s: float | None = None
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
        ticks: A quote-, trade- or book-driven run (its market part holds the ticks too).
    """

    def __init__(self, emit: Callable[[Event], None], *, ticks: bool = False) -> None:
        self.rules = step_rules(ticks=ticks)
        super().__init__(self.rules.collect)
        self.emit = emit
        self.steps = 0
        self.last_time: int | None = None
        self._buffer: StepBuffer | None = None

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
        self._buffer = buffer
        super().advance(buffer)
        return []

    def waiting_for(self) -> str:
        """What the next step waits for.

        Its number and event time, and the parts not read yet with the service that makes
        each (``MAKERS``).
        """
        step = f"lockstep step {self.steps + 1}"
        buffer = self._buffer
        if buffer is None:
            return f"{step}: nothing read yet (the run's topics)"
        time = buffer.next_watermark(self.rule.now[0].topics[0].name)
        if time is None:  # the next bars, or the end of the run
            parts = [p for p in self.rule.final_on or self.rule.now if not p.is_final(buffer)]
            market = self.rules.order[0]
            if market in parts:
                parts = [market]
                step += f" (after {_shown_time(self.last_time)})"
            else:
                step = f"the end of the run (after step {self.steps})"
        else:
            parts = [p for p in self.rule.now if not p.reached(buffer, time)]
            step += f" (event time {_shown_time(time)})"
        waiting = ", ".join(f"{p.name} from {MAKERS[p.name]}" for p in parts) or "nothing"
        return f"{step} waited for {waiting}"

    def _emit_parts(self, taken: Taken) -> None:
        for part in self.rules.order:
            for event in taken.now[part.name]:
                self.emit(event)


MAKERS = {
    "bars": "the replay",
    "venue": "order-router",
    "vectors": "features",
    "signals": "signal",
    "risk": "risk",
}
"""The maker of each part of a step (``STEP_ORDER``)."""


def _shown_time(nanos: int | None) -> str:
    if nanos is None:
        return "the start"
    return datetime.fromtimestamp(nanos / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def publish_bars(
    bus: KafkaBus,
    bars: Iterable[MarketEvent],
    *,
    partitions: int,
    speed: float | None = None,
    batch: int = 500,
    topics: Sequence[Topic] = (MD_BARS,),
) -> int:
    """Replay market events into their ``md.*`` topics of the bus's scope, with watermarks.

    The events of one event time go out in the order given (a backtest's loading order: by
    instrument id, each instrument's as loaded), numbered in that order (``jules-seq``), then
    the watermark of that time into every partition of each of ``topics`` (the md topics the
    run's lockstep reads: ``md.bars.v1``, and in a tick-driven run ``md.quotes.v1``,
    ``md.trades.v1`` and ``md.book.v1``); at the end a final watermark. At full speed messages
    go out in batches acknowledged by the broker before the next; paced, each event time goes
    out when the wall clock reaches it (``Pacer``).

    Returns:
        How many events were published.
    """
    pacer = Pacer(speed) if speed else None
    pending: list[OutboundMessage] = []
    count = 0
    last = 0
    for when, group in groupby(bars, key=lambda event: event.event_time):
        ordered = sorted(group, key=lambda event: event.instrument_id)
        if pacer is not None:
            await pacer.wait(when)
        pending.extend(
            outbound_event(event, bus.scope, sequence=index) for index, event in enumerate(ordered)
        )
        pending.extend(_watermarks(bus.scope, partitions, when, topics, final=False))
        count += len(ordered)
        last = when
        if pacer is not None or len(pending) >= batch:
            await bus.send(pending)
            pending = []
    pending.extend(_watermarks(bus.scope, partitions, last, topics, final=True))
    await bus.send(pending)
    return count


def _watermarks(
    scope: str | None, partitions: int, when: int, topics: Sequence[Topic], *, final: bool
) -> list[OutboundMessage]:
    return [
        watermark_message(REPLAY_SOURCE, topic, p, when, scope, final)
        for topic in topics
        for p in range(partitions)
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
    if config.tick_driven:
        on["LOCKSTEP__TICKS"] = "true"
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
    progress: Callable[[Iterator[MarketEvent]], Iterator[MarketEvent]] | None = None,
    on_ready: Callable[[SessionState], None] | None = None,
    overwrite: bool = False,
) -> RunSummary:
    """Run a backtest through Kafka and the services; write the same run folder as embedded.

    Args:
        config: The validated configuration.
        options: Broker, scope, partitions, replicas, and whether the services already run.
        progress: Wraps the replayed market events (a progress bar).
        on_ready: Called with the run's processes once they are ready, before the replay.
        overwrite: Write into a non-empty folder that holds no run
            (``jules_backtest.run.prepare_run_dir``).

    Raises:
        RuntimeError: A service did not start, or one it started ended during the run (the
            message names it, with its exit code and the end of its log).
        TimeoutError: The run took longer than ``options.timeout_s`` (the message says what
            the run waited for).
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
    children: list[ChildProcess] = []
    deadline = None if options.timeout_s is None else time.monotonic() + options.timeout_s
    try:
        asyncio.run(create_run_topics(kafka, scope, options.partitions))
        if not options.external:
            _start_services(config, options, state, children, deadline)
        if on_ready is not None:
            on_ready(state)
        with audit_sink(run_dir / "audit", config.audit.level) as audit:

            def emit(event: Event) -> None:
                recorder(event)
                audit(event)

            market: Iterator[MarketEvent] = load_market(config, quality)
            run = _Run(kafka, scope, options, children, deadline, config.tick_driven)
            asyncio.run(run.replay_and_collect(progress(market) if progress else market, emit))
    finally:
        if children:
            logger.info("the run's services stopped: " + "; ".join(stop_processes(children)))
        if not (options.keep_topics or options.external):
            _delete_topics(kafka, scope)
        if state.started_broker:
            stop_broker()
    return finish_run(config, schema, recorder, quality, started=started, clock=clock, mode="kafka")


def _start_services(
    config: BacktestConfig,
    options: KafkaRunOptions,
    state: SessionState,
    children: list[ChildProcess],
    deadline: float | None,
) -> None:
    """Start the services, adding each to ``children`` (and ``state``) as it starts."""
    environments = backtest_service_environments(config)
    log_dir = (options.log_dir or Path(state.run_dir)) / "logs"
    bin_dir = Path(sys.executable).parent
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
            log = log_dir / f"{name}-{replica}.log"
            child = spawn(name, [str(bin_dir / f"jules-{name}"), "run"], env, log, port)
            children.append(child)
            state.services.append(ServiceState(name, child.pid, port, str(log)))
    ready_s = 120.0 if deadline is None else max(0.0, deadline - time.monotonic())
    try:
        wait_ready(children, timeout_s=ready_s)
    except RuntimeError as error:
        if deadline is not None and time.monotonic() >= deadline:
            message = f"the run did not finish within {options.timeout_s:g}s: {error}"
            raise TimeoutError(message) from error
        raise


@dataclass
class _Run:
    """The replay and the collection of a run, watching the services it started."""

    kafka: KafkaSettings
    scope: str
    options: KafkaRunOptions
    children: list[ChildProcess]
    deadline: float | None
    ticks: bool = False

    async def replay_and_collect(
        self, market: Iterable[MarketEvent], emit: Callable[[Event], None]
    ) -> None:
        """Publish ``market`` and collect the run's events into ``emit`` until the run ends."""
        bus = KafkaBus("backtest", self.kafka, self.scope, client_id="jules-backtest")
        await bus.start()
        collector = CollectorDriver(emit, ticks=self.ticks)
        runner = LockstepRunner(collector, bus, self.kafka, self.scope, "backtest")
        collecting = asyncio.create_task(runner.run())
        publishing = asyncio.create_task(self._publish(bus, market))
        try:
            while not collecting.done():
                if publishing.done():
                    publishing.result()  # its error, if any
                self._check(collector)
                await asyncio.wait({collecting}, timeout=0.5)
            await collecting
            await publishing
        finally:
            for task in (collecting, publishing):
                task.cancel()
            await asyncio.gather(collecting, publishing, return_exceptions=True)
            await bus.stop()

    async def _publish(self, bus: KafkaBus, market: Iterable[MarketEvent]) -> None:
        topic = MD_BARS.scoped(self.scope)
        partitions = (await partition_counts(self.kafka, [topic]))[topic]  # the topic's count
        topics = step_rules(ticks=self.ticks).order[0].topics
        await publish_bars(
            bus, market, partitions=partitions, speed=self.options.speed, topics=topics
        )

    def _check(self, collector: CollectorDriver) -> None:
        """Fail the run when a service ended or the time is up."""
        for child in self.children:
            if child.exit_code() is not None:
                raise RuntimeError(child.failure(f"during the run ({collector.waiting_for()})"))
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeoutError(
                f"the run did not finish within {self.options.timeout_s:g}s: "
                f"{collector.waiting_for()}; {collector.steps} steps collected"
            )
