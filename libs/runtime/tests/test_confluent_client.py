"""The confluent-kafka client of the bus: its options, its batches and its delivery reports.

Against the real broker the bus runs with both clients (``tests/integration``, the
``kafka_client`` fixture); these tests pin what the bus sets on top of FastStream.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from faststream import AckPolicy
from jules_runtime.bus import KafkaBus
from jules_runtime.bus.confluent import (
    ConfluentSender,
    _EagerBuilder,
    confluent_subscriber_options,
    ready_records,
)
from jules_runtime.bus.records import OutboundMessage
from jules_runtime.settings import KafkaSettings

KAFKA = KafkaSettings(
    client="confluent",
    bootstrap_servers="kafka-0:9093,kafka-1:9093",
    linger_ms=3,
    request_timeout_ms=12_000,
    max_request_size=2_000_000,
    compression_type="lz4",
)


def test_aiokafka_is_the_default_client_and_confluent_the_other() -> None:
    assert KafkaSettings().client == "aiokafka"
    assert KafkaSettings(client="confluent").client == "confluent"
    with pytest.raises(ValueError, match="client"):
        KafkaSettings(client="kafka-python")  # type: ignore[arg-type]


def test_the_producer_is_idempotent_with_acks_all_and_the_settings() -> None:
    bus = KafkaBus("risk", KAFKA)
    config = bus.broker.config.broker_config.connection_config.producer_config

    assert config["acks"] == -1  # all
    assert config["enable.idempotence"] is True
    assert config["bootstrap.servers"] == "kafka-0:9093,kafka-1:9093"
    assert config["client.id"] == "jules-risk"
    assert config["linger.ms"] == 3
    assert config["request.timeout.ms"] == 12_000
    assert config["message.max.bytes"] == 2_000_000
    assert config["compression.type"] == "lz4"


def test_the_subscribers_consume_eagerly_with_manual_commits() -> None:
    bus = KafkaBus("risk", KAFKA)
    options = confluent_subscriber_options(KAFKA, "jules-risk")

    assert isinstance(bus.broker.config.broker_config.builder, _EagerBuilder)  # builds ours
    assert options["ack_policy"] is AckPolicy.MANUAL
    assert options["group_id"] == "jules-risk"
    assert options["fetch_max_wait_ms"] == KAFKA.fetch_max_wait_ms
    assert options["max_partition_fetch_bytes"] == KAFKA.max_partition_fetch_bytes
    assert options["polling_interval"] == KAFKA.consumer_timeout_ms / 1000


class _Record:
    def __init__(self, offset: int, error: KafkaError | None = None) -> None:
        self.offset = offset
        self._error = error

    def error(self) -> KafkaError | None:
        return self._error


class _Consumer:
    """What ``ready_records`` calls of a librdkafka consumer, with what it was asked."""

    def __init__(self, first: _Record | None, rest: list[_Record]) -> None:
        self.first, self.rest = first, rest
        self.calls: list[tuple[str, Any, Any]] = []

    def poll(self, timeout: float) -> _Record | None:
        self.calls.append(("poll", timeout, None))
        return self.first

    def consume(self, num_messages: int, timeout: float) -> list[_Record]:
        self.calls.append(("consume", num_messages, timeout))
        return self.rest[:num_messages]


def test_a_batch_waits_for_its_first_record_only_then_takes_what_is_ready() -> None:
    first, second, third = _Record(1), _Record(2), _Record(3)
    end = _Record(9, KafkaError(KafkaError._PARTITION_EOF))
    consumer = _Consumer(first, [second, end, third])

    batch: list[object] = list(ready_records(consumer, 0.2, 200))  # type: ignore[arg-type]

    assert batch == [first, second, third]  # the end-of-partition notice left out
    assert consumer.calls == [("poll", 0.2, None), ("consume", 199, 0)]  # no second wait


def test_a_quiet_topic_gives_an_empty_batch_after_one_wait() -> None:
    consumer = _Consumer(None, [_Record(2)])

    assert ready_records(consumer, 0.1, 200) == []  # type: ignore[arg-type]
    assert consumer.calls == [("poll", 0.1, None)]


class _Producer:
    """Reports deliveries from another thread, as librdkafka's poll loop does."""

    def __init__(self, fail: frozenset[str] = frozenset(), full_once: bool = False) -> None:
        self.produced: list[tuple[str, bytes, dict[str, Any]]] = []
        self.fail = fail
        self.full_once = full_once

    def produce(self, topic: str, value: bytes, **options: Any) -> None:
        if self.full_once:
            self.full_once = False
            raise BufferError("Local: Queue full")
        self.produced.append((topic, value, options))
        error = KafkaError(KafkaError._MSG_TIMED_OUT) if topic in self.fail else None
        threading.Timer(0.01, options["on_delivery"], (error, None)).start()


def _message(topic: str, headers: dict[str, str] | None = None, **fields: Any) -> OutboundMessage:
    return OutboundMessage(topic=topic, value=b"{}", key=b"k", headers=headers or {}, **fields)


async def test_the_sender_hands_records_over_in_order_and_completes_on_their_deliveries() -> None:
    producer = _Producer(full_once=True)
    sender = ConfluentSender(producer)  # type: ignore[arg-type]

    acks = await sender.enqueue(
        [
            _message("a", partition=2, correlation_id="c-1", headers={"jules-seq": "0"}),
            _message("b"),
        ]
    )
    await asyncio.wait_for(acks, 5)

    assert [topic for topic, _, _ in producer.produced] == ["a", "b"]  # the full queue waited
    first = producer.produced[0][2]
    assert first["partition"] == 2
    assert first["key"] == b"k"
    assert first["headers"] == [("jules-seq", b"0"), ("correlation_id", b"c-1")]
    assert "partition" not in producer.produced[1][2]


async def test_a_failed_delivery_fails_the_acknowledgements() -> None:
    sender = ConfluentSender(_Producer(fail=frozenset({"b"})))  # type: ignore[arg-type]

    acks = await sender.enqueue([_message("a"), _message("b")])

    with pytest.raises(KafkaException):
        await asyncio.wait_for(acks, 5)


def test_consumers_fetch_ahead_a_few_fetches_and_fetch_again_at_once() -> None:
    bus = KafkaBus("risk", KAFKA)
    consumers = bus.broker.config.broker_config.builder.config.consumer_config
    producer = bus.broker.config.broker_config.connection_config.producer_config

    assert consumers["queued.max.messages.kbytes"] == 4 * KAFKA.max_partition_fetch_bytes // 1024
    assert consumers["queued.min.messages"] == KAFKA.max_poll_records
    assert consumers["fetch.queue.backoff.ms"] <= 10  # librdkafka's default: 1,000
    assert "message.timeout.ms" not in consumers  # a producer option
    assert producer["message.timeout.ms"] == KAFKA.delivery_timeout_ms  # outages pause sends
    assert producer["reconnect.backoff.max.ms"] == consumers["reconnect.backoff.max.ms"] == 1000
    assert "queued.min.messages" not in producer
