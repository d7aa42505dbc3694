"""Tiny ONNX policies built with ``onnx.helper``, with their model card in the metadata.

The model is ``y = act(x @ W)`` on a ``[batch, n_features]`` input: the same computation a test
repeats with numpy to check what onnxruntime returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from jules_signal.engine import MODEL_CARD_KEY, ModelCard
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from .builders import SCHEMA_ID

FEATURES = ("sma_10", "sma_30", "rsi_14")
NORMALISATION = {
    "sma_10": {"mean": 100.0, "std": 2.0},
    "sma_30": {"mean": 100.0, "std": 4.0},
    "rsi_14": {"mean": 50.0, "std": 10.0},
}


def card_fields(**overrides: Any) -> dict[str, Any]:
    """The fields of a valid card (as JSON-ready data), with some replaced."""
    fields: dict[str, Any] = {
        "model_name": "mlp-policy",
        "model_version": "1.2.0",
        "feature_names": list(FEATURES),
        "feature_schema_id": SCHEMA_ID,
        "normalisation": NORMALISATION,
        "action": {"kind": "target_weight"},
        "training_data_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "code_version": "3f2a1bc",
        "metrics": {"sharpe": 1.4, "max_drawdown": -0.12},
        "created_at": "2024-08-08T23:54:13.123456789Z",
    }
    fields.update(overrides)
    return fields


def make_card(**overrides: Any) -> ModelCard:
    """A valid card, with some fields replaced."""
    return ModelCard.model_validate(card_fields(**overrides))


def policy_model(
    weights: NDArray[np.float64],
    *,
    card: ModelCard | None = None,
    metadata: dict[str, str] | None = None,
    activation: str | None = "Tanh",
    dtype: int = TensorProto.FLOAT,
    input_width: int | str | None = None,
) -> bytes:
    """Serialise ``y = activation(x @ weights)`` with a card (or raw metadata) attached.

    Args:
        weights: ``[n_features, n_outputs]`` matrix.
        card: The card to attach under ``MODEL_CARD_KEY`` (default: ``make_card()``).
        metadata: Raw metadata instead of the card (to attach a broken or no card).
        activation: An elementwise ONNX operator after the product, or ``None``.
        dtype: Element type of input, weights and output.
        input_width: The declared input width (default: the weights' row count).
    """
    n_in, n_out = weights.shape
    np_dtype = np.float32 if dtype == TensorProto.FLOAT else np.float64
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h" if activation else "y"])]
    if activation:
        nodes.append(helper.make_node(activation, ["h"], ["y"]))
    graph = helper.make_graph(
        nodes,
        "policy",
        [helper.make_tensor_value_info("x", dtype, ["batch", input_width or n_in])],
        [helper.make_tensor_value_info("y", dtype, ["batch", n_out])],
        [numpy_helper.from_array(weights.astype(np_dtype), name="W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    if metadata is None:
        metadata = {MODEL_CARD_KEY: (card or make_card()).model_dump_json()}
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    serialized: bytes = model.SerializeToString()
    return serialized


def reference_output(
    card: ModelCard,
    weights: NDArray[np.float64],
    values: NDArray[np.float64],
    *,
    dtype: type[np.floating[Any]] = np.float32,
) -> NDArray[np.float64]:
    """What the model computes, by numpy: ``tanh(standardise(values) @ weights)``."""
    mean = np.array([card.normalisation[name].mean for name in card.feature_names])
    std = np.array([card.normalisation[name].std for name in card.feature_names])
    scaled = ((values - mean) / std).astype(dtype)
    output: NDArray[np.float64] = np.tanh(scaled @ weights.astype(dtype)).astype(np.float64)
    return output
