"""The audit service's handler on the in-memory bus: every event once, checkpoints published
(and re-published when publishing failed), its own checkpoints never recorded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from jules_audit.config import AuditSettings
from jules_audit.handlers import AuditRecorder
from jules_audit.store import read_records, verify
from jules_contracts import ALL_TOPICS, decode_event
from jules_contracts.base import Event
from jules_contracts.system import AuditCheckpoint
from jules_contracts.topics import AUDIT_CHECKPOINTS, topic_for
from jules_runtime.bus import InMemoryBus, OutboundMessage
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from .auditlog import KEY


class FlakyBus(InMemoryBus):
    """An in-memory bus whose next ``send`` of checkpoints can be made to fail."""

    fail_next_checkpoint = False

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        if self.fail_next_checkpoint and any(m.topic == AUDIT_CHECKPOINTS.name for m in messages):
            self.fail_next_checkpoint = False
            raise ConnectionError("broker unavailable")
        await super().send(messages)


def on_topics(events: list[Event]) -> list[Event]:
    """The events that travel on a topic (not dead-letter records), not the audit's own."""
    out = []
    for event in events:
        try:
            topic_for(event)
        except KeyError:
            continue
        if event.source != "audit":
            out.append(event)
    return out


async def recorder_on_bus(
    directory: Path, **settings: object
) -> tuple[AuditRecorder, FlakyBus, CollectorRegistry]:
    config = AuditSettings(directory=directory, **settings)  # type: ignore[arg-type]
    registry = CollectorRegistry()
    recorder = AuditRecorder(config, registry)
    bus = FlakyBus("audit", handler_attempts=1)
    bus.subscribe(
        ALL_TOPICS,
        recorder.handle,
        on_outputs_published=recorder.outputs_published,
        on_outputs_abandoned=recorder.abandoned,
    )
    recorder.open()
    await bus.start()
    return recorder, bus, registry


def published_checkpoints(bus: InMemoryBus) -> list[AuditCheckpoint]:
    events = [decode_event(r.value) for r in bus.records(AUDIT_CHECKPOINTS.name)]
    return [e for e in events if isinstance(e, AuditCheckpoint) and e.source == "audit"]


def log_checkpoints(directory: Path) -> list[AuditCheckpoint]:
    lines = (directory / "checkpoints.jsonl").read_bytes().splitlines()
    return [AuditCheckpoint.model_validate_json(line) for line in lines]


async def test_each_event_is_recorded_once_and_checkpoints_are_published(tmp_path, events):
    stream = on_topics(events)[:95]  # the last 5 are checkpointed at close
    recorder, bus, metrics = await recorder_on_bus(
        tmp_path, segment_records=30, checkpoint_every=10
    )

    await bus.publish(*stream)
    await bus.publish(*stream[::3])  # redelivered
    await bus.drain()  # terminates: the checkpoints read back are skipped, not recorded
    recorder.close()

    assert verify(tmp_path).ok
    assert [r.event_id for r in read_records(tmp_path)] == [e.event_id for e in stream]
    assert published_checkpoints(bus) == log_checkpoints(tmp_path)[:-1]  # the last: at close
    assert recorder.unpublished == [log_checkpoints(tmp_path)[-1]]
    assert metrics.get_sample_value("jules_audit_duplicates_total") == len(stream[::3])
    assert metrics.get_sample_value("jules_audit_own_events_skipped_total") == len(
        published_checkpoints(bus)
    )
    assert metrics.get_sample_value("jules_audit_sequence") == len(stream)


async def test_a_checkpoint_whose_publication_failed_goes_out_with_the_redelivery(tmp_path, events):
    stream = on_topics(events)[:10]
    recorder, bus, metrics = await recorder_on_bus(tmp_path, checkpoint_every=5)
    await bus.publish(*stream)

    bus.fail_next_checkpoint = True
    with pytest.raises(ConnectionError):
        await bus.drain()  # the 5th event's checkpoint was not acknowledged: no commit
    assert len(recorder.unpublished) == 1
    await bus.drain()  # the 5th event again: a duplicate, but its checkpoint goes out now

    assert metrics.get_sample_value("jules_audit_duplicates_total") == 1
    assert recorder.unpublished == []
    assert published_checkpoints(bus) == log_checkpoints(tmp_path)


async def test_a_signed_log_is_resumed_and_its_resume_checkpoint_published(tmp_path, events):
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    log = tmp_path / "log"
    stream = on_topics(events)[:12]
    recorder, bus, _ = await recorder_on_bus(log, checkpoint_every=100, key_file=key_file)
    await bus.publish(*stream[:7])
    await bus.drain()
    at_crash = {path: path.read_bytes() for path in log.iterdir()}  # the process dies here
    recorder.close()
    for path, data in at_crash.items():
        path.write_bytes(data)  # as the crash left it: 7 records, no checkpoint yet

    recorder, bus, _ = await recorder_on_bus(log, checkpoint_every=100, key_file=key_file)
    resumed = recorder.unpublished
    assert [c.last_sequence for c in resumed] == [7]  # resuming checkpoints the tail
    await bus.publish(*stream)
    await bus.drain()
    recorder.close()

    assert published_checkpoints(bus)[0] == resumed[0]
    assert verify(log, KEY).ok
    assert [r.event_id for r in read_records(log)] == [e.event_id for e in stream]
    assert all(c.signature for c in log_checkpoints(log))


def test_settings_name_what_is_wrong(tmp_path):
    empty = tmp_path / "empty.key"
    empty.write_bytes(b"\n")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValidationError) as caught:
        AuditSettings(directory=a_file, key_file=empty, segment_records=0)
    text = str(caught.value)
    assert "exists and is not a directory" in text
    assert "is empty" in text
    assert "segment_records" in text


def test_the_settings_read_the_key_without_its_line_feed(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\r\n")
    settings = AuditSettings(directory=tmp_path, key_file=key_file)
    assert settings.signing_key() == KEY
    assert AuditSettings(directory=tmp_path).signing_key() is None
    assert settings.http_port == 8106
