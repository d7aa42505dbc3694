"""The append-only writer: segments, checkpoints, deduplication, resuming, durability."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from jules_audit.engine import VerifyReason
from jules_audit.store import AuditLogError, AuditWriter, segment_name, verify
from jules_contracts.base import derive_event_id
from jules_contracts.system import AuditCheckpoint
from pydantic import ValidationError

from .auditlog import (
    CHECKPOINT_EVERY,
    KEY,
    SEGMENT_RECORDS,
    crashed_log,
    locate,
    read_lines,
    record_of,
    reference_canonical,
    reference_chain,
    write_log,
)


def _all_lines(directory: Path) -> list[bytes]:
    return [
        line
        for path in sorted(directory.glob("segment-*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


def _checkpoints(directory: Path) -> list[AuditCheckpoint]:
    return [
        AuditCheckpoint.model_validate_json(line)
        for line in (directory / "checkpoints.jsonl").read_bytes().splitlines()
    ]


def test_records_go_to_numbered_segments_one_json_record_per_line(log_dir, events):
    sizes = {p.name: len(read_lines(p)) for p in sorted(log_dir.glob("segment-*.jsonl"))}

    assert sizes == {segment_name(i): 50 for i in range(1, 7)} | {"segment-000007.jsonl": 24}
    hashes = reference_chain(events)
    for seq, (line, event) in enumerate(zip(_all_lines(log_dir), events, strict=True), 1):
        record = record_of(line)
        assert record["seq"] == seq
        assert record["hash"] == hashes[seq - 1]
        assert record["prev_hash"] == (hashes[seq - 2] if seq > 1 else "0" * 64)
        assert record["payload"] == json.loads(event.model_dump_json())
        assert reference_canonical(event) in line


def test_checkpoints_every_m_records_at_each_full_segment_and_at_close(log_dir, events):
    checkpoints = _checkpoints(log_dir)

    expected_ends = [s + n for s in range(0, 300, 50) for n in (20, 40, 50)] + [320, 324]
    assert [c.last_sequence for c in checkpoints] == expected_ends
    assert [c.first_sequence for c in checkpoints] == [1] + [e + 1 for e in expected_ends[:-1]]
    hashes = reference_chain(events)
    for previous, checkpoint in zip([None, *checkpoints], checkpoints, strict=False):
        assert checkpoint.chain_hash == hashes[checkpoint.last_sequence - 1]
        assert checkpoint.previous_chain_hash == (previous.chain_hash if previous else "0" * 64)
        assert checkpoint.segment == locate(checkpoint.last_sequence)[0].name
        assert checkpoint.event_time == events[checkpoint.last_sequence - 1].event_time
        assert checkpoint.event_id == derive_event_id(
            "audit.checkpoint", checkpoint.segment, checkpoint.last_sequence
        )
        assert checkpoint.signature is None


def test_signed_checkpoints_carry_an_hmac_of_their_canonical_form(signed_log_dir):
    for checkpoint in _checkpoints(signed_log_dir):
        body = {**json.loads(checkpoint.model_dump_json()), "signature": None}
        text = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        assert checkpoint.signature == hmac.new(KEY, text, hashlib.sha256).hexdigest()


def test_the_same_events_give_byte_identical_logs(tmp_path, events):
    first = write_log(tmp_path / "a", events, key=KEY)
    second = write_log(tmp_path / "b", events, key=KEY)

    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (second / path.name).read_bytes()


def test_a_writer_that_flushes_at_checkpoints_only_writes_the_same_verified_log(tmp_path, events):
    flushed = write_log(tmp_path / "flushed", events)
    buffered = tmp_path / "buffered"
    with AuditWriter(
        buffered,
        segment_records=SEGMENT_RECORDS,
        checkpoint_every=CHECKPOINT_EVERY,
        flush_every_record=False,
    ) as writer:
        for event in events[:5]:
            writer.append(event)
        # not yet handed to the operating system: nothing of the segment is on disk
        assert (buffered / segment_name(1)).read_bytes() == b""
        for event in events[5:]:
            writer.append(event)

    assert verify(buffered).ok
    for path in sorted(flushed.iterdir()):
        assert path.read_bytes() == (buffered / path.name).read_bytes()


def test_reappending_a_recorded_event_id_adds_no_record(tmp_path, events):
    with AuditWriter(tmp_path / "log", segment_records=50, checkpoint_every=20) as writer:
        for event in events[:30]:
            writer.append(event)
        redelivered = [writer.append(event) for event in events[10:30]]

        assert redelivered == [None] * 20
        assert writer.sequence == 30
        assert events[12].event_id in writer

    assert len(_all_lines(tmp_path / "log")) == 30
    assert verify(tmp_path / "log").ok


def test_redelivery_after_a_restart_is_not_recorded_again(tmp_path, events):
    directory = crashed_log(tmp_path / "log", events[:77])
    # No close: records 61..77 follow the last checkpoint.
    assert verify(directory).reason is VerifyReason.APPENDED_AFTER_CLOSE

    with AuditWriter(directory, segment_records=50, checkpoint_every=20) as writer:
        assert writer.sequence == 77
        assert writer.head == reference_chain(events[:77])[-1]
        for event in events:  # the broker redelivers everything
            writer.append(event)

    result = verify(directory)
    assert result.ok, result.summary()
    assert result.records == len(events)
    assert result.head_hash == reference_chain(events)[-1]


def test_resuming_drops_an_interrupted_last_line_and_checkpoints_the_tail(tmp_path, events):
    directory = crashed_log(tmp_path / "log", events[:25])
    with (directory / "segment-000001.jsonl").open("ab") as handle:
        handle.write(b'{"seq":26,"event_id":"4b1f')  # a write cut short by the crash

    with AuditWriter(directory, segment_records=50, checkpoint_every=20) as writer:
        assert writer.sequence == 25
        last = _checkpoints(directory)[-1]
        assert (last.first_sequence, last.last_sequence) == (21, 25)
        writer.append(events[25])

    assert verify(directory).ok
    assert record_of(_all_lines(directory)[25])["event_id"] == events[25].event_id


def test_resuming_a_closed_log_continues_its_chain(tmp_path, events):
    directory = write_log(tmp_path / "log", events[:120])

    write_log(directory, events)

    result = verify(directory)
    assert result.ok
    assert result.head_hash == reference_chain(events)[-1]


def test_a_tampered_log_is_never_written_to(log_dir, events):
    file, line = locate(100)
    lines = read_lines(log_dir / file)
    lines[line - 1] = lines[line - 1].replace(b'"source":"', b'"source":"x', 1)
    (log_dir / file).write_bytes(b"".join(lines))
    with (log_dir / "segment-000007.jsonl").open("ab") as handle:
        handle.write(b'{"seq":313')  # an incomplete line is not dropped either
    before = {p.name: p.read_bytes() for p in log_dir.iterdir()}

    with pytest.raises(AuditLogError) as raised:
        AuditWriter(log_dir, segment_records=50, checkpoint_every=20)

    assert raised.value.result.reason is VerifyReason.BAD_HASH
    assert "seq 100" in str(raised.value)
    assert {p.name: p.read_bytes() for p in log_dir.iterdir()} == before


def test_checkpoints_are_handed_to_the_callback_as_written(tmp_path, events):
    seen: list[AuditCheckpoint] = []
    with AuditWriter(tmp_path / "log", checkpoint_every=7, on_checkpoint=seen.append) as writer:
        for event in events[:30]:
            writer.append(event)

    assert seen == _checkpoints(tmp_path / "log")
    assert [c.last_sequence for c in seen] == [7, 14, 21, 28, 30]


def test_close_with_everything_checkpointed_writes_no_extra_checkpoint(tmp_path, events):
    writer = AuditWriter(tmp_path / "log", segment_records=10, checkpoint_every=5)
    for event in events[:10]:
        writer.append(event)

    assert writer.close() is None
    assert writer.close() is None
    assert [c.last_sequence for c in _checkpoints(tmp_path / "log")] == [5, 10]


def test_appending_after_close_is_refused(tmp_path, events):
    writer = AuditWriter(tmp_path / "log")
    writer.close()

    with pytest.raises(RuntimeError, match="closed"):
        writer.append(events[0])


def test_fsync_every_record_writes_the_same_log(tmp_path, events):
    with AuditWriter(tmp_path / "log", fsync_every_record=True, checkpoint_every=10) as writer:
        for event in events[:25]:
            writer.append(event)

    assert verify(tmp_path / "log").ok
    assert len(_all_lines(tmp_path / "log")) == 25


@pytest.mark.parametrize(
    ("field", "value"),
    [("segment_records", 0), ("checkpoint_every", -3), ("segment_records", "10")],
)
def test_invalid_layout_is_refused_naming_the_field(tmp_path, field, value):
    with pytest.raises(ValidationError) as raised:
        AuditWriter(tmp_path / "log", **{field: value})

    assert field in str(raised.value)
    assert str(value) in str(raised.value)
    assert not (tmp_path / "log").exists()


def test_a_log_written_with_the_earlier_json_encoding_still_verifies_and_grows(
    tmp_path, monkeypatch
):
    from jules_audit.engine import chain
    from jules_contracts.examples import example_events

    class EarlierEncoder:  # Python's json, as logs were written before msgspec
        def encode(self, value: object) -> bytes:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()

    examples = example_events()
    vector = next(e for e in examples if e.event_type == "features.vector")
    tiny = vector.model_copy(
        update={"event_id": "tiny-1", "features": {"logret_1": 7.499343810918958e-05}}
    )
    events = [tiny, *examples]
    with monkeypatch.context() as patched:
        patched.setattr(chain, "_ENCODER", EarlierEncoder())
        with AuditWriter(tmp_path / "log") as writer:
            for event in events[:5]:
                writer.append(event)
    with AuditWriter(tmp_path / "log") as writer:  # resumed with today's encoding
        for event in events[5:]:
            writer.append(event)

    result = verify(tmp_path / "log")
    assert result.ok, result.summary()
    assert result.records == len(events)
    first = _all_lines(tmp_path / "log")[0]
    assert b'"logret_1":7.499343810918958e-05' in first  # the earlier form, as written
