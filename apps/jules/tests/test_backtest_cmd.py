"""`jules backtest` in embedded mode: config files, overrides, summary, errors and exit codes."""

from __future__ import annotations

import json

import yaml
from jules.cli import app
from jules_backtest.examples import COINBASE, small_config
from typer.testing import CliRunner

from .backtest_helpers import DATA_DIR


def test_command_runs_a_config_file_with_overrides_and_prints_a_summary(tmp_path):
    config_file = tmp_path / "bt.yaml"
    config_file.write_text(yaml.safe_dump(small_config(DATA_DIR, tmp_path / "ignored")))
    out = tmp_path / "cli-run"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "-c",
            str(config_file),
            "--output-dir",
            str(out),
            "--no-progress",
            "--set",
            "strategy.fast=5",
            "--set",
            "monte_carlo.samples=50",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "total_return" in result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["strategy"]["fast"] == 5
    assert saved["monte_carlo"]["samples"] == 50


def test_invalid_configuration_exits_2_naming_the_field(tmp_path):
    config_file = tmp_path / "bt.yaml"
    config_file.write_text(
        yaml.safe_dump(small_config(DATA_DIR, tmp_path / "x", account={"starting_cash": -5}))
    )
    result = CliRunner().invoke(app, ["backtest", "-c", str(config_file), "--no-progress"])
    assert result.exit_code == 2
    assert "starting_cash" in result.output


def test_a_missing_data_file_exits_1_naming_it(tmp_path):
    config = small_config(DATA_DIR, tmp_path / "x")
    config["data"] = [{"path": "nowhere/file.zip", "instrument_id": "BTCUSD.COINBASE"}]
    config_file = tmp_path / "bt.yaml"
    config_file.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["backtest", "-c", str(config_file), "--no-progress"])
    assert result.exit_code == 1
    assert "nowhere/file.zip" in result.output


def test_a_toml_configuration_runs_too(tmp_path):
    config_file = tmp_path / "bt.toml"
    config_file.write_text(
        f"""
name = "toml-run"
data_dir = "{DATA_DIR.as_posix()}"
output_dir = "{(tmp_path / "toml-run").as_posix()}"
data = [{{ path = "{COINBASE}/ltcusd/20180405_trade.zip", instrument_id = "LTCUSD.COINBASE" }}]
strategy = {{ kind = "ema_cross", fast = 9, slow = 21, mode = "long_only" }}
risk = {{ sizing = {{ kind = "all_equity" }} }}
monte_carlo = {{ samples = 20 }}
"""
    )
    result = CliRunner().invoke(app, ["backtest", "-c", str(config_file), "--no-progress"])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "toml-run" / "config.json").read_text())
    assert saved["strategy"]["kind"] == "ema_cross"
    assert (tmp_path / "toml-run" / "trades.csv").read_text().count("\n") > 1
