"""The confluent-kafka client of the bus (``kafka.client: confluent``), through FastStream.

FastStream's confluent transport runs librdkafka; the bus keeps its own contract on top of it,
the same as with aiokafka: batches handled in order, outputs handed to the producer without
waiting, acknowledgements awaited once, explicit offsets committed once.

Two details differ from FastStream's defaults, both for latency:

* a batch is what is ready, not what a timeout collects: librdkafka's ``consume(n, timeout)``
  waits until ``n`` records arrived or the timeout passed, so a quiet topic would hold every
  record for the whole poll interval. ``ready_records`` waits for the first record, then takes
  what else is already fetched without waiting (``EagerConsumer``);
* records are produced straight to librdkafka with a delivery callback per record
  (``ConfluentSender``), without FastStream's encoding and middlewares per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message
from confluent_kafka import Producer as NativeProducer
from confluent_kafka import TopicPartition as NativePartition
from faststream import AckPolicy
from faststream.confluent import KafkaBroker
from faststream.confluent.configs.broker import ConsumerBuilder
from faststream.confluent.helpers.client import AsyncConfluentConsumer, check_msg_error

from jules_runtime.broker_link import quiet_client_loggers
from jules_runtime.bus.records import InboundRecord, OutboundMessage
from jules_runtime.settings import KafkaSettings

__all__ = [
    "ConfluentSender",
    "EagerConsumer",
    "NativeProducer",
    "commit_offsets",
    "confluent_assigned_reader",
    "confluent_broker",
    "confluent_record",
    "confluent_subscriber_options",
    "ready_records",
]

PartitionKey = tuple[str, int]
"""(topic, partition)."""


RECONNECT_BACKOFF = {"reconnect.backoff.ms": 100, "reconnect.backoff.max.ms": 1000}
"""librdkafka's pauses between attempts to reach a broker: at most a second (its default, ten
seconds, would leave a client idle up to ten seconds after the broker is back)."""


def confluent_broker(
    kafka: KafkaSettings, client_id: str, *, acks: str, idempotence: bool, **options: Any
) -> KafkaBroker:
    """FastStream's confluent ``KafkaBroker`` with the bus's producer and connection options.

    Args:
        kafka: Client options.
        client_id: The client id the broker sees.
        acks: The producer's ``acks``.
        idempotence: Whether the producer is idempotent.
        options: Broker options (logger, middlewares, ``apply_types``).
    """
    producer_only: dict[str, int] = {
        # a record not delivered within the delivery timeout fails (librdkafka: 5 minutes);
        # an outage shorter than that pauses the sends instead
        "message.timeout.ms": kafka.delivery_timeout_ms,
    }
    broker = KafkaBroker(
        **kafka.connection(client_id),
        config={**producer_only, **RECONNECT_BACKOFF},  # type: ignore[arg-type]
        allow_auto_create_topics=True,
        acks=acks,  # type: ignore[arg-type]
        enable_idempotence=idempotence,
        compression_type=kafka.compression_type,
        max_request_size=kafka.max_request_size,
        linger_ms=kafka.linger_ms,
        graceful_timeout=kafka.graceful_timeout_s,
        **options,
    )
    config = broker.config.broker_config
    builder = config.builder
    if not isinstance(builder, ConsumerBuilder):  # FastStream changed how consumers are built
        raise TypeError(f"unexpected consumer builder of FastStream: {builder!r}")
    consumers = copy.copy(builder.config)
    consumers.config = {
        **{k: v for k, v in builder.config.config.items() if k not in producer_only},
        **_prefetch(kafka),
    }
    config.builder = _EagerBuilder(config=consumers, admin=builder.admin, logger=builder.logger)
    return broker


def _prefetch(kafka: KafkaSettings) -> dict[str, int]:
    """What librdkafka fetches ahead of the consumer and holds (its default: up to 64 MiB).

    A few fetches' worth; once the queue holds that much, librdkafka waits
    ``fetch.queue.backoff.ms`` before fetching again (its default, a second, would stall a
    consumer that empties its queue in a few milliseconds).
    """
    return {
        "queued.max.messages.kbytes": max(1, 4 * kafka.max_partition_fetch_bytes // 1024),
        "queued.min.messages": kafka.max_poll_records,
        "fetch.queue.backoff.ms": max(1, min(kafka.fetch_max_wait_ms, 10)),
    }


def confluent_subscriber_options(kafka: KafkaSettings, group: str) -> dict[str, Any]:
    """Every consumer option the bus gives a FastStream confluent subscriber."""
    fetching = kafka.fetching()
    del fetching["check_crcs"]  # librdkafka's default, not a subscriber option
    return {
        **kafka.membership(group),
        **fetching,
        "polling_interval": kafka.consumer_timeout_ms / 1000,
        "ack_policy": AckPolicy.MANUAL,
    }


def ready_records(consumer: Consumer, timeout: float, limit: int) -> list[Message]:
    """Wait up to ``timeout`` s for one record, then add what is already fetched.

    At most ``limit`` records; records carrying an error (end of partition) are left out.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    rest = consumer.consume(num_messages=limit - 1, timeout=0) if limit > 1 else []
    return [m for m in (first, *rest) if check_msg_error(m) is not None]


class EagerConsumer(AsyncConfluentConsumer):
    """FastStream's consumer, whose batches are the records ready now (``ready_records``)."""

    async def getmany(
        self,
        timeout: float = 0.1,  # noqa: ASYNC109 (FastStream's signature)
        max_records: int | None = 10,
    ) -> tuple[Any, ...]:
        """The records ready within ``timeout`` s (at most ``max_records``)."""
        fetch = functools.partial(ready_records, self.consumer, timeout, max_records or 10)
        return tuple(await asyncio.get_running_loop().run_in_executor(self._thread_pool, fetch))


class _EagerBuilder(ConsumerBuilder):
    def __call__(self, *topics: Any, **kwargs: Any) -> AsyncConfluentConsumer:
        return EagerConsumer(
            *topics, config=self.config, admin_service=self.admin, logger=self.logger, **kwargs
        )


async def commit_offsets(
    consumer: AsyncConfluentConsumer, offsets: Mapping[PartitionKey, int]
) -> None:
    """Commit explicit offsets (the next record to read) and wait for the broker's answer."""
    partitions = [NativePartition(topic, p, offset) for (topic, p), offset in offsets.items()]
    commit = functools.partial(consumer.consumer.commit, offsets=partitions, asynchronous=False)
    await asyncio.get_running_loop().run_in_executor(consumer._thread_pool, commit)


def confluent_record(raw: Message) -> InboundRecord:
    """A confluent-kafka record as the bus's ``InboundRecord``."""
    _, timestamp = raw.timestamp()
    return InboundRecord(
        topic=raw.topic() or "",
        partition=raw.partition() or 0,
        offset=raw.offset() or 0,
        key=raw.key(),
        value=raw.value() or b"",
        headers=_headers(raw.headers()),
        timestamp_ms=timestamp,
    )


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    """A consumed record's headers (librdkafka gives a list of pairs, or ``None``)."""
    pairs: list[tuple[str, str | bytes | None]] = list(headers or ())
    return tuple(
        (name, value.encode() if isinstance(value, str) else value or b"") for name, value in pairs
    )


class ConfluentSender:
    """Hands records to librdkafka; the batch's future completes on their delivery reports.

    Delivery reports are served by the poll loop of FastStream's producer (a worker thread);
    they are counted there, and the event loop is woken once per batch: when the last record
    is delivered, or at the first that fails.
    """

    def __init__(self, producer: NativeProducer) -> None:
        self.producer = producer

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> Awaitable[object]:
        """Produce ``messages`` in order; the result completes when every one is delivered."""
        deliveries = _Deliveries(asyncio.get_running_loop(), len(messages))
        for message in messages:
            headers = [(name, value.encode()) for name, value in message.headers.items()]
            if message.correlation_id is not None:
                headers.append(("correlation_id", message.correlation_id.encode()))
            options: dict[str, Any] = {
                "key": message.key,
                "headers": headers,
                "on_delivery": deliveries.delivered,
            }
            if message.partition is not None:
                options["partition"] = message.partition
            while True:
                try:
                    self.producer.produce(message.topic, message.payload, **options)
                    break
                except BufferError:  # librdkafka's queue is full: let deliveries drain it
                    await asyncio.sleep(0.005)
        return deliveries.future


class _Deliveries:
    """The delivery reports of one batch, counted in the thread that serves them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self._loop = loop
        self._left = count
        self._lock = threading.Lock()
        self.future: asyncio.Future[None] = loop.create_future()
        if count == 0:
            self.future.set_result(None)

    def delivered(self, error: KafkaError | None, _message: Message | None) -> None:
        """The delivery callback of each record of the batch (called by librdkafka)."""
        with self._lock:
            if self._left <= 0:
                return  # already settled by an earlier failure
            self._left = 0 if error is not None else self._left - 1
            settled = self._left == 0
        if settled:
            self._loop.call_soon_threadsafe(_settle, self.future, error)


def _settle(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(KafkaException(error))
    else:
        future.set_result(None)


def _reader_logger(client_id: str) -> logging.Logger:
    """Where librdkafka's lines of a reader go (else it prints them): warnings and up."""
    name = f"jules.kafka.{client_id}"
    quiet_client_loggers(extra=[name])
    reader_logger = logging.getLogger(name)
    reader_logger.setLevel(logging.WARNING)
    return reader_logger


@contextlib.asynccontextmanager
async def confluent_assigned_reader(
    kafka: KafkaSettings, client_id: str, partitions: Sequence[PartitionKey], limit: int
) -> AsyncIterator[Callable[[float], Awaitable[list[InboundRecord]]]]:
    """Read ``partitions`` from their beginning, without a consumer group or commits.

    Yields a function that waits up to its argument in seconds for records and returns
    those ready (``ready_records``).
    """
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "client.id": client_id,
            "group.id": client_id,  # never joined: the partitions are assigned, not subscribed
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            # a position the broker no longer has (a restart, records deleted) restarts the
            # partition from its beginning, as the aiokafka reader does; librdkafka's default,
            # the end, would skip records and leave a lockstep step waiting for ever
            "auto.offset.reset": "earliest",
            "isolation.level": kafka.isolation_level,
            "fetch.min.bytes": kafka.fetch_min_bytes,
            "fetch.wait.max.ms": kafka.fetch_max_wait_ms,
            "fetch.max.bytes": kafka.fetch_max_bytes,
            "max.partition.fetch.bytes": kafka.max_partition_fetch_bytes,
            "socket.connection.setup.timeout.ms": kafka.request_timeout_ms,
            "retry.backoff.ms": kafka.retry_backoff_ms,
            **RECONNECT_BACKOFF,
            **_prefetch(kafka),
        },
        logger=_reader_logger(client_id),
    )
    consumer.assign([NativePartition(topic, p, OFFSET_BEGINNING) for topic, p in partitions])
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=client_id)
    loop = asyncio.get_running_loop()

    async def read(wait: float) -> list[InboundRecord]:
        fetch = functools.partial(ready_records, consumer, wait, limit)
        return [confluent_record(raw) for raw in await loop.run_in_executor(thread, fetch)]

    try:
        yield read
    finally:
        await loop.run_in_executor(thread, consumer.close)
        thread.shutdown(wait=False)
