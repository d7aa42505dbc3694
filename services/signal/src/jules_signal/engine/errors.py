"""Errors of the signal engine, each with a reason code users can act on."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from jules_contracts import JulesError

__all__ = [
    "MissingFeaturesError",
    "ModelLoadError",
    "ModelOutputError",
    "ModelRejectionReason",
    "ModelSchemaMismatchError",
]


class ModelRejectionReason(StrEnum):
    """Why a model was refused at load time or while serving. The values never change."""

    INVALID_MODEL = "INVALID_MODEL"
    """The bytes are not a model onnxruntime can load."""
    MISSING_MODEL_CARD = "MISSING_MODEL_CARD"
    """The model has no model card in its metadata."""
    INVALID_MODEL_CARD = "INVALID_MODEL_CARD"
    """The model card is not valid JSON or misses or spoils a field."""
    FEATURE_SCHEMA_MISMATCH = "FEATURE_SCHEMA_MISMATCH"
    """The model was trained on another feature schema than the live one."""
    INCOMPATIBLE_MODEL_IO = "INCOMPATIBLE_MODEL_IO"
    """The model's inputs or outputs do not fit its card."""
    INVALID_MODEL_OUTPUT = "INVALID_MODEL_OUTPUT"
    """The model produced a non-finite or wrongly shaped output."""


class ModelLoadError(JulesError, ValueError):
    """A model was refused; ``reason`` says why and the message names the field at fault."""

    def __init__(self, reason: ModelRejectionReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason


class ModelSchemaMismatchError(ModelLoadError):
    """The model was trained on other features than the live ones.

    Attributes:
        model_schema_id: The ``feature_schema_id`` of the model card.
        live_schema_id: The feature schema id the features service publishes.
    """

    def __init__(
        self,
        *,
        model_schema_id: str,
        live_schema_id: str,
        model_features: Sequence[str],
        live_features: Sequence[str] | None,
    ) -> None:
        super().__init__(
            ModelRejectionReason.FEATURE_SCHEMA_MISMATCH,
            f"the model's feature schema {model_schema_id!r} and the live feature schema "
            f"{live_schema_id!r} disagree: "
            f"{describe_feature_difference(model_features, live_features)}",
        )
        self.model_schema_id = model_schema_id
        self.live_schema_id = live_schema_id


class ModelOutputError(JulesError, ValueError):
    """The model produced an output the policy cannot turn into a target weight."""

    reason = ModelRejectionReason.INVALID_MODEL_OUTPUT

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.reason.value}: {message}")


class MissingFeaturesError(JulesError, ValueError):
    """A feature vector lacks features a strategy requires (the feature set is misconfigured).

    Attributes:
        strategy_id: The strategy that needs them.
        missing: The required names absent from the vector.
    """

    def __init__(self, strategy_id: str, missing: Sequence[str], available: Sequence[str]) -> None:
        super().__init__(
            f"strategy {strategy_id!r} requires features {list(missing)} which the feature "
            f"vector does not carry (it has {list(available)}); configure the features service "
            "to compute them"
        )
        self.strategy_id = strategy_id
        self.missing = tuple(missing)


def describe_feature_difference(model: Sequence[str], live: Sequence[str] | None) -> str:
    """Say where two ordered feature lists first differ, for an error message.

    Args:
        model: Feature names in the order the model reads them.
        live: Feature names in the order the features service publishes them, if known.

    Returns:
        A phrase naming the first differing position and the names there, and the model's
        features the live ones lack.
    """
    if live is None:
        return f"the model reads {list(model)} (live feature names not given)"
    parts = []
    for position in range(max(len(model), len(live))):
        expected = model[position] if position < len(model) else None
        actual = live[position] if position < len(live) else None
        if expected != actual:
            parts.append(
                f"first differing feature at position {position}: model {expected!r}, "
                f"live {actual!r}"
            )
            break
    missing = [name for name in model if name not in live]
    if missing:
        parts.append(f"the live features lack {missing}")
    return "; ".join(parts) or (
        f"the feature names agree ({list(model)}), so their definitions must differ"
    )
