"""Settings from the environment: the engine's nested configuration, one variable per value,
validated as strictly as the engine validates it, errors naming the variable and the value."""

from __future__ import annotations

import os

import pytest
from jules_risk.config import DEFAULT_ACCOUNT_ID, RiskSettings
from jules_risk.engine import RiskControls, RiskEngine, SizingConfig
from jules_runtime.errors import ConfigError
from jules_runtime.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("JULES_RISK__"):
            monkeypatch.delenv(name)


def load(monkeypatch: pytest.MonkeyPatch, **variables: str) -> RiskSettings:
    for name, value in variables.items():
        monkeypatch.setenv(f"JULES_RISK__{name}", value)
    return load_settings(RiskSettings)


def test_defaults_are_the_engines(monkeypatch):
    settings = load(monkeypatch)
    config = settings.risk_config
    assert config.account_id == DEFAULT_ACCOUNT_ID
    assert config.limits.price_collar_bps == 500.0
    assert config.sizing.kind == "fixed_fraction"
    assert config.stops.enabled is False
    assert (config.atr_period, config.history_length, config.cancel_on_halt) == (14, 500, True)
    assert settings.http_port == 8104
    assert settings.dedup_window == 100_000


def test_nested_variables_set_the_engines_configuration(monkeypatch):
    settings = load(
        monkeypatch,
        ACCOUNT_ID="paper-01",
        ENGINE__LIMITS__MAX_ORDER_NOTIONAL="50000",
        ENGINE__LIMITS__MAX_OPEN_ORDERS="5",
        ENGINE__LIMITS__ES_CONFIDENCE="0.95",
        ENGINE__LIMITS__PRICE_COLLAR_BPS="null",
        ENGINE__LIMITS__ALLOWED_INSTRUMENTS='["BTCUSDT.BINANCE","ETHUSDT.BINANCE"]',
        ENGINE__SIZING__KIND="volatility_target",
        ENGINE__SIZING__FRACTION="0.25",
        ENGINE__SIZING__WHOLE_UNITS="true",
        ENGINE__STOPS__STOP_LOSS_ATR_MULTIPLE="3",
        ENGINE__STOPS__STRATEGY_ID="123",
        ENGINE__ATR_PERIOD="10",
        ENGINE__HISTORY_LENGTH="250",
        ENGINE__CANCEL_ON_HALT="false",
    )
    config = RiskEngine(settings.risk_config).config  # what the engine is built with
    assert config.account_id == "paper-01"
    assert config.limits.max_order_notional == 50_000.0
    assert config.limits.max_open_orders == 5
    assert config.limits.es_confidence == 0.95
    assert config.limits.price_collar_bps is None
    assert config.limits.allowed_instruments == ("BTCUSDT.BINANCE", "ETHUSDT.BINANCE")
    assert config.sizing.kind == "volatility_target"
    assert config.sizing.fraction == 0.25
    assert config.sizing.whole_units is True
    assert config.stops.stop_loss_atr_multiple == 3.0
    assert config.stops.strategy_id == "123"  # text stays text
    assert (config.atr_period, config.history_length, config.cancel_on_halt) == (10, 250, False)


def test_a_whole_section_may_come_as_one_json_variable(monkeypatch):
    settings = load(monkeypatch, ENGINE__SIZING='{"kind": "all_equity", "whole_units": true}')
    assert settings.engine.sizing.kind == "all_equity"
    assert settings.engine.sizing.whole_units is True


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENGINE__LIMITS__MAX_ORDER_NOTIONAL", "-5", "greater than 0"),
        ("ENGINE__LIMITS__MAX_ORDER_NOTIONAL", "abc", "valid number"),
        ("ENGINE__LIMITS__ES_CONFIDENCE", "NaN", "finite number"),
        ("ENGINE__LIMITS__MAX_OPEN_ORDERS", "2.5", "valid integer"),
        ("ENGINE__LIMITS__ALLOWED_INSTRUMENTS", "BTCUSDT", "valid tuple"),
        ("ENGINE__SIZING__FRACTION", "1.5", "less than or equal to 1"),
        ("ENGINE__SIZING__FRACTION", '"0.5"', "valid number"),  # a JSON string is not a number
        ("ENGINE__SIZING__KIND", "kelly", "fixed_fraction"),
        ("ENGINE__SIZING__WHOLE_UNITS", "1", "valid boolean"),
        ("ACCOUNT_ID", "no spaces", "pattern"),
        ("ENGINE__ATR_PERIOD", "0", "greater than 0"),
        ("ENGINE__HISTORY_LENGTH", "1", "greater than or equal to 2"),
        ("ENGINE__CANCEL_ON_HALT", "1", "valid boolean"),
        ("DEDUP_WINDOW", "0", "greater than or equal to 1"),
    ],
)
def test_an_invalid_value_names_the_variable_and_the_value(monkeypatch, variable, value, message):
    with pytest.raises(ConfigError) as error:
        load(monkeypatch, **{variable: value})
    text = str(error.value)
    assert f"JULES_RISK__{variable}={value!r}" in text
    assert message in text


def test_a_misspelt_variable_is_refused_with_a_suggestion(monkeypatch):
    with pytest.raises(
        ConfigError, match="did you mean JULES_RISK__ENGINE__LIMITS__MAX_ORDER_NOTIONAL"
    ):
        load(monkeypatch, ENGINE__LIMITS__MAX_ORDER_NOTIONL="5")


def test_a_section_that_breaks_a_rule_across_values_is_refused(monkeypatch):
    with pytest.raises(ConfigError, match=r"lot_size 0\.5 must be a whole number"):
        load(monkeypatch, ENGINE__SIZING__WHOLE_UNITS="true", ENGINE__SIZING__LOT_SIZE="0.5")


def test_settings_build_the_engine_config():
    settings = RiskSettings(
        account_id="acct-9",
        engine=RiskControls(sizing=SizingConfig(kind="all_equity"), atr_period=7),
    )
    config = settings.risk_config
    assert (config.account_id, config.sizing.kind, config.atr_period) == ("acct-9", "all_equity", 7)
    assert settings.http_port == 8104
    assert settings.consumer_group == "jules-risk"
