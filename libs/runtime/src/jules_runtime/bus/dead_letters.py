"""What the dead-letter topics hold, one entry per message that was dead-lettered.

A message is dead-lettered before its offset is committed, so a service that dies in between
reads it again after its restart and dead-letters it again: the DLQ may hold copies. Each
dead letter carries its origin (topic, partition, offset) in its headers, from which
``read_dead_letter`` derives the id of its ``DeadLetterRecord``; ``collect_dead_letters``
keeps one record per id and counts the copies. ``read_dead_letters`` reads DLQs from the
broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from jules_contracts import DeadLetterRecord

from jules_runtime.bus.reader import read_records
from jules_runtime.bus.records import InboundRecord, read_dead_letter
from jules_runtime.settings import KafkaSettings

__all__ = ["DeadLetters", "collect_dead_letters", "read_dead_letters"]


@dataclass
class DeadLetters:
    """The dead letters read, deduplicated by origin.

    Attributes:
        letters: One record per message dead-lettered, in the order first read.
        copies: How many dead letters the DLQs hold, per record id (1 for most).
        foreign: Messages on the DLQs without the dead-letter headers (not written by a
            service of the platform), by DLQ.
    """

    letters: list[DeadLetterRecord] = field(default_factory=list)
    copies: dict[str, int] = field(default_factory=dict)
    foreign: dict[str, int] = field(default_factory=dict)

    @property
    def repeated(self) -> int:
        """Dead letters beyond the first of their message (dead-lettered again after a crash)."""
        return sum(count - 1 for count in self.copies.values())


def collect_dead_letters(records: Iterable[InboundRecord]) -> DeadLetters:
    """Deduplicate ``records`` (read from dead-letter topics) by their origin."""
    found = DeadLetters()
    for record in records:
        try:
            letter = read_dead_letter(record)
        except ValueError:
            found.foreign[record.topic] = found.foreign.get(record.topic, 0) + 1
            continue
        seen = found.copies.get(letter.event_id, 0)
        if not seen:
            found.letters.append(letter)
        found.copies[letter.event_id] = seen + 1
    return found


async def read_dead_letters(
    kafka: KafkaSettings, dlqs: Sequence[str], *, timeout_s: float | None = None
) -> DeadLetters:
    """Read the dead-letter topics ``dlqs`` up to their ends (now), deduplicated by origin.

    A topic that does not exist reads as empty (it is not created).

    Raises:
        TimeoutError: A topic could not be read to its end within ``timeout_s``.
    """
    records: list[InboundRecord] = []
    for dlq in dlqs:
        records += await read_records(kafka, dlq, client_id="jules-dlq", timeout_s=timeout_s)
    return collect_dead_letters(records)
