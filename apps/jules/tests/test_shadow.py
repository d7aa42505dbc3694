"""The shadow report: production's signals against a shadow's, paired by the vector they share."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from jules.cli import app
from jules.shadow import compare_signals
from jules.swap_cmd import StageOption, swap_command
from jules_contracts import Bar, FeatureVector, SignalDirection, SignalGenerated
from jules_contracts.base import derive_event_id
from jules_contracts.control import SwapModel
from jules_contracts.enums import ModelStage
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_market_data.loaders import load
from jules_signal.engine import Strategy, build_strategy, strategy_config_from_mapping
from jules_signal.engine.strategy import make_signal
from pydantic import ValidationError
from typer.testing import CliRunner

from .backtest_helpers import DATA_DIR

LONG, FLAT, SHORT = SignalDirection.LONG, SignalDirection.FLAT, SignalDirection.SHORT
BTC, ETH = "BTCUSD.COINBASE", "ETHUSD.COINBASE"
SCHEMA_ID = "5c4e0f1a9b2d3e47"


def vector(index: int, instrument: str = BTC) -> tuple[FeatureVector, Bar]:
    """The feature vector of bar ``index`` (the signals' cause) and its bar."""
    end = 1_700_000_000_000_000_000 + (index + 1) * 60_000_000_000
    bar = Bar(
        event_id=derive_event_id("bar", instrument, index),
        source="market-data",
        event_time=end,
        start_time=end - 60_000_000_000,
        instrument_id=instrument,
        interval="1m",
        open=100.0,
        high=100.0,
        low=100.0,
        close=100.0,
        volume=1.0,
    )
    features = FeatureVector.derive(
        bar,
        source="features",
        instrument_id=instrument,
        feature_schema_id=SCHEMA_ID,
        features={"x": 1.0},
    )
    return features, bar


def signal(index: int, target: float, strategy_id: str, instrument: str = BTC) -> SignalGenerated:
    features, bar = vector(index, instrument)
    return make_signal(features, bar, strategy_id=strategy_id, target_weight=target)


def prod(index: int, target: float, instrument: str = BTC) -> SignalGenerated:
    return signal(index, target, "policy", instrument)


def shadow(index: int, target: float, instrument: str = BTC) -> SignalGenerated:
    return signal(index, target, "policy.shadow", instrument)


def test_decisions_compare_the_targets_in_force_on_each_vector_either_side_decided():
    production = [prod(0, 0.5), prod(3, -0.5), prod(6, 0.0)]
    candidate = [shadow(2, 0.25), shadow(3, -1.0), shadow(5, 0.5)]
    report = compare_signals(production, candidate)
    # vector 0: the shadow has no target yet; 2: prod 0.5 / shadow 0.25 (agree, 0.25);
    # 3: -0.5 / -1.0 (agree, 0.5); 5: -0.5 / 0.5 (disagree, 1.0); 6: 0 / 0.5 (disagree, 0.5).
    total = report.total
    assert total.compared == 4
    assert total.agreements == 2
    assert total.agreement_rate == 0.5
    assert total.mean_abs_difference == pytest.approx((0.25 + 0.5 + 1.0 + 0.5) / 4)
    assert dict(total.counts) == {
        (LONG, LONG): 1,
        (SHORT, SHORT): 1,
        (SHORT, LONG): 1,
        (FLAT, LONG): 1,
    }
    assert total.both_emitted == 1
    assert (total.production_signals, total.shadow_signals) == (3, 3)
    assert [c.instrument_id for c in report.instruments] == [BTC]


def test_instruments_are_compared_apart_and_duplicates_count_once():
    production = [prod(0, 1.0), prod(0, 1.0), prod(0, -1.0, ETH), prod(4, 1.0, ETH)]
    candidate = [shadow(1, 1.0), shadow(1, -1.0, ETH), shadow(1, -1.0, ETH)]
    report = compare_signals(production, candidate)
    btc, eth = report.instruments
    assert (btc.instrument_id, eth.instrument_id) == (BTC, ETH)
    assert (btc.compared, btc.agreements, btc.production_signals) == (1, 1, 1)
    # ETH: vector 1 (-1 / -1, agree), vector 4 (1 / -1, disagree)
    assert (eth.compared, eth.agreements, eth.shadow_signals) == (2, 1, 1)
    assert eth.mean_abs_difference == pytest.approx(1.0)
    assert report.total.compared == 3
    assert report.total.agreements == 2
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["total"]["counts"] == {"LONG/LONG": 1, "LONG/SHORT": 1, "SHORT/SHORT": 1}


def test_nothing_to_compare_without_a_shadow():
    report = compare_signals([prod(0, 1.0)], [])
    assert report.total.compared == 0
    assert report.total.agreement_rate is None
    assert report.total.mean_abs_difference is None


def _decide_all(
    strategies: Sequence[Strategy], bars: Sequence[Bar]
) -> tuple[list[FeatureVector], list[list[SignalGenerated | None]]]:
    schema = FeatureSchema.from_names(("sma_10", "sma_30", "ema_5", "ema_20"))
    engine = FeatureEngine(schema)
    vectors, decisions = [], []
    for bar in bars:
        features = engine.on_bar(bar)
        vectors.append(features)
        decisions.append([next(iter(s.on_features(features, bar)), None) for s in strategies])
    return vectors, decisions


def test_on_real_bars_the_report_matches_a_walk_over_every_vector():
    bars = [
        e
        for e in load(
            DATA_DIR / "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20180404_trade.zip",
            instrument_id=BTC,
        )
        if isinstance(e, Bar)
    ][:600]
    production = build_strategy(
        strategy_config_from_mapping({"kind": "sma_cross", "fast": 10, "slow": 30})
    )
    candidate = build_strategy(
        strategy_config_from_mapping({"kind": "ema_cross", "fast": 5, "slow": 20})
    )
    vectors, decisions = _decide_all((production, candidate), bars)
    report = compare_signals(
        [d[0] for d in decisions if d[0] is not None], [d[1] for d in decisions if d[1] is not None]
    )

    last: list[float | None] = [None, None]
    compared = agreed = 0
    for pair in decisions:
        for side, decided in enumerate(pair):
            if decided is not None:
                last[side] = decided.target_weight
        first, second = last
        if any(pair) and first is not None and second is not None:
            compared += 1
            agreed += (first > 0) - (first < 0) == (second > 0) - (second < 0)
    assert len(vectors) == 600
    assert report.total.compared == compared > 10
    assert report.total.agreements == agreed
    assert 0 < agreed < compared
    assert sum(report.total.counts.values()) == compared


def test_the_swap_command_names_the_model_the_version_and_the_stage():
    command = swap_command("policy", "2", stage=StageOption.shadow, operator="ops", event_time=5)
    assert isinstance(command, SwapModel)
    assert (command.model_name, command.model_version) == ("policy", "2")
    assert command.stage is ModelStage.SHADOW
    assert command.target == "signal"
    assert command.event_time == 5
    production = swap_command("policy", "3", stage=StageOption.production, operator="ops")
    assert production.stage is ModelStage.PRODUCTION
    with pytest.raises(ValidationError):
        swap_command("policy", "bad version", stage=StageOption.production, operator="ops")


def test_the_commands_refuse_an_invalid_scope_or_version_before_connecting():
    runner = CliRunner()
    result = runner.invoke(app, ["swap-model", "policy", "2", "--scope", "Bad Scope"])
    assert result.exit_code == 2
    assert "invalid --scope" in result.output
    result = runner.invoke(app, ["swap-model", "policy", "two words"])
    assert result.exit_code == 2
    assert "invalid command" in result.output
    result = runner.invoke(app, ["shadow-report", "--scope", "Bad Scope"])
    assert result.exit_code == 2
    assert "invalid --scope" in result.output
