"""Training end to end on one real Coinbase BTC-USD day: DQN, PPO, supervised, the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import yaml
from jules_contracts.enums import ModelStage
from jules_features.engine import FeatureSchema
from jules_signal.engine import DiscreteAction, OnnxPolicy, TargetWeightAction
from jules_trainer.cli import app
from jules_trainer.config import TrainConfig
from jules_trainer.data import load_dataset
from jules_trainer.registry import ModelRegistry
from jules_trainer.train import train
from onnx import numpy_helper
from typer.testing import CliRunner

from .env_helpers import DATA_DIR

DAY = "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20180404_trade.zip"
FEATURES = ("logret_1", "rsi_14")
SPLITS = ("train", "validation", "test")
METRICS = {"mean_episode_pnl", "sharpe", "max_drawdown", "target_changes", "episodes"}


def tiny(registry: Path, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "tiny",
        "data_dir": str(DATA_DIR),
        "data": [{"path": DAY, "instrument_id": "BTCUSD.COINBASE"}],
        "features": list(FEATURES),
        "env": {"episode_bars": 120, "reward_scale": 100.0},
        "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
        "execution": {"fees": {"taker_bps": 5}},
        "registry_dir": str(registry),
        "seed": 3,
        "dqn": {
            "total_timesteps": 400,
            "learning_starts": 100,
            "buffer_size": 1000,
            "target_update_interval": 100,
            "eval_every": 200,
            "patience": 2,
            "net_arch": [16],
        },
        "ppo": {
            "total_timesteps": 256,
            "n_steps": 128,
            "batch_size": 64,
            "n_epochs": 2,
            "eval_every": 128,
            "patience": 2,
            "net_arch": [16],
        },
        "supervised": {"epochs": 4, "patience": 2, "net_arch": [16], "batch_size": 128},
    }
    config.update(extra)
    return config


def check_registered(registry: Path, version: str, *, position_input: bool) -> Any:
    model = ModelRegistry(registry).get("tiny", version)
    assert model.stage is ModelStage.CANDIDATE
    card = model.card
    config = TrainConfig.model_validate(model.experiment["config"])
    assert card.feature_names == FEATURES
    assert card.feature_schema_id == FeatureSchema.from_names(FEATURES).schema_id
    assert card.training_data_hash == load_dataset(config).data_hash
    assert card.position_input is position_input
    assert {f"test.{key}" for key in METRICS} <= set(card.metrics)
    assert card.code_version == model.experiment["code_version"]
    record = model.experiment
    assert record["data_hash"] == card.training_data_hash
    assert record["metrics"] == card.metrics
    (fold,) = record["folds"]
    assert set(fold["metrics"]["test"]) >= METRICS
    assert card.metrics["test.mean_episode_pnl"] == fold["metrics"]["test"]["mean_episode_pnl"]
    assert fold["train"][1] == fold["validation"][0]
    assert fold["validation"][1] == fold["test"][0]
    assert record["export"]["max_abs_diff"] <= record["export"]["tolerance"]
    assert any((model.path / "tensorboard").rglob("events.out.tfevents.*"))
    policy = OnnxPolicy.from_bytes(
        model.onnx_path.read_bytes(), live_schema_id=card.feature_schema_id
    )
    assert policy.card == card
    return model


def test_cli_dqn_trains_and_registers(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(tiny(tmp_path / "unused")))
    registry = tmp_path / "models"
    result = CliRunner().invoke(
        app,
        ["dqn", "--config", str(path), "--registry", str(registry), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    assert "tiny version 1" in result.output
    model = check_registered(registry, "1", position_input=True)
    assert model.card.action == DiscreteAction(target_weights=(-1.0, 0.0, 1.0))
    assert model.experiment["algorithm"] == "dqn"
    assert model.experiment["config"]["dqn"]["total_timesteps"] == 400


def test_cli_invalid_config_exits_2(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(tiny(tmp_path / "models")))
    runner = CliRunner()
    bad = runner.invoke(app, ["ppo", "--config", str(path), "--set", "env.episode_bars=1"])
    assert bad.exit_code == 2
    assert "invalid training configuration" in bad.output
    assert "episode_bars" in bad.output
    continuous = runner.invoke(
        app, ["dqn", "--config", str(path), "--set", "env.action={kind: continuous}"]
    )
    assert continuous.exit_code == 2
    assert "dqn needs discrete actions" in continuous.output
    assert not (tmp_path / "models").exists()


def onnx_weights(path: Path) -> list[np.ndarray]:
    return [numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer]


def test_ppo_continuous_is_reproducible(tmp_path):
    settings = tiny(tmp_path / "a", env={"episode_bars": 120, "action": {"kind": "continuous"}})
    first = train("ppo", TrainConfig.model_validate(settings), progress=False)
    settings["registry_dir"] = str(tmp_path / "b")
    second = train("ppo", TrainConfig.model_validate(settings), progress=False)
    model = check_registered(tmp_path / "a", "1", position_input=True)
    assert model.card.action == TargetWeightAction()
    assert first.metrics == second.metrics
    a, b = (
        onnx_weights(first.model_dir / "model.onnx"),
        onnx_weights(second.model_dir / "model.onnx"),
    )
    assert len(a) == len(b) > 0
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    # a different seed trains different weights
    settings["registry_dir"] = str(tmp_path / "c")
    settings["seed"] = 4
    third = train("ppo", TrainConfig.model_validate(settings), progress=False)
    c = onnx_weights(third.model_dir / "model.onnx")
    assert any(not np.array_equal(left, right) for left, right in zip(a, c, strict=True))


def test_supervised_trains_without_position_input(tmp_path):
    result = train("supervised", TrainConfig.model_validate(tiny(tmp_path)), progress=False)
    assert result.model_version == "1"
    model = check_registered(tmp_path, "1", position_input=False)
    (fold,) = model.experiment["folds"]
    for split in SPLITS:
        assert 0.0 <= fold["metrics"][split]["accuracy"] <= 1.0
    assert fold["training"]["rows"]["train"] > 100
    assert 1 <= fold["training"]["epochs"] <= 4
    assert "test.accuracy" in model.card.metrics
    # the next registration gets the next version
    again = train("supervised", TrainConfig.model_validate(tiny(tmp_path)), progress=False)
    assert again.model_version == "2"


def test_early_stopping_stops_before_the_budget(tmp_path):
    settings = tiny(tmp_path, tensorboard=False)
    settings["dqn"] = {**settings["dqn"], "total_timesteps": 20_000, "patience": 1}
    result = train("dqn", TrainConfig.model_validate(settings), progress=False)
    (fold,) = result.experiment["folds"]
    training = fold["training"]
    assert training["stopped_early"] is True
    assert training["timesteps"] < 20_000
    evaluations = training["evaluations"]
    best = max(e["mean_episode_pnl"] for e in evaluations)
    assert training["best_validation_mean_episode_pnl"] == best
    # stopped at the first evaluation not better than the best before it
    scores = [e["mean_episode_pnl"] for e in evaluations]
    assert scores[-1] <= max(scores[:-1])
    assert all(scores[i] > max(scores[:i]) for i in range(1, len(scores) - 1))
    assert fold["metrics"]["validation"]["mean_episode_pnl"] == best
    assert result.experiment["tensorboard"] is None


def test_dqn_refuses_continuous_actions(tmp_path):
    settings = tiny(tmp_path, env={"action": {"kind": "continuous"}})
    with pytest.raises(ValueError, match="dqn needs discrete actions"):
        train("dqn", TrainConfig.model_validate(settings), progress=False)
