"""The backtest configuration nests the engines' own configurations: every engine option can be
set in a backtest, with the engine's defaults, and reaches the engine built for the run."""

from __future__ import annotations

from pathlib import Path

from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.examples import small_config
from jules_backtest.node import EmbeddedNode
from jules_backtest.run import build_node, build_strategy_and_schema
from jules_order_router.engine import BarCloseSlippage, VenueConfig
from jules_risk.engine import RiskControls

from .sample_data import DATA_DIR


def _node_for(config: BacktestConfig) -> EmbeddedNode:
    strategy, schema = build_strategy_and_schema(config)
    return build_node(config, strategy, schema, lambda _event: None)


def test_engine_options_pass_through_a_backtest_config_to_the_engines(tmp_path: Path) -> None:
    raw = small_config(DATA_DIR, tmp_path / "run")
    raw["risk"] = {**raw["risk"], "atr_period": 21, "history_length": 250, "cancel_on_halt": False}
    raw["execution"] = {"fill_model": {"kind": "bar_close_slippage", "slippage_bps": 2.5}}
    raw["account"] = {"account_id": "paper-01", "starting_cash": 50_000}

    node = _node_for(BacktestConfig.model_validate(raw))

    risk = node.risk.config
    assert (risk.atr_period, risk.history_length, risk.cancel_on_halt) == (21, 250, False)
    assert risk.account_id == "paper-01"
    assert risk.sizing.fraction == 0.4
    venue = node.router.config
    assert venue.fill_model == BarCloseSlippage(slippage_bps=2.5)
    assert (venue.account_id, venue.starting_cash) == ("paper-01", 50_000.0)


def test_overrides_reach_the_engine_options(tmp_path: Path) -> None:
    config = load_config(
        None,
        ["risk.atr_period=7", "risk.cancel_on_halt=false", "execution.latency_ns=1000"],
        **small_config(DATA_DIR, tmp_path / "run"),
    )

    assert (config.risk.atr_period, config.risk.cancel_on_halt) == (7, False)
    assert config.execution.latency_ns == 1000


def test_the_defaults_are_the_engines_own(tmp_path: Path) -> None:
    raw = small_config(DATA_DIR, tmp_path / "run")
    del raw["risk"], raw["execution"]

    config = BacktestConfig.model_validate(raw)

    assert config.risk == RiskControls()
    assert config.risk.sizing.kind == "fixed_fraction"
    assert config.execution == VenueConfig()
