"""Settings of the signal service, the strategy it builds at start-up, and its command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from faststream.asgi import AsgiFastStream
from jules_runtime.errors import ConfigError
from jules_runtime.settings import load_settings
from jules_signal.app import create_app
from jules_signal.cli import app as cli
from jules_signal.config import SignalSettings
from jules_signal.engine import (
    OnnxPolicy,
    PythonStrategy,
    SmaCross,
    SmaCrossConfig,
    TradingMode,
)
from jules_signal.models import load_strategy
from typer.testing import CliRunner

from . import onnx_models
from .builders import OTHER_SCHEMA_ID, SCHEMA_ID

SMA_CROSS = '{"kind":"sma_cross","fast":10,"slow":30,"mode":"long_short"}'


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean ``JULES_SIGNAL__`` environment with the live schema of the ONNX test models."""
    for name in [name for name in os.environ if name.startswith("JULES_SIGNAL__")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("JULES_SIGNAL__FEATURES", json.dumps(list(onnx_models.FEATURES)))
    monkeypatch.setenv("JULES_SIGNAL__FEATURE_SCHEMA_ID", SCHEMA_ID)
    return monkeypatch


def model_file(tmp_path: Path, *, schema_id: str = SCHEMA_ID) -> Path:
    path = tmp_path / "policy.onnx"
    card = onnx_models.make_card(feature_schema_id=schema_id)
    path.write_bytes(onnx_models.policy_model(np.full((3, 1), 0.5), card=card))
    return path


def problems(error: pytest.ExceptionInfo[ConfigError]) -> str:
    return "\n".join(error.value.problems)


def test_a_rule_strategy_from_json(env):
    env.setenv("JULES_SIGNAL__STRATEGY", SMA_CROSS)
    settings = load_settings(SignalSettings)
    assert settings.strategy == SmaCrossConfig(fast=10, slow=30, mode=TradingMode.LONG_SHORT)
    assert settings.http_port == 8103
    assert settings.consumer_group == "jules-signal"
    strategy = load_strategy(settings)
    assert isinstance(strategy, PythonStrategy)
    assert isinstance(strategy.strategy, SmaCross)
    assert strategy.strategy_id == "sma_cross_10_30"


def test_a_strategy_reading_features_the_live_schema_lacks_is_refused(env):
    env.setenv("JULES_SIGNAL__STRATEGY", SMA_CROSS.replace("30", "50"))
    with pytest.raises(ConfigError) as caught:
        load_settings(SignalSettings)
    text = problems(caught)
    assert text.startswith("JULES_SIGNAL__STRATEGY='")
    assert "reads features ['sma_50']" in text
    assert "JULES_SIGNAL__FEATURES=['sma_10', 'sma_30', 'rsi_14']" in text


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        ('{"kind":"sma_cross","fast":30,"slow":10}', "fast (30) must be below slow (10)"),
        ('{"kind":"sma_cross","fast":"x","slow":30}', "fast: Input should be a valid integer"),
        ('{"kind":"macd_cross"}', "'macd_cross' found using 'kind' does not match"),
        ('{"kind":"sma_cross","fast":10,"slow":30,"speed":1}', "speed: Extra inputs"),
    ],
)
def test_an_invalid_strategy_is_refused_naming_the_variable_and_value(env, strategy, message):
    env.setenv("JULES_SIGNAL__STRATEGY", strategy)
    with pytest.raises(ConfigError) as caught:
        load_settings(SignalSettings)
    assert problems(caught).startswith(f"JULES_SIGNAL__STRATEGY={strategy!r}")
    assert message in problems(caught)


def test_exactly_one_of_strategy_and_model_path(env, tmp_path):
    with pytest.raises(ConfigError, match="none is set"):
        load_settings(SignalSettings)
    env.setenv("JULES_SIGNAL__STRATEGY", SMA_CROSS)
    env.setenv("JULES_SIGNAL__MODEL_PATH", str(model_file(tmp_path)))
    with pytest.raises(ConfigError) as caught:
        load_settings(SignalSettings)
    assert "JULES_SIGNAL__STRATEGY" in problems(caught)
    assert "JULES_SIGNAL__MODEL_PATH" in problems(caught)
    assert "JULES_SIGNAL__STRATEGY and JULES_SIGNAL__MODEL_PATH are set" in problems(caught)


def test_the_live_schema_is_required_and_checked(env):
    env.delenv("JULES_SIGNAL__FEATURE_SCHEMA_ID")
    env.setenv("JULES_SIGNAL__FEATURES", '["sma_10","sma_10"]')
    env.setenv("JULES_SIGNAL__STRATEGY", SMA_CROSS)
    with pytest.raises(ConfigError) as caught:
        load_settings(SignalSettings)
    assert "JULES_SIGNAL__FEATURE_SCHEMA_ID: Field required" in problems(caught)
    assert "repeated: ['sma_10']" in problems(caught)


def test_a_model_matching_the_live_schema_is_loaded_once_at_build_time(env, tmp_path):
    env.setenv("JULES_SIGNAL__MODEL_PATH", str(model_file(tmp_path)))
    settings = load_settings(SignalSettings)
    policy = load_strategy(settings)
    assert isinstance(policy, OnnxPolicy)
    assert policy.card.feature_schema_id == SCHEMA_ID
    assert isinstance(create_app(settings), AsgiFastStream)  # nothing connects yet


def test_a_model_of_another_feature_schema_stops_the_build(env, tmp_path):
    env.setenv("JULES_SIGNAL__MODEL_PATH", str(model_file(tmp_path, schema_id=OTHER_SCHEMA_ID)))
    settings = load_settings(SignalSettings)
    with pytest.raises(ConfigError) as caught:
        create_app(settings)
    text = problems(caught)
    assert text.startswith("JULES_SIGNAL__MODEL_PATH=")
    assert "FEATURE_SCHEMA_MISMATCH" in text
    assert OTHER_SCHEMA_ID in text
    assert SCHEMA_ID in text


def test_a_file_that_is_no_model_stops_the_build(env, tmp_path):
    path = tmp_path / "policy.onnx"
    path.write_bytes(b"not a model")
    env.setenv("JULES_SIGNAL__MODEL_PATH", str(path))
    with pytest.raises(ConfigError, match="INVALID_MODEL"):
        load_strategy(load_settings(SignalSettings))


def test_run_exits_2_on_a_refused_model_before_connecting(env, tmp_path):
    env.setenv("JULES_SIGNAL__MODEL_PATH", str(model_file(tmp_path, schema_id=OTHER_SCHEMA_ID)))
    env.setenv("JULES_SIGNAL__KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")  # never reached
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 2
    assert "JULES_SIGNAL__MODEL_PATH=" in result.output
    assert "FEATURE_SCHEMA_MISMATCH" in result.output


def test_check_strategy_prints_the_model_card(env, tmp_path):
    env.setenv("JULES_SIGNAL__MODEL_PATH", str(model_file(tmp_path)))
    result = CliRunner().invoke(cli, ["check-strategy"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["strategy_id"] == "mlp-policy"
    assert summary["required_features"] == list(onnx_models.FEATURES)
    assert summary["model_card"]["feature_schema_id"] == SCHEMA_ID


def test_check_strategy_prints_a_rule_strategy_and_refuses_a_bad_one(env):
    env.setenv("JULES_SIGNAL__STRATEGY", SMA_CROSS)
    result = CliRunner().invoke(cli, ["check-strategy"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["required_features"] == ["sma_10", "sma_30"]
    env.setenv("JULES_SIGNAL__STRATEGY", SMA_CROSS.replace("10", "12"))
    result = CliRunner().invoke(cli, ["check-strategy"])
    assert result.exit_code == 2
    assert "sma_12" in result.output
