"""Lockstep consumption for topic-replay backtests: in-band watermarks cut streams into steps.

In a backtest over Kafka, the order-router and risk must see their inputs in the order of the
embedded loop (docs/architecture.md, "Topic replay"). Kafka keeps order within a partition
only, so every producer of a data topic writes a ``Watermark`` into *every* partition of the
topic after its outputs for an event time ``t``. A partition's messages between two watermarks
form a *segment*; the segments of all partitions of a topic up to watermark ``t`` hold every
event the producer made up to ``t``.

``StepBuffer`` (pure) collects what a lockstep service reads, dropping what it has seen before
(a producer that restarted and publishes again, or two replicas publishing the same events:
first occurrences keep their order) and hands out segments by watermark. A ``LockstepDriver``
decides when its next step may run and what it publishes; ``LockstepRunner`` does the I/O: it
reads every partition of the driver's inputs from the beginning (no consumer group, no
commits: a restarted service rebuilds its state by processing the run again, and its outputs,
whose ids are derived from their causes, are recognised downstream as already seen), and
publishes each step's outputs with their position in the step (``jules-seq`` header) and then
the step's watermark into every partition of the driver's output topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from jules_contracts import DecodeError, Event, Topic, Watermark, decode_event
from jules_contracts.base import derive_event_id

from jules_runtime.bus.kafka import KafkaBus, admin_client, inbound_record
from jules_runtime.bus.records import (
    SEQUENCE_HEADER,
    InboundRecord,
    OutboundMessage,
    dead_letter_message,
    outbound_event,
)
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaSettings

__all__ = [
    "END_OF_TIME",
    "LockstepDriver",
    "LockstepRunner",
    "Replica",
    "RunAheadDriver",
    "Stamped",
    "StepBuffer",
    "StepOutput",
    "by_instrument",
    "in_step_order",
    "make_watermark",
    "partition_counts",
    "watermark_message",
]

END_OF_TIME = 2**63 - 1
"""Beyond every event time (to take what is left of a stream)."""


@dataclass(frozen=True, slots=True)
class Stamped:
    """An event as read: its position in its producer's step (if given) and arrival order."""

    event: Event
    sequence: int | None
    arrival: int


@dataclass(slots=True)
class _Segment:
    watermark: int
    final: bool
    items: list[Stamped]


@dataclass(slots=True)
class _Partition:
    pending: list[Stamped] = field(default_factory=list)
    segments: deque[_Segment] = field(default_factory=deque)
    frontier: int | None = None
    final: bool = False


class StepBuffer:
    """What a lockstep service has read, cut into segments by in-band watermarks.

    Args:
        partitions: The partitions read of each topic (unscoped name): all of them, or a
            replica's share.
    """

    def __init__(self, partitions: Mapping[str, Iterable[int]]) -> None:
        self._partitions = {
            topic: {number: _Partition() for number in numbers}
            for topic, numbers in partitions.items()
        }
        self._seen: set[str] = set()
        self._arrivals = 0
        self.duplicates = 0
        """How many events were dropped as already seen."""
        self.late = 0
        """How many events came after their partition's final watermark (and were dropped)."""

    def add(self, topic: str, partition: int, event: Event, sequence: int | None = None) -> bool:
        """Take one message of ``topic``/``partition``.

        Returns:
            ``False`` when it was dropped: an event seen before (by ``event_id``) or after the
            partition's final watermark, or a watermark not beyond the partition's frontier.
        """
        state = self._partitions[topic][partition]
        if isinstance(event, Watermark):
            repeat = state.frontier is not None and event.watermark <= state.frontier
            if state.final or (repeat and not event.final):
                return False
            state.segments.append(_Segment(event.watermark, event.final, state.pending))
            state.pending = []
            state.frontier = max(event.watermark, state.frontier or event.watermark)
            state.final = event.final
            return True
        if event.event_id in self._seen:
            self.duplicates += 1
            return False
        if state.final:  # after its producer's last watermark: nothing takes it any more
            self.late += 1
            logger.warning(
                "event after the final watermark of its partition dropped",
                topic=topic,
                partition=partition,
                event_id=event.event_id,
                event_type=event.event_type,
            )
            return False
        self._seen.add(event.event_id)
        self._arrivals += 1
        state.pending.append(Stamped(event, sequence, self._arrivals))
        return True

    def frontier(self, topic: str) -> int | None:
        """The lowest watermark over the topic's partitions (``None`` until all have one)."""
        frontiers = [state.frontier for state in self._partitions[topic].values()]
        if any(value is None for value in frontiers):
            return None
        return min(value for value in frontiers if value is not None)

    def reached(self, topic: str, time: int) -> bool:
        """Whether every partition of ``topic`` has a watermark at or beyond ``time``."""
        frontier = self.frontier(topic)
        return frontier is not None and frontier >= time

    def is_final(self, topic: str) -> bool:
        """Whether every partition of ``topic`` got its producer's final watermark."""
        return all(state.final for state in self._partitions[topic].values())

    def next_watermark(self, topic: str) -> int | None:
        """The earliest watermark of a segment not taken yet, over the topic's partitions."""
        heads = [
            state.segments[0].watermark
            for state in self._partitions[topic].values()
            if state.segments and not state.segments[0].final
        ]
        return min(heads) if heads else None

    def take(self, topic: str, upto: int, *, final: bool = False) -> list[Stamped]:
        """Remove and return the events of the segments with watermark ``<= upto``.

        A final segment (after the producer's last step) is taken only with ``final=True``.
        Events come partition by partition, each partition's in the order read.
        """
        taken: list[Stamped] = []
        for state in self._partitions[topic].values():
            while state.segments and state.segments[0].watermark <= upto:
                if state.segments[0].final and not final:
                    break
                taken.extend(state.segments.popleft().items)
        return taken


def in_step_order(items: Iterable[Stamped]) -> list[Event]:
    """Events of one lockstep producer's step in the order it made them (``jules-seq``)."""
    return [item.event for item in sorted(items, key=lambda i: (i.sequence or 0, i.arrival))]


def by_instrument(items: Iterable[Stamped]) -> list[Event]:
    """Events by instrument id, each instrument's in the order read (its partition's order)."""
    return [
        item.event
        for item in sorted(
            items, key=lambda i: (str(getattr(i.event, "instrument_id", "")), i.arrival)
        )
    ]


def make_watermark(
    service: str, topic: Topic, partition: int, time: int, *, final: bool
) -> Watermark:
    """The watermark ``service`` writes into ``partition`` of ``topic`` after its step ``time``."""
    return Watermark(
        event_id=derive_event_id("system.watermark", service, topic.name, partition, time, final),
        source=service,
        event_time=time,
        service=service,
        stream=topic.name,
        partition=partition,
        watermark=time,
        final=final,
    )


def watermark_message(
    service: str, topic: Topic, partition: int, time: int, scope: str | None, final: bool
) -> OutboundMessage:
    """The message writing ``service``'s watermark ``time`` into ``partition`` of ``topic``."""
    watermark = make_watermark(service, topic, partition, time, final=final)
    return outbound_event(watermark, scope, topic=topic, partition=partition)


@dataclass(frozen=True)
class Replica:
    """One of ``count`` replicas of a partitioned service: it owns partitions ``index mod count``.

    Every topic of a run has the same partition count and keys, so the partitions a replica
    owns hold the same instruments on every topic it reads and writes.
    """

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"replica {self.index} of {self.count} does not exist")

    def owns(self, partition: int) -> bool:
        """Whether this replica reads and writes ``partition``."""
        return partition % self.count == self.index


@dataclass(frozen=True)
class StepOutput:
    """What one step publishes: its events (in order), then its watermark on every output."""

    events: Sequence[Event]
    time: int
    final: bool = False


class LockstepDriver(Protocol):
    """A service's lockstep logic: which topics it reads and writes, and its steps."""

    finished: bool
    """Set once the driver has published its final step."""

    @property
    def inputs(self) -> Sequence[Topic]:
        """The topics the driver reads (every partition, from the beginning)."""
        ...

    @property
    def outputs(self) -> Sequence[Topic]:
        """The topics whose every partition gets the driver's watermark after each step."""
        ...

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Run every step whose inputs are complete; return what they publish, in order."""
        ...


class RunAheadDriver(ABC):
    """A driver whose steps wait on their inputs only (features, signal): they run ahead.

    Step ``t`` runs once every input's watermark reached ``t`` on every partition read; the
    step times are those of the ``clock`` topic's segments (one of the inputs). After the
    inputs' final watermarks the driver publishes a final, empty step. Subclasses say what a
    step computes.

    Args:
        clock: The input whose watermarks give the step times.
    """

    inputs: Sequence[Topic]
    outputs: Sequence[Topic]

    def __init__(self, clock: Topic) -> None:
        if clock not in self.inputs:
            raise ValueError(f"the clock topic {clock.name} is not an input of the driver")
        self.clock = clock
        self.finished = False
        self.previous = 0

    @abstractmethod
    def step(self, buffer: StepBuffer, time: int) -> list[Event]:
        """Take the inputs of step ``time`` from ``buffer``; return its outputs, in order."""

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Run every step whose inputs are all read."""
        outputs: list[StepOutput] = []
        while not self.finished:
            time = buffer.next_watermark(self.clock.name)
            if time is not None and all(buffer.reached(t.name, time) for t in self.inputs):
                outputs.append(StepOutput(self.step(buffer, time), time))
                self.previous = time
            elif time is None and all(buffer.is_final(t.name) for t in self.inputs):
                for topic in self.inputs:
                    buffer.take(topic.name, END_OF_TIME, final=True)
                outputs.append(StepOutput([], self.previous, final=True))
                self.finished = True
            else:
                break
        return outputs


class LockstepRunner:
    """Reads a driver's inputs from the beginning and publishes its steps.

    Args:
        driver: The service's lockstep logic.
        bus: The service's bus (its idempotent producer publishes the outputs).
        kafka: Client options of the reading consumer.
        scope: The run scope of the topics.
        service: Producer name of the watermarks.
        on_step: Told of every step published (metrics).
        replica: Which partitions this process reads and writes watermarks to (all by
            default; a replica of a partitioned service reads its share).
    """

    def __init__(
        self,
        driver: LockstepDriver,
        bus: KafkaBus,
        kafka: KafkaSettings,
        scope: str | None,
        service: str,
        *,
        on_step: Callable[[StepOutput], None] | None = None,
        replica: Replica | None = None,
    ) -> None:
        self.driver = driver
        self.replica = replica or Replica()
        self._on_step = on_step
        self._unacknowledged: list[Awaitable[object]] = []
        self.bus = bus
        self.kafka = kafka
        self.scope = scope
        self.service = service
        self.steps = 0
        self.last_time: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background (a start-up hook of the service)."""
        self._task = asyncio.create_task(self.run(), name=f"{self.service}-lockstep")
        self._task.add_done_callback(_report_end)

    async def stop(self) -> None:
        """Stop reading (a shutdown hook); a step being published finishes first."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        """Read and step until the driver has finished."""
        names = {topic.scoped(self.scope): topic for topic in self.driver.inputs}
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers,
            client_id=f"{self.bus.client_id}-lockstep",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level=self.kafka.isolation_level,
            fetch_min_bytes=self.kafka.fetch_min_bytes,
            fetch_max_wait_ms=self.kafka.fetch_max_wait_ms,
            fetch_max_bytes=self.kafka.fetch_max_bytes,
            max_partition_fetch_bytes=self.kafka.max_partition_fetch_bytes,
            request_timeout_ms=self.kafka.request_timeout_ms,
            retry_backoff_ms=self.kafka.retry_backoff_ms,
            metadata_max_age_ms=self.kafka.metadata_max_age_ms,
            connections_max_idle_ms=self.kafka.connections_max_idle_ms,
            check_crcs=True,
        )
        await consumer.start()
        try:
            counts = await partition_counts(
                self.kafka,
                [t.scoped(self.scope) for t in (*self.driver.inputs, *self.driver.outputs)],
            )
            owned = {
                name: [p for p in range(count) if self.replica.owns(p)]
                for name, count in counts.items()
            }
            buffer = StepBuffer({names[name].name: owned[name] for name in names})
            out_partitions = {t: owned[t.scoped(self.scope)] for t in self.driver.outputs}
            partitions = [TopicPartition(name, p) for name in names for p in owned[name]]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            logger.info("lockstep started", inputs=",".join(names), partitions=len(partitions))
            while not self.driver.finished:
                batch = await consumer.getmany(timeout_ms=self.kafka.fetch_max_wait_ms)
                for tp, records in batch.items():
                    for raw in records:
                        record = inbound_record(raw)
                        await self._take(buffer, names[tp.topic], record)
                for output in self.driver.advance(buffer):
                    await self._publish(output, out_partitions)
            await self._check_acknowledged(all_of_them=True)
            logger.info(
                "lockstep finished",
                steps=self.steps,
                duplicates=buffer.duplicates,
                late=buffer.late,
            )
        finally:
            await consumer.stop()

    async def _take(self, buffer: StepBuffer, topic: Topic, record: InboundRecord) -> None:
        try:
            event = decode_event(record.value, allowed=topic.event_types)
        except DecodeError as error:
            message = dead_letter_message(record, error.reason, error.detail, self.service)
            await self.bus.send([message])
            logger.warning("message dead-lettered", reason=error.reason.value, dlq=message.topic)
            return
        sequence = record.header(SEQUENCE_HEADER)
        buffer.add(topic.name, record.partition, event, int(sequence) if sequence else None)

    async def _publish(self, output: StepOutput, partitions: Mapping[Topic, list[int]]) -> None:
        messages: list[OutboundMessage] = [
            outbound_event(event, self.scope, sequence=index)
            for index, event in enumerate(output.events)
        ]
        for topic, numbers in partitions.items():
            messages.extend(
                watermark_message(self.service, topic, p, output.time, self.scope, output.final)
                for p in numbers
            )
        # handed to the producer in order; the acknowledgements are checked as they come in,
        # so the next step does not wait a broker round trip
        self._unacknowledged.append(await self.bus.enqueue(messages))
        await self._check_acknowledged()
        self.steps += 1
        self.last_time = output.time
        if self._on_step is not None:
            self._on_step(output)

    async def _check_acknowledged(self, *, all_of_them: bool = False) -> None:
        """Raise if a step's publication failed; with ``all_of_them``, wait for every ack."""
        waiting: list[Awaitable[object]] = []
        for acks in self._unacknowledged:
            future = asyncio.ensure_future(acks)
            if all_of_them or future.done():
                await future  # raises the producer's error: the service stops
            else:
                waiting.append(future)
        self._unacknowledged = waiting


async def partition_counts(kafka: KafkaSettings, names: Sequence[str]) -> dict[str, int]:
    """Partition count of each topic, waiting for topics that do not exist yet."""
    async with admin_client(kafka, "jules-lockstep-admin") as admin:
        for attempt in itertools.count():
            described = await admin.describe_topics(list(names))
            counts = {
                entry["topic"]: len(entry["partitions"])
                for entry in described
                if entry.get("error_code", 0) == 0
            }
            missing = [name for name in names if not counts.get(name)]
            if not missing:
                return counts
            if attempt % 60 == 0:
                logger.info("waiting for topics", missing=",".join(missing))
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")  # pragma: no cover


def _report_end(task: asyncio.Task[None]) -> None:
    """A lockstep loop that fails stops its service (SIGTERM: a graceful stop)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.opt(exception=error).critical("lockstep stopped by an error; stopping the service")
        os.kill(os.getpid(), signal.SIGTERM)
