"""Feature vectors computed by the features service (``features.v1``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from jules_contracts.base import Event, FiniteFloat, InstrumentId

__all__ = ["FeatureName", "FeatureSchemaId", "FeatureVector"]

FeatureName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""Lowercase ``<indicator>_<params>`` (``ema_21``, ``bb_upper_20_2``)."""

FeatureSchemaId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,64}$")]
"""Stable hash of a feature schema (ordered names and parameters), lowercase hex."""


class FeatureVector(Event):
    """The features of one instrument at one event time.

    Attributes:
        instrument_id: Which instrument.
        feature_schema_id: Hash of the schema the values follow; a model refuses another.
        features: Values by name, in schema order; ``None`` while a feature is undefined
            (warm-up).
    """

    event_type: Literal["features.vector"] = "features.vector"
    instrument_id: InstrumentId
    feature_schema_id: FeatureSchemaId
    features: Annotated[dict[FeatureName, FiniteFloat | None], Field(min_length=1)]
