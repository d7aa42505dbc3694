"""The Kafka bus: FastStream over aiokafka, with explicit client options and manual commits.

Producers use ``acks=all`` with idempotence on. Consumers never auto-commit: the offset of a
message is committed only after the processor has published its outputs (or its dead letter)
and the broker has acknowledged them. If publishing fails the consumer seeks back, so the
message is processed again instead of being skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from jules_runtime.bus.base import Bus
from jules_runtime.bus.processor import Finish, MessageProcessor, ProcessingObserver
from jules_runtime.bus.records import InboundRecord, OutboundMessage
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaSettings

__all__ = ["KafkaBus", "admin_client", "ensure_topics", "inbound_record", "producer_options"]

PRODUCER_ACKS = "all"
PRODUCER_IDEMPOTENCE = True


def producer_options(kafka: KafkaSettings, client_id: str) -> dict[str, Any]:
    """Every producer and connection option the bus gives FastStream's ``KafkaBroker``."""
    return {
        **kafka.connection(client_id),
        "allow_auto_create_topics": True,
        "acks": PRODUCER_ACKS,
        "enable_idempotence": PRODUCER_IDEMPOTENCE,
        "compression_type": kafka.compression_type,
        "max_batch_size": kafka.max_batch_size,
        "max_request_size": kafka.max_request_size,
        "linger_ms": kafka.linger_ms,
        "transactional_id": None,
        "graceful_timeout": kafka.graceful_timeout_s,
    }


def consumer_options(kafka: KafkaSettings, group: str) -> dict[str, Any]:
    """Every consumer option the bus gives a FastStream subscriber."""
    return {
        "group_id": group,
        "auto_offset_reset": kafka.auto_offset_reset,
        **kafka.fetching(),
        "max_poll_records": kafka.max_poll_records,
        "session_timeout_ms": kafka.session_timeout_ms,
        "heartbeat_interval_ms": kafka.heartbeat_interval_ms,
        "max_poll_interval_ms": kafka.max_poll_interval_ms,
        "consumer_timeout_ms": kafka.consumer_timeout_ms,
        "ack_policy": AckPolicy.MANUAL,
    }


class KafkaBus(Bus):
    """A bus on an Apache Kafka cluster.

    Args:
        service: The service name.
        kafka: Client options.
        scope: Run scope of the topics (``bt-<run>``), ``None`` for live.
        client_id: Kafka client id (default ``jules-<service>``).
        handler_attempts: Attempts of a failing handler before the message is dead-lettered.
        observer: Told of every message received, processed and dead-lettered (metrics).
        middlewares: FastStream broker middlewares (Prometheus, tracing).
    """

    def __init__(
        self,
        service: str,
        kafka: KafkaSettings,
        scope: str | None = None,
        *,
        client_id: str | None = None,
        handler_attempts: int = 3,
        observer: ProcessingObserver | None = None,
        middlewares: Sequence[Any] = (),
    ) -> None:
        super().__init__(service, scope, handler_attempts=handler_attempts, observer=observer)
        self.kafka = kafka
        self.client_id = client_id or kafka.client_id or f"jules-{service}"
        self.broker = KafkaBroker(
            **producer_options(kafka, self.client_id),
            logger=logging.getLogger(f"jules.{service}.faststream"),
            log_level=logging.DEBUG,
            middlewares=tuple(middlewares),
        )

    def _attach(self, processor: MessageProcessor, group: str) -> None:
        subscriber = self.broker.subscriber(
            *processor.topic_names, **consumer_options(self.kafka, group)
        )

        if self.kafka.commit_interval_ms == 0:

            async def consume(message: KafkaMessage) -> None:
                record = _inbound(message.raw_message)
                try:
                    await processor.process(record)
                except Exception:
                    _note_failure(record)
                    await message.nack()
                    raise
                await message.ack()

        else:
            consume = _Pipeline(processor, self.kafka.commit_interval_ms / 1000).consume

        subscriber(consume)

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish ``messages`` and wait until the broker acknowledged every one."""
        await (await self.enqueue(messages))

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> Awaitable[object]:
        """Hand ``messages`` to the producer in order; the result completes on their acks."""
        futures = [
            await self.broker.publish(
                message.value,
                message.topic,
                key=message.key,
                partition=message.partition,
                headers=dict(message.headers),
                correlation_id=message.correlation_id,
                no_confirm=True,
            )
            for message in messages
        ]
        return asyncio.gather(*futures)

    async def start(self) -> None:
        """Connect the producer and start every subscriber."""
        await self.broker.start()

    async def stop(self) -> None:
        """Stop the subscribers (in-flight messages finish and commit) and close."""
        await self.broker.stop()

    async def stop_consuming(self) -> None:
        """Stop every subscriber (in-flight messages finish and commit); the producer runs on.

        For a shutdown that must publish after the last message is handled (the audit
        service's final checkpoints): FastStream runs shutdown hooks before it stops the broker.
        """
        for subscriber in self.broker.subscribers:
            await subscriber.stop()

    @property
    def producer_id(self) -> int | None:
        """The producer id the broker assigned to the idempotent producer (``None`` before)."""
        producer = getattr(getattr(self.broker, "_producer", None), "_producer", None)
        client = getattr(producer, "producer", producer)
        manager = getattr(client, "_txn_manager", None)
        value = getattr(manager, "producer_id", None)
        return value if isinstance(value, int) and value >= 0 else None


def _note_failure(record: InboundRecord) -> None:
    logger.exception(
        "processing failed; the message will be read again",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )


class _Pipeline:
    """Consumption with ``commit_interval_ms > 0``: outputs acknowledged in the background.

    Each message is handled and its outputs handed to the producer without waiting for their
    acknowledgements, so the next message does not wait for a broker round trip. Every
    ``interval`` seconds (at a message) the outputs of every message so far are awaited, their
    hooks run in order, and the offset is committed: a committed offset never runs ahead of
    acknowledged outputs. A short timer also finishes what waits when no message follows
    (metrics and hooks stay current; the commit comes with the next message or at shutdown,
    and a message read again is recognised by its ``event_id``). If outputs cannot be
    published after the producer's retries, the service stops (SIGTERM): it resumes from its
    last committed offset.
    """

    def __init__(self, processor: MessageProcessor, interval: float) -> None:
        self._processor = processor
        self._interval = interval
        self._last_commit = 0.0
        self._waiting: list[Finish] = []
        self._finishing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def consume(self, message: KafkaMessage) -> None:
        """The subscriber's handler."""
        record = _inbound(message.raw_message)
        try:
            self._waiting.append(await self._processor.begin(record))
        except Exception:
            _note_failure(record)
            await message.nack()
            raise
        now = time.monotonic()
        if now - self._last_commit >= self._interval:
            await self._finish_all()
            await message.ack()
            self._last_commit = now
        elif self._finishing is None or self._finishing.done():
            self._finishing = asyncio.create_task(self._finish_later())

    async def _finish_later(self) -> None:
        await asyncio.sleep(self._interval)
        await self._finish_all()

    async def _finish_all(self) -> None:
        async with self._lock:  # one at a time, so hooks run once each and in order
            waiting, self._waiting = self._waiting, []
            try:
                for finish in waiting:
                    await finish()
            except Exception:
                logger.opt(exception=True).critical(
                    "outputs were not acknowledged; stopping so the service resumes from its "
                    "last committed offset"
                )
                os.kill(os.getpid(), signal.SIGTERM)
                raise


def _inbound(raw: ConsumerRecord[Any, Any] | tuple[ConsumerRecord[Any, Any], ...]) -> InboundRecord:
    if isinstance(raw, tuple):  # batch subscribers are not used by the bus
        raise TypeError("the bus consumes one message at a time")
    return inbound_record(raw)


def inbound_record(raw: ConsumerRecord[Any, Any]) -> InboundRecord:
    """An aiokafka record as the bus's ``InboundRecord``."""
    return InboundRecord(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value if raw.value is not None else b"",
        headers=tuple((name, value or b"") for name, value in raw.headers),
        timestamp_ms=raw.timestamp,
    )


@contextlib.asynccontextmanager
async def admin_client(
    kafka: KafkaSettings, client_id: str = "jules-admin"
) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client with the connection options of ``kafka``; closed on exit."""
    admin = AIOKafkaAdminClient(**kafka.connection(client_id))
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def ensure_topics(
    kafka: KafkaSettings,
    names: Sequence[str],
    *,
    partitions: int = 1,
    replication_factor: int = 1,
) -> list[str]:
    """Create the topics that do not exist yet (with their dead-letter topics if listed).

    Returns:
        The names that were created.
    """
    async with admin_client(kafka) as admin:
        existing = set(await admin.list_topics())
        missing = [name for name in dict.fromkeys(names) if name not in existing]
        if missing:
            # Another process may create them meanwhile; that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, partitions, replication_factor) for name in missing]
                )
        return missing
