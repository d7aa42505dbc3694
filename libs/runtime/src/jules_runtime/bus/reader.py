"""Read a topic from its beginning up to given offsets, outside any consumer group.

For state restored at start-up (the control commands a service's consumer group already
processed: ``committed_offsets`` then ``read_topic`` up to them) and for reports on what a
topic holds now (``read_topic`` up to its end offsets; ``read_records`` for the records as
they are, such as dead letters). The partitions are assigned to a
consumer without a group, so reading commits nothing and moves no group's position.

Records that cannot be decoded, or hold an event type the caller does not accept, are left
out: on a service's topics they were dead-lettered when they were consumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from jules_contracts import DecodeError, Event, decode_event

from jules_runtime.bus.kafka import admin_client, inbound_record
from jules_runtime.bus.records import InboundRecord
from jules_runtime.logging import logger
from jules_runtime.settings import KafkaSettings

__all__ = ["committed_offsets", "end_offsets", "read_records", "read_topic"]

_POLL_MS = 500


async def committed_offsets(
    kafka: KafkaSettings,
    group: str,
    *,
    client_id: str,
    topic: str | None = None,
    timeout_s: float | None = None,
) -> dict[TopicPartition, int]:
    """The offsets a consumer group has committed, without joining the group.

    A new cluster may have no group coordinator yet: retriable errors are retried (every
    ``retry_backoff_ms``) until ``timeout_s``.

    Args:
        kafka: Client options.
        group: The consumer group.
        client_id: The Kafka client id.
        topic: Only this topic's partitions (``None``: every topic of the group).
        timeout_s: How long to retry (default: ``kafka.request_timeout_ms``).

    Returns:
        The next offset the group will read, per partition it has committed.

    Raises:
        KafkaError: A non-retriable error, or a retriable one still failing at the timeout.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _timeout(kafka, timeout_s)
    async with admin_client(kafka, client_id) as admin:
        while True:
            try:
                committed = await admin.list_consumer_group_offsets(group)
                break
            except KafkaError as error:
                if not error.retriable or loop.time() > deadline:
                    raise
                await asyncio.sleep(kafka.retry_backoff_ms / 1000)
    return {tp: meta.offset for tp, meta in committed.items() if topic is None or tp.topic == topic}


async def read_topic(
    kafka: KafkaSettings,
    topic: str,
    *,
    client_id: str,
    upto: Mapping[TopicPartition, int] | None = None,
    allowed: Collection[type[Event]] | None = None,
    timeout_s: float | None = None,
) -> list[Event]:
    """Read ``topic`` from its beginning up to ``upto``; return its events in order.

    Args:
        kafka: Client options.
        topic: The full topic name (run scope included).
        client_id: The Kafka client id.
        upto: Per partition of ``topic``, the offset to stop before (a partition not listed
            is not read). ``None``: every partition up to its end offset now; a topic that
            does not exist then reads as empty (it is not created).
        allowed: Event classes kept; other events are left out. ``None`` keeps every event.
        timeout_s: How long the whole read may take (default: ``kafka.request_timeout_ms``).

    Returns:
        The events, partition by partition (in partition order), each in offset order.

    Raises:
        ValueError: ``upto`` names a partition of another topic.
        TimeoutError: The partitions could not be read up to their offsets in time.
    """
    records = await read_records(kafka, topic, client_id=client_id, upto=upto, timeout_s=timeout_s)
    found: list[Event] = []
    skipped: dict[str, int] = {}
    for record in records:
        try:
            found.append(decode_event(record.value, allowed=allowed))
        except DecodeError as error:
            skipped[error.reason.value] = skipped.get(error.reason.value, 0) + 1
    if skipped:  # dead-lettered when they were consumed; said here, never dropped silently
        logger.warning("undecodable messages skipped", topic=topic, **skipped)
    return found


async def read_records(
    kafka: KafkaSettings,
    topic: str,
    *,
    client_id: str,
    upto: Mapping[TopicPartition, int] | None = None,
    timeout_s: float | None = None,
) -> list[InboundRecord]:
    """Read ``topic``'s records as they are (undecoded), as ``read_topic`` reads its events.

    Raises:
        ValueError: ``upto`` names a partition of another topic.
        TimeoutError: The partitions could not be read up to their offsets in time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _timeout(kafka, timeout_s)
    if upto is not None:
        others = sorted({tp.topic for tp in upto if tp.topic != topic})
        if others:
            raise ValueError(f"offsets of {', '.join(others)} given to read {topic}")
        if all(end <= 0 for end in upto.values()):
            return []
        partitions = list(upto)
    else:
        partitions = await _partitions(kafka, topic, client_id)
        if not partitions:
            return []
    consumer = AIOKafkaConsumer(
        **kafka.connection(client_id),
        **kafka.fetching(),
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        ends = dict(upto) if upto is not None else await consumer.end_offsets(partitions)
        todo = sorted(tp for tp in partitions if ends[tp] > 0)
        if not todo:
            return []
        consumer.assign(todo)
        await consumer.seek_to_beginning(*todo)
        found: dict[TopicPartition, list[InboundRecord]] = {tp: [] for tp in todo}
        while todo:
            if loop.time() > deadline:
                raise TimeoutError(f"{topic} could not be read up to offsets {ends}")
            batch = await consumer.getmany(*todo, timeout_ms=_POLL_MS)
            for tp, records in batch.items():
                found[tp].extend(inbound_record(r) for r in records if r.offset < ends[tp])
            todo = [tp for tp in todo if await consumer.position(tp) < ends[tp]]
        return [record for tp in sorted(found) for record in found[tp]]
    finally:
        await consumer.stop()


async def end_offsets(
    kafka: KafkaSettings, topic: str, *, client_id: str
) -> dict[TopicPartition, int]:
    """The end offset of each partition of ``topic`` now (none if it does not exist)."""
    partitions = await _partitions(kafka, topic, client_id)
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(**kafka.connection(client_id), group_id=None)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _partitions(kafka: KafkaSettings, topic: str, client_id: str) -> list[TopicPartition]:
    """The partitions of ``topic`` (none if it does not exist), from the admin client.

    Asking the admin client, not a consumer's metadata, never creates the topic.
    """
    async with admin_client(kafka, client_id) as admin:
        described = await admin.describe_topics([topic])
    return [
        TopicPartition(topic, int(partition["partition"]))
        for entry in described
        if entry.get("error_code", 0) == 0
        for partition in entry["partitions"]
    ]


def _timeout(kafka: KafkaSettings, timeout_s: float | None) -> float:
    return kafka.request_timeout_ms / 1000 if timeout_s is None else timeout_s
