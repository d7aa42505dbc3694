"""What a lockstep service has read, cut into steps by in-band watermarks (pure, no I/O).

Kafka keeps order within a partition only, so every producer of a data topic of a run writes a
``Watermark`` into *every* partition of the topic after its outputs for an event time ``t``. A
partition's messages between two watermarks form a *segment*; the segments of all partitions
of a topic up to watermark ``t`` hold every event the producer made up to ``t``.

``StepBuffer`` collects what a lockstep service reads, dropping what it has seen before (a
producer that restarted and publishes again, or two replicas publishing the same events: first
occurrences keep their order) and hands out segments by watermark.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from jules_contracts import Event, Topic, Watermark
from jules_contracts.base import derive_event_id

__all__ = [
    "END_OF_TIME",
    "Replica",
    "Stamped",
    "StepBuffer",
    "by_instrument",
    "in_step_order",
    "make_watermark",
]

END_OF_TIME = 2**63 - 1
"""Beyond every event time (to take what is left of a stream)."""


@dataclass(frozen=True, slots=True)
class Stamped:
    """An event as read: its position in its producer's step (if given) and arrival order."""

    event: Event
    sequence: int | None
    arrival: int


@dataclass(slots=True)
class _Segment:
    watermark: int
    final: bool
    items: list[Stamped]


@dataclass(slots=True)
class _Partition:
    pending: list[Stamped] = field(default_factory=list)
    segments: deque[_Segment] = field(default_factory=deque)
    frontier: int | None = None
    final: bool = False


class StepBuffer:
    """What a lockstep service has read, cut into segments by in-band watermarks.

    Args:
        partitions: The partitions read of each topic (unscoped name): all of them, or a
            replica's share.
    """

    def __init__(self, partitions: Mapping[str, Iterable[int]]) -> None:
        self._partitions = {
            topic: {number: _Partition() for number in numbers}
            for topic, numbers in partitions.items()
        }
        self._seen: set[str] = set()
        self._arrivals = 0
        self.duplicates = 0
        """How many events were dropped as already seen."""
        self.late = 0
        """How many events came after their partition's final watermark (and were dropped)."""

    def add(self, topic: str, partition: int, event: Event, sequence: int | None = None) -> bool:
        """Take one message of ``topic``/``partition``.

        Returns:
            ``False`` when it was dropped: an event seen before (by ``event_id``) or after the
            partition's final watermark, or a watermark not beyond the partition's frontier.
        """
        state = self._partitions[topic][partition]
        if isinstance(event, Watermark):
            repeat = state.frontier is not None and event.watermark <= state.frontier
            if state.final or (repeat and not event.final):
                return False
            state.segments.append(_Segment(event.watermark, event.final, state.pending))
            state.pending = []
            state.frontier = max(event.watermark, state.frontier or event.watermark)
            state.final = event.final
            return True
        if event.event_id in self._seen:
            self.duplicates += 1
            return False
        if state.final:  # after its producer's last watermark: nothing takes it any more
            self.late += 1
            return False
        self._seen.add(event.event_id)
        self._arrivals += 1
        state.pending.append(Stamped(event, sequence, self._arrivals))
        return True

    def frontier(self, topic: str) -> int | None:
        """The lowest watermark over the topic's partitions (``None`` until all have one)."""
        frontiers = [state.frontier for state in self._partitions[topic].values()]
        if any(value is None for value in frontiers):
            return None
        return min(value for value in frontiers if value is not None)

    def reached(self, topic: str, time: int) -> bool:
        """Whether every partition of ``topic`` has a watermark at or beyond ``time``."""
        frontier = self.frontier(topic)
        return frontier is not None and frontier >= time

    def is_final(self, topic: str) -> bool:
        """Whether every partition of ``topic`` got its producer's final watermark."""
        return all(state.final for state in self._partitions[topic].values())

    def next_watermark(self, topic: str) -> int | None:
        """The earliest watermark of a segment not taken yet, over the topic's partitions."""
        heads = [
            state.segments[0].watermark
            for state in self._partitions[topic].values()
            if state.segments and not state.segments[0].final
        ]
        return min(heads) if heads else None

    def take(self, topic: str, upto: int, *, final: bool = False) -> list[Stamped]:
        """Remove and return the events of the segments with watermark ``<= upto``.

        A final segment (after the producer's last step) is taken only with ``final=True``.
        Events come partition by partition, each partition's in the order read.
        """
        taken: list[Stamped] = []
        for state in self._partitions[topic].values():
            while state.segments and state.segments[0].watermark <= upto:
                if state.segments[0].final and not final:
                    break
                taken.extend(state.segments.popleft().items)
        return taken


def in_step_order(items: Iterable[Stamped]) -> list[Event]:
    """Events of one lockstep producer's step in the order it made them (``jules-seq``)."""
    return [item.event for item in sorted(items, key=lambda i: (i.sequence or 0, i.arrival))]


def by_instrument(items: Iterable[Stamped]) -> list[Event]:
    """Events by instrument id, each instrument's in the order read (its partition's order)."""
    return [
        item.event
        for item in sorted(
            items, key=lambda i: (str(getattr(i.event, "instrument_id", "")), i.arrival)
        )
    ]


def make_watermark(
    service: str, topic: Topic, partition: int, time: int, *, final: bool
) -> Watermark:
    """The watermark ``service`` writes into ``partition`` of ``topic`` after its step ``time``."""
    return Watermark(
        event_id=derive_event_id("system.watermark", service, topic.name, partition, time, final),
        source=service,
        event_time=time,
        service=service,
        stream=topic.name,
        partition=partition,
        watermark=time,
        final=final,
    )


@dataclass(frozen=True)
class Replica:
    """One of ``count`` replicas of a partitioned service: it owns partitions ``index mod count``.

    Every topic of a run has the same partition count and keys, so the partitions a replica
    owns hold the same instruments on every topic it reads and writes.
    """

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"replica {self.index} of {self.count} does not exist")

    def owns(self, partition: int) -> bool:
        """Whether this replica reads and writes ``partition``."""
        return partition % self.count == self.index
