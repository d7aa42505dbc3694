"""``jules audit verify`` and ``jules audit export``."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
import typer
from jules.audit_cmd import audit_app
from jules_audit.store import AuditWriter
from jules_contracts.examples import example_events
from typer.testing import CliRunner

KEY = b"jules-audit-cli-key"
ORDER_EVENTS = 11  # order events among the example events (one of each kind)

runner = CliRunner()


def _write(directory: Path, key: bytes | None = None) -> Path:
    """The 27 example events in segments of 8, checkpointed every 3."""
    with AuditWriter(directory, segment_records=8, checkpoint_every=3, key=key) as writer:
        for event in example_events():
            writer.append(event)
    return directory


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture
def log(tmp_path) -> Path:
    return _write(tmp_path / "audit")


def test_verify_intact_log_exits_0_and_prints_one_summary_line(log):
    result = runner.invoke(audit_app, ["verify", str(log)])

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert "audit log intact: 27 records in 4 segment(s)" in result.stdout


def test_verify_names_segment_line_seq_and_reason_of_the_first_bad_record(log):
    # seq 11 is line 3 of the second segment; flip one byte of its payload.
    path = log / "segment-000002.jsonl"
    lines = _lines(path)
    position = lines[2].index(b'"source":"') + len(b'"source":"')
    lines[2] = lines[2][:position] + bytes([lines[2][position] ^ 0x02]) + lines[2][position + 1 :]
    path.write_bytes(b"".join(lines))

    result = runner.invoke(audit_app, ["verify", str(log)])

    assert result.exit_code == 1
    assert "audit log BROKEN: BAD_HASH at segment-000002.jsonl line 3 (seq 11)" in result.stderr


def test_verify_reports_a_deleted_record(log):
    path = log / "segment-000001.jsonl"
    lines = _lines(path)
    del lines[4]  # seq 5
    path.write_bytes(b"".join(lines))

    result = runner.invoke(audit_app, ["verify", str(log)])

    assert result.exit_code == 1
    assert "SEQUENCE_GAP at segment-000001.jsonl line 5 (seq 6)" in result.stderr


def test_verify_reports_records_appended_after_close_unless_allowed(log):
    path = log / "segment-000004.jsonl"
    last = json.loads(_lines(path)[-1])
    event = example_events()[0].model_copy(
        update={"event_id": "00000000-0000-8000-8000-0000000000aa"}
    )
    payload = json.dumps(
        json.loads(event.model_dump_json()), sort_keys=True, separators=(",", ":")
    ).encode()
    header = {
        "seq": 28,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "event_time": event.event_time,
        "prev_hash": last["hash"],
        "hash": hashlib.sha256(bytes.fromhex(last["hash"]) + payload).hexdigest(),
    }
    line = json.dumps(header, separators=(",", ":"))[:-1].encode() + b',"payload":' + payload
    with path.open("ab") as handle:
        handle.write(line + b"}\n")

    strict = runner.invoke(audit_app, ["verify", str(log)])
    tolerant = runner.invoke(audit_app, ["verify", str(log), "--allow-tail"])

    assert strict.exit_code == 1
    assert "APPENDED_AFTER_CLOSE at segment-000004.jsonl line 4 (seq 28)" in strict.stderr
    assert tolerant.exit_code == 0, tolerant.output
    assert "1 record(s) after the last checkpoint" in tolerant.stdout


def test_verify_truncated_log(log):
    path = log / "segment-000004.jsonl"
    path.write_bytes(b"".join(_lines(path)[:-1]))

    result = runner.invoke(audit_app, ["verify", str(log)])

    assert result.exit_code == 1
    assert "TRUNCATED at segment-000004.jsonl line 3 (seq 27)" in result.stderr


def test_verify_with_the_key_file_checks_the_signatures(tmp_path):
    log = _write(tmp_path / "signed", key=KEY)
    good, bad = tmp_path / "good.key", tmp_path / "bad.key"
    good.write_bytes(KEY + b"\n")
    bad.write_bytes(b"not the key")

    ok = runner.invoke(audit_app, ["verify", str(log), "--key-file", str(good)])
    wrong = runner.invoke(audit_app, ["verify", str(log), "--key-file", str(bad)])

    assert ok.exit_code == 0, ok.output
    assert "checkpoint signatures verified" in ok.stdout
    assert wrong.exit_code == 1
    assert "BAD_CHECKPOINT at checkpoints.jsonl line 1 (seq 3)" in wrong.stderr


def test_verify_of_a_missing_directory_is_a_usage_error(tmp_path):
    result = runner.invoke(audit_app, ["verify", str(tmp_path / "nowhere")])

    assert result.exit_code == 2


def test_export_writes_csv_to_stdout(log):
    result = runner.invoke(audit_app, ["export", str(log), "--format", "csv"])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == ORDER_EVENTS
    assert [int(row["record_seq"]) for row in rows] == list(range(8, 8 + ORDER_EVENTS))
    assert rows[0]["client_order_id"] == "jules-7f3a9c2e01"
    assert f"exported {ORDER_EVENTS} order event(s) as csv to stdout" in result.stderr


def test_export_to_a_file_writes_the_same_csv(log, tmp_path):
    target = tmp_path / "orders.csv"

    to_file = runner.invoke(audit_app, ["export", str(log), "--format", "csv", "-o", str(target)])
    to_stdout = runner.invoke(audit_app, ["export", str(log)])

    assert to_file.exit_code == 0, to_file.output
    assert to_file.stdout == ""
    assert target.read_text() == to_stdout.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit", "orders.csv"]


def test_export_of_a_broken_log_exits_1_and_writes_nothing(log, tmp_path):
    (log / "checkpoints.jsonl").write_bytes(b"".join(_lines(log / "checkpoints.jsonl")[:-1]))
    target = tmp_path / "orders.csv"

    result = runner.invoke(audit_app, ["export", str(log), "--output", str(target)])

    assert result.exit_code == 1
    assert "not exported: audit log BROKEN: APPENDED_AFTER_CLOSE" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit"]


def test_export_refuses_an_unknown_format(log):
    result = runner.invoke(audit_app, ["export", str(log), "--format", "xml"])

    assert result.exit_code == 2


def test_audit_app_works_as_a_sub_command(log):
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Root."""

    root.add_typer(audit_app, name="audit")

    result = runner.invoke(root, ["audit", "verify", str(log)])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("audit log intact")
