"""Record a topic into a Parquet file (an adapter: Kafka and files).

``record_topic`` reads a topic from its beginning with a plain consumer (no consumer group, no
commits: recording never moves a service's offsets), decodes every message into its event,
and stops after ``max_events`` events or once no new message came for ``idle_timeout_s``.
``write_parquet`` writes one row per event with its JSON fields flattened (nested objects
become ``parent.child`` columns; lists, such as book levels, stay Parquet lists); an
existing file is replaced only when asked (``overwrite``). Messages that are not valid events
of the topic are counted by reason and reported, not written.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from aiokafka import AIOKafkaConsumer
from jules_contracts import DecodeError, Event, Topic, decode_event
from jules_contracts.base import format_utc_nanos
from jules_runtime.output_paths import output_file
from jules_runtime.settings import KafkaSettings

__all__ = ["RecordReport", "flatten", "record_topic", "write_parquet"]


@dataclass
class RecordReport:
    """What a recording read.

    Attributes:
        topic: The (scoped) topic read.
        events: The events decoded, in the order read.
        undecodable: Messages that are not valid events of the topic, by reason.
        wall_seconds: How long reading took.
    """

    topic: str
    events: list[Event] = field(default_factory=list)
    undecodable: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0

    def lines(self, output: Path) -> list[str]:
        """The report for people."""
        lines = [f"recorded {len(self.events)} event(s) from {self.topic} to {output}"]
        if self.events:
            lines.append(
                f"event time {format_utc_nanos(self.events[0].event_time)} .. "
                f"{format_utc_nanos(self.events[-1].event_time)}"
            )
        if self.undecodable:
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.undecodable.items()))
            lines.append(f"skipped {sum(self.undecodable.values())} message(s): {reasons}")
        return lines


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects into ``parent.child`` keys (lists are kept as they are)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            flat.update(flatten(item, name + "."))
        else:
            flat[name] = item
    return flat


def write_parquet(
    events: Sequence[Event], output: Path, *, topic: str | None = None, overwrite: bool = False
) -> int:
    """Write one row per event, its JSON fields flattened, to ``output`` (atomically).

    Columns are the union of the events' fields in order of first appearance; a field an
    event lacks is null. The file's metadata names the topic.

    Args:
        events: The events, one row each.
        output: The Parquet file.
        topic: The topic named in the file's metadata.
        overwrite: Replace ``output`` if it exists.

    Returns:
        The number of rows written.

    Raises:
        jules_runtime.output_paths.OutputRefusedError: ``output`` exists (without
            ``overwrite``) or is a folder; nothing was written.
    """
    rows = [flatten(event.model_dump(mode="json")) for event in events]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    table = pa.table({name: pa.array([row.get(name) for row in rows]) for name in columns})
    if topic is not None:
        table = table.replace_schema_metadata({"jules.topic": topic})
    with output_file(output, overwrite=overwrite) as partial:
        pq.write_table(table, partial)
    return len(rows)


async def record_topic(
    kafka: KafkaSettings,
    topic: Topic,
    scope: str | None,
    *,
    max_events: int | None = None,
    idle_timeout_s: float = 5.0,
    client_id: str = "jules-market-data-recorder",
) -> RecordReport:
    """Read ``topic`` (within ``scope``) from the beginning into events.

    Args:
        kafka: Client options.
        topic: The topic.
        scope: Run scope of the topic name; ``None`` for the live topic.
        max_events: Stop after this many events (``None``: no limit).
        idle_timeout_s: Stop once no message arrived for this long.
        client_id: Kafka client id.

    Returns:
        The events read, in order, and the messages skipped by reason.
    """
    name = topic.scoped(scope)
    report = RecordReport(topic=name)
    consumer = AIOKafkaConsumer(
        name,
        **kafka.connection(client_id),
        group_id=None,
        enable_auto_commit=False,
        **kafka.fetching(),
        auto_offset_reset="earliest",
        max_poll_records=kafka.max_poll_records,
    )
    started = time.monotonic()
    await consumer.start()
    try:
        last_data = time.monotonic()
        while max_events is None or len(report.events) < max_events:
            idle = time.monotonic() - last_data
            if idle >= idle_timeout_s:
                break
            wait_ms = max(1, int(min(0.5, idle_timeout_s - idle) * 1000))
            batches = await consumer.getmany(timeout_ms=wait_ms)
            for records in batches.values():
                if records:
                    last_data = time.monotonic()
                for record in records:
                    if max_events is not None and len(report.events) >= max_events:
                        break
                    try:
                        event = decode_event(record.value or b"", allowed=topic.event_types)
                    except DecodeError as exc:
                        report.undecodable[exc.reason.value] += 1
                        continue
                    report.events.append(event)
    finally:
        await consumer.stop()
        report.wall_seconds = time.monotonic() - started
    return report
