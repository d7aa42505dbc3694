"""``jules-audit verify`` and ``jules-audit export``."""

from __future__ import annotations

import json

from jules_audit.cli import app
from typer.testing import CliRunner

from .auditlog import KEY, locate, read_lines, write_lines

runner = CliRunner()


def test_verify_of_an_intact_log_exits_0_with_a_one_line_summary(log_dir):
    result = runner.invoke(app, ["verify", str(log_dir)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [result.stdout.strip()]
    assert result.stdout.startswith("audit log intact: 324 records in 7 segment(s), 20 checkpoint")


def test_verify_of_a_folder_without_a_log_fails_and_points_to_the_log_inside(log_dir, tmp_path):
    empty = runner.invoke(app, ["verify", str(tmp_path)])
    export = runner.invoke(app, ["export", str(tmp_path)])
    run = tmp_path / "run"
    run.mkdir()
    log_dir.rename(run / "audit")
    in_run = runner.invoke(app, ["verify", str(run)])

    assert (empty.exit_code, export.exit_code, in_run.exit_code) == (1, 1, 1)
    assert "no audit log in" in empty.stderr
    assert "intact" not in empty.output
    assert "not exported: no audit log" in export.stderr
    assert f"give {run / 'audit'}" in in_run.stderr


def test_verify_json_gives_the_verdict_as_one_object(log_dir, tmp_path):
    intact = runner.invoke(app, ["verify", str(log_dir), "--json"])
    empty = runner.invoke(app, ["verify", str(tmp_path), "--json"])
    file, line = locate(201)
    lines = read_lines(log_dir / file)
    lines[line - 1] = lines[line - 1].replace(b'"source":"', b'"source":"x', 1)
    write_lines(log_dir / file, lines)
    broken = runner.invoke(app, ["verify", str(log_dir), "--json"])

    assert intact.exit_code == 0
    verdict = json.loads(intact.stdout)
    assert (verdict["ok"], verdict["records"], verdict["failure"]) == (True, 324, None)
    assert broken.exit_code == 1
    failure = json.loads(broken.stdout)["failure"]
    assert (failure["reason"], failure["file"], failure["seq"]) == (
        "BAD_HASH",
        "segment-000005.jsonl",
        201,
    )
    assert empty.exit_code == 1
    assert json.loads(empty.stdout)["ok"] is False


def test_verify_of_a_broken_log_exits_1_naming_the_first_bad_record(log_dir):
    file, line = locate(201)
    lines = read_lines(log_dir / file)
    lines[line - 1] = lines[line - 1].replace(b'"source":"', b'"source":"x', 1)
    write_lines(log_dir / file, lines)

    result = runner.invoke(app, ["verify", str(log_dir)])

    assert result.exit_code == 1
    assert "BAD_HASH at segment-000005.jsonl line 1 (seq 201)" in result.stderr
    assert result.stdout == ""


def test_verify_checks_signatures_with_a_key_file(signed_log_dir, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")

    result = runner.invoke(app, ["verify", str(signed_log_dir), "--key-file", str(key_file)])

    assert result.exit_code == 0, result.output
    assert "checkpoint signatures verified" in result.stdout


def test_export_writes_the_csv_to_a_file(log_dir, tmp_path):
    target = tmp_path / "orders.csv"

    result = runner.invoke(
        app, ["export", str(log_dir), "--format", "csv", "--output", str(target)]
    )

    assert result.exit_code == 0, result.output
    assert len(target.read_text().splitlines()) == 133
    assert "exported 132 order event(s) as csv" in result.stderr


def test_check_config_is_still_there(tmp_path):
    result = runner.invoke(app, ["check-config"], env={"JULES_AUDIT__DIRECTORY": str(tmp_path)})

    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)
    assert "kafka" in settings
    assert settings["directory"] == str(tmp_path)


def test_check_config_names_the_missing_log_directory():
    result = runner.invoke(app, ["check-config"], env={"JULES_AUDIT__DIRECTORY": None})

    assert result.exit_code == 2
    assert "JULES_AUDIT__DIRECTORY: Field required" in result.stderr
