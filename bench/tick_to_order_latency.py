"""Benchmark: tick-to-order latency through Kafka, per hop, under open-loop load.

Starts features, signal, risk and the order-router as processes in live mode on a fresh run
scope of a Kafka broker (the local one from ``deploy/local/kafka``, or ``--bootstrap``), then
publishes synthetic one-minute bars at a fixed rate (open loop: each bar goes out at its
scheduled wall time whatever the services do) for ``--seconds``. Prices zig-zag so that an SMA
2/3 cross signals often; risk sizes 1% of equity and approves. Every message carries the wall
time it was published (``jules-sent-ns``); following each ``OrderAccepted`` back through its
causation ids to its bar gives five hops:

1. bar published → feature vector published (features),
2. vector → signal (signal),
3. signal → risk decision (risk),
4. decision → order accepted (order-router),
5. order accepted → read by a consumer (delivery),

and the total, tick to order. Each rate (``--rates``, default 500 and 2,000 bars/s) runs on
fresh topics and services, whose Kafka client is ``--client`` (``aiokafka``, the default, or
``confluent``). Before the load, the bare hop is measured on the same broker with that client
(one message produced and read back by a plain consumer, ``--bare-samples`` times).
Prints p50/p99/p99.9/max per hop, the goals (total p50 at most 1.5 times five bare hops, p99 at
most 25 ms), how long the services' consumer lag took to return to zero after the load (goal:
within 60 s), the peak RSS of each service process, and the machine. Usage::

    .venv/bin/python bench/tick_to_order_latency.py [--rates 500 2000] [--seconds 60]
        [--client aiokafka|confluent]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from confluent_round_trip import round_trips  # bench/confluent_round_trip.py
from jules.session import (
    ServiceState,
    SessionState,
    free_port,
    start_broker,
    start_service,
    stop_session,
    supervisor_state,
    wait_ready,
)
from jules_contracts import ALL_TOPICS, Bar, derive_event_id
from jules_contracts.topics import (
    FEATURES,
    MD_BARS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    SIGNALS,
)
from jules_runtime.bus import KafkaBus, ensure_topics
from jules_runtime.bus.records import SENT_HEADER, outbound_event
from jules_runtime.settings import KafkaClientName, KafkaSettings
from machine import (  # bench/machine.py (scripts run from bench/)
    cpu_seconds,
    describe,
    peak_rss_mib,
)

SERVICES = ("order-router", "risk", "signal", "features")
WATCHED = (MD_BARS, FEATURES, SIGNALS, ORDERS_INTENTS, ORDERS_DECISIONS, ORDERS_EVENTS)
HOPS = ("md→features", "features→signal", "signal→risk", "risk→router", "router→consumer")
MINUTE = 60_000_000_000
START = 1_700_000_000_000_000_000 - 1_700_000_000_000_000_000 % MINUTE
ZIGZAG = (100.0, 101.0, 102.0, 101.0, 100.0, 99.0, 98.0, 99.0)


@dataclass
class Seen:
    """An event read back: what caused it, when it was published and when it was read."""

    event_id: str
    event_type: str
    causation_id: str | None
    topic: str
    sent_ns: int
    read_ns: int


def environments(instruments: list[str]) -> dict[str, dict[str, str]]:
    """The services' settings for the load (live mode)."""
    features = ["sma_2", "sma_3"]
    return {
        "features": {"FEATURES": json.dumps(features)},
        "signal": {
            "FEATURES": json.dumps(features),
            "FEATURE_SCHEMA_ID": _schema_id(features),
            "STRATEGY": json.dumps(
                {"kind": "sma_cross", "fast": 2, "slow": 3, "mode": "long_short"}
            ),
        },
        "risk": {
            "ENGINE__SIZING": json.dumps({"kind": "fixed_fraction", "fraction": 0.01}),
            "ENGINE__LIMITS": json.dumps({"price_collar_bps": 1000}),
        },
        "order-router": {"ENGINE__INSTRUMENTS": json.dumps(instruments)},
    }


def _schema_id(names: list[str]) -> str:
    from jules_features.engine import FeatureSchema

    return FeatureSchema.from_names(names).schema_id


def bar(instrument: str, index: int) -> Bar:
    """The ``index``-th synthetic minute bar of ``instrument``."""
    close = ZIGZAG[index % len(ZIGZAG)] * (1 + 0.01 * (hash(instrument) % 7))
    end = START + (index + 1) * MINUTE
    return Bar(
        event_id=derive_event_id("bench-bar", instrument, index),
        source="market-data",
        event_time=end,
        instrument_id=instrument,
        interval="1m",
        start_time=end - MINUTE,
        open=close,
        high=close * 1.001,
        low=close * 0.999,
        close=close,
        volume=10.0,
    )


async def publish(bus: KafkaBus, instruments: list[str], rate: float, seconds: float) -> int:
    """Publish bars at ``rate`` per second (open loop) for ``seconds``; return how many.

    The bars are built and encoded beforehand; each is stamped with its send time and handed
    to the producer at its scheduled time, without waiting for the broker's acknowledgement.
    """
    total = int(rate * seconds)
    messages = [
        outbound_event(bar(instruments[i % len(instruments)], i // len(instruments)), bus.scope)
        for i in range(total)
    ]
    acks = []
    started = time.perf_counter()
    for i, message in enumerate(messages):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        stamped = replace(message, headers={**message.headers, SENT_HEADER: str(time.time_ns())})
        acks.append(await bus.enqueue([stamped]))
    await asyncio.gather(*acks)
    return total


async def read_back(kafka: KafkaSettings, scope: str, stop: asyncio.Event) -> list[Seen]:
    """Read every watched topic until ``stop`` is set and nothing more comes."""
    consumer = AIOKafkaConsumer(
        *(topic.scoped(scope) for topic in WATCHED),
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    seen: list[Seen] = []
    try:
        quiet = 0
        while quiet < 20 or not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100)
            now = time.time_ns()
            quiet = 0 if batch else quiet + 1
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    name = record.topic.split(".", 1)[1]
                    # the envelope's ids only: the reader must not cost the machine a core
                    fields = json.loads(record.value or b"{}")
                    seen.append(
                        Seen(
                            fields["event_id"],
                            fields["event_type"],
                            fields.get("causation_id"),
                            name,
                            int(headers[SENT_HEADER]),
                            now,
                        )
                    )
    finally:
        await consumer.stop()
    return seen


async def bare_clients(bootstrap: str, prefix: str) -> tuple[str, Any, Any]:
    """A fresh topic, and a started aiokafka producer (the bus's settings, no linger) and
    plain consumer of it: the clients of the bare-hop measurements."""
    topic = f"{prefix}-{time.time_ns()}"
    await ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), [topic])
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0
    )
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()
    return topic, producer, consumer


async def kafka_round_trip(bootstrap: str, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Acknowledgement and produce→consume times (ms) of single messages."""
    topic, producer, consumer = await bare_clients(bootstrap, "bench-rtt")
    acks, trips = [], []
    try:
        await asyncio.sleep(1.0)  # the consumer has its partition
        for _ in range(samples):
            started = time.perf_counter()
            await (await producer.send(topic, b"x"))
            acks.append(time.perf_counter() - started)
            await consumer.getone()
            trips.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)
    finally:
        await producer.stop()
        await consumer.stop()
    return np.array(acks) * 1e3, np.array(trips) * 1e3


def bare_hop(bootstrap: str, samples: int, client: str) -> float:
    """p50 (ms) of one message produced and read back with ``client``, on a fresh topic."""
    if client == "aiokafka":
        _, trips = asyncio.run(kafka_round_trip(bootstrap, samples))
        return float(np.percentile(trips, 50))
    topic = f"bench-rtt-{time.time_ns()}"
    asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), [topic]))
    return round_trips(bootstrap, topic, samples, flood=False)["p50_ms"]


def hops(seen: list[Seen]) -> dict[str, list[float]]:
    """Per-hop latencies (ms) of every accepted order, traced back to its bar."""
    by_id = {item.event_id: item for item in seen}
    result: dict[str, list[float]] = {name: [] for name in (*HOPS, "total")}
    for item in seen:
        if item.event_type != "order.accepted":
            continue
        chain = [item]
        while chain[-1].causation_id in by_id and chain[-1].topic != MD_BARS.name:
            chain.append(by_id[chain[-1].causation_id])
        stages = {link.topic: link for link in chain}
        needed = (MD_BARS.name, FEATURES.name, SIGNALS.name, ORDERS_DECISIONS.name)
        if not all(name in stages for name in needed):
            continue
        times = [stages[name].sent_ns for name in needed] + [item.sent_ns, item.read_ns]
        for name, (a, b) in zip(HOPS, itertools.pairwise(times), strict=True):
            result[name].append((b - a) / 1e6)
        result["total"].append((item.read_ns - stages[MD_BARS.name].sent_ns) / 1e6)
    return result


async def run_load(
    state: SessionState, instruments: list[str], rate: float, seconds: float, client: str
) -> tuple[int, list[Seen]]:
    """Publish the load and read everything back; return (bars published, events read)."""
    kafka = KafkaSettings.model_validate(
        {"bootstrap_servers": state.bootstrap, "linger_ms": 0, "client": client}
    )
    stop = asyncio.Event()
    reading = asyncio.create_task(read_back(kafka, state.scope, stop))
    bus = KafkaBus("market-data", kafka, state.scope, client_id="bench-replay")
    await bus.start()
    try:
        published = await publish(bus, instruments, rate, seconds)
    finally:
        await bus.stop()
    await asyncio.sleep(2.0)
    stop.set()
    return published, await reading


async def seconds_until_no_lag(
    bootstrap: str, scope: str, services: Sequence[str], limit: float
) -> float | None:
    """Seconds until every service's consumer group has committed up to the end of its
    partitions (lag zero), or ``None`` if it has not after ``limit`` seconds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < limit:
            lag = 0
            for service in services:
                committed = await admin.list_consumer_group_offsets(f"{scope}.jules-{service}")
                ends = await consumer.end_offsets(list(committed))
                lag += sum(ends[tp] - max(meta.offset, 0) for tp, meta in committed.items())
            if lag == 0:
                return time.perf_counter() - started
            await asyncio.sleep(0.5)
        return None
    finally:
        await consumer.stop()
        await admin.close()


def start_services(
    bootstrap: str, scope: str, instruments: list[str], folder: Path, args: argparse.Namespace
) -> SessionState:
    """The four services in live mode on ``scope``, ready, their groups joined."""
    state = SessionState(str(folder), scope, bootstrap, False)
    for name, env in environments(instruments).items():
        prefix = f"JULES_{name.upper().replace('-', '_')}__"
        port = free_port()
        settings = {
            f"{prefix}KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            f"{prefix}KAFKA__LINGER_MS": "0",
            f"{prefix}KAFKA__CLIENT": args.client,
            f"{prefix}KAFKA__FETCH_MAX_WAIT_MS": "10",
            f"{prefix}KAFKA__COMMIT_INTERVAL_MS": str(args.commit_interval_ms),
            f"{prefix}RUN_SCOPE": scope,
            f"{prefix}HTTP__PORT": str(port),
            f"{prefix}LOG__LEVEL": "WARNING",
            **{prefix + key: value for key, value in env.items()},
        }
        state.services.append(start_service(name, settings, folder, port))
    wait_ready(state.services)
    time.sleep(3.0)  # consumer groups join
    return state


def service_pid(service: ServiceState) -> int:
    """The service's own process (``service.pid`` is its supervisor's)."""
    state = supervisor_state(service)
    if state is None or state.pid is None:
        sys.exit(f"{service.name}: its supervisor has not started it (see {service.log})")
    return state.pid


def one_rate(bootstrap: str, rate: float, args: argparse.Namespace) -> None:
    """Measure one offered rate on fresh topics and services; print its figures and goals."""
    instruments = [f"SYN{i}.BENCH" for i in range(args.instruments)]
    scope = f"bench-{time.time_ns() % 10**12}"
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    names = [n for t in ALL_TOPICS for n in (t.scoped(scope), t.scoped_dlq(scope))]
    asyncio.run(ensure_topics(kafka, names, partitions=args.partitions))
    bare = bare_hop(bootstrap, args.bare_samples, args.client)
    state = start_services(bootstrap, scope, instruments, Path(tempfile.mkdtemp()), args)
    try:
        pids = {service.name: service_pid(service) for service in state.services}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        generator = time.process_time()
        published, seen = asyncio.run(run_load(state, instruments, rate, args.seconds, args.client))
        generator = time.process_time() - generator
        cpu = {
            name: (now - then) / published * 1e6
            for name, pid in pids.items()
            if (then := before[name]) is not None and (now := cpu_seconds(pid)) is not None
        }
        drained = asyncio.run(seconds_until_no_lag(bootstrap, scope, SERVICES, 60.0))
        rss = {name: peak_rss_mib(pid) for name, pid in pids.items()}
    finally:
        stop_session(state)
    latencies = hops(seen)
    print(
        f"\nload: {published:,} bars at {rate:,.0f}/s for {args.seconds:.0f} s over "
        f"{args.instruments} instruments, {args.partitions} partitions; "
        f"{len(latencies['total']):,} orders traced"
    )
    print(f"services' Kafka client: {args.client}")
    print(f"bare hop ({args.client} produce→consume, same broker, this run): p50 {bare:.2f} ms")
    print(f"{'hop':<18}{'p50 ms':>10}{'p99 ms':>10}{'p99.9 ms':>10}{'max ms':>10}")
    for name in (*HOPS, "total"):
        values = np.array(latencies[name])
        if values.size == 0:
            print(f"{name:<18}{'n/a':>10}")
            continue
        p50, p99, p999 = np.percentile(values, [50, 99, 99.9])
        print(f"{name:<18}{p50:>10.2f}{p99:>10.2f}{p999:>10.2f}{values.max():>10.2f}")
    total = np.array(latencies["total"])
    if total.size:
        p50, p99 = np.percentile(total, [50, 99])
        bound = 1.5 * 5 * bare
        print(
            f"goal p50 <= 1.5 x five bare hops = {bound:.2f} ms: {p50:.2f} ms "
            f"({'met' if p50 <= bound else 'missed'}); goal p99 <= 25 ms: {p99:.2f} ms "
            f"({'met' if p99 <= 25 else 'missed'})"
        )
    print(
        "goal consumer lag back to zero within 60 s after the load: "
        + ("missed (lag left after 60 s)" if drained is None else f"met, in {drained:.1f} s")
    )
    print("CPU per tick during the load (us; what bounds the rate on this machine):")
    for name, value in cpu.items():
        print(f"  {name:<14}{value:>8,.0f}")
    print(f"  {'load generator':<14}{generator / published * 1e6:>8,.0f}  (publisher and reader)")
    print("peak RSS per service (MiB; goal <= 150):")
    for name, value in rss.items():
        print(f"  {name:<14}{'n/a' if value is None else f'{value:,.0f}':>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[500.0, 2000.0], help="bars per second"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration per rate")
    parser.add_argument("--instruments", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--bare-samples", type=int, default=200)
    parser.add_argument("--bootstrap", default=os.environ.get("JULES_KAFKA_BOOTSTRAP"))
    parser.add_argument(
        "--commit-interval-ms", type=int, default=0, help="the services' offset commits"
    )
    parser.add_argument(
        "--client", choices=get_args(KafkaClientName), default="aiokafka", help="Kafka client"
    )
    args = parser.parse_args()
    bootstrap = args.bootstrap or start_broker()[0]
    print(f"machine: {describe()}")
    for rate in args.rates:
        one_rate(bootstrap, rate, args)


if __name__ == "__main__":
    main()
