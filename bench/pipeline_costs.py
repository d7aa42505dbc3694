"""Benchmark: where a hop's time goes — the bare Kafka round trip and our own processing.

Two figures that bound what a service hop can cost on this machine:

1. **Kafka round trip**: one message produced (``acks=all``, idempotent, no linger) and read
   back by a plain aiokafka consumer on a fresh topic, one at a time, ``--samples`` times:
   p50/p99 of the producer's acknowledgement and of produce→consume. No FastStream, no
   service: the floor of any hop through this broker.
2. **Processing in process**: the features service's handler behind the bus pipeline
   (``MessageProcessor``: decode, handle, encode the output, metrics) on ``--messages``
   synthetic bars, with a sender that acknowledges at once: microseconds per message.

Usage::

    .venv/bin/python bench/pipeline_costs.py [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import numpy as np
from jules.session import start_broker
from jules_contracts.topics import MD_BARS
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_features.handlers import market_data_handler
from jules_runtime.bus.processor import MessageProcessor
from jules_runtime.bus.records import InboundRecord, OutboundMessage, outbound_event
from jules_runtime.service import ServiceMetrics
from machine import describe  # bench/machine.py (scripts run from bench/)
from prometheus_client import CollectorRegistry
from tick_to_order_latency import bar, kafka_round_trip  # the latency benchmark's


class _Acknowledged:
    """A sender whose messages are acknowledged at once (no broker)."""

    async def send(self, messages: object) -> None:
        return None

    async def enqueue(self, messages: object) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def processing(messages: int) -> float:
    """Microseconds per bar through the features service's pipeline, in process."""
    engine = FeatureEngine(FeatureSchema.from_names(["sma_2", "sma_3"]))
    processor = MessageProcessor(
        service="features",
        scope="bench",
        topics=[MD_BARS],
        handler=market_data_handler(engine),
        sender=_Acknowledged(),
        observer=ServiceMetrics("features", CollectorRegistry()),
    )
    records = []
    for i in range(messages):
        message: OutboundMessage = outbound_event(bar(f"SYN{i % 10}.BENCH", i // 10), "bench")
        headers = tuple((k, v.encode()) for k, v in message.headers.items())
        records.append(InboundRecord(message.topic, 0, i, message.key, message.value, headers))
    started = time.perf_counter()
    for record in records:
        await processor.process(record)
    return (time.perf_counter() - started) / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--bootstrap", default=os.environ.get("JULES_KAFKA_BOOTSTRAP"))
    args = parser.parse_args()
    bootstrap = args.bootstrap or start_broker()[0]
    acks, trips = asyncio.run(kafka_round_trip(bootstrap, args.samples))
    per_message = asyncio.run(processing(args.messages))
    print(f"machine: {describe()}")
    for name, values in (("producer ack", acks), ("produce→consume", trips)):
        p50, p99 = np.percentile(values, [50, 99])
        print(f"kafka {name:<16} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  ({len(values)} messages)")
    print(
        f"features pipeline in process: {per_message:,.0f} us per bar "
        f"({1e6 / per_message:,.0f} bars/s on one core)"
    )


if __name__ == "__main__":
    main()
