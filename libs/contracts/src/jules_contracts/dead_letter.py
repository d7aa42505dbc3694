"""Dead letters: how a message that could not be processed is kept, with why and where from.

A dead-lettered message goes to ``<topic>.dlq`` unchanged (the original bytes as value, the
original key and headers kept) with the headers below added, so nothing is lost and a fixed
message can be re-driven as it was. ``DeadLetterRecord`` is the typed view of such a message.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from jules_contracts.base import Event, SourceName
from jules_contracts.enums import DeadLetterReason

__all__ = [
    "DLQ_HEADER_ERROR",
    "DLQ_HEADER_OFFSET",
    "DLQ_HEADER_PARTITION",
    "DLQ_HEADER_REASON",
    "DLQ_HEADER_SERVICE",
    "DLQ_HEADER_TIMESTAMP",
    "DLQ_HEADER_TOPIC",
    "DeadLetterRecord",
]

DLQ_HEADER_REASON: Final = "x-dlq-reason"
"""A ``DeadLetterReason`` value."""
DLQ_HEADER_ERROR: Final = "x-dlq-error"
"""The error message, naming the field and value at fault (at most 4 KiB)."""
DLQ_HEADER_TOPIC: Final = "x-dlq-origin-topic"
DLQ_HEADER_PARTITION: Final = "x-dlq-origin-partition"
DLQ_HEADER_OFFSET: Final = "x-dlq-origin-offset"
DLQ_HEADER_TIMESTAMP: Final = "x-dlq-origin-timestamp-ms"
DLQ_HEADER_SERVICE: Final = "x-dlq-service"
"""The service (consumer group) that dead-lettered the message."""


class DeadLetterRecord(Event):
    r"""A message a service could not process, as read back from a dead-letter topic.

    Its ``event_id`` is derived from the origin (topic, partition, offset), so the same
    message dead-lettered twice (after a crash) gives one record.

    Attributes:
        reason: Why it was dead-lettered.
        error: The error message.
        origin_topic: The topic it was read from.
        origin_partition: Its partition there.
        origin_offset: Its offset there.
        key: The original key, as text (``None`` if it had none).
        payload: The original value as text; bytes that are not UTF-8 are kept as
            ``\\xNN`` escapes (``backslashreplace``).
        service: The service that dead-lettered it.
    """

    event_type: Literal["system.dead_letter"] = "system.dead_letter"
    reason: DeadLetterReason
    error: Annotated[str, StringConstraints(max_length=4096)]
    origin_topic: Annotated[str, StringConstraints(min_length=1, max_length=249)]
    origin_partition: Annotated[int, Field(ge=0, strict=True)]
    origin_offset: Annotated[int, Field(ge=0, strict=True)]
    key: str | None = None
    payload: str
    service: SourceName
