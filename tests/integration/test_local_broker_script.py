"""deploy/local/kafka/kafka-local.sh: start, round trip, idempotent start, status, stop, busy port.

The module runs its own broker (own state folder, free ports), not the session's ``kafka``.
The tests run in file order: the last one stops the broker the others use.
"""

import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from .kafka_helpers import BOOTSTRAP_RE, create_topics, kafka_local, last_line


@dataclass(frozen=True)
class Started:
    state_dir: Path
    bootstrap: str
    pid: int
    stdout: str
    stderr: str


def _pid(state_dir: Path) -> int:
    return int((state_dir / "kafka.pid").read_text().strip())


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        state = stat.read_text().rpartition(")")[2].split()[0]
        return state not in {"Z", "X"}
    return True


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    state_dir = tmp_path_factory.mktemp("script-broker")
    result = kafka_local("start", state_dir=state_dir, fresh=True)
    try:
        assert result.returncode == 0, result.stderr
        yield Started(
            state_dir=state_dir,
            bootstrap=last_line(result.stdout),
            pid=_pid(state_dir),
            stdout=result.stdout,
            stderr=result.stderr,
        )
    finally:
        kafka_local("stop", state_dir=state_dir)


def test_start_prints_the_bootstrap_and_the_log_path(broker: Started) -> None:
    assert BOOTSTRAP_RE.match(broker.bootstrap), broker.stdout
    log_file = broker.state_dir / "logs" / "server.log"
    assert f"log: {log_file}" in broker.stderr
    assert "Kafka Server started" in log_file.read_text()
    assert _alive(broker.pid)


async def test_produce_consume_round_trip(broker: Started, unique_topic: str) -> None:
    await create_topics(broker.bootstrap, [unique_topic], partitions=2)
    sent = [(f"instrument-{i % 2}".encode(), f"event-{i}".encode()) for i in range(6)]

    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for key, value in sent:
            await producer.send_and_wait(unique_topic, value, key=key)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        unique_topic,
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[tuple[bytes, bytes]] = []
    try:
        for _ in range(100):
            batches = await consumer.getmany(timeout_ms=200)
            received += [(m.key, m.value) for records in batches.values() for m in records]
            if len(received) >= len(sent):
                break
    finally:
        await consumer.stop()

    assert sorted(received) == sorted(sent)
    for key in {k for k, _ in sent}:  # one key, one partition: the order of a key is kept
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]


def test_second_start_is_a_no_op(broker: Started) -> None:
    again = kafka_local("start", state_dir=broker.state_dir)
    assert again.returncode == 0, again.stderr
    assert last_line(again.stdout) == broker.bootstrap
    assert "already running" in again.stderr
    assert _pid(broker.state_dir) == broker.pid


def test_status_while_running(broker: Started) -> None:
    status = kafka_local("status", state_dir=broker.state_dir)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"running pid {broker.pid}" in status.stdout
    assert broker.bootstrap in status.stdout


def test_stop_stops_the_broker(broker: Started) -> None:
    stop = kafka_local("stop", state_dir=broker.state_dir, timeout=60)
    assert stop.returncode == 0, stop.stderr
    assert not _alive(broker.pid)
    assert not (broker.state_dir / "kafka.pid").exists()
    status = kafka_local("status", state_dir=broker.state_dir)
    assert status.returncode == 1
    assert "not running" in status.stdout


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = kafka_local("start", state_dir=tmp_path, port=str(port))
    assert result.returncode == 1
    assert re.search(rf"\bport {port}\b.*\bin use\b", result.stderr), result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "kafka.pid").exists()
