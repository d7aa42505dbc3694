"""Messages as they travel on a bus, and the headers that go with them.

An event travels as a JSON body with its envelope repeated in CloudEvents binary-mode
headers (``ce_id``, ``ce_type`` …). A dead-lettered message keeps its original bytes, key and
headers, and gains the ``x-dlq-*`` headers of ``jules_contracts.dead_letter``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from jules_contracts import Event, Topic, encode_event, topic_for
from jules_contracts.base import CONTRACTS_NAMESPACE, derive_event_id, format_utc_nanos
from jules_contracts.dead_letter import (
    DLQ_HEADER_ERROR,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_SERVICE,
    DLQ_HEADER_TIMESTAMP,
    DLQ_HEADER_TOPIC,
    DeadLetterRecord,
)
from jules_contracts.enums import DeadLetterReason

__all__ = [
    "CONTENT_TYPE_JSON",
    "ORIGIN_HEADER",
    "SENT_HEADER",
    "SEQUENCE_HEADER",
    "InboundRecord",
    "OutboundMessage",
    "dead_letter_message",
    "outbound_event",
    "read_dead_letter",
]

CONTENT_TYPE_JSON = "application/json"
SENT_HEADER = "jules-sent-ns"
"""Wall-clock time (Unix ns) at which the producing service published the message."""
ORIGIN_HEADER = "jules-origin-ns"
"""Wall-clock publication time (Unix ns) of the market event that started the chain.

A service copies it from the message it handles to every output (or, when the input has
none, takes the input's ``jules-sent-ns``), so any hop can tell how long ago the tick that
caused it was published: at the order-router, tick-to-order latency."""
SEQUENCE_HEADER = "jules-seq"
"""Position of an event among the outputs of one lockstep step of its producer (backtests)."""


_MAX_NS = 2**63 - 1
"""The latest time a header may carry (int64 nanoseconds)."""


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """A message as consumed: where it came from and its raw bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int = 0

    def origin_ns(self) -> int | None:
        """When the market event that started this message's chain was published.

        The ``jules-origin-ns`` header, else this message's own ``jules-sent-ns``; ``None``
        if neither is there or it is not a time in int64 nanoseconds. The header is
        informational (latency metrics): a producer's malformed value (``"²"``, which
        ``str.isdigit`` accepts and ``int`` refuses, or thousands of digits) must never make
        the message, or its dead letter, fail.
        """
        value = self.header(ORIGIN_HEADER) or self.header(SENT_HEADER)
        if not value or not value.isascii() or not value.isdigit() or len(value) > 19:
            return None
        nanos = int(value)
        return nanos if nanos <= _MAX_NS else None

    def header(self, name: str) -> str | None:
        """Return the last value of header ``name`` as text, or ``None``."""
        for key, value in reversed(self.headers):
            if key == name:
                return value.decode("utf-8", "backslashreplace")
        return None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to publish."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]
    correlation_id: str | None = None
    partition: int | None = None
    """An explicit partition (in-band watermarks); ``None``: the key decides."""
    tombstone: bool = False
    """Sent with no value at all (``value`` is not sent): a compacted topic drops the key."""

    @property
    def payload(self) -> bytes | None:
        """What the producer sends as the value: ``None`` for a tombstone."""
        return None if self.tombstone else self.value


def outbound_event(
    event: Event,
    scope: str | None,
    topic: Topic | None = None,
    *,
    sequence: int | None = None,
    origin_ns: int | None = None,
    partition: int | None = None,
) -> OutboundMessage:
    """Encode an event for its topic (within ``scope``), with CloudEvents headers.

    ``topic`` overrides the event's own topic (an in-band watermark goes to a data topic)
    and ``partition`` the key's partition. ``sequence`` adds the ``jules-seq`` header
    (lockstep step outputs), ``origin_ns`` the ``jules-origin-ns`` header; ``jules-sent-ns``
    is the wall clock now.
    """
    spec = topic or topic_for(event)
    key = spec.key_for(event)
    headers = {
        "content-type": CONTENT_TYPE_JSON,
        "ce_specversion": "1.0",
        "ce_id": event.event_id,
        "ce_source": event.source,
        "ce_type": f"{CONTRACTS_NAMESPACE}.{event.event_type}",
        "ce_time": format_utc_nanos(event.event_time),
        "ce_subject": key,
        "ce_schemaversion": str(event.schema_version),
        "ce_correlationid": event.chain_id,
    }
    if event.causation_id is not None:
        headers["ce_causationid"] = event.causation_id
    headers[SENT_HEADER] = str(time.time_ns())
    if origin_ns is not None:
        headers[ORIGIN_HEADER] = str(origin_ns)
    if sequence is not None:
        headers[SEQUENCE_HEADER] = str(sequence)
    return OutboundMessage(
        topic=spec.scoped(scope),
        key=key.encode() if key else None,
        value=encode_event(event),
        headers=headers,
        correlation_id=event.chain_id,
        partition=partition,
    )


def dead_letter_message(
    record: InboundRecord, reason: DeadLetterReason, error: str, service: str
) -> OutboundMessage:
    """Build the dead-letter message of ``record``: its bytes unchanged, with why and whence."""
    headers = {key: value.decode("utf-8", "backslashreplace") for key, value in record.headers}
    headers.update(
        {
            DLQ_HEADER_REASON: reason.value,
            DLQ_HEADER_ERROR: error[:4096],
            DLQ_HEADER_TOPIC: record.topic,
            DLQ_HEADER_PARTITION: str(record.partition),
            DLQ_HEADER_OFFSET: str(record.offset),
            DLQ_HEADER_TIMESTAMP: str(record.timestamp_ms),
            DLQ_HEADER_SERVICE: service,
        }
    )
    return OutboundMessage(
        topic=record.topic + ".dlq", key=record.key, value=record.value, headers=headers
    )


def read_dead_letter(record: InboundRecord) -> DeadLetterRecord:
    """Turn a message read from a dead-letter topic into a ``DeadLetterRecord``.

    Raises:
        ValueError: The message lacks the dead-letter headers.
    """
    topic = record.header(DLQ_HEADER_TOPIC)
    partition = record.header(DLQ_HEADER_PARTITION)
    offset = record.header(DLQ_HEADER_OFFSET)
    reason = record.header(DLQ_HEADER_REASON)
    if topic is None or partition is None or offset is None or reason is None:
        raise ValueError(
            f"{record.topic}@{record.offset} is not a dead letter: x-dlq-* headers missing"
        )
    timestamp_ms = int(record.header(DLQ_HEADER_TIMESTAMP) or record.timestamp_ms)
    return DeadLetterRecord(
        event_id=derive_event_id("system.dead_letter", topic, partition, offset),
        source=record.header(DLQ_HEADER_SERVICE) or "unknown",
        event_time=timestamp_ms * 1_000_000,
        reason=DeadLetterReason(reason),
        error=record.header(DLQ_HEADER_ERROR) or "",
        origin_topic=topic,
        origin_partition=int(partition),
        origin_offset=int(offset),
        key=None if record.key is None else record.key.decode("utf-8", "backslashreplace"),
        payload=record.value.decode("utf-8", "backslashreplace"),
        service=record.header(DLQ_HEADER_SERVICE) or "unknown",
    )
