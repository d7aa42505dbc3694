"""`jules backtest --output-dir`: it never deletes or replaces what a run did not create.

A new, empty or earlier run's folder is used (an earlier run's files are replaced); a
non-empty folder that holds no run is refused with exit code 2 and left as it was, unless
``--overwrite``, which writes the run beside the files already there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka
from jules.cli import app
from jules_audit.store import verify
from jules_backtest.config import BacktestConfig
from jules_backtest.examples import small_config
from jules_runtime.output_paths import OutputRefusedError
from typer.testing import CliRunner

from .backtest_helpers import DATA_DIR

RUN_FILES = {
    "orders.csv",
    "fills.csv",
    "trades.csv",
    "equity.csv",
    "metrics.json",
    "data_quality.json",
    "config.json",
    "report.html",
    "run.json",
    "audit",
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "bt.yaml"
    raw = small_config(DATA_DIR, tmp_path / "default-run", monte_carlo={"samples": 20})
    path.write_text(yaml.safe_dump(raw))
    return path


def backtest(config_file: Path, output_dir: Path | str, *options: str):
    return CliRunner().invoke(
        app,
        [
            "backtest",
            "-c",
            str(config_file),
            "--output-dir",
            str(output_dir),
            "--no-progress",
            *options,
        ],
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_folder_with_a_users_file_is_refused_and_left_as_it_was(config_file, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.md").write_text("my notes")
    (folder / "config.json").write_text('{"mine": true}')

    result = backtest(config_file, folder)

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())  # the console wraps long lines
    assert f"refusing to write the backtest run into {folder}" in message
    assert "config.json, notes.md" in message
    assert "--overwrite" in message
    assert snapshot(folder) == {"config.json": b'{"mine": true}', "notes.md": b"my notes"}


def test_overwrite_runs_and_leaves_the_users_file(config_file, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.md").write_text("my notes")

    result = backtest(config_file, folder, "--overwrite")

    assert result.exit_code == 0, result.output
    assert {p.name for p in folder.iterdir()} == RUN_FILES | {"notes.md"}
    assert (folder / "notes.md").read_text() == "my notes"
    assert json.loads((folder / "run.json").read_text())["finished_at"] is not None


def test_a_rerun_into_a_run_folder_replaces_the_run_and_keeps_other_files(config_file, tmp_path):
    folder = tmp_path / "run"
    first = backtest(config_file, folder)
    assert first.exit_code == 0, first.output
    first_run = json.loads((folder / "run.json").read_text())
    first_outputs = snapshot(folder)
    (folder / "notes.md").write_text("what I saw")

    again = backtest(config_file, folder)

    assert again.exit_code == 0, again.output
    assert {p.name for p in folder.iterdir()} == RUN_FILES | {"notes.md"}
    assert (folder / "notes.md").read_text() == "what I saw"
    second_run = json.loads((folder / "run.json").read_text())
    assert second_run["started_at"] != first_run["started_at"]
    second_outputs = snapshot(folder)
    del second_outputs["notes.md"], first_outputs["run.json"], second_outputs["run.json"]
    assert second_outputs == first_outputs  # replaced, not appended: the audit log too


def test_the_current_folder_is_refused(config_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)

    result = backtest(config_file, ".")

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert f"into . ({tmp_path})" in message
    assert "bt.yaml" in message
    assert snapshot(tmp_path) == before


def test_an_interrupted_run_is_recognised_and_replaced(config_file, tmp_path):
    folder = tmp_path / "run"
    (folder / "audit").mkdir(parents=True)
    (folder / "audit" / "segment-000000.jsonl").write_text("half a record")
    (folder / "run.json").write_text(
        json.dumps(
            {"started_at": "2024-01-02T00:00:00+00:00", "finished_at": None, "mode": "kafka"}
        )
    )

    result = backtest(config_file, folder)

    assert result.exit_code == 0, result.output
    assert {p.name for p in folder.iterdir()} == RUN_FILES
    assert not (folder / "audit" / "segment-000000.jsonl").exists()  # gone, not continued
    assert verify(folder / "audit").ok


def test_a_run_folder_written_before_the_marker_existed_is_recognised(config_file, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(
        json.dumps(
            {
                "started_at": "2024-01-02T00:00:00+00:00",
                "finished_at": "2024-01-02T00:00:01+00:00",
                "wall_seconds": 1.0,
                "bars": 10,
                "events": 20,
                "mode": "embedded",
                "python": "3.11.9",
                "machine": "x86_64",
            }
        )
    )
    (folder / "orders.csv").write_text("stale\n")

    result = backtest(config_file, folder)

    assert result.exit_code == 0, result.output
    assert (folder / "orders.csv").read_text() != "stale\n"


def test_kafka_mode_refuses_the_folder_before_anything_starts(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.md").write_text("my notes")
    config = BacktestConfig.model_validate(small_config(DATA_DIR, folder))
    options = KafkaRunOptions(bootstrap="127.0.0.1:1")  # no broker: it must not be reached

    with pytest.raises(OutputRefusedError, match="holds no earlier backtest run"):
        run_backtest_kafka(config, options)

    assert snapshot(folder) == {"notes.md": b"my notes"}
