"""The bus's producer is really idempotent: the broker assigned it a producer id and the
record batches it wrote carry that id and sequence numbers (a plain producer's carry -1)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from jules_contracts import encode_event
from jules_contracts.examples import example_events
from jules_contracts.topics import MD_TRADES
from jules_runtime.bus import KafkaBus
from jules_runtime.bus.kafka import producer_options
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope

BATCH = re.compile(r"baseSequence: (-?\d+) .*?producerId: (-?\d+) producerEpoch: (-?\d+)")


def dump_batches(lib_dir: Path, data_dir: Path, topic: str) -> list[tuple[int, int, int]]:
    """(baseSequence, producerId, producerEpoch) of every batch in the topic's partition 0,
    read from the broker's own log segment with Kafka's DumpLogSegments tool."""
    segments = sorted((data_dir / f"{topic}-0").glob("*.log"))
    assert segments, f"no log segment for {topic} in {data_dir}"
    out = subprocess.run(
        [
            "java",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            f"{lib_dir}/*",
            "kafka.tools.DumpLogSegments",
            "--files",
            ",".join(map(str, segments)),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return [tuple(map(int, match.groups())) for match in BATCH.finditer(out)]  # type: ignore[misc]


def test_bus_producer_options_ask_for_acks_all_and_idempotence():
    options = producer_options(KafkaSettings(), "jules-risk")
    assert options["acks"] == "all"
    assert options["enable_idempotence"] is True


async def test_bus_producer_gets_a_broker_assigned_id_and_writes_sequenced_batches(
    kafka_client, kafka
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, client=kafka_client)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    trades = [event for event in example_events() if event.event_type == "md.trade"]

    bus = KafkaBus("idempotence", settings, scope)
    async with bus:
        producer_id = bus.producer_id
        for trade in trades:
            await bus.publish(trade)
    if kafka_client == "aiokafka":
        assert producer_id is not None  # InitProducerId answered by the broker
    else:
        assert producer_id is None  # librdkafka keeps it to itself; the log segment shows it

    if kafka.data_dir is None or kafka.lib_dir is None:
        pytest.skip("the broker's log segments are not reachable from this test run")
    batches = dump_batches(kafka.lib_dir, kafka.data_dir, MD_TRADES.scoped(scope))
    [written_id] = {pid for _, pid, _ in batches}
    assert written_id >= 0
    assert producer_id in (None, written_id)
    assert len(batches) == len(trades)
    assert [seq for seq, _, _ in batches] == list(range(len(trades)))


async def test_a_plain_producer_writes_batches_without_producer_id(kafka):
    """The contrast that shows the check above can fail."""
    if kafka.data_dir is None or kafka.lib_dir is None:
        pytest.skip("the broker's log segments are not reachable from this test run")
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks=1)
    await producer.start()
    try:
        trade = next(e for e in example_events() if e.event_type == "md.trade")
        await producer.send_and_wait(MD_TRADES.scoped(scope), encode_event(trade))
    finally:
        await producer.stop()
    batches = dump_batches(kafka.lib_dir, kafka.data_dir, MD_TRADES.scoped(scope))
    assert [(pid, epoch) for _, pid, epoch in batches] == [(-1, -1)]
