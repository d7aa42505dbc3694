"""``jules-train search``: trials on the validation windows, in process and on a Dask cluster."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from jules_backtest.sweep.search import local_client
from jules_contracts import parse_utc_nanos
from jules_trainer.cli import app
from jules_trainer.config import load_train_config
from jules_trainer.data import Dataset, Window
from jules_trainer.registry import ModelRegistry
from jules_trainer.search.config import load_search
from jules_trainer.search.outputs import trial_rows, write_outputs
from jules_trainer.search.runner import run_train_search
from pydantic import ValidationError
from typer.testing import CliRunner

from .test_train import tiny

GRID = {"supervised.learning_rate": [0.001, 0.01], "supervised.net_arch": [[8], [16, 16]]}


def search_files(folder: Path, **search: Any) -> Path:
    """A tiny training config (one Coinbase day) and a search file naming it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.yaml").write_text(yaml.safe_dump(tiny(folder / "models", tensorboard=False)))
    data: dict[str, Any] = {
        "name": "tiny-search",
        "base": "train.yaml",
        "algorithm": "supervised",
        "parameters": GRID,
        "objective": {"metric": "sharpe"},
        "output_dir": "search",
    }
    data.update(search)
    path = folder / "search.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_search_in_process_scores_validation_and_never_reads_test(tmp_path, monkeypatch):
    settings = load_search(search_files(tmp_path))
    assert settings.objective.metric == "validation.sharpe"
    assert settings.parameters.parameters["supervised.net_arch"].grid("net_arch") == [[8], [16, 16]]
    read: list[Window] = []
    segments = Dataset.segments

    def recording(self: Dataset, window: Window) -> Any:
        read.append(window)
        return segments(self, window)

    monkeypatch.setattr(Dataset, "segments", recording)
    result = run_train_search(settings, None)
    (fold,) = result.folds
    assert read, "the trials read no window"
    for window in read:
        assert fold.train.start_ns <= window.start_ns < window.end_ns <= fold.validation.end_ns
    assert set(read) == {fold.train, fold.validation}
    assert len(result.trials) == 4
    assert all(trial.ok for trial in result.trials)
    for trial in result.trials:
        assert parse_utc_nanos(trial.figures["last_bar"]) < fold.test.start_ns
        assert trial.objective == trial.figures["validation.sharpe"]
        assert trial.figures["training.epochs"] >= 1
    best = max(result.trials, key=lambda trial: trial.objective or float("-inf"))
    assert result.best is best
    assert result.best_params["supervised.net_arch"] in ([8], [16, 16])
    assert result.best_config().supervised.net_arch == tuple(
        result.best_params["supervised.net_arch"]
    )
    rows = trial_rows(result)
    assert [row["trial"] for row in rows] == [0, 1, 2, 3]
    assert rows[1]["supervised.net_arch"] == [16, 16]


def test_failed_trial_is_recorded_and_the_search_goes_on(tmp_path):
    path = search_files(
        tmp_path, parameters={"supervised.batch_size": [64, 0]}, objective={"metric": "accuracy"}
    )
    result = run_train_search(load_search(path), None)
    ok, failed = result.trials
    assert ok.ok
    assert result.best is ok
    assert failed.objective is None
    assert "batch_size" in (failed.error or "")
    folder = tmp_path / "out"
    folder.mkdir()
    summary = write_outputs(result, folder, workers=1, started="now")
    assert summary["failed"] == 1
    table = pq.read_table(folder / "trials.parquet").to_pylist()
    assert table[1]["error"] == failed.error
    assert table[1]["objective"] is None


def test_dqn_trial_trains_on_the_train_window(tmp_path):
    path = search_files(
        tmp_path,
        algorithm="dqn",
        parameters={"dqn.learning_rate": [0.0005]},
        objective={"metric": "mean_episode_pnl"},
    )
    result = run_train_search(load_search(path), None)
    (trial,) = result.trials
    (fold,) = result.folds
    assert trial.ok, trial.error
    assert trial.figures["training.timesteps"] >= 200
    assert parse_utc_nanos(trial.figures["last_bar"]) < fold.test.start_ns


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"folds.train": [0.5, 0.6]}, "folds cannot be searched"),
        ({"data_dir": ["a", "b"]}, "data_dir cannot be searched"),
        ({"dqn.learning_rate": [0.001]}, "do not affect supervised"),
        ({"supervised.learning_rat": [0.001]}, "learning_rat"),
        ({"supervised.learning_rate": {"low": 0.001, "high": 0.01}}, "needs a step"),
    ],
)
def test_invalid_search_names_the_parameter(tmp_path, parameters, message):
    path = search_files(tmp_path, parameters=parameters, search={"method": "grid"})
    with pytest.raises(ValidationError, match=message):
        load_search(path)


def test_overrides_reach_the_search_file_and_the_base(tmp_path):
    path = search_files(tmp_path)
    settings = load_search(path, ["search.trials=3", "base.supervised.epochs=2"])
    assert settings.search.trials == 3
    assert settings.base["supervised"]["epochs"] == 2
    assert settings.folder == tmp_path / "search"
    bad = CliRunner().invoke(app, ["search", "-c", str(path), "--set", "base.seed=-1"])
    assert bad.exit_code == 2
    assert "seed" in bad.output


def test_cli_search_on_a_local_dask_cluster_then_trains_the_best(tmp_path):
    path = search_files(tmp_path, search={"method": "optuna", "trials": 4, "seed": 5})
    registry = tmp_path / "registry"
    result = CliRunner().invoke(
        app,
        [
            "search",
            "--config",
            str(path),
            "--workers",
            "2",
            "--train-best",
            "--registry",
            str(registry),
            "--no-progress",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    folder = Path(summary["search_dir"])
    assert folder == tmp_path / "search"
    assert summary["workers"] == 2
    with (folder / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    table = pq.read_table(folder / "trials.parquet").to_pylist()
    assert len(rows) == len(table) == summary["trials"] == 4
    best_row = max(table, key=lambda row: row["objective"])
    assert summary["best"]["trial"] == best_row["trial"]
    assert summary["best"]["objective"] == best_row["objective"] == best_row["validation.sharpe"]
    (fold,) = summary["folds"]
    test_start = parse_utc_nanos(fold["test_held_out"][0])
    assert all(parse_utc_nanos(row["last_bar"]) < test_start for row in table)
    assert fold["validation"][1] == fold["test_held_out"][0]

    best = load_train_config(folder / "best.yaml")
    params = summary["best"]["params"]
    assert best.supervised.learning_rate == params["supervised.learning_rate"]
    assert list(best.supervised.net_arch) == params["supervised.net_arch"]
    assert best_row["supervised.net_arch"] == params["supervised.net_arch"]

    trained = summary["trained"]
    assert trained["model_version"] == "1"
    model = ModelRegistry(registry).get("tiny", "1")
    record = model.experiment
    assert record["config"]["supervised"]["learning_rate"] == params["supervised.learning_rate"]
    validation = record["folds"][0]["metrics"]["validation"]
    assert validation["sharpe"] == pytest.approx(summary["best"]["objective"], rel=1e-9)
    assert record["folds"][0]["test"] == fold["test_held_out"]


def test_local_client_runs_trials_in_worker_processes(tmp_path):
    settings = load_search(search_files(tmp_path, parameters={"supervised.epochs": [1, 2]}))
    with local_client(workers=1) as client:
        remote = run_train_search(settings, client)
    here = run_train_search(settings, None)
    assert [t.figures for t in remote.trials] == [t.figures for t in here.trials]
