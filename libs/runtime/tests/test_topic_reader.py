"""read_topic and committed_offsets against a fake aiokafka consumer and admin client.

The broker's side (offsets, fetches, group coordinators) is covered on a real broker by the
integration tests that restore the risk service's control state and read shadow signals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError
from aiokafka.structs import OffsetAndMetadata
from jules_contracts import Event, encode_event
from jules_contracts.control import ChangeConfig, EngageKillSwitch, SwapModel
from jules_contracts.examples import example_events
from jules_runtime.bus import committed_offsets, read_topic
from jules_runtime.bus import reader as reader_module
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaSettings

TOPIC = "bt-run.control.v1"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
KAFKA = KafkaSettings(bootstrap_servers="broker:9092", retry_backoff_ms=10)


def _example(cls: type[Event]) -> Event:
    return next(e for e in example_events() if isinstance(e, cls))


def _variant(cls: type[Event], key: str) -> Event:
    event = _example(cls)
    return event.model_copy(update={"event_id": f"{event.event_id[: -len(key)]}{key}"})


ENGAGE, CHANGE, SWAP = _example(EngageKillSwitch), _example(ChangeConfig), _example(SwapModel)
ENGAGE_2 = _variant(EngageKillSwitch, "2")


@dataclass
class FakeKafka:
    """What the fake clients see: the log per partition, the topics, the group's offsets."""

    log: dict[TopicPartition, list[bytes]]
    partitions: dict[str, list[int]]
    offsets: dict[TopicPartition, OffsetAndMetadata] = field(default_factory=dict)
    failures: list[Exception] = field(default_factory=list)
    """Errors the next offset listings raise, in order."""
    fetch_nothing: bool = False
    consumers: list[FakeConsumer] = field(default_factory=list)
    admin_client_ids: list[str] = field(default_factory=list)


class FakeConsumer:
    """An assigned consumer over the fake log; fetches two records per partition."""

    def __init__(self, kafka: FakeKafka, **options: Any) -> None:
        self.kafka = kafka
        self.options = options
        self.positions: dict[TopicPartition, int] = {}
        self.stopped = False
        kafka.consumers.append(self)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.kafka.log.get(tp, [])) for tp in partitions}

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.positions = dict.fromkeys(partitions, -1)

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.positions[tp] = 0

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int) -> dict[Any, Any]:
        await asyncio.sleep(0.001)
        if self.kafka.fetch_nothing:
            return {}
        batch = {}
        for tp in sorted(partitions, reverse=True):  # the broker's order is not the result's
            start = self.positions[tp]
            values = self.kafka.log.get(tp, [])[start : start + 2]
            if values:
                batch[tp] = [
                    SimpleNamespace(
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=start + i,
                        key=None,
                        value=value,
                        headers=[],
                        timestamp=0,
                    )
                    for i, value in enumerate(values)
                ]
                self.positions[tp] = start + len(values)
        return batch

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]


class FakeAdmin:
    def __init__(self, kafka: FakeKafka) -> None:
        self.kafka = kafka

    async def describe_topics(self, topics: list[str]) -> list[dict[str, Any]]:
        described = []
        for topic in topics:
            partitions = self.kafka.partitions.get(topic)
            error = 0 if partitions is not None else 3  # UNKNOWN_TOPIC_OR_PARTITION
            rows = [{"partition": p} for p in partitions or []]
            described.append({"topic": topic, "error_code": error, "partitions": rows})
        return described

    async def list_consumer_group_offsets(self, group: str) -> dict[Any, OffsetAndMetadata]:
        if self.kafka.failures:
            raise self.kafka.failures.pop(0)
        return dict(self.kafka.offsets)


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeKafka:
    fake = FakeKafka(
        log={
            P0: [encode_event(ENGAGE), b"not json", encode_event(CHANGE), encode_event(SWAP)],
            P1: [encode_event(ENGAGE_2), b'{"event_type": "nope"}'],
        },
        partitions={TOPIC: [1, 0]},
    )

    @contextlib.asynccontextmanager
    async def admin_client(settings: KafkaSettings, client_id: str) -> AsyncIterator[FakeAdmin]:
        fake.admin_client_ids.append(client_id)
        yield FakeAdmin(fake)

    monkeypatch.setattr(reader_module, "AIOKafkaConsumer", partial(FakeConsumer, fake))
    monkeypatch.setattr(reader_module, "admin_client", admin_client)
    return fake


async def test_reads_each_partition_to_its_end_in_partition_order(broker: FakeKafka) -> None:
    events = await read_topic(KAFKA, TOPIC, client_id="jules-report")

    assert events == [ENGAGE, CHANGE, SWAP, ENGAGE_2]  # undecodable records left out
    [consumer] = broker.consumers
    assert consumer.stopped
    assert consumer.options == {
        **KAFKA.connection("jules-report"),
        **KAFKA.fetching(),
        "group_id": None,
        "enable_auto_commit": False,
    }
    assert broker.admin_client_ids == ["jules-report"]


async def test_reads_up_to_the_given_offsets_only(broker: FakeKafka) -> None:
    events = await read_topic(KAFKA, TOPIC, client_id="c", upto={P0: 3, P1: 0})

    assert events == [ENGAGE, CHANGE]  # offset 3 of partition 0 is past the end; P1 not read
    assert list(broker.consumers[0].positions) == [P0]
    assert broker.admin_client_ids == []  # the offsets say which partitions: no admin needed


async def test_only_the_allowed_event_types_are_kept(broker: FakeKafka) -> None:
    kept = await read_topic(KAFKA, TOPIC, client_id="c", allowed=(EngageKillSwitch, ChangeConfig))

    assert kept == [ENGAGE, CHANGE, ENGAGE_2]


async def test_a_topic_that_does_not_exist_or_is_empty_reads_as_empty(broker: FakeKafka) -> None:
    assert await read_topic(KAFKA, "bt-run.missing.v1", client_id="c") == []
    assert broker.consumers == []
    broker.log = {}
    assert await read_topic(KAFKA, TOPIC, client_id="c") == []
    assert broker.consumers[0].stopped
    assert await read_topic(KAFKA, TOPIC, client_id="c", upto={P0: 0}) == []
    assert await read_topic(KAFKA, TOPIC, client_id="c", upto={}) == []
    assert len(broker.consumers) == 1  # nothing to read: no consumer started


async def test_offsets_of_another_topic_are_refused(broker: FakeKafka) -> None:
    with pytest.raises(ValueError, match="signals"):
        await read_topic(KAFKA, TOPIC, client_id="c", upto={TopicPartition("signals.v1", 0): 1})


async def test_a_read_that_cannot_reach_the_offsets_times_out(broker: FakeKafka) -> None:
    broker.fetch_nothing = True

    with pytest.raises(TimeoutError, match=TOPIC):
        await read_topic(KAFKA, TOPIC, client_id="c", timeout_s=0.02)
    assert broker.consumers[0].stopped


async def test_committed_offsets_of_a_topic_retried_while_no_coordinator(broker: FakeKafka) -> None:
    other = TopicPartition("bt-run.md.bars.v1", 0)
    broker.offsets = {P0: OffsetAndMetadata(3, ""), other: OffsetAndMetadata(9, "")}
    broker.failures = [CoordinatorNotAvailableError(), CoordinatorNotAvailableError()]

    offsets = await committed_offsets(KAFKA, "g", client_id="c-restore", topic=TOPIC)

    assert offsets == {P0: 3}
    assert broker.failures == []
    assert await committed_offsets(KAFKA, "g", client_id="c") == {P0: 3, other: 9}


async def test_committed_offsets_raise_fatal_or_lasting_errors(broker: FakeKafka) -> None:
    broker.failures = [GroupAuthorizationFailedError()]
    with pytest.raises(GroupAuthorizationFailedError):
        await committed_offsets(KAFKA, "g", client_id="c")
    broker.failures = [CoordinatorNotAvailableError()] * 100
    with pytest.raises(CoordinatorNotAvailableError):
        await committed_offsets(KAFKA, "g", client_id="c", timeout_s=0.02)


async def test_undecodable_messages_left_out_are_logged_with_their_count(
    broker: FakeKafka,
) -> None:
    warnings: list[dict[str, object]] = []
    sink = logger.add(lambda message: warnings.append(message.record["extra"]), level="WARNING")
    try:
        await read_topic(KAFKA, TOPIC, client_id="jules-report")
    finally:
        logger.remove(sink)

    assert warnings
    assert warnings[-1]["topic"] == TOPIC
    counts = [v for k, v in warnings[-1].items() if k != "topic" and isinstance(v, int)]
    assert sum(counts) == 2  # "not json" and an unknown event type
