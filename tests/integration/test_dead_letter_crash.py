"""A service killed with SIGKILL while it dead-letters a stream of bad messages (T6's crash).

The features service is fed over a thousand bad messages (every class of ``poison``); once it
has dead-lettered a few hundred it is killed with SIGKILL, between a dead letter's publication
and its offset's commit as often as not, and a new process of it takes over the consumer
group. No bad message is lost: each is on the dead-letter topic with its reason. Those read
again after the kill are dead-lettered again, and each copy carries its origin (topic,
partition, offset) in its headers, by which `jules dlq` counts each message once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from jules_contracts.dead_letter import (
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_TOPIC,
)
from jules_contracts.topics import MD_BARS
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, wait_until
from .fuzz_driver import dead_letter_counts, read_to_end
from .kafka_helpers import KafkaEndpoint
from .poison import bad_messages
from .service_process import http_status, http_text, start_service
from .test_features_service import NAMES, real_bars
from .test_session_commands import jules

pytestmark = pytest.mark.integration

COPIES = 63  # of each of the 16 classes: 1,008 bad messages


async def test_a_service_killed_while_dead_lettering_loses_no_bad_message(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    scope = new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    topic = MD_BARS.scoped(scope)
    bars = real_bars(COPIES)
    bad = [message for copy in range(COPIES) for message in bad_messages(MD_BARS, bars[copy], copy)]
    settings = {"FEATURES": json.dumps(list(NAMES))}
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = start_service("features", kafka.bootstrap, scope, tmp_path / "first", **settings)
    second = None
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    try:
        first.wait_ready()
        await producer.start()
        sent = [await producer.send(topic, m.value, key=m.key) for m in bad]
        wanted = {
            (await meta).offset: message.reason.value
            for meta, message in zip(sent, bad, strict=True)
        }

        def dead_lettered() -> int:
            metrics = http_text(first.base_url + "/metrics")
            return dead_letter_counts(metrics, "features", topic).total()

        await wait_until(lambda: dead_lettered() >= len(bad) // 3, timeout_s=60)
        at_kill = dead_lettered()
        first.process.kill()  # SIGKILL: no shutdown, no commit
        assert first.process.wait(timeout=30) == -9
        second = start_service("features", kafka.bootstrap, scope, tmp_path / "second", **settings)
        second.wait_ready()

        async def letters() -> list[dict[str, bytes]]:
            return [headers for headers, _ in await read_to_end(kafka.bootstrap, [f"{topic}.dlq"])]

        deadline = asyncio.get_running_loop().time() + 120
        found = await letters()
        while {int(h[DLQ_HEADER_OFFSET]) for h in found} != wanted.keys():
            assert asyncio.get_running_loop().time() < deadline, f"{len(found)} dead letters"
            await asyncio.sleep(0.5)
            found = await letters()
        health = http_status(second.base_url + "/health")
    finally:
        await producer.stop()
        statuses = [service.terminate() for service in (first, second) if service is not None]

    origins = Counter(
        (h[DLQ_HEADER_TOPIC].decode(), int(h[DLQ_HEADER_PARTITION]), int(h[DLQ_HEADER_OFFSET]))
        for h in found
    )
    repeated = sum(count - 1 for count in origins.values())
    print(
        f"killed after {at_kill} of {len(bad)} bad messages: {len(found)} dead letters, "
        f"{len(origins)} origins, {repeated} read again after the kill"
    )
    assert set(origins) == {(topic, 0, offset) for offset in wanted}  # none lost
    for headers in found:  # each copy with its message's reason
        assert headers[DLQ_HEADER_REASON].decode() == wanted[int(headers[DLQ_HEADER_OFFSET])]
    assert health == 204
    assert statuses[1] == 0

    # `jules dlq` counts each message once, its copies beside it
    shown = jules("dlq", "--bootstrap", kafka.bootstrap, "--scope", scope, "--json")
    assert shown.returncode == 0, shown.stderr
    listed = [json.loads(line) for line in shown.stdout.splitlines()]
    assert sorted(item["origin_offset"] for item in listed) == sorted(wanted)
    assert {item["origin_offset"]: item["reason"] for item in listed} == wanted
    assert sum(item["copies"] - 1 for item in listed) == repeated
    table = jules("dlq", "--bootstrap", kafka.bootstrap, "--scope", scope, "--topic", "md.bars.v1")
    assert table.returncode == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if f"{topic}.dlq" in line]
    assert sum(int(row.split("│")[3]) for row in rows) == len(bad), table.stdout
