"""The linear ONNX policy: valid ONNX, its card readable, its output tanh(standardised · W)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from jules_features.engine import FeatureSchema
from jules_signal.engine import ModelCard
from jules_trainer.linear_policy import write_linear_policy


def test_policy_output_and_card(tmp_path):
    path = tmp_path / "p.onnx"
    card = write_linear_policy(
        path,
        features=("rsi_14", "sma_10"),
        weights=(0.5, -2.0),
        normalisation={"rsi_14": (50.0, 10.0), "sma_10": (100.0, 5.0)},
    )
    session = ort.InferenceSession(path.read_bytes())
    read_back = ModelCard.from_metadata(session.get_modelmeta().custom_metadata_map)
    assert read_back == card
    assert card.feature_schema_id == FeatureSchema.from_names(["rsi_14", "sma_10"]).schema_id
    x = np.array([[1.2, -0.3]], dtype=np.float32)
    [y] = session.run(None, {"x": x})
    assert y[0, 0] == pytest.approx(np.tanh(1.2 * 0.5 + -0.3 * -2.0), rel=1e-6)


def test_weights_must_match_features(tmp_path):
    with pytest.raises(ValueError, match="2 weights for 1 features"):
        write_linear_policy(
            tmp_path / "p.onnx", features=("rsi_14",), weights=(1.0, 2.0), normalisation={}
        )
