"""A linear ONNX policy with its model card: ``target = tanh(standardise(x) @ W)``.

The smallest policy the signal service can serve: used by tests, the benchmark and examples
until trained models exist. The card names the features, their order, the normalisation and
the feature-schema id the signal service checks against its live schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from jules_features.engine import FeatureSchema
from jules_signal.engine import MODEL_CARD_KEY, ModelCard
from onnx import TensorProto, helper, numpy_helper

__all__ = ["write_linear_policy"]


def write_linear_policy(
    path: Path,
    *,
    features: Sequence[str],
    weights: Sequence[float],
    normalisation: Mapping[str, tuple[float, float]],
    model_name: str = "linear-policy",
    model_version: str = "0.1.0",
    schema_id: str | None = None,
    created_at: str = "2026-01-01T00:00:00Z",
) -> ModelCard:
    """Write the policy with its model card to ``path``.

    Args:
        path: Where the ``.onnx`` file goes.
        features: Feature names, in input order.
        weights: One weight per feature.
        normalisation: ``(mean, std)`` per feature.
        model_name: Name in the card (it becomes the strategy id of its signals).
        model_version: Version in the card.
        schema_id: Feature-schema id for the card (default: the schema of ``features``).
        created_at: Creation time recorded in the card (ISO-8601 with offset).

    Returns:
        The card written into the model's metadata.

    Raises:
        onnx.checker.ValidationError: The graph is not valid ONNX.
    """
    if len(weights) != len(features):
        raise ValueError(f"{len(weights)} weights for {len(features)} features")
    card = ModelCard.model_validate(
        {
            "model_name": model_name,
            "model_version": model_version,
            "feature_names": list(features),
            "feature_schema_id": schema_id or FeatureSchema.from_names(features).schema_id,
            "normalisation": {
                name: {"mean": normalisation[name][0], "std": normalisation[name][1]}
                for name in features
            },
            "action": {"kind": "target_weight"},
            "training_data_hash": "0" * 64,
            "code_version": "linear",
            "metrics": {},
            "created_at": created_at,
        }
    )
    matrix = np.asarray(weights, dtype=np.float32).reshape(len(features), 1)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])],
        "policy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", len(features)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        [numpy_helper.from_array(matrix, name="W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    helper.set_model_props(model, {MODEL_CARD_KEY: card.model_dump_json()})
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return card
