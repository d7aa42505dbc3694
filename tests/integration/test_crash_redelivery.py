"""A consumer SIGKILLed after its outputs are acknowledged but before it commits reads the
message again on restart, and deduplication by event_id leaves exactly one effect."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from jules_contracts import SignalGenerated, Trade, decode_event, derive_event_id
from jules_contracts.topics import SIGNALS
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, read_topic

CONSUMER = Path(__file__).with_name("crash_consumer.py")


def start_consumer(
    bootstrap: str, scope: str, state: Path, *, park: bool, client: str
) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(CONSUMER), bootstrap, scope, str(state), f"--client={client}"]
    if park:
        args.append("--park-after-outputs")
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_file(path: Path, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"consumer exited early: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear within {timeout_s}s")
        time.sleep(0.05)


def count_effects(state: Path) -> list[tuple[str, float]]:
    with sqlite3.connect(state / "effects.sqlite") as db:
        return db.execute("SELECT event_id, price FROM effects ORDER BY rowid").fetchall()


async def test_sigkill_between_outputs_and_commit_redelivers_and_dedup_keeps_one_effect(
    kafka_client, kafka, tmp_path
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, client=kafka_client)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    trade = Trade(
        event_id=derive_event_id("crash-test", 1),
        source="replay",
        event_time=1_723_161_253_000_000_000,
        instrument_id="BTCUSDT.BINANCE",
        price=60_000.0,
        size=0.5,
    )
    async with KafkaBus("crash-test-feed", settings, scope) as feed:
        await feed.publish(trade)

    # First life: the consumer books the effect, publishes its signal, then parks before
    # committing; we kill it there with SIGKILL.
    first = start_consumer(kafka.bootstrap, scope, tmp_path, park=True, client=kafka_client)
    try:
        wait_for_file(tmp_path / "parked", first)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert count_effects(tmp_path) == [(trade.event_id, 60_000.0)]
    [signal_record] = await read_topic(kafka.bootstrap, SIGNALS.scoped(scope), 1)

    # Second life: the uncommitted message is read again; the effect is not booked twice.
    second = start_consumer(kafka.bootstrap, scope, tmp_path, park=False, client=kafka_client)
    try:
        signals = await read_topic(kafka.bootstrap, SIGNALS.scoped(scope), 2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    assert second.returncode == 0, second.stderr.read().decode()[-2000:]  # type: ignore[union-attr]

    receipts = (tmp_path / "receipts").read_text().split()
    assert receipts == [trade.event_id, trade.event_id]  # delivered twice
    assert count_effects(tmp_path) == [(trade.event_id, 60_000.0)]  # booked once
    # The redelivered message produced the same signal again, with the same derived id, so
    # consumers of signals deduplicate it the same way.
    decoded = [decode_event(record.value) for record in signals]
    assert all(isinstance(event, SignalGenerated) for event in decoded)
    assert {event.event_id for event in decoded} == {decode_event(signal_record.value).event_id}
    assert decoded[0].causation_id == trade.event_id

    # Third life: the clean stop committed the offset. A new trade is processed and the first
    # one is not read again.
    second_trade = trade.model_copy(
        update={"event_id": derive_event_id("crash-test", 2), "price": 60_001.0}
    )
    async with KafkaBus("crash-test-feed", settings, scope) as feed:
        await feed.publish(second_trade)
    third = start_consumer(kafka.bootstrap, scope, tmp_path, park=False, client=kafka_client)
    try:
        await read_topic(kafka.bootstrap, SIGNALS.scoped(scope), 3)
    finally:
        third.send_signal(signal.SIGTERM)
        third.wait(timeout=60)
    receipts = (tmp_path / "receipts").read_text().split()
    assert receipts == [trade.event_id, trade.event_id, second_trade.event_id]
    assert count_effects(tmp_path) == [
        (trade.event_id, 60_000.0),
        (second_trade.event_id, 60_001.0),
    ]
