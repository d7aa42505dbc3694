"""The I/O of lockstep consumption: read a run's topics from the beginning, publish each step.

``LockstepRunner`` reads every partition of a driver's inputs from the beginning (no consumer
group, no commits: a restarted service rebuilds its state by processing the run again, and its
outputs, whose ids are derived from their causes, are recognised downstream as already seen)
into a ``StepBuffer``, lets the driver (``jules_runtime.lockstep.steps``) run every step whose
inputs are complete, and publishes each step's outputs with their position in the step
(``jules-seq`` header) and then the step's watermark into every partition of the driver's
output topics. A loop that fails stops its service.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence

from jules_contracts import DecodeError, Topic, decode_event

from jules_runtime.bus.kafka import KafkaBus, admin_client, assigned_reader
from jules_runtime.bus.records import (
    SEQUENCE_HEADER,
    InboundRecord,
    OutboundMessage,
    dead_letter_message,
    outbound_event,
)
from jules_runtime.lockstep.buffer import Replica, StepBuffer, make_watermark
from jules_runtime.lockstep.steps import LockstepDriver, StepOutput
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaSettings

__all__ = ["LockstepRunner", "partition_counts", "watermark_message"]


def watermark_message(
    service: str, topic: Topic, partition: int, time: int, scope: str | None, final: bool
) -> OutboundMessage:
    """The message writing ``service``'s watermark ``time`` into ``partition`` of ``topic``."""
    watermark = make_watermark(service, topic, partition, time, final=final)
    return outbound_event(watermark, scope, topic=topic, partition=partition)


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
        partitions = [(name, p) for name in names for p in owned[name]]
        reader = assigned_reader(self.kafka, f"{self.bus.client_id}-lockstep", partitions)
        async with reader as read:
            logger.info("lockstep started", inputs=",".join(names), partitions=len(partitions))
            while not self.driver.finished:
                for record in await read(self.kafka.fetch_max_wait_ms / 1000):
                    await self._take(buffer, names[record.topic], record)
                for output in self.driver.advance(buffer):
                    await self._publish(output, out_partitions)
            await self._check_acknowledged(all_of_them=True)
            logger.info(
                "lockstep finished",
                steps=self.steps,
                duplicates=buffer.duplicates,
                late=buffer.late,
            )

    async def _take(self, buffer: StepBuffer, topic: Topic, record: InboundRecord) -> None:
        try:
            event = decode_event(record.value, allowed=topic.event_types)
        except DecodeError as error:
            message = dead_letter_message(record, error.reason, error.detail, self.service)
            await self.bus.send([message])
            logger.warning("message dead-lettered", reason=error.reason.value, dlq=message.topic)
            return
        sequence = record.header(SEQUENCE_HEADER)
        late = buffer.late
        buffer.add(topic.name, record.partition, event, int(sequence) if sequence else None)
        if buffer.late > late:
            logger.warning(
                "event after the final watermark of its partition dropped",
                topic=topic.name,
                partition=record.partition,
                event_id=event.event_id,
                event_type=event.event_type,
            )

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
