"""The ONNX policy as an SDK strategy (``OnnxModel``, entry point ``onnx_model``): the same
signals as ``OnnxPolicy`` on the same model, event ids and model version included; a subclass
adding a rule; a vector of another schema or an unusable output quarantines it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jules_contracts import Bar, FeatureVector
from jules_signal.engine import (
    OnnxPolicy,
    OnnxPolicyConfig,
    PythonStrategy,
    PythonStrategyConfig,
    StrategyQuarantinedError,
    load_strategy,
)
from jules_signal.engine.onnx_strategy import OnnxModel, OnnxModelParams
from jules_signal.sdk import Features

from .builders import OTHER_SCHEMA_ID, SCHEMA_ID, make_bar, make_features
from .onnx_models import FEATURES, NORMALISATION, policy_model

WEIGHTS = np.array([[0.9], [-0.7], [0.3]])


def pairs(count: int = 400, seed: int = 7) -> list[tuple[Bar, FeatureVector]]:
    """Bars with feature vectors around the card's means (undefined for the first five)."""
    rng = np.random.default_rng(seed)
    made = []
    for index in range(count):
        bar = make_bar(index, float(100 + rng.normal()))
        row = {
            name: None
            if index < 5
            else float(
                NORMALISATION[name]["mean"] + 1.5 * NORMALISATION[name]["std"] * rng.normal()
            )
            for name in FEATURES
        }
        made.append((bar, make_features(bar, row)))
    return made


def model_file(tmp_path: Path, weights: np.ndarray = WEIGHTS, activation: str = "Tanh") -> Path:
    path = tmp_path / "policy.onnx"
    path.write_bytes(policy_model(weights, activation=activation or None))
    return path


def test_the_sdk_strategy_gives_the_policys_signals(tmp_path: Path) -> None:
    path = model_file(tmp_path)
    config = OnnxPolicyConfig(dead_band=0.05, min_weight_change=0.2)
    policy = OnnxPolicy.from_bytes(path.read_bytes(), live_schema_id=SCHEMA_ID, config=config)
    strategy = load_strategy(
        PythonStrategyConfig(
            entry_point="onnx_model",
            params={"model": str(path), "dead_band": 0.05, "min_weight_change": 0.2},
            strategy_id="mlp-policy",
        )
    )
    assert strategy.required_features == FEATURES

    expected = [s for bar, vector in pairs() for s in policy.on_features(vector, bar)]
    got = [s for bar, vector in pairs() for s in strategy.on_features(vector, bar)]

    assert len(expected) >= 20
    assert [s.model_dump() for s in got] == [s.model_dump() for s in expected]
    assert {s.model_version for s in got} == {"1.2.0"}


class FlatAboveRsi70(OnnxModel):
    """The model's targets, but flat while the RSI is above 70 (a user's rule on top)."""

    def on_bar(self, bar: Bar, features: Features) -> None:
        rsi = features["rsi_14"]
        if rsi is not None and rsi > 70:
            self.target(bar.instrument_id, 0.0)
            return
        super().on_bar(bar, features)


def test_a_subclass_adds_its_own_rule_to_the_model(tmp_path: Path) -> None:
    strategy = PythonStrategy(
        FlatAboveRsi70(OnnxModelParams(model=str(model_file(tmp_path)))), "mlp-policy"
    )
    signals = {
        vector.event_id: s for bar, vector in pairs() for s in strategy.on_features(vector, bar)
    }
    hot = [v for _, v in pairs() if (v.features["rsi_14"] or 0) > 70]
    assert hot
    for vector in hot:  # on each such bar: a flat target, or none when already flat
        signal = signals.get(vector.event_id)
        assert signal is None or signal.target_weight == 0.0
    assert any(s.target_weight != 0 for s in signals.values())


def test_a_vector_of_another_schema_quarantines_the_strategy(tmp_path: Path) -> None:
    strategy = PythonStrategy(OnnxModel(OnnxModelParams(model=str(model_file(tmp_path)))), "m")
    bar = make_bar(0)
    vector = make_features(bar, dict.fromkeys(FEATURES, 1.0), schema_id=OTHER_SCHEMA_ID)

    with pytest.raises(StrategyQuarantinedError, match=OTHER_SCHEMA_ID):
        strategy.on_features(vector, bar)


def test_an_output_that_is_not_finite_quarantines_the_strategy(tmp_path: Path) -> None:
    path = model_file(tmp_path, np.array([[np.inf], [0.0], [0.0]]), activation="")
    strategy = PythonStrategy(OnnxModel(OnnxModelParams(model=str(path))), "m")
    bar = make_bar(0)
    vector = make_features(bar, {"sma_10": 104.0, "sma_30": 100.0, "rsi_14": 50.0})

    with pytest.raises(StrategyQuarantinedError, match="finite"):
        strategy.on_features(vector, bar)
