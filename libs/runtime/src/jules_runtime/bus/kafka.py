"""The Kafka bus: FastStream over aiokafka or confluent-kafka, with manual commits.

``kafka.client`` picks the client (``jules_runtime.bus.confluent`` holds what is particular to
confluent-kafka); every option is set explicitly from ``KafkaSettings``.

Producers use ``acks=all`` with idempotence on. Consumers take what one fetch returned (a
batch), handle its records in order, hand all their outputs to the producer without awaiting
each, await the acknowledgements once, then commit once: an offset is committed only after
the outputs (or dead letters) of every record up to it are acknowledged. If publishing fails
the consumer seeks back, so the records are processed again instead of being skipped.

A broker outage of up to ``delivery_timeout_ms`` pauses the bus instead of failing it
(``jules_runtime.bus.reconnect``): sends wait for the broker, the clients reconnect and go on
where they were, and ``BrokerLink`` logs the outage once and tells the service's health.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from jules_runtime.broker_link import quiet_client_loggers
from jules_runtime.bus.base import Bus
from jules_runtime.bus.confluent import (
    ConfluentSender,
    NativeProducer,
    commit_offsets,
    confluent_assigned_reader,
    confluent_broker,
    confluent_record,
    confluent_subscriber_options,
)
from jules_runtime.bus.hooks import any_headers, undecoded
from jules_runtime.bus.processor import Finish, MessageProcessor, ProcessingObserver
from jules_runtime.bus.reconnect import (
    all_acknowledged,
    extend_batch_lifetime,
    pace_metadata_updates,
    send_patiently,
    stop_watching,
    watch_broker,
)
from jules_runtime.bus.records import InboundRecord, OutboundMessage
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaSettings

__all__ = [
    "KafkaBus",
    "admin_client",
    "assigned_reader",
    "ensure_topics",
    "inbound_record",
    "producer_options",
]

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
        **kafka.membership(group),
        **kafka.fetching(),
        "max_poll_records": kafka.max_poll_records,
        "consumer_timeout_ms": kafka.consumer_timeout_ms,
        "batch_timeout_ms": kafka.fetch_max_wait_ms,
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
        faststream_logger = f"jules.{service}.faststream"
        quiet_client_loggers(extra=[faststream_logger])
        broker_options: dict[str, Any] = {
            "logger": logging.getLogger(faststream_logger),
            "log_level": logging.DEBUG,
            "middlewares": tuple(middlewares),
            # The bus's one handler takes the batch itself: no dependency injection, which
            # would resolve the message in a worker thread for every batch.
            "apply_types": False,
        }
        self._client: _Client
        if kafka.client == "confluent":
            self.broker: Any = confluent_broker(
                kafka,
                self.client_id,
                acks=PRODUCER_ACKS,
                idempotence=PRODUCER_IDEMPOTENCE,
                **broker_options,
            )
            self._client = _Client(confluent_record, commit_offsets, confluent_subscriber_options)
        else:
            self.broker = KafkaBroker(**producer_options(kafka, self.client_id), **broker_options)
            self._client = _Client(inbound_record, _commit_aiokafka, consumer_options)
        self._sender: ConfluentSender | None = None
        self._watch: asyncio.Task[None] | None = None

    def _attach(self, processor: MessageProcessor, group: str) -> None:
        subscriber = self.broker.subscriber(
            *processor.topic_names,
            batch=True,
            max_records=self.kafka.max_poll_records,
            decoder=undecoded,
            parser=any_headers,
            **self._client.subscriber_options(self.kafka, group),
        )
        batches = _Batches(processor, self._client, self.kafka.commit_interval_ms / 1000)
        subscriber(batches.consume)

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish ``messages`` and wait until the broker acknowledged every one."""
        await (await self.enqueue(messages))

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> Awaitable[object]:
        """Hand ``messages`` to the producer in order; the result completes on their acks.

        The records go to the client's producer as they are (value, key, partition, headers,
        and a ``correlation_id`` header when set): FastStream's publish path would encode
        them again and run its middlewares for each, which costs more than the send.
        """
        if self.kafka.client == "confluent":
            return await self._confluent_sender().enqueue(messages)
        producer = self._producer()
        deadline_s = self.kafka.delivery_timeout_ms / 1000
        futures = []
        for message in messages:
            headers = [(name, value.encode()) for name, value in message.headers.items()]
            if message.correlation_id is not None:
                headers.append(("correlation_id", message.correlation_id.encode()))
            send = functools.partial(
                producer.send,
                message.topic,
                message.payload,
                key=message.key,
                partition=message.partition,
                headers=headers,
            )
            futures.append(await send_patiently(send, deadline_s=deadline_s))
        return asyncio.ensure_future(all_acknowledged(futures))

    def _native_producer(self) -> object:
        """The client's own producer inside FastStream's (``None`` before the bus starts)."""
        state = getattr(self.broker, "_producer", None)
        producer = getattr(getattr(state, "_producer", None), "producer", None)
        if self.kafka.client == "confluent":  # FastStream's wrapper holds librdkafka's
            producer = getattr(producer, "producer", None)
        return producer

    def _producer(self) -> AIOKafkaProducer:
        producer = self._native_producer()
        if not isinstance(producer, AIOKafkaProducer):
            raise RuntimeError(f"the {self.service} bus is not started: no producer to send with")
        return producer

    def _confluent_sender(self) -> ConfluentSender:
        producer = self._native_producer()
        if not isinstance(producer, NativeProducer):
            raise RuntimeError(f"the {self.service} bus is not started: no producer to send with")
        if self._sender is None or self._sender.producer is not producer:
            self._sender = ConfluentSender(producer)
        return self._sender

    async def start(self) -> None:
        """Connect the producer, start every subscriber, and watch the broker (``BrokerLink``).

        Raises:
            KafkaConnectionError: The broker did not answer within ``request_timeout_ms``
                (librdkafka connects in the background: the bus asks it for metadata first).
        """
        await self.broker.start()
        if self.kafka.client == "confluent":
            timeout = self.kafka.request_timeout_ms / 1000
            if not await self.broker.ping(timeout=timeout):
                await self.broker.stop()
                raise KafkaConnectionError(
                    f"no Kafka broker answered at {self.kafka.bootstrap_servers} "
                    f"within {timeout:g} s"
                )
        await self.started()

    async def started(self) -> None:
        """Ready the started broker for outages and watch it (``jules_runtime.bus.reconnect``).

        ``start`` calls it; an application that starts ``broker`` itself calls it after.
        """
        if self._watch is not None:
            return
        if self.kafka.client != "confluent":
            producer = self._producer()
            extend_batch_lifetime(producer, self.kafka.delivery_timeout_ms / 1000)
            pace_metadata_updates(producer.client, self.kafka.retry_backoff_ms / 1000)
        self._watch = asyncio.create_task(watch_broker(self.broker.ping), name="kafka-probe")

    async def stop_watching(self) -> None:
        """Stop probing the broker (``stop`` does; before an application stops ``broker``)."""
        await stop_watching(self._watch)
        self._watch = None

    async def stop(self) -> None:
        """Stop the subscribers (in-flight messages finish and commit) and close."""
        await self.stop_watching()
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
        """The producer id the broker assigned to the idempotent producer.

        ``None`` before the bus starts, and with confluent-kafka, which does not tell it.
        """
        if self.kafka.client == "confluent":
            return None
        try:
            manager = self._producer()._txn_manager
        except RuntimeError:
            return None
        value = getattr(manager, "producer_id", None)
        return value if isinstance(value, int) and value >= 0 else None


def _note_failure(record: InboundRecord) -> None:
    logger.exception(
        "processing failed; the message will be read again",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )


class _Batches:
    """Batch consumption: what one fetch returned is handled in order and committed once.

    Each record is handled and its outputs handed to the producer without waiting (so the
    producer batches them); then every acknowledgement of the batch is awaited once, the
    records' hooks run in order, and the batch's offsets are committed once, explicitly (the
    offset after the last record of each partition). ``interval > 0`` commits at most every
    ``interval`` seconds: a batch within it leaves its offsets to the next commit or to a
    timer that commits them ``interval`` seconds later if no batch comes. A committed offset
    therefore never runs ahead of acknowledged outputs, and the guarantee is the one of a
    message at a time: at least once, with deduplication by ``event_id`` where an effect must
    not repeat. If a record cannot be begun (its dead letter could not be published) or
    outputs are not acknowledged, the consumer seeks back to the batch's first records, which
    are read again.
    """

    def __init__(self, processor: MessageProcessor, client: _Client, interval: float) -> None:
        self._processor = processor
        self._client = client
        self._interval = interval
        self._last_commit = -float("inf")
        self._done: dict[tuple[str, int], int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._late: asyncio.Future[None] | None = None

    async def consume(self, message: KafkaMessage) -> None:
        """The subscriber's handler: one batch of records from one fetch."""
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        finishes: list[Finish] = []
        record: InboundRecord | None = None
        inbound: list[InboundRecord] = []
        try:
            inbound.extend(self._client.record(item) for item in records)
            for record in inbound:
                finishes.append(await self._processor.begin(record))
            for finish in finishes:
                await finish()
            await self._processor.batch_done(inbound)
        except Exception:
            if record is not None:
                _note_failure(record)
            self._processor.abandon()
            await message.nack()
            raise
        for record in inbound:
            self._done[record.topic, record.partition] = record.offset + 1
        consumer = message.consumer
        if time.monotonic() - self._last_commit >= self._interval:
            await self._commit(consumer)
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self._interval, self._commit_later, consumer
            )

    def _commit_later(self, consumer: Any) -> None:
        self._timer = None
        self._late = asyncio.ensure_future(self._commit(consumer))  # kept until it is done

    async def _commit(self, consumer: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        offsets, self._done = self._done, {}
        self._last_commit = time.monotonic()
        if offsets:
            try:
                await self._client.commit(consumer, offsets)
            except Exception:  # a rebalance or a closed consumer: the records are read again
                logger.opt(exception=True).warning("offsets not committed; they are read again")


@dataclass(frozen=True)
class _Client:
    """What differs between the two clients on the consuming side."""

    record: Callable[[Any], InboundRecord]
    commit: Callable[[Any, Mapping[tuple[str, int], int]], Awaitable[None]]
    subscriber_options: Callable[[KafkaSettings, str], dict[str, Any]]


async def _commit_aiokafka(
    consumer: AIOKafkaConsumer, offsets: Mapping[tuple[str, int], int]
) -> None:
    await consumer.commit({TopicPartition(*key): offset for key, offset in offsets.items()})


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


def assigned_reader(
    kafka: KafkaSettings, client_id: str, partitions: Sequence[tuple[str, int]]
) -> contextlib.AbstractAsyncContextManager[Callable[[float], Awaitable[list[InboundRecord]]]]:
    """Read ``partitions`` (topic, partition) from their beginning, with no group or commits.

    For lockstep consumption, with the client ``kafka.client`` names.
    The context yields a function that waits up to its argument in seconds for records and
    returns those fetched.
    """
    if kafka.client == "confluent":
        return confluent_assigned_reader(kafka, client_id, partitions, kafka.max_poll_records)
    return _aiokafka_assigned_reader(kafka, client_id, partitions)


@contextlib.asynccontextmanager
async def _aiokafka_assigned_reader(
    kafka: KafkaSettings, client_id: str, partitions: Sequence[tuple[str, int]]
) -> AsyncIterator[Callable[[float], Awaitable[list[InboundRecord]]]]:
    consumer = AIOKafkaConsumer(
        **kafka.connection(client_id),
        **kafka.fetching(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for topic, p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)

        async def read(wait: float) -> list[InboundRecord]:
            batch = await consumer.getmany(timeout_ms=round(wait * 1000))
            return [inbound_record(raw) for records in batch.values() for raw in records]

        yield read
    finally:
        await consumer.stop()


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
    configs: Mapping[str, str] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet (with their dead-letter topics if listed).

    ``configs`` are the new topics' configuration (``{"cleanup.policy": "compact"}``).

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
                    [
                        NewTopic(name, partitions, replication_factor, topic_configs=configs)
                        for name in missing
                    ]
                )
        return missing
