"""The bus: publish events, consume them with a handler, dead-letter what cannot be processed.

Two transports share one processing pipeline (``MessageProcessor``): ``KafkaBus`` for
services and ``InMemoryBus`` for unit tests and the embedded node.
"""

from jules_runtime.bus.base import Bus
from jules_runtime.bus.dedup import DedupStore, MemoryDedupStore, SqliteDedupStore
from jules_runtime.bus.kafka import KafkaBus, ensure_topics
from jules_runtime.bus.memory import InMemoryBus
from jules_runtime.bus.processor import Handler, MessageProcessor, ProcessingStats
from jules_runtime.bus.redelivery import Redelivery
from jules_runtime.bus.records import InboundRecord, OutboundMessage, read_dead_letter

__all__ = [
    "Bus",
    "DedupStore",
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
    "ensure_topics",
    "read_dead_letter",
]
