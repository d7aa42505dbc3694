"""The promotion gate: an out-of-sample backtest of the exported fold, thresholds, gate.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from jules_backtest.metrics import YEAR_NS
from jules_backtest.run import run_backtest
from jules_trainer.config import TrainConfig
from jules_trainer.gate import (
    GateConfig,
    GateError,
    GateResult,
    GateSharpe,
    check_fold,
    fold_sharpe,
    run_gate,
)
from jules_trainer.registry import ModelRegistry
from pydantic import ValidationError

from .registry_helpers import FOLDS, register_linear, train_config


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models")


def test_the_same_model_passes_a_lenient_gate_and_fails_a_strict_one(registry, tmp_path):
    model = register_linear(registry, tmp_path)
    lenient = GateConfig(min_sharpe=-1e9, max_drawdown=0.5, min_trades=1)

    passed = run_gate(registry, "lin", model.version, lenient)

    assert passed.passed
    assert passed.reasons == []
    # only the last fold's model is exported: fold 0's test window precedes its training data
    [fold] = passed.folds
    assert fold.index == 1
    assert list(fold.window) == FOLDS[1]["test"]
    assert passed.window == tuple(FOLDS[1]["test"])
    assert fold.passed
    assert fold.run_dir == model.path / "gate" / "fold-1"
    assert not (model.path / "gate" / "fold-0").exists()
    assert json.loads((fold.run_dir / "metrics.json").read_text())["metrics"] == fold.metrics
    assert fold.metrics["trade_count"] >= 1
    # hours of bars: no daily Sharpe, the gate reads the window's per-bar one
    assert fold.metrics["sharpe"] is None
    assert fold.metrics["days"] < fold.metrics["min_days"]
    assert fold.sharpe == fold.gate_sharpe == fold_sharpe(fold.metrics, fold.run_dir)
    assert fold.gate_sharpe.basis == "bars"
    assert fold.gate_sharpe.value is not None
    stored = registry.get("lin", model.version).gate
    assert stored == passed.to_json()
    assert GateResult.from_json(stored) == passed

    strict = GateConfig(min_sharpe=fold.gate_sharpe.value + 1.0, max_drawdown=0.5, min_trades=1)
    failed = run_gate(registry, "lin", model.version, strict)

    assert not failed.passed
    assert failed.folds[0].metrics == fold.metrics
    [reason] = failed.reasons
    assert reason.startswith("fold 1: sharpe ")
    days = fold.metrics["days"]
    assert f"(per bar; the window has {days} of the 30 days a daily Sharpe needs)" in reason
    assert "below the minimum" in reason
    on_disk = json.loads((model.path / "gate.json").read_text())
    assert on_disk["passed"] is False
    assert on_disk["folds"][0]["sharpe"] == {"value": fold.gate_sharpe.value, "basis": "bars"}
    assert on_disk["thresholds"] == strict.model_dump()
    assert on_disk["reasons"] == failed.reasons
    assert registry.get("lin", model.version).gate_passed is False


def test_the_gate_backtests_exactly_the_test_window(registry, tmp_path):
    model = register_linear(registry, tmp_path, folds=FOLDS[1:])
    gate = GateConfig(min_sharpe=-1e9, max_drawdown=1.0, min_trades=0)

    result = run_gate(registry, "lin", model.version, gate)

    start, end = FOLDS[1]["test"]
    config = TrainConfig.model_validate(train_config())
    alone = run_backtest(
        config.backtest_config(
            model=model.onnx_path, start=start, end=end, output_dir=tmp_path / "alone"
        )
    )
    assert result.folds[0].metrics == alone.metrics
    assert alone.metrics["periods"] < 1440  # a quarter of the day, not both days


def test_drawdown_and_trade_thresholds(registry, tmp_path):
    model = register_linear(registry, tmp_path, folds=FOLDS[1:])
    loose = run_gate(registry, "lin", model.version, GateConfig(min_sharpe=-1e9, max_drawdown=1.0))
    metrics = loose.folds[0].metrics
    drawdown = abs(metrics["max_drawdown"])
    trades = metrics["trade_count"]
    assert drawdown > 0
    assert trades > 0

    tight = GateConfig(min_sharpe=-1e9, max_drawdown=drawdown / 2, min_trades=trades + 1)
    result = run_gate(registry, "lin", model.version, tight)

    assert not result.passed
    [drawdown_reason, trades_reason] = result.folds[0].reasons
    assert drawdown_reason.startswith(f"max drawdown {drawdown:.2%} beyond the limit")
    assert trades_reason == f"{trades} trades, fewer than the minimum {trades + 1}"


def test_a_window_without_bars_fails(registry, tmp_path):
    empty = [{**FOLDS[0], "test": ["2018-04-04T18:00:00+00:00", "2018-04-04T23:00:00+00:00"]}]
    model = register_linear(registry, tmp_path, folds=empty)

    result = run_gate(registry, "lin", model.version, GateConfig(min_sharpe=-1e9, max_drawdown=1))

    assert not result.passed
    assert result.reasons == ["fold 0: no bars in the test window"]


def test_an_experiment_without_test_windows_or_config_cannot_be_gated(registry, tmp_path):
    register_linear(registry, tmp_path, folds=[])
    gate = GateConfig(min_sharpe=0, max_drawdown=0.2)

    with pytest.raises(GateError, match=r"model lin version 1: .* lists no folds"):
        run_gate(registry, "lin", "1", gate)
    model = register_linear(registry, tmp_path, folds=[{"index": 0, "train": ["a", "b"]}])
    with pytest.raises(GateError, match="fold 0 of its experiment record has no"):
        run_gate(registry, "lin", model.version, gate)
    assert registry.get("lin", model.version).gate is None


def test_check_fold_reads_drawdowns_as_negative_fractions():
    gate = GateConfig(min_sharpe=0.5, max_drawdown=0.1, min_trades=2)
    good = {"periods": 10, "sharpe": 0.5, "max_drawdown": -0.1, "trade_count": 2}

    assert check_fold(good, gate) == []
    assert check_fold({**good, "max_drawdown": -0.11}, gate) == [
        "max drawdown 11.00% beyond the limit 10.00%"
    ]
    assert check_fold({**good, "sharpe": None}, gate) == [
        "sharpe undefined (no return variation) where at least 0.5 is needed"
    ]


def test_a_window_shorter_than_the_minimum_is_judged_on_its_per_bar_sharpe():
    gate = GateConfig(min_sharpe=0.5, max_drawdown=0.1, min_trades=2)
    short = {"periods": 10, "sharpe": None, "max_drawdown": -0.1, "trade_count": 2}
    short |= {"days": 3, "min_days": 30}

    assert check_fold(short, gate, GateSharpe(0.7, "bars")) == []
    assert check_fold(short, gate, GateSharpe(0.2, "bars")) == [
        "sharpe 0.2 (per bar; the window has 3 of the 30 days a daily Sharpe needs) below the "
        "minimum 0.5"
    ]
    assert check_fold(short, gate, GateSharpe(None, "bars")) == [
        "sharpe undefined (per bar; the window has 3 of the 30 days a daily Sharpe needs) "
        "(no return variation) where at least 0.5 is needed"
    ]


def test_a_window_of_the_minimum_or_more_is_judged_on_its_daily_sharpe(tmp_path):
    metrics = {"periods": 50_000, "sharpe": 1.25, "days": 30, "min_days": 30}

    # no equity.csv is read: the backtest's own daily Sharpe is defined for the window
    assert fold_sharpe(metrics, tmp_path / "absent") == GateSharpe(1.25, "daily")
    assert fold_sharpe({**metrics, "sharpe": None}, tmp_path) == GateSharpe(None, "daily")


def test_the_per_bar_sharpe_is_the_equity_curves_annualised_by_its_density(tmp_path):
    minute = 60 * 10**9
    curve = [100.0, 101.0, 100.5, 102.0, 101.0]
    rows = [
        f"2024-01-0{1 + i // 3}T00:0{i}:00.000000000Z,{value},0,0,0"
        for i, value in enumerate(curve)
    ]
    (tmp_path / "equity.csv").write_text(
        "time,equity,cash,gross_exposure,drawdown\n" + "\n".join(rows) + "\n"
    )
    returns = np.array(curve[1:]) / np.array(curve[:-1]) - 1
    elapsed = (4 * minute + 86_400 * 10**9) / YEAR_NS  # 2024-01-01 00:00 to 01-02 00:04
    expected = returns.mean() / returns.std(ddof=1) * math.sqrt(4 / elapsed)

    read = fold_sharpe({"periods": 5, "days": 2, "min_days": 30}, tmp_path)

    assert read.basis == "bars"
    assert read.value == pytest.approx(expected, rel=1e-12)


def test_a_gate_json_without_the_sharpe_it_read_reads_the_daily_one(registry, tmp_path):
    model = register_linear(registry, tmp_path, folds=FOLDS[1:])
    result = run_gate(registry, "lin", model.version, GateConfig(min_sharpe=-1e9, max_drawdown=1))
    stored = result.to_json()
    for fold in stored["folds"]:
        del fold["sharpe"]

    older = GateResult.from_json(stored)

    assert older.folds[0].sharpe is None
    assert older.folds[0].gate_sharpe == GateSharpe(older.folds[0].metrics["sharpe"], "daily")


@pytest.mark.parametrize(
    "fields",
    [
        {"min_sharpe": 0, "max_drawdown": 0},
        {"min_sharpe": 0, "max_drawdown": -0.2},
        {"min_sharpe": 0, "max_drawdown": 1.5},
        {"min_sharpe": 0, "max_drawdown": 0.2, "min_trades": -1},
        {"min_sharpe": float("nan"), "max_drawdown": 0.2},
    ],
)
def test_invalid_thresholds_are_refused(fields):
    with pytest.raises(ValidationError):
        GateConfig.model_validate(fields)
