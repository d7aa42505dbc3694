"""Verification finds every kind of tampering and names the first bad record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jules_audit.engine import VerifyReason
from jules_audit.store import verify
from jules_contracts.base import Event

from .auditlog import (
    KEY,
    forged_line,
    locate,
    read_lines,
    record_of,
    reference_chain,
    write_lines,
)

MIDDLE = 157  # segment-000004.jsonl, line 7


def _assert_failure(directory: Path, reason: VerifyReason, file: str, line: int, seq: int | None):
    result = verify(directory)
    assert not result.ok
    assert result.failure is not None
    assert (result.reason, result.failure.file, result.failure.line, result.failure.seq) == (
        reason,
        file,
        line,
        seq,
    )
    return result


def test_intact_log_verifies_with_the_independently_computed_head(log_dir, events):
    result = verify(log_dir)

    assert result.ok, result.summary()
    assert (result.records, result.segments, result.checkpoints) == (324, 7, 20)
    assert result.head_sequence == 324
    assert result.head_hash == reference_chain(events)[-1]
    assert result.summary().startswith("audit log intact: 324 records in 7 segment(s)")


def test_flipped_byte_in_a_middle_record_is_a_bad_hash_naming_that_record(log_dir):
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    original = lines[line - 1]
    at = original.index(b'"source":"') + len(b'"source":"')
    lines[line - 1] = original[:at] + bytes([original[at] ^ 0x01]) + original[at + 1 :]
    write_lines(log_dir / file, lines)

    result = _assert_failure(log_dir, VerifyReason.BAD_HASH, file.name, line, MIDDLE)
    assert result.records == MIDDLE - 1
    assert f"BAD_HASH at {file.name} line {line} (seq {MIDDLE})" in result.summary()


def test_edited_header_is_a_bad_hash(log_dir):
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    record = record_of(lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(
        f'"event_type":"{record["event_type"]}"'.encode(), b'"event_type":"order.filled"', 1
    )
    assert record["event_type"] != "order.filled"
    write_lines(log_dir / file, lines)

    result = _assert_failure(log_dir, VerifyReason.BAD_HASH, file.name, line, MIDDLE)
    assert "event_type" in result.summary()


def test_deleted_record_is_a_sequence_gap_at_the_record_after_it(log_dir):
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    del lines[line - 1]
    write_lines(log_dir / file, lines)

    result = _assert_failure(log_dir, VerifyReason.SEQUENCE_GAP, file.name, line, MIDDLE + 1)
    assert f"record {MIDDLE} is missing" in result.summary()


def test_deleted_record_with_the_rest_renumbered_is_a_broken_link(log_dir):
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    del lines[line - 1]
    for index in range(line - 1, len(lines)):
        seq = MIDDLE + 1 + (index - (line - 1))
        lines[index] = lines[index].replace(
            f'{{"seq":{seq},'.encode(), f'{{"seq":{seq - 1},'.encode()
        )
    write_lines(log_dir / file, lines)

    _assert_failure(log_dir, VerifyReason.BROKEN_LINK, file.name, line, MIDDLE)


def test_swapped_records_are_a_sequence_gap_at_the_first_of_them(log_dir):
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    lines[line - 1], lines[line] = lines[line], lines[line - 1]
    write_lines(log_dir / file, lines)

    result = _assert_failure(log_dir, VerifyReason.SEQUENCE_GAP, file.name, line, MIDDLE + 1)
    assert f"expected seq {MIDDLE}, found {MIDDLE + 1}" in result.summary()


def test_swapped_records_keeping_their_numbers_are_a_broken_link(log_dir):
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    first, second = lines[line - 1], lines[line]
    lines[line - 1] = second.replace(
        f'{{"seq":{MIDDLE + 1},'.encode(), f'{{"seq":{MIDDLE},'.encode()
    )
    lines[line] = first.replace(f'{{"seq":{MIDDLE},'.encode(), f'{{"seq":{MIDDLE + 1},'.encode())
    write_lines(log_dir / file, lines)

    _assert_failure(log_dir, VerifyReason.BROKEN_LINK, file.name, line, MIDDLE)


def test_record_appended_after_close_is_detected(log_dir, events: list[Event]):
    last_file, last_line = locate(324)
    last = record_of(read_lines(log_dir / last_file)[-1])
    extra = events[0].model_copy(update={"event_id": "00000000-0000-8000-8000-000000000001"})
    payload = json.dumps(
        json.loads(extra.model_dump_json()), sort_keys=True, separators=(",", ":")
    ).encode()
    with (log_dir / last_file).open("ab") as handle:
        handle.write(forged_line(325, last["hash"], payload))

    result = _assert_failure(
        log_dir, VerifyReason.APPENDED_AFTER_CLOSE, last_file.name, last_line + 1, 325
    )
    assert "records 325..325 follow the last checkpoint (seq 324)" in result.summary()
    tolerant = verify(log_dir, allow_tail=True)
    assert tolerant.ok
    assert (tolerant.records, tolerant.unchecked_tail) == (325, 1)


def test_truncated_tail_is_detected_by_the_last_checkpoint(log_dir):
    last_file, _ = locate(324)
    lines = read_lines(log_dir / last_file)
    write_lines(log_dir / last_file, lines[:-3])

    result = _assert_failure(log_dir, VerifyReason.TRUNCATED, last_file.name, 22, 322)
    assert "records 322..324 are missing" in result.summary()


def test_removed_last_segment_is_truncated(log_dir):
    (log_dir / "segment-000007.jsonl").unlink()

    _assert_failure(log_dir, VerifyReason.TRUNCATED, "segment-000007.jsonl", 1, 301)


def test_removed_middle_segment_is_a_sequence_gap(log_dir):
    (log_dir / "segment-000003.jsonl").unlink()

    result = _assert_failure(log_dir, VerifyReason.SEQUENCE_GAP, "segment-000004.jsonl", 1, 151)
    assert "records 101..150 are missing" in result.summary()


def test_corrupted_checkpoint_signature_is_a_bad_checkpoint(signed_log_dir):
    path = signed_log_dir / "checkpoints.jsonl"
    lines = read_lines(path)
    checkpoint = record_of(lines[4])
    signature = checkpoint["signature"]
    altered = ("0" if signature[0] != "0" else "1") + signature[1:]
    lines[4] = lines[4].replace(signature.encode(), altered.encode())
    write_lines(path, lines)

    result = verify(signed_log_dir, KEY)

    assert result.reason is VerifyReason.BAD_CHECKPOINT
    assert result.failure is not None
    assert (result.failure.file, result.failure.line) == ("checkpoints.jsonl", 5)
    assert result.failure.seq == checkpoint["last_sequence"]
    assert "signature does not match" in result.summary()


def test_signed_log_verifies_with_its_key_and_fails_with_another(signed_log_dir):
    good = verify(signed_log_dir, KEY)
    wrong = verify(signed_log_dir, b"another key")

    assert good.ok
    assert good.signatures_checked
    assert "checkpoint signatures verified" in good.summary()
    assert wrong.reason is VerifyReason.BAD_CHECKPOINT


def test_unsigned_checkpoints_fail_when_a_key_is_expected(log_dir):
    result = verify(log_dir, KEY)

    assert result.reason is VerifyReason.BAD_CHECKPOINT
    assert "unsigned" in result.summary()


def test_checkpoint_with_another_chain_hash_is_a_bad_checkpoint(log_dir):
    path = log_dir / "checkpoints.jsonl"
    lines = read_lines(path)
    checkpoint = record_of(lines[2])
    lines[2] = lines[2].replace(checkpoint["chain_hash"].encode(), b"ab" * 32)
    write_lines(path, lines)

    result = verify(log_dir)

    assert result.reason is VerifyReason.BAD_CHECKPOINT
    assert result.failure is not None
    assert (result.failure.line, result.failure.seq) == (3, checkpoint["last_sequence"])
    assert "chain_hash" in result.summary()


def test_rewritten_history_with_a_recomputed_chain_is_caught_by_the_checkpoint(log_dir):
    # The forger alters record 157 and recomputes every later hash of its segment and after.
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    records = [record_of(raw) for raw in lines]
    prev = records[line - 1]["prev_hash"]
    for index in range(line - 1, len(lines)):
        raw = lines[index]
        payload = raw[raw.index(b',"payload":') + len(b',"payload":') : -2]
        if index == line - 1:
            payload = payload.replace(b'"source":"', b'"source":"x', 1)
        lines[index] = forged_line(records[index]["seq"], prev, payload)
        prev = record_of(lines[index])["hash"]
    write_lines(log_dir / file, lines)

    result = verify(log_dir)

    assert result.reason is VerifyReason.BAD_CHECKPOINT
    assert result.failure is not None
    # Segment 4 holds records 151..200, checkpointed every 20 within it: 170 comes first.
    assert (result.failure.file, result.failure.seq) == ("checkpoints.jsonl", 170)
    assert "chain_hash" in result.summary()


def test_unparseable_line_is_malformed(log_dir):
    file, line = locate(MIDDLE)
    lines = read_lines(log_dir / file)
    lines[line - 1] = b"this is not a record\n"
    write_lines(log_dir / file, lines)

    _assert_failure(log_dir, VerifyReason.MALFORMED, file.name, line, None)


def test_interrupted_last_write_is_malformed(log_dir):
    last_file, last_line = locate(324)
    data = (log_dir / last_file).read_bytes()
    (log_dir / last_file).write_bytes(data[:-40])

    _assert_failure(log_dir, VerifyReason.MALFORMED, last_file.name, last_line, None)


def test_event_recorded_twice_is_a_duplicate(tmp_path, events):
    # A hand-made log whose chain is valid but holds one event twice.
    directory = tmp_path / "dup"
    directory.mkdir()
    payloads = [
        json.dumps(json.loads(event.model_dump_json()), sort_keys=True, separators=(",", ":"))
        for event in events[:3]
    ]
    lines, prev = [], "0" * 64
    for seq, payload in enumerate([*payloads, payloads[1]], 1):
        lines.append(forged_line(seq, prev, payload.encode()))
        prev = record_of(lines[-1])["hash"]
    write_lines(directory / "segment-000001.jsonl", lines)

    result = verify(directory, allow_tail=True)

    assert result.reason is VerifyReason.DUPLICATE_EVENT
    assert result.failure is not None
    assert (result.failure.line, result.failure.seq) == (4, 4)


def test_a_directory_without_a_log_is_not_an_intact_log(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"holds no segment-NNNNNN\.jsonl file"):
        verify(tmp_path)
