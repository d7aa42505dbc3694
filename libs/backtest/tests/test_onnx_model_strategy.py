"""The demo's ONNX policy run as an SDK strategy (``kind: python``, entry point ``onnx_model``)
gives the run of ``kind: onnx``: every file of the run folder equal but those that show the
config (``config.json``, ``report.html``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.run import run_backtest
from jules_signal.engine.onnx_strategy import OnnxModel, OnnxModelParams

from .sample_data import DATA_DIR, REPO_ROOT

DEMO = REPO_ROOT / "examples" / "demo-onnx.yaml"
MODEL = REPO_ROOT / "examples" / "models" / "demo-policy" / "model.onnx"


def files(run_dir: Path) -> dict[str, str]:
    return {
        path.relative_to(run_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(run_dir.rglob("*"))
        if path.is_file() and path.name not in ("run.json", "config.json", "report.html")
    }


def test_the_onnx_model_strategy_runs_the_demo_as_the_onnx_kind_does(tmp_path: Path) -> None:
    policy = load_config(DEMO, data_dir=DATA_DIR, output_dir=tmp_path / "policy")
    as_sdk = policy.model_dump(mode="json")
    card = OnnxModel(OnnxModelParams(model=str(MODEL))).policy.card
    as_sdk["strategy"] = {
        "kind": "python",
        "entry_point": "onnx_model",
        "params": {"model": str(MODEL), "dead_band": 0.05, "min_weight_change": 0.5},
        "strategy_id": card.model_name,
    }
    as_sdk["output_dir"] = str(tmp_path / "sdk")

    expected = run_backtest(policy)
    got = run_backtest(BacktestConfig.model_validate(as_sdk))

    assert expected.metrics["trade_count"] >= 10
    assert files(got.run_dir) == files(expected.run_dir)
