"""The bus: publish events, consume them with a handler, dead-letter what cannot be processed.

Two transports share one processing pipeline (``MessageProcessor``): ``KafkaBus`` for
services and ``InMemoryBus`` for unit tests and the embedded node. ``read_topic`` reads a
topic up to given offsets outside any consumer group (state restored at start-up, reports).
"""

from jules_runtime.bus.base import Bus
from jules_runtime.bus.dedup import DedupStore, MemoryDedupStore, SqliteDedupStore
from jules_runtime.bus.kafka import KafkaBus, ensure_topics
from jules_runtime.bus.memory import InMemoryBus
from jules_runtime.bus.processor import (
    EventRejectedError,
    Handler,
    MessageProcessor,
    ProcessingStats,
)
from jules_runtime.bus.reader import committed_offsets, read_topic
from jules_runtime.bus.records import InboundRecord, OutboundMessage, read_dead_letter
from jules_runtime.bus.redelivery import Redelivery

__all__ = [
    "Bus",
    "DedupStore",
    "EventRejectedError",
    "Handler",
    "InMemoryBus",
    "InboundRecord",
    "KafkaBus",
    "MemoryDedupStore",
    "MessageProcessor",
    "OutboundMessage",
    "ProcessingStats",
    "Redelivery",
    "SqliteDedupStore",
    "committed_offsets",
    "ensure_topics",
    "read_dead_letter",
    "read_topic",
]
