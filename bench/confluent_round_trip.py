"""The confluent-kafka (librdkafka) client on a topic: single-message round trip and CPU cost.

Used by ``bench/pipeline_costs.py`` and ``bench/tick_to_order_latency.py`` (the bare hop of
the confluent client). Run alone it prints one JSON object: produce→consume p50/p99 in ms of
single messages sent 10 ms apart, and the CPU microseconds per message of producing then
consuming a flood of 300-byte messages. Usage::

    .venv/bin/python bench/confluent_round_trip.py HOST:PORT TOPIC [SAMPLES]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from confluent_kafka import Consumer, Producer, TopicPartition

FLOOD = 20_000


def round_trips(
    bootstrap: str, topic: str, samples: int, *, flood: bool = True
) -> dict[str, float]:
    """Round trip (ms) and, with ``flood``, CPU per message (us) of the confluent client."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 0,
            "socket.nagle.disable": True,
        }
    )
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{time.time_ns()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,
            "socket.nagle.disable": True,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    trips = []
    for _ in range(samples):
        started = time.perf_counter()
        producer.produce(topic, b"x", partition=0)
        producer.flush()
        while consumer.poll(1.0) is None:
            pass
        trips.append((time.perf_counter() - started) * 1e3)
        time.sleep(0.01)
    p50, p99 = np.percentile(trips, [50, 99])
    if not flood:
        consumer.close()
        return {"p50_ms": float(p50), "p99_ms": float(p99)}
    cpu = time.process_time()
    for _ in range(FLOOD):
        producer.produce(topic, b"y" * 300, partition=0)
        producer.poll(0)
    producer.flush()
    produce_cpu = (time.process_time() - cpu) / FLOOD * 1e6
    cpu, read = time.process_time(), 0
    while read < FLOOD:
        read += len(consumer.consume(1000, 1.0))
    consume_cpu = (time.process_time() - cpu) / FLOOD * 1e6
    consumer.close()
    return {
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "produce_us": produce_cpu,
        "consume_us": consume_cpu,
    }


if __name__ == "__main__":
    figures = round_trips(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    print(json.dumps(figures))
