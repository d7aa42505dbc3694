"""`jules up --run-dir`: the session folder follows the rule of every command that writes.

A new or empty folder, or a stopped session's, is used and nothing in it is deleted; a
non-empty folder that holds no session is refused (exit 2, left as it was) unless
``--overwrite``; a folder whose session still runs is refused even then. No broker is needed:
the folder is checked before the broker or any service starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml
from jules.cli import app
from jules.session import ServiceState, SessionState, prepare_session_dir
from jules_backtest.examples import small_config
from jules_runtime.output_paths import OutputRefusedError
from typer.testing import CliRunner

from .backtest_helpers import DATA_DIR


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def earlier_session(folder: Path, pid: int) -> Path:
    """A session folder as ``jules up`` leaves it: its state, a log and an audit log."""
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "risk.log").write_text('{"msg": "ready"}\n')
    (folder / "audit").mkdir()
    (folder / "audit" / "checkpoints.jsonl").write_text("")
    state = SessionState(
        str(folder),
        "paper-20240102-000000",
        "127.0.0.1:9092",
        started_broker=False,
        services=[ServiceState("risk", pid, 8001, str(folder / "logs" / "risk.log"))],
    )
    (folder / "session.json").write_text(json.dumps(asdict(state)))
    return folder


def ended_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_missing_folder_is_created(tmp_path):
    folder = tmp_path / "runs" / "session"

    assert prepare_session_dir(folder) == folder

    assert folder.is_dir()


def test_a_folder_with_a_users_file_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "notes.md").write_text("my notes")

    with pytest.raises(OutputRefusedError) as refused:
        prepare_session_dir(tmp_path)

    message = str(refused.value)
    assert f"refusing to write the session into {tmp_path}" in message
    assert "notes.md" in message
    assert "--overwrite" in message
    assert snapshot(tmp_path) == {"notes.md": b"my notes"}


def test_overwrite_uses_the_folder_and_leaves_the_users_file(tmp_path):
    (tmp_path / "notes.md").write_text("my notes")

    prepare_session_dir(tmp_path, overwrite=True)

    assert snapshot(tmp_path) == {"notes.md": b"my notes"}


def test_a_stopped_sessions_folder_is_used_again_and_keeps_its_logs(tmp_path):
    earlier_session(tmp_path, ended_pid())
    (tmp_path / "notes.md").write_text("my notes")
    before = snapshot(tmp_path)

    prepare_session_dir(tmp_path)

    assert snapshot(tmp_path) == before  # nothing deleted: the audit log is continued


def test_a_folder_whose_session_still_runs_is_refused_even_with_overwrite(tmp_path):
    earlier_session(tmp_path, os.getpid())  # this process: alive
    before = snapshot(tmp_path)

    with pytest.raises(OutputRefusedError) as refused:
        prepare_session_dir(tmp_path, overwrite=True)

    message = str(refused.value)
    assert "its session paper-20240102-000000 still runs (risk)" in message
    assert f"jules down --run-dir {tmp_path}" in message
    assert snapshot(tmp_path) == before


def test_jules_up_refuses_the_folder_with_exit_2_before_the_broker_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the session pointer (.local/session) would be written here
    config = tmp_path / "session.yaml"
    config.write_text(yaml.safe_dump(small_config(DATA_DIR, tmp_path / "unused")))
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.md").write_text("my notes")

    result = CliRunner().invoke(
        app, ["up", "-c", str(config), "--run-dir", str(folder), "--bootstrap", "127.0.0.1:1"]
    )

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert f"refusing to write the session into {folder}" in message
    assert snapshot(folder) == {"notes.md": b"my notes"}
    assert not (tmp_path / ".local").exists()
