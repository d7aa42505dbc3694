"""`jules sweep` end to end on real data, with its trials on real Dask clusters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from jules.cli import app
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.examples import small_config
from jules_backtest.run import run_in_memory
from jules_backtest.sweep.trial import BacktestTrial
from jules_signal.engine.config import SmaCrossConfig
from typer.testing import CliRunner, Result

from .backtest_helpers import DATA_DIR


def write_sweep(tmp_path: Path, **sections: Any) -> Path:
    base = small_config(DATA_DIR, tmp_path / "unused", monte_carlo={"samples": 50, "block": 20})
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    sweep = {
        "name": "t",
        "base": "base.yaml",
        "parameters": {"strategy.fast": [5, 10], "strategy.slow": [20, 40]},
        "objective": {"metric": "total_return"},
        "output_dir": "out",
        **sections,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def invoke(*args: object) -> Result:
    return CliRunner().invoke(app, ["sweep", *map(str, args)])


def test_a_cached_trial_equals_a_fresh_run():
    base = BacktestConfig.model_validate(small_config(DATA_DIR, DATA_DIR / "unused"))
    trial = BacktestTrial(base.model_dump(mode="json"))
    point = {"strategy.fast": 5, "strategy.slow": 20}
    fresh, _, _ = run_in_memory(trial.config(point))
    first, again = trial(point), trial(point)
    assert first == again
    assert {k: first[k] for k in fresh} == fresh
    assert first["orders"] > 0


def test_a_grid_on_a_local_dask_cluster_writes_table_best_config_and_report(tmp_path):
    result = invoke("-c", write_sweep(tmp_path), "--workers", 2, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    folder = tmp_path / "out"
    assert summary["sweep_dir"] == str(folder)
    table = pq.read_table(folder / "trials.parquet").to_pylist()
    assert [(r["strategy.fast"], r["strategy.slow"]) for r in table] == [
        (5, 20),
        (5, 40),
        (10, 20),
        (10, 40),
    ]
    best = max(table, key=lambda r: r["objective"])
    assert all(r["objective"] == r["metric.total_return"] for r in table)
    assert summary["best_params"] == {
        "strategy.fast": best["strategy.fast"],
        "strategy.slow": best["strategy.slow"],
    }
    assert (folder / "trials.csv").read_text().count("\n") == 5
    # the best point as a ready config: it loads and its run gives the table's figure
    strategy = load_config(folder / "best.yaml").strategy
    assert isinstance(strategy, SmaCrossConfig)
    assert (strategy.fast, strategy.slow) == (best["strategy.fast"], best["strategy.slow"])
    best_run = json.loads((folder / "best" / "metrics.json").read_text())["metrics"]
    assert best_run["total_return"] == pytest.approx(best["objective"], rel=1e-12)
    page = (folder / "report.html").read_text()
    assert page.count('id="sweep-plot-') == 4  # objective, two parameters, heatmap
    marker = json.loads((folder / "sweep.json").read_text())
    assert marker["trials"] == 4
    assert marker["finished_at"]
    assert marker["workers"] == 2


def test_walk_forward_with_optuna_on_a_scheduler_address(tmp_path):
    from distributed import LocalCluster

    path = write_sweep(
        tmp_path,
        parameters={"strategy.fast": {"low": 3, "high": 12}, "strategy.slow": [20, 30]},
        search={"method": "optuna", "trials": 4, "seed": 1},
        walk_forward={"folds": 2, "in_sample": 0.5},
    )
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0")  # type: ignore[no-untyped-call]
    with cluster:
        result = invoke("-c", path, "--scheduler", cluster.scheduler_address, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    folds = summary["folds"]
    assert [f["trials"] for f in folds] == [4, 4]
    # each fold's out-of-sample window starts where its in-sample window ends, and they tile
    assert folds[0]["in_sample"][1] == folds[0]["out_of_sample"][0]
    assert folds[0]["out_of_sample"][1] == folds[1]["out_of_sample"][0]
    for fold in folds:
        run = tmp_path / "out" / fold["run_dir"]
        saved = json.loads((run / "config.json").read_text())
        assert saved["start"].startswith(fold["out_of_sample"][0][:19])
        assert saved["strategy"]["fast"] == fold["best"]["params"]["strategy.fast"]
        metrics = json.loads((run / "metrics.json").read_text())["metrics"]
        assert metrics["total_return"] == fold["out_of_sample_objective"]
    # the chained out-of-sample return compounds the folds' returns
    chained = (1 + folds[0]["out_of_sample_objective"]) * (1 + folds[1]["out_of_sample_objective"])
    assert summary["out_of_sample"]["total_return"] == pytest.approx(chained - 1, abs=1e-9)
    assert summary["best_params"] == folds[-1]["best"]["params"]


def test_a_bad_sweep_file_stops_before_any_trial(tmp_path):
    path = write_sweep(tmp_path, parameters={"strategy.fast": {"low": 0.5, "high": 2}})
    result = invoke("-c", path)
    assert result.exit_code == 2
    assert "a grid needs a step" in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_objective_fails_naming_the_metrics(tmp_path):
    path = write_sweep(tmp_path, objective={"metric": "sharp"})
    result = invoke("-c", path, "--workers", 1)
    assert result.exit_code == 1
    assert "objective 'sharp' is not a figure" in result.output
    assert "total_return" in result.output


def test_a_sweep_does_not_write_into_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    result = invoke("-c", write_sweep(tmp_path), "--workers", 1)
    assert result.exit_code == 2
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]
