"""Property: changing any single byte of a stored log is detected."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_audit.engine import CHECKPOINTS_FILE, LogVerifier, VerifyResult
from jules_contracts.examples import example_events

from .auditlog import KEY, write_log

SEGMENTS = ["segment-000001.jsonl", "segment-000002.jsonl", "segment-000003.jsonl"]


def _verify(files: dict[str, bytes], key: bytes | None) -> VerifyResult:
    segments = [(name, files[name]) for name in SEGMENTS]
    return LogVerifier(key=key).run(segments, files[CHECKPOINTS_FILE])


def _small_log(directory: Path, key: bytes | None) -> dict[str, bytes]:
    """27 records in 3 segments of 10, checkpointed every 4."""
    write_log(directory, list(example_events()), segment_records=10, checkpoint_every=4, key=key)
    files = {path.name: path.read_bytes() for path in directory.iterdir()}
    assert sorted(files) == [CHECKPOINTS_FILE, *SEGMENTS]
    assert _verify(files, key).ok
    return files


@pytest.fixture(scope="module")
def unsigned_log(tmp_path_factory) -> dict[str, bytes]:
    return _small_log(tmp_path_factory.mktemp("flip") / "audit", None)


@pytest.fixture(scope="module")
def signed_log(tmp_path_factory) -> dict[str, bytes]:
    return _small_log(tmp_path_factory.mktemp("flip") / "audit", KEY)


def _flip(files: dict[str, bytes], name: str, data: st.DataObject) -> dict[str, bytes]:
    original = files[name]
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    replacement = data.draw(
        st.integers(0, 255).filter(lambda byte: byte != original[position]), label="byte"
    )
    return {**files, name: original[:position] + bytes([replacement]) + original[position + 1 :]}


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_in_a_segment_file_is_detected(unsigned_log, data):
    tampered = _flip(unsigned_log, data.draw(st.sampled_from(SEGMENTS), label="file"), data)

    assert not _verify(tampered, None).ok


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_in_the_checkpoint_file_is_detected(unsigned_log, data):
    tampered = _flip(unsigned_log, CHECKPOINTS_FILE, data)

    assert not _verify(tampered, None).ok


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_in_a_signed_checkpoint_file_is_detected_with_the_key(
    signed_log, data
):
    tampered = _flip(signed_log, CHECKPOINTS_FILE, data)

    assert not _verify(tampered, KEY).ok
