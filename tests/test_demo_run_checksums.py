"""`make demo`'s two embedded backtests write exactly the recorded run folders."""

from __future__ import annotations

import pytest
from jules.cli import app
from typer.testing import CliRunner

from tests.demo_runs import CONFIGS, REPO_ROOT, expected_checksums, run_folder_checksums


@pytest.mark.parametrize("run", sorted(CONFIGS))
def test_the_demo_run_folder_is_byte_identical_to_the_recorded_one(run, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the demo configs name the data relative to the root
    run_dir = tmp_path / run
    result = CliRunner().invoke(
        app, ["backtest", "--config", CONFIGS[run], "--output-dir", str(run_dir)]
    )
    assert result.exit_code == 0, result.output
    assert run_folder_checksums(run_dir) == expected_checksums(run)
