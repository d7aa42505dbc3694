"""Signals produced by strategies and policies (``signals.v1``)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from jules_contracts.base import Event, Identifier, InstrumentId, PositiveFloat, Probability
from jules_contracts.enums import SignalDirection
from jules_contracts.features import FeatureSchemaId

__all__ = ["SignalGenerated"]


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
        sign = (self.target_weight > 0) - (self.target_weight < 0)
        expected = {SignalDirection.LONG: 1, SignalDirection.SHORT: -1, SignalDirection.FLAT: 0}
        if sign != expected[self.direction]:
            raise ValueError(
                f"target_weight {self.target_weight} contradicts direction {self.direction.value}"
            )
        return self
