"""Training configuration: the example loads, overrides apply, bad fields are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules_backtest.config import OnnxStrategyConfig
from jules_trainer.config import (
    ContinuousActions,
    DiscreteActions,
    TrainConfig,
    load_train_config,
)
from pydantic import ValidationError

from .env_helpers import DATA_DIR, REPO_ROOT, train_config

EXAMPLE = REPO_ROOT / "examples" / "train.yaml"


def test_example_config_loads_with_its_sections():
    config = load_train_config(EXAMPLE)

    assert config.name == "btc-perp-demo"
    assert config.data[0].instrument_id == "BTC-PERP.FTX"
    assert config.data[0].assume_utc is True
    assert isinstance(config.env.action, DiscreteActions)
    assert config.env.action.target_weights == (-1.0, 0.0, 1.0)
    assert config.risk.sizing.kind == "fixed_fraction"
    assert config.execution.fees.taker_bps == 5
    assert config.execution.fill_model.kind == "next_bar_open"
    assert config.folds.train + config.folds.validation + config.folds.test == pytest.approx(1)


def test_overrides_apply_dotted_keys():
    config = load_train_config(
        EXAMPLE, ["env.action={kind: continuous}", "env.episode_bars=100", "dqn.net_arch=[8]"]
    )

    assert isinstance(config.env.action, ContinuousActions)
    assert config.env.episode_bars == 100
    assert config.dqn.net_arch == (8,)


def test_choices_in_the_file_are_read_in_any_case():
    config = load_train_config(
        EXAMPLE,
        [
            "env.action={kind: Continuous}",
            "execution.fill_model={kind: Next_Bar_Open}",
            "risk.sizing.kind=FIXED_FRACTION",
        ],
    )

    assert config.env.action == ContinuousActions()
    assert config.execution.fill_model.kind == "next_bar_open"
    assert config.risk.sizing.kind == "fixed_fraction"


def test_an_unknown_action_kind_names_the_field_and_the_kinds():
    with pytest.raises(ValidationError) as caught:
        load_train_config(EXAMPLE, ["env.action={kind: box}"])

    assert "env.action" in str(caught.value)
    assert "'discrete', 'continuous'" in str(caught.value)


def test_config_survives_a_json_round_trip():
    config = load_train_config(EXAMPLE)

    again = TrainConfig.model_validate(config.model_dump(mode="json"))

    assert again == config


def test_backtest_config_uses_the_same_data_risk_venue_and_policy_settings(tmp_path):
    config = train_config(DATA_DIR, env={"dead_band": 0.02, "min_weight_change": 0.3})

    backtest = config.backtest_config(
        model=tmp_path / "m.onnx",
        start="2022-01-02T00:00:00+00:00",
        end="2022-01-03T00:00:00+00:00",
        output_dir=tmp_path / "run",
    )

    assert isinstance(backtest.strategy, OnnxStrategyConfig)
    assert backtest.strategy.model == str(tmp_path / "m.onnx")
    assert backtest.strategy.dead_band == 0.02
    assert backtest.strategy.min_weight_change == 0.3
    assert backtest.data == config.data
    assert backtest.risk == config.risk
    assert backtest.execution == config.execution
    assert backtest.account == config.account
    assert backtest.close_at_end is True
    assert backtest.window_ns == (1_641_081_600_000_000_000, 1_641_168_000_000_000_000)
    assert backtest.run_dir == tmp_path / "run"


def test_fractions_must_sum_to_one():
    with pytest.raises(ValidationError) as error:
        train_config(DATA_DIR, folds={"train": 0.7, "validation": 0.2, "test": 0.2})

    assert error.value.errors()[0]["loc"] == ("folds",)
    assert "must sum to 1" in str(error.value)


def test_unknown_feature_is_named():
    with pytest.raises(ValidationError) as error:
        train_config(DATA_DIR, features=["rsi_14", "moon_phase"])

    assert error.value.errors()[0]["loc"] == ("features",)
    assert "moon_phase" in str(error.value)


def test_features_must_be_canonical_and_distinct():
    with pytest.raises(ValidationError, match="canonically as 'bb_upper_20_1p5'"):
        train_config(DATA_DIR, features=["bb_upper_20_1.5"])
    with pytest.raises(ValidationError, match="listed twice"):
        train_config(DATA_DIR, features=["rsi_14", "rsi_14"])


@pytest.mark.parametrize(
    ("weights", "message"),
    [([0.0, 2.0], "less than or equal to 1"), ([1.0, 1.0], "distinct"), ([1.0], "at least 2")],
)
def test_discrete_target_weights_are_checked(weights, message):
    with pytest.raises(ValidationError, match=message) as error:
        train_config(DATA_DIR, env={"action": {"kind": "discrete", "target_weights": weights}})

    assert error.value.errors()[0]["loc"][:3] == ("env", "action", "discrete")


def test_unknown_keys_and_bad_names_are_refused():
    with pytest.raises(ValidationError, match="episode_bar"):
        train_config(DATA_DIR, env={"episode_bar": 10})
    with pytest.raises(ValidationError) as error:
        train_config(DATA_DIR, name="has space")
    assert error.value.errors()[0]["loc"] == ("name",)


def test_a_non_mapping_file_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- just\n- a list\n")

    with pytest.raises(ValueError, match="mapping"):
        load_train_config(path)


def test_relative_paths_stay_relative_to_the_working_directory(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(
        "name: m\ndata_dir: data\nregistry_dir: reg\nfeatures: [rsi_14]\n"
        "data: [{path: x.csv, instrument_id: X.Y}]\n"
    )

    config = load_train_config(path)

    assert config.data_dir == Path("data")
    assert config.registry_dir == Path("reg")
