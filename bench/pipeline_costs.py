"""Benchmark: where a hop's time goes — the bare Kafka round trip and our own processing.

Two figures that bound what a service hop can cost on this machine:

1. **Kafka round trip**: one message produced (``acks=all``, idempotent, no linger) and read
   back by a plain aiokafka consumer on a fresh topic, one at a time, ``--samples`` times:
   p50/p99 of the producer's acknowledgement and of produce→consume. No FastStream, no
   service: the floor of any hop through this broker. Beside it, the CPU microseconds per
   message of producing and consuming a flood, and the same figures for confluent-kafka
   (librdkafka; ``bench/confluent_round_trip.py``).
2. **Processing in process**: the features service's handler behind the bus pipeline
   (``MessageProcessor``: decode, handle, encode the output, metrics) on ``--messages``
   synthetic bars, with a sender that acknowledges at once: microseconds per message.
3. **Through the bus**: the same handler behind ``KafkaBus`` on the broker, consuming a backlog
   of ``--bus-bars`` bars in batches (outputs published and acknowledged, offsets committed):
   bars per second, with each client (``KafkaSettings.client``). And the audit's canonical
   JSON of a bar, in microseconds.

Usage::

    .venv/bin/python bench/pipeline_costs.py [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import timeit
from typing import get_args

import numpy as np
from confluent_round_trip import round_trips  # bench/confluent_round_trip.py
from jules.session import start_broker
from jules_contracts.topics import FEATURES, MD_BARS
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_features.handlers import market_data_handler
from jules_runtime.bus import KafkaBus, ensure_topics
from jules_runtime.bus.processor import MessageProcessor
from jules_runtime.bus.records import InboundRecord, OutboundMessage, outbound_event
from jules_runtime.service import ServiceMetrics
from jules_runtime.settings import KafkaClientName, KafkaSettings
from machine import describe  # bench/machine.py (scripts run from bench/)
from prometheus_client import CollectorRegistry
from tick_to_order_latency import bar, bare_clients, kafka_round_trip  # the latency benchmark's


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


FLOOD = 20_000


async def aiokafka_cpu(bootstrap: str) -> tuple[float, float]:
    """CPU microseconds per message of producing, then consuming, a flood of 300-byte messages
    with aiokafka (the services' client, with the bus's producer settings)."""
    topic, producer, consumer = await bare_clients(bootstrap, "bench-cpu")
    try:
        cpu = time.process_time()
        acks = [await producer.send(topic, b"y" * 300, partition=0) for _ in range(FLOOD)]
        await asyncio.gather(*acks)
        produce = (time.process_time() - cpu) / FLOOD * 1e6
        cpu, read = time.process_time(), 0
        while read < FLOOD:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            read += sum(len(records) for records in batch.values())
        consume = (time.process_time() - cpu) / FLOOD * 1e6
    finally:
        await producer.stop()
        await consumer.stop()
    return produce, consume


def confluent(bootstrap: str, samples: int) -> dict[str, float]:
    """The confluent-kafka figures (``bench/confluent_round_trip.py``) on a fresh topic."""
    topic = f"bench-confluent-{time.time_ns()}"
    asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), [topic]))
    return round_trips(bootstrap, topic, samples)


async def bus_throughput(bootstrap: str, bars: int, client: str) -> float:
    """Bars per second the features service's handler consumes through ``KafkaBus`` (batches,
    outputs published and acknowledged, offsets committed) from a backlog on the broker."""
    scope = f"bench-bus-{time.time_ns() % 10**9}"
    kafka = KafkaSettings.model_validate(
        {"bootstrap_servers": bootstrap, "linger_ms": 0, "client": client}
    )
    await ensure_topics(kafka, [t.scoped(scope) for t in (MD_BARS, FEATURES)], partitions=4)
    async with KafkaBus("market-data", kafka, scope) as feed:
        messages = [outbound_event(bar(f"SYN{i % 10}.BENCH", i // 10), scope) for i in range(bars)]
        for start in range(0, bars, 1000):
            await feed.send(messages[start : start + 1000])
    bus = KafkaBus("features", kafka, scope)
    engine = FeatureEngine(FeatureSchema.from_names(["sma_2", "sma_3"]))
    done = asyncio.Event()
    times: list[float] = []

    def published(*_: object) -> None:  # from the first acknowledged bar to the last
        times.append(time.perf_counter())
        if len(times) == bars:
            done.set()

    bus.subscribe([MD_BARS], market_data_handler(engine), on_outputs_published=published)
    async with bus:
        await done.wait()
    return (bars - 1) / (times[-1] - times[0])


def canonical_us() -> float:
    """Microseconds to encode a bar for the audit chain (``jules_audit`` canonical JSON)."""
    from jules_audit.engine import canonical
    from jules_contracts import Bar
    from jules_contracts.examples import example_for

    event = example_for(Bar)
    return timeit.timeit(lambda: canonical(event), number=20_000) / 20_000 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--bus-bars", type=int, default=20_000)
    parser.add_argument("--bootstrap", default=os.environ.get("JULES_KAFKA_BOOTSTRAP"))
    args = parser.parse_args()
    bootstrap = args.bootstrap or start_broker()[0]
    acks, trips = asyncio.run(kafka_round_trip(bootstrap, args.samples))
    produce_cpu, consume_cpu = asyncio.run(aiokafka_cpu(bootstrap))
    peer = confluent(bootstrap, args.samples)
    per_message = asyncio.run(processing(args.messages))
    consumed = {
        client: asyncio.run(bus_throughput(bootstrap, args.bus_bars, client))
        for client in get_args(KafkaClientName)
    }
    print(f"machine: {describe()}")
    for name, values in (("producer ack", acks), ("produce→consume", trips)):
        p50, p99 = np.percentile(values, [50, 99])
        print(f"kafka {name:<16} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  ({len(values)} messages)")
    print(f"{'client':<16}{'p50 ms':>8}{'p99 ms':>8}{'produce us/msg':>16}{'consume us/msg':>16}")
    p50, p99 = np.percentile(trips, [50, 99])
    print(f"{'aiokafka':<16}{p50:>8.2f}{p99:>8.2f}{produce_cpu:>16.1f}{consume_cpu:>16.1f}")
    print(
        f"{'confluent-kafka':<16}{peer['p50_ms']:>8.2f}{peer['p99_ms']:>8.2f}"
        f"{peer['produce_us']:>16.1f}{peer['consume_us']:>16.1f}"
    )
    print("(round trip: one message produced and read back, 10 ms apart; CPU: a flood of 300 B)")
    print(
        f"features pipeline in process: {per_message:,.0f} us per bar "
        f"({1e6 / per_message:,.0f} bars/s on one core)"
    )
    for client, rate in consumed.items():
        print(
            f"features handler through KafkaBus ({client}) from a backlog of "
            f"{args.bus_bars:,} bars: {rate:,.0f} bars/s "
            "(batches; outputs acknowledged, offsets committed)"
        )
    print(f"audit canonical JSON of a bar: {canonical_us():.1f} us")


if __name__ == "__main__":
    main()
