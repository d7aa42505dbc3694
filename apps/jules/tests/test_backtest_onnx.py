"""A backtest driven by an ONNX policy instead of a rule strategy."""

from __future__ import annotations

import csv
import json

import yaml
from jules.cli import app
from jules_backtest.config import BacktestConfig
from jules_backtest.examples import small_config
from jules_backtest.run import run_backtest
from jules_features.engine import FeatureSchema
from typer.testing import CliRunner

from .backtest_helpers import DATA_DIR
from .onnx_policy import FEATURES, write_policy


def test_an_onnx_policy_drives_the_backtest_on_its_own_feature_schema(tmp_path):
    model = tmp_path / "policy.onnx"
    card = write_policy(model)
    config = small_config(
        DATA_DIR, tmp_path / "run", strategy={"kind": "onnx", "model": str(model)}
    )

    summary = run_backtest(BacktestConfig.model_validate(config))

    with (tmp_path / "run" / "orders.csv").open() as handle:
        orders = list(csv.DictReader(handle))
    assert {o["strategy_id"] for o in orders} - {"close-at-end"} == {card.model_name}
    policy_orders = sum(o["strategy_id"] == card.model_name for o in orders)
    assert summary.metrics["orders_submitted"] == policy_orders > 0
    report = (tmp_path / "run" / "report.html").read_text()
    assert FeatureSchema.from_names(FEATURES).schema_id in report


def test_a_model_whose_card_does_not_match_the_live_schema_is_refused(tmp_path):
    model = tmp_path / "policy.onnx"
    write_policy(model, schema_id="0" * 32)
    config_file = tmp_path / "bt.yaml"
    config = small_config(
        DATA_DIR, tmp_path / "run", strategy={"kind": "onnx", "model": str(model)}
    )
    config_file.write_text(yaml.safe_dump(config))

    result = CliRunner().invoke(app, ["backtest", "-c", str(config_file), "--no-progress"])

    assert result.exit_code == 2
    assert "0" * 32 in result.output
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_the_onnx_run_is_deterministic(tmp_path):
    model = tmp_path / "policy.onnx"
    write_policy(model)
    for name in ("a", "b"):
        config = small_config(
            DATA_DIR, tmp_path / name, strategy={"kind": "onnx", "model": str(model)}
        )
        run_backtest(BacktestConfig.model_validate(config))
    first = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert first == json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert (tmp_path / "a" / "fills.csv").read_bytes() == (
        tmp_path / "b" / "fills.csv"
    ).read_bytes()
