"""The in-memory bus: deterministic, single-threaded, for unit tests and the embedded node.

Each topic is one append-only partition; each consumer group has a committed offset per
topic. ``drain`` delivers pending messages until none is left, always the oldest message
first (by publication order) and, for one message, subscribers in subscription order. The
same input always gives the same sequence of deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from jules_runtime.bus.base import Bus
from jules_runtime.bus.processor import MessageProcessor
from jules_runtime.bus.records import InboundRecord, OutboundMessage

__all__ = ["InMemoryBus"]


class InMemoryBus(Bus):
    """A bus that keeps every topic in memory. Nothing leaves the process."""

    def __init__(
        self, service: str = "embedded", scope: str | None = None, *, handler_attempts: int = 3
    ):
        super().__init__(service, scope, handler_attempts=handler_attempts)
        self._logs: dict[str, list[tuple[int, InboundRecord]]] = defaultdict(list)
        self._sequence = 0
        self._clock_ms = 0
        self._subscriptions: list[tuple[str, MessageProcessor]] = []
        self._committed: dict[tuple[str, str], int] = defaultdict(int)
        self._running = False

    def _attach(self, processor: MessageProcessor, group: str) -> None:
        for other_group, other in self._subscriptions:
            shared = set(other.topic_names) & set(processor.topic_names)
            if other_group == group and shared:
                raise ValueError(
                    f"group {group!r} already consumes {sorted(shared)}: one subscriber per "
                    "group and topic (Kafka would split the partitions between them)"
                )
        self._subscriptions.append((group, processor))

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        """Append ``messages`` to their topics (acknowledged at once)."""
        for message in messages:
            log = self._logs[message.topic]
            self._sequence += 1
            record = InboundRecord(
                topic=message.topic,
                partition=0,
                offset=len(log),
                key=message.key,
                value=message.value,
                headers=tuple((k, v.encode()) for k, v in message.headers.items()),
                timestamp_ms=self._clock_ms,
            )
            log.append((self._sequence, record))

    async def start(self) -> None:
        """Mark the bus running (``drain`` delivers only while running)."""
        self._running = True

    async def stop(self) -> None:
        """Stop delivering."""
        self._running = False

    async def drain(self, max_deliveries: int | None = None) -> int:
        """Deliver pending messages, oldest first, until none is left.

        Args:
            max_deliveries: Stop after this many deliveries (``None``: until idle).

        Returns:
            How many messages were delivered.
        """
        if not self._running:
            raise RuntimeError("start the bus before draining it")
        delivered = 0
        while max_deliveries is None or delivered < max_deliveries:
            step = self._next_delivery()
            if step is None:
                break
            group, processor, record = step
            await processor.process(record)
            self._committed[(group, record.topic)] = record.offset + 1
            delivered += 1
        return delivered

    def _next_delivery(self) -> tuple[str, MessageProcessor, InboundRecord] | None:
        best: tuple[int, int] | None = None
        choice: tuple[str, MessageProcessor, InboundRecord] | None = None
        for index, (group, processor) in enumerate(self._subscriptions):
            for name in processor.topic_names:
                log = self._logs.get(name, [])
                offset = self._committed[(group, name)]
                if offset < len(log):
                    sequence, record = log[offset]
                    if best is None or (sequence, index) < best:
                        best, choice = (sequence, index), (group, processor, record)
        return choice

    def records(self, topic: str) -> list[InboundRecord]:
        """Every message published to ``topic`` (its full, scoped name), in order."""
        return [record for _, record in self._logs.get(topic, [])]

    def committed(self, group: str, topic: str) -> int:
        """The committed offset of ``group`` on ``topic``."""
        return self._committed[(group, topic)]
