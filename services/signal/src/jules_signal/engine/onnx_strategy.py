"""An ONNX policy with its model card as a strategy like any other (``jules_signal.sdk``).

``OnnxModel`` runs a model as ``OnnxPolicy`` does (the same loading, card checks, input
standardisation, output mapping and minimum target change), but as an ``sdk.Strategy``: it is
loaded by import path or entry point (``onnx_model``) with its parameters, and a user may
subclass it to add what a model does not do (stops, a session filter, fills, orders) and still
call ``super().on_bar``. Its signals carry the card's ``model_version``; with the card's
``model_name`` as ``strategy_id`` they are the policy's, event ids included.

A model output the strategy cannot use (not finite, wrong size) or a vector of another feature
schema than the card's raises, so the strategy is quarantined; the served policy of ``kind:
onnx`` (with its model swaps and shadow runs in the signal service) alerts and goes on instead.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from jules_signal.engine.config import OnnxPolicyConfig
from jules_signal.engine.errors import ModelSchemaMismatchError
from jules_signal.engine.onnx_policy import OnnxPolicy
from jules_signal.engine.sdk import Bar, Features, Field, Params, Strategy
from jules_signal.engine.strategy import TargetMemory

__all__ = ["OnnxModel", "OnnxModelParams"]


class OnnxModelParams(Params, OnnxPolicyConfig):
    """Parameters of ``OnnxModel``: the model file, and ``OnnxPolicyConfig``'s fields.

    ``dead_band``: a ``target_weight`` output this close to 0 is flat; ``min_weight_change``:
    the smallest move of the target in the same direction.
    """

    model: str = Field(description="Path of the .onnx file, its model card in its metadata.")


class OnnxModel(Strategy[OnnxModelParams]):
    """The model's target for each bar's instrument, from the features its card names."""

    @cached_property
    def policy(self) -> OnnxPolicy:
        """The model, loaded once, with its card (``OnnxPolicy``)."""
        return OnnxPolicy.from_bytes(
            Path(self.params.model).read_bytes(),
            live_schema_id=None,
            config=OnnxPolicyConfig.model_validate(self.params.model_dump(exclude={"model"})),
        )

    @property
    def model_version(self) -> str:  # type: ignore[override]
        """The card's model version (carried by the signals)."""
        return self.policy.card.model_version

    def features(self) -> list[str]:
        """The features the model reads, in card order."""
        return list(self.policy.card.feature_names)

    def on_start(self) -> None:
        """No target yet."""
        self.memory = TargetMemory(self.params.min_weight_change)

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Run the model once every feature it reads is defined; want its target if news."""
        card = self.policy.card
        if features.schema_id is not None and features.schema_id != card.feature_schema_id:
            raise ModelSchemaMismatchError(
                model_schema_id=card.feature_schema_id,
                live_schema_id=features.schema_id,
                model_features=card.feature_names,
                live_features=tuple(features),
            )
        values = [features[name] for name in card.feature_names]
        defined = [value for value in values if value is not None]
        if len(defined) != len(values):
            return
        instrument = bar.instrument_id
        target, strength = self.policy.decide(defined, self.position(instrument))
        if self.memory.update(instrument, target):
            self.target(instrument, target, strength=strength)
