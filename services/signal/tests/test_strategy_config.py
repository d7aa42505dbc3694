"""Strategy configs: from files and flags, refused with a message naming the field and value."""

from __future__ import annotations

import tomllib

import pytest
from jules_signal.engine import (
    STRATEGY_KINDS,
    EmaCross,
    EmaCrossConfig,
    OnnxPolicyConfig,
    PythonStrategy,
    RsiReversion,
    RsiReversionConfig,
    SmaCross,
    SmaCrossConfig,
    Strategy,
    TradingMode,
    build_strategy,
    parse_strategy_flags,
    strategy_config_from_mapping,
)
from pydantic import ValidationError


def test_flags_build_a_typed_sma_cross_config():
    config = parse_strategy_flags("sma_cross", {"fast": "10", "slow": "30", "mode": "long_short"})

    assert config == SmaCrossConfig(fast=10, slow=30, mode=TradingMode.LONG_SHORT)
    assert config.effective_strategy_id == "sma_cross_10_30"


def test_flags_build_an_rsi_config_with_float_levels_and_an_explicit_id():
    config = parse_strategy_flags(
        "rsi_reversion", {"lower": "25.5", "upper": "75", "strategy_id": "rsi-fast"}
    )

    assert isinstance(config, RsiReversionConfig)
    assert (config.lower, config.upper, config.exit_level, config.period) == (25.5, 75.0, 50.0, 14)
    assert config.effective_strategy_id == "rsi-fast"


def test_a_toml_table_selects_the_strategy_by_kind():
    table = tomllib.loads(
        """
        [strategy]
        kind = "ema_cross"
        fast = 9
        slow = 21
        weight = 0.5
        """
    )["strategy"]

    config = strategy_config_from_mapping(table)

    assert config == EmaCrossConfig(fast=9, slow=21, weight=0.5)
    assert config.mode is TradingMode.LONG_ONLY


def test_fast_not_below_slow_is_refused_naming_both():
    with pytest.raises(ValidationError, match=r"fast \(30\) must be below slow \(10\)"):
        SmaCrossConfig(fast=30, slow=10)


@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        ({"fast": "0", "slow": "30"}, "fast", "'0'"),
        ({"fast": "ten", "slow": "30"}, "fast", "'ten'"),
        ({"fast": "10", "slow": "30", "weight": "1.5"}, "weight", "'1.5'"),
        ({"fast": "10", "slow": "30", "weight": "nan"}, "weight", "'nan'"),
        ({"fast": "10", "slow": "30", "mode": "short_only"}, "mode", "'short_only'"),
        ({"fast": "10", "slow": "30", "fsat": "5"}, "fsat", "'5'"),
        ({"fast": "10", "slow": "30", "strategy_id": "has space"}, "strategy_id", "'has space'"),
    ],
)
def test_a_bad_flag_is_refused_naming_the_field_and_value(params, field, value):
    with pytest.raises(ValidationError) as caught:
        parse_strategy_flags("sma_cross", params)

    (error,) = caught.value.errors()
    assert error["loc"][-1] == field
    assert field in str(caught.value)
    assert value in str(caught.value)


def test_a_missing_parameter_is_refused_naming_it():
    with pytest.raises(ValidationError, match="slow") as caught:
        parse_strategy_flags("ema_cross", {"fast": "10"})

    assert caught.value.errors()[0]["type"] == "missing"


def test_unordered_rsi_levels_are_refused_naming_them():
    with pytest.raises(ValidationError, match=r"lower=60.0, exit_level=50.0, upper=70.0"):
        RsiReversionConfig(lower=60)


def test_an_unknown_kind_lists_the_known_ones():
    with pytest.raises(ValueError, match="sma_cross, ema_cross, rsi_reversion, python") as caught:
        parse_strategy_flags("macd_cross", {})

    assert "macd_cross" in str(caught.value)
    assert STRATEGY_KINDS == ("sma_cross", "ema_cross", "rsi_reversion", "python")


def test_an_unknown_kind_in_a_file_is_refused():
    with pytest.raises(ValidationError, match="'macd_cross'"):
        strategy_config_from_mapping({"kind": "macd_cross", "fast": 1})


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"kind": "SMA_Cross", "fast": 2, "slow": 5}, SmaCrossConfig(fast=2, slow=5)),
        (
            {"kind": "ema_cross", "fast": 2, "slow": 5, "mode": "Long_Short"},
            EmaCrossConfig(fast=2, slow=5, mode=TradingMode.LONG_SHORT),
        ),
        ({"kind": "RSI_REVERSION", "mode": "LONG_ONLY"}, RsiReversionConfig()),
    ],
)
def test_a_kind_and_a_mode_are_read_in_any_case(table, expected):
    config = strategy_config_from_mapping(table)

    assert config == expected
    assert config.model_dump(mode="json")["kind"] == expected.kind


def test_flags_name_a_kind_in_any_case():
    config = parse_strategy_flags("Sma_Cross", {"kind": "SMA_CROSS", "fast": "2", "slow": "5"})

    assert config == SmaCrossConfig(fast=2, slow=5)


def test_an_unknown_mode_names_the_field_and_the_modes():
    with pytest.raises(ValidationError) as caught:
        strategy_config_from_mapping({"kind": "sma_cross", "mode": "short_only"})

    assert "mode" in str(caught.value)
    assert "'long_only' or 'long_short'" in str(caught.value)


def test_an_unknown_kind_in_a_file_lists_the_kinds():
    with pytest.raises(ValidationError) as caught:
        strategy_config_from_mapping({"kind": "SMA", "fast": 1})

    assert "'SMA'" in str(caught.value)
    assert "'sma_cross', 'ema_cross', 'rsi_reversion', 'python'" in str(caught.value)


def test_a_kind_parameter_contradicting_the_strategy_flag_is_refused():
    with pytest.raises(ValueError, match="contradicts strategy 'sma_cross'"):
        parse_strategy_flags("sma_cross", {"kind": "ema_cross", "fast": "1", "slow": "2"})


def test_configs_are_frozen():
    config = SmaCrossConfig(fast=10, slow=30)

    with pytest.raises(ValidationError, match="frozen"):
        config.fast = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("config", "kind", "features"),
    [
        (SmaCrossConfig(fast=10, slow=30, weight=0.5), SmaCross, ("sma_10", "sma_30")),
        (
            EmaCrossConfig(fast=9, slow=21, mode=TradingMode.LONG_SHORT),
            EmaCross,
            ("ema_9", "ema_21"),
        ),
        (RsiReversionConfig(lower=25), RsiReversion, ("rsi_14",)),
    ],
)
def test_build_strategy_makes_the_sdk_strategy_its_config_describes(config, kind, features):
    strategy = build_strategy(config)

    assert isinstance(strategy, PythonStrategy)
    assert isinstance(strategy, Strategy)
    assert type(strategy.strategy) is kind
    assert strategy.strategy.params == kind.Params.model_validate(
        config.model_dump(exclude={"kind", "strategy_id"})
    )
    assert strategy.required_features == features
    assert strategy.strategy_id == config.effective_strategy_id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"dead_band": 1.0}, "dead_band"),
        ({"dead_band": -0.1}, "dead_band"),
        ({"min_weight_change": 0.0}, "min_weight_change"),
        ({"min_weight_change": float("inf")}, "min_weight_change"),
    ],
)
def test_onnx_policy_config_refuses_out_of_range_values(fields, field):
    with pytest.raises(ValidationError) as caught:
        OnnxPolicyConfig(**fields)

    assert caught.value.errors()[0]["loc"] == (field,)
