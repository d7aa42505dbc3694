"""``jules backtest --print-config`` prints a config that loads back to the same configuration,
with every default; ``--print-schema`` the JSON Schema the docs hold."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jules.cli import app
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.examples import small_config
from jules_backtest.reference import json_schema
from typer.testing import CliRunner

from .backtest_helpers import DATA_DIR, REPO_ROOT


def test_print_config_gives_a_config_that_loads_back_the_same(tmp_path: Path) -> None:
    example = REPO_ROOT / "examples" / "demo.yaml"
    args = ["backtest", "-c", str(example), "--data-dir", str(DATA_DIR), "--print-config"]
    printed = CliRunner().invoke(app, [*args, "--set", "seed=11"])
    assert printed.exit_code == 0, printed.output
    written = tmp_path / "full.yaml"
    written.write_text(printed.stdout)

    again = load_config(written)
    original = load_config(example, ["seed=11"], data_dir=DATA_DIR)
    paths = {"data_dir", "output_dir"}  # printed absolute
    assert again.model_dump(exclude=paths) == original.model_dump(exclude=paths)
    for key in paths:
        assert Path(getattr(again, key)) == Path(getattr(original, key)).resolve()
    assert yaml.safe_load(printed.stdout)["risk"]["limits"]  # the defaults are there


def test_print_schema_prints_the_schema_of_the_docs() -> None:
    printed = CliRunner().invoke(app, ["backtest", "--print-schema"])
    assert printed.exit_code == 0, printed.output
    schema = json.loads(printed.stdout)
    assert schema == json_schema()
    assert set(schema["properties"]) == set(BacktestConfig.model_fields)
    assert schema["required"] == ["data", "strategy"]


def test_json_prints_the_runs_summary_as_the_run_folder_has_it(tmp_path: Path) -> None:
    config = tmp_path / "bt.yaml"
    config.write_text(yaml.safe_dump(small_config(DATA_DIR, tmp_path / "ignored")))
    out = tmp_path / "run"
    args = ["backtest", "-c", str(config), "--output-dir", str(out), "--json"]
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["run_dir"] == str(out)
    assert summary["metrics"] == json.loads((out / "metrics.json").read_text())["metrics"]
    assert summary["data_quality"] == json.loads((out / "data_quality.json").read_text())
    assert summary["bars"] > 0
