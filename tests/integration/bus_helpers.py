"""Helpers for tests that drive the bus against a real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from jules_contracts import ALL_TOPICS
from jules_runtime.bus import ensure_topics
from jules_runtime.settings import KafkaSettings


def new_scope() -> str:
    """A fresh run scope, so tests never share topics or consumer groups."""
    return f"it-{uuid.uuid4().hex[:10]}"


async def create_scoped_topics(settings: KafkaSettings, scope: str, partitions: int = 1) -> None:
    """Create every topic of the platform, and its dead-letter topic, within ``scope``."""
    names = [
        name for topic in ALL_TOPICS for name in (topic.scoped(scope), topic.scoped_dlq(scope))
    ]
    await ensure_topics(settings, names, partitions=partitions)


async def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Wait until ``condition()`` holds; fail the test after ``timeout_s``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(0.05)


async def read_topic(
    bootstrap: str, topic: str, expected: int, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning with a plain consumer until ``expected`` messages came.

    Returns every message read (more than ``expected`` if more arrive in the same fetch).
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(records) < expected:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{topic}: {len(records)} of {expected} messages arrived")
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
        return records
    finally:
        await consumer.stop()
