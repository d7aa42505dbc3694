"""The audit service as its own process on the real broker: every topic in, each event recorded
exactly once (redeliveries included), a closed log that verifies after SIGTERM, checkpoints
published; health/readiness/metrics endpoints; bad settings and a tampered log stop it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from jules_audit.store import AuditWriter, read_records, verify
from jules_contracts import ALL_TOPICS, Event, decode_event, topic_for
from jules_contracts.examples import example_events, shifted_example
from jules_contracts.system import AuditCheckpoint
from jules_contracts.topics import AUDIT_CHECKPOINTS, MD_BARS
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until
from .fuzz_driver import metric_total
from .service_process import ServiceProcess, http_status, http_text, start_service

BIN = Path(sys.executable).parent
KEY = b"integration-audit-key"
VARIANTS = 12
SEGMENT_RECORDS = 100
CHECKPOINT_EVERY = 40


def published_examples() -> list[Event]:
    """Every example that travels on a topic, except the audit service's own checkpoint."""
    published = []
    for event in example_events():
        try:
            topic_for(event)
        except KeyError:  # a dead-letter record has no topic of its own
            continue
        if event.source != "audit":
            published.append(event)
    return published


def stories(variants: int = VARIANTS, first: int = 0) -> list[Event]:
    """The examples, then shifted copies of the whole story with their own ids and times."""
    base = published_examples()
    return [
        shifted_example(event, index) for index in range(first, first + variants) for event in base
    ]


def tail(service: ServiceProcess) -> str:
    return service.log.read_text()[-3000:]


def metric(base_url: str, name: str) -> float:
    """The sum of every sample of counter ``name`` (0 when absent)."""
    return metric_total(http_text(base_url + "/metrics"), name)


async def wait_for_metrics(
    service: ServiceProcess, expected: dict[str | tuple[str, ...], float], timeout_s: float = 60
) -> None:
    """Wait until each metric (or the sum of a tuple of metrics) has its expected value."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        seen = {
            names: sum(metric(service.base_url, name) for name in names)
            if isinstance(names, tuple)
            else metric(service.base_url, names)
            for names in expected
        }
        if seen == expected:
            return
        if service.process.poll() is not None or asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"metrics {seen}, expected {expected}: {tail(service)}")
        await asyncio.sleep(0.2)


def start_audit(kafka: Any, scope: str, tmp_path: Path, log_dir: Path) -> ServiceProcess:
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(KEY + b"\n")
    return start_service(
        "audit",
        kafka.bootstrap,
        scope,
        tmp_path,
        DIRECTORY=str(log_dir),
        SEGMENT_RECORDS=str(SEGMENT_RECORDS),
        CHECKPOINT_EVERY=str(CHECKPOINT_EVERY),
        KEY_FILE=str(key_file),
    )


def verify_command(log_dir: Path, key_file: Path) -> subprocess.CompletedProcess[str]:
    """``jules-audit verify DIR --key-file KEY`` as its own process."""
    return subprocess.run(
        [str(BIN / "jules-audit"), "verify", str(log_dir), "--key-file", str(key_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def file_checkpoints(log_dir: Path) -> list[AuditCheckpoint]:
    lines = (log_dir / "checkpoints.jsonl").read_bytes().splitlines()
    return [AuditCheckpoint.model_validate_json(line) for line in lines]


def assert_recorded_once(log_dir: Path, events: list[Event]) -> None:
    records = list(read_records(log_dir))
    ids = [record.event_id for record in records]
    assert len(ids) == len(set(ids)), "an event was recorded twice"
    by_id = {event.event_id: event for event in events}
    assert set(ids) == set(by_id)
    assert all(decode_event(r.payload) == by_id[r.event_id] for r in records)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))


async def test_audit_service_records_every_topic_once_and_leaves_a_verifiable_log(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    events = stories(variants=11)  # 275 records: the last checkpoint is made at shutdown
    redelivered = events[::5]
    own_checkpoint = next(e for e in example_events() if isinstance(e, AuditCheckpoint))
    log_dir = tmp_path / "audit-log"
    # every topic but the checkpoints (the service's own) and the shadow signals (their
    # events have signals.v1 as their home topic)
    assert len({topic_for(e) for e in events}) == len(ALL_TOPICS) - 2

    service = start_audit(kafka, scope, tmp_path, log_dir)
    try:
        service.wait_ready()
        assert http_status(service.base_url + "/health") == 204
        assert http_status(service.base_url + "/ready") == 204
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*events)
            await feed.publish(*redelivered, own_checkpoint)
        await wait_for_metrics(
            service,
            {
                "jules_audit_records_total": len(events),
                # a copy that comes while its first delivery is in flight is skipped by the
                # consumer; the audit recognises the others
                (
                    "jules_audit_duplicates_total",
                    "jules_audit_redeliveries_skipped_total",
                ): len(redelivered),
            },
        )
        metrics = http_text(service.base_url + "/metrics")
    finally:
        status = service.terminate()
    assert status == 0, tail(service)

    result = verify(log_dir, KEY)  # closed: no records after the last checkpoint
    assert result.ok, result.summary()
    assert result.records == len(events) == 275
    assert_recorded_once(log_dir, events)  # the own checkpoint was skipped, not recorded

    checkpoints = file_checkpoints(log_dir)
    assert [c.last_sequence for c in checkpoints] == [40, 80, 100, 140, 180, 200, 240, 275]
    published = await read_topic(
        kafka.bootstrap, AUDIT_CHECKPOINTS.scoped(scope), len(checkpoints) + 1
    )
    from_kafka = [decode_event(record.value) for record in published]
    assert own_checkpoint in from_kafka  # the example the test published
    # every checkpoint of the log, in order, the final one (written at shutdown) included
    assert [c for c in from_kafka if c != own_checkpoint] == checkpoints

    cli = verify_command(log_dir, tmp_path / "audit.key")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("audit log intact: 275 records in 3 segment(s)")

    bars = sum(1 for e in events + redelivered if topic_for(e) is MD_BARS)
    assert f'jules_audit_events_in_total{{topic="{MD_BARS.scoped(scope)}"}} {bars}.0' in metrics
    assert "jules_audit_own_events_skipped_total" in metrics
    assert "jules_audit_checkpoints_total 7.0" in metrics
    assert "jules_audit_sequence 275.0" in metrics
    assert 'jules_audit_events_out_total{event_type="audit.checkpoint"}' in metrics
    assert "jules_audit_faststream_received_messages_total" in metrics
    assert "audit log closed" in service.log.read_text()


async def test_sigterm_mid_stream_then_restart_loses_nothing_and_records_nothing_twice(
    kafka, tmp_path
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    first, later = stories(variants=10), stories(variants=2, first=10)
    log_dir = tmp_path / "audit-log"

    service = start_audit(kafka, scope, tmp_path, log_dir)
    try:
        service.wait_ready()
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*first)
        await wait_until(lambda: metric(service.base_url, "jules_audit_records_total") > 0)
    finally:
        assert service.terminate() == 0, tail(service)  # SIGTERM while the events stream in
    result = verify(log_dir, KEY)
    assert result.ok, result.summary()  # closed cleanly wherever the stream was cut
    recorded = {record.event_id for record in read_records(log_dir)}

    service = start_audit(kafka, scope, tmp_path, log_dir)  # resumes log and committed offsets
    try:
        service.wait_ready()
        again = [event for event in first if event.event_id in recorded][:20]
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*later, *again)  # events recorded before the restart, again
        await wait_for_metrics(
            service,
            {"jules_audit_records_total": len(first) + len(later) - len(recorded)},
        )
        skipped = metric(service.base_url, "jules_audit_redeliveries_skipped_total")
        assert metric(service.base_url, "jules_audit_duplicates_total") + skipped >= len(again)
    finally:
        assert service.terminate() == 0, tail(service)
    result = verify(log_dir, KEY)
    assert result.ok, result.summary()
    # nothing consumed before the SIGTERM was lost (no dead letters), nothing recorded twice
    assert_recorded_once(log_dir, first + later)


def test_invalid_audit_settings_stop_the_service_naming_them(kafka, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    missing = start_service("audit", kafka.bootstrap, new_scope(), tmp_path / "a")
    bad = start_service(
        "audit",
        kafka.bootstrap,
        new_scope(),
        tmp_path / "b",
        DIRECTORY=str(tmp_path / "log"),
        CHECKPOINT_EVERY="0",
        KEY_FILE=str(tmp_path / "no-such.key"),
    )
    assert missing.process.wait(timeout=60) == 2
    assert "JULES_AUDIT__DIRECTORY: Field required" in missing.log.read_text()
    assert bad.process.wait(timeout=60) == 2
    text = bad.log.read_text()
    assert "JULES_AUDIT__CHECKPOINT_EVERY='0'" in text
    assert "JULES_AUDIT__KEY_FILE=" in text
    assert "not found" in text


def test_a_tampered_log_stops_the_service_at_start_up(kafka, tmp_path):
    log_dir = tmp_path / "audit-log"
    with AuditWriter(log_dir, checkpoint_every=5) as writer:
        for event in published_examples()[:10]:
            writer.append(event)
    segment = log_dir / "segment-000001.jsonl"
    segment.write_bytes(segment.read_bytes().replace(b'"source":"', b'"source":"x', 1))

    service = start_service("audit", kafka.bootstrap, new_scope(), tmp_path, DIRECTORY=str(log_dir))
    status = service.process.wait(timeout=60)
    assert status != 0
    assert "BAD_HASH at segment-000001.jsonl line 1 (seq 1)" in service.log.read_text()
