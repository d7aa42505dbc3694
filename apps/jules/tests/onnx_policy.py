"""A tiny ONNX policy for backtests: ``target = tanh(standardise(features) @ W)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from jules_features.engine import FeatureSchema
from jules_signal.engine import MODEL_CARD_KEY, ModelCard
from onnx import TensorProto, helper, numpy_helper

FEATURES = ("rsi_14", "logret_1")
WEIGHTS = np.array([[-1.5], [0.8]])  # lean against RSI extremes, follow the last return


def write_policy(path: Path, *, schema_id: str | None = None) -> ModelCard:
    """Write the policy with its model card to ``path`` and return the card."""
    card = ModelCard.model_validate(
        {
            "model_name": "rsi-momentum",
            "model_version": "0.1.0",
            "feature_names": list(FEATURES),
            "feature_schema_id": schema_id or FeatureSchema.from_names(FEATURES).schema_id,
            "normalisation": {
                "rsi_14": {"mean": 50.0, "std": 10.0},
                "logret_1": {"mean": 0.0, "std": 0.001},
            },
            "action": {"kind": "target_weight"},
            "training_data_hash": "ab" * 32,
            "code_version": "test",
            "metrics": {},
            "created_at": "2026-01-01T00:00:00Z",
        }
    )
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])],
        "policy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", len(FEATURES)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        [numpy_helper.from_array(WEIGHTS.astype(np.float32), name="W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    helper.set_model_props(model, {MODEL_CARD_KEY: card.model_dump_json()})
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return card
