"""Signals produced by strategies and policies (``signals.v1``)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from jules_contracts.base import Event, Identifier, InstrumentId, PositiveFloat, Probability
from jules_contracts.enums import SignalDirection
from jules_contracts.features import FeatureSchemaId

__all__ = ["SignalGenerated", "direction_of"]


def direction_of(target_weight: float) -> SignalDirection:
    """The direction a target weight stands for: its sign (zero is flat)."""
    if target_weight > 0:
        return SignalDirection.LONG
    if target_weight < 0:
        return SignalDirection.SHORT
    return SignalDirection.FLAT


class SignalGenerated(Event):
    """A strategy's wish for one instrument.

    Attributes:
        instrument_id: Which instrument.
        strategy_id: The strategy or model that decided.
        direction: Long, short or flat.
        target_weight: Target position as a signed fraction of equity in [-1, 1]; its sign
            agrees with ``direction`` (zero for flat).
        strength: Confidence in [0, 1].
        reference_price: The price the decision was made on (last close or mid).
        model_version: Version of the ONNX policy, for a model-driven signal.
        feature_schema_id: Schema of the features the decision used.
    """

    event_type: Literal["signal.generated"] = "signal.generated"
    instrument_id: InstrumentId
    strategy_id: Identifier
    direction: SignalDirection
    target_weight: Annotated[float, Field(ge=-1, le=1, strict=True, allow_inf_nan=False)]
    strength: Probability = 1.0
    reference_price: PositiveFloat | None = None
    model_version: Identifier | None = None
    feature_schema_id: FeatureSchemaId | None = None

    @model_validator(mode="after")
    def _check_direction(self) -> Self:
        if direction_of(self.target_weight) is not self.direction:
            raise ValueError(
                f"target_weight {self.target_weight} contradicts direction {self.direction.value}"
            )
        return self
