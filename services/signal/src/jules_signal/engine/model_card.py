"""The model card an ONNX policy carries in its metadata.

The trainer writes the card as JSON under the metadata key ``jules.model_card``
(``MODEL_CARD_KEY``) of the ONNX model (``metadata_props``). The card says which features the
model reads and in which order, how to normalise them, what its output means, and where the
model comes from (training data hash, code version, metrics). The signal service refuses a model
without a valid card.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, Self

from jules_contracts import parse_utc_nanos
from jules_contracts.base import FiniteFloat, Identifier, PositiveFloat
from jules_contracts.features import FeatureName, FeatureSchemaId
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from jules_signal.engine.errors import ModelLoadError, ModelRejectionReason

__all__ = [
    "MODEL_CARD_KEY",
    "ActionSemantics",
    "DiscreteAction",
    "FeatureNormalisation",
    "ModelCard",
    "TargetWeightAction",
]

MODEL_CARD_KEY = "jules.model_card"
"""Metadata key of the model card in an ONNX model."""

Weight = Annotated[float, Field(ge=-1, le=1, strict=True, allow_inf_nan=False)]
HexDigest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,128}$")]


class _CardPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


class FeatureNormalisation(_CardPart):
    """How one feature is standardised before the model sees it: ``(x - mean) / std``."""

    mean: FiniteFloat
    std: PositiveFloat


class TargetWeightAction(_CardPart):
    """The model outputs one number, the target weight; values beyond [-1, 1] are clipped."""

    kind: Literal["target_weight"] = "target_weight"


class DiscreteAction(_CardPart):
    """The model outputs one score per class (logits or log-probabilities); the best wins.

    Attributes:
        target_weights: The target weight of each class, in output order.
    """

    kind: Literal["discrete"] = "discrete"
    target_weights: Annotated[tuple[Weight, ...], Field(min_length=2)]


ActionSemantics = Annotated[TargetWeightAction | DiscreteAction, Field(discriminator="kind")]
"""What the model's output means."""


class ModelCard(_CardPart):
    """Identity, inputs, outputs and provenance of an ONNX policy.

    Attributes:
        card_version: Version of this card format.
        model_name: Registered model name.
        model_version: Version of the model (written into its signals).
        feature_names: Features the model reads, in input order.
        feature_schema_id: Id of the feature schema the model was trained on.
        normalisation: Mean and standard deviation of each feature.
        action: What the output means (``target_weight`` or ``discrete``).
        training_data_hash: Hex digest of the training data.
        code_version: Version of the code that trained the model (a git sha or release).
        metrics: Evaluation metrics by name.
        created_at: When the model was made, ISO-8601 with a UTC offset (from the trainer).
        position_input: The model also reads the policy's current target weight for the
            instrument (0 before its first target), as the last input after the features and
            not normalised: the position state a trained agent observes.
    """

    card_version: Literal[1] = 1
    model_name: Identifier
    model_version: Identifier
    feature_names: Annotated[tuple[FeatureName, ...], Field(min_length=1)]
    feature_schema_id: FeatureSchemaId
    normalisation: dict[FeatureName, FeatureNormalisation]
    action: ActionSemantics
    training_data_hash: HexDigest
    code_version: Identifier
    metrics: dict[Annotated[str, StringConstraints(min_length=1)], FiniteFloat] = Field(
        default_factory=dict
    )
    created_at: str
    position_input: bool = False

    @field_validator("feature_names")
    @classmethod
    def _unique_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"feature names must be unique, repeated: {duplicates}")
        return names

    @field_validator("created_at")
    @classmethod
    def _iso_utc(cls, value: str) -> str:
        parse_utc_nanos(value)
        return value

    @model_validator(mode="after")
    def _normalisation_covers_features(self) -> Self:
        missing = [name for name in self.feature_names if name not in self.normalisation]
        extra = sorted(set(self.normalisation) - set(self.feature_names))
        if missing or extra:
            raise ValueError(
                f"normalisation must list exactly the feature_names: missing {missing}, "
                f"unknown {extra}"
            )
        return self

    @property
    def input_width(self) -> int:
        """How many values the model reads: the features, plus the position when it reads it."""
        return len(self.feature_names) + int(self.position_input)

    @property
    def created_at_ns(self) -> int:
        """``created_at`` as UTC nanoseconds since the epoch."""
        return parse_utc_nanos(self.created_at)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> ModelCard:
        """Read the card from an ONNX model's metadata.

        Args:
            metadata: The model's ``metadata_props`` (key to string).

        Returns:
            The validated card.

        Raises:
            ModelLoadError: No card (``MISSING_MODEL_CARD``) or an invalid one
                (``INVALID_MODEL_CARD``, naming each field at fault and its value).
        """
        text = metadata.get(MODEL_CARD_KEY)
        if text is None:
            raise ModelLoadError(
                ModelRejectionReason.MISSING_MODEL_CARD,
                f"the model has no model card under metadata key {MODEL_CARD_KEY!r} "
                f"(metadata keys: {sorted(metadata)})",
            )
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise ModelLoadError(
                ModelRejectionReason.INVALID_MODEL_CARD,
                f"the model card under {MODEL_CARD_KEY!r} is invalid: {_describe(error)}",
            ) from error


def _describe(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False):
        where = ".".join(str(part) for part in detail["loc"]) or "card"
        value = detail.get("input")
        shown = "" if detail["type"] == "missing" else f" (got {_short(value)})"
        parts.append(f"{where}: {detail['msg']}{shown}")
    return "; ".join(parts)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
