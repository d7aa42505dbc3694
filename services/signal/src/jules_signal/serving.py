"""Model serving: the registry's models loaded, swapped and shadowed while the service runs.

With ``JULES_SIGNAL__MODEL_NAME`` and ``JULES_SIGNAL__MODEL_REGISTRY`` the service serves the
production version of a registered model (``jules_signal.model_store``) and, when the registry
records one, runs its shadow version beside it. A ``SwapModel`` command on ``control.v1``
(target ``signal`` or ``*``) loads another version:

* ``PRODUCTION`` replaces the serving policy between two messages: the new policy is read,
  checked against the live feature schema and built first, then put in place in one step, so
  every pair is decided by exactly one version. Bars and vectors waiting for their partner stay
  where they are, and the new policy starts from the targets the old one left in force per
  instrument, so it does not repeat them. Promoting the version that runs in shadow ends the
  shadow run.
* ``SHADOW`` runs the version beside production on every pair; its signals (strategy id
  ``<model name>.shadow``) go to ``signals.shadow.v1``, which risk does not read.

A model that cannot serve (missing from the registry, unreadable, not a valid policy, trained on
another feature schema, another model name than the configured one, or a service that serves a
fixed strategy) is refused: the running models keep serving and a ``RiskAlert`` with code
``MODEL_REJECTED`` names the model, the version and the reason. The same command delivered twice,
or a swap to the version already in its stage, changes nothing.

The swap is not written back to the registry: after a restart the service serves the registry's
production (and shadow) version again; ``jules-train models promote`` records a stage change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jules_contracts import AlertSeverity, RiskAlert, SignalDirection
from jules_contracts.base import new_event_id
from jules_contracts.control import SwapModel
from jules_contracts.enums import ModelStage
from prometheus_client import CollectorRegistry, Counter, Gauge, Summary

from jules_signal.engine import ModelLoadError, OnnxPolicy, OnnxPolicyConfig
from jules_signal.engine.strategy import SOURCE
from jules_signal.model_store import ModelStore, ModelStoreError

__all__ = [
    "MODEL_REJECTED",
    "SHADOW_SUFFIX",
    "ModelRefusedError",
    "ModelSource",
    "ServingMetrics",
    "model_rejected_alert",
    "shadow_refused_alert",
    "shadow_strategy_id",
]

MODEL_REJECTED = "MODEL_REJECTED"
"""Alert code of a model the service refused to load (the running models keep serving)."""
SHADOW_SUFFIX = ".shadow"
"""Appended to the model name to make the strategy id of shadow signals."""

_MAX_ALERT_MESSAGE = 1024  # RiskAlert.message


def shadow_strategy_id(model_name: str) -> str:
    """The strategy id of a shadow model's signals: ``<model name>.shadow``.

    Distinct from production's (the model name), so a shadow signal never shares the event id
    of the production signal derived from the same feature vector.
    """
    return model_name + SHADOW_SUFFIX


class ModelRefusedError(Exception):
    """A model version cannot serve.

    Attributes:
        model_name: The model.
        model_version: The version.
        reason: A stable code: the engine's ``ModelRejectionReason`` value, or
            ``REGISTRY_ERROR``, ``CARD_MISMATCH``, ``OTHER_MODEL``, ``NO_REGISTRY``.
        detail: Why, in words.
    """

    def __init__(self, model_name: str, model_version: str, reason: str, detail: str) -> None:
        super().__init__(f"model {model_name!r} version {model_version!r} refused: {detail}")
        self.model_name = model_name
        self.model_version = model_version
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ModelSource:
    """Where the service's models come from: one model name in a registry folder.

    Attributes:
        store: The registry (read-only).
        model_name: The model the service serves.
        live_schema_id: The live feature schema id.
        live_features: The live feature names, in schema order.
        config: How outputs become signals.
    """

    store: ModelStore
    model_name: str
    live_schema_id: str
    live_features: tuple[str, ...]
    config: OnnxPolicyConfig = field(default_factory=OnnxPolicyConfig)

    @property
    def registry(self) -> Path:
        """The registry folder."""
        return self.store.root

    def load(
        self,
        model_name: str,
        version: str,
        *,
        shadow: bool = False,
        targets: Mapping[str, float] | None = None,
    ) -> OnnxPolicy:
        """Read a version from the registry and build its policy, checked against the live schema.

        Args:
            model_name: The model (must be the configured one).
            version: The version.
            shadow: Build it as a shadow (strategy id ``<name>.shadow``).
            targets: Targets in force per instrument that the policy takes over.

        Returns:
            The policy, ready to serve.

        Raises:
            ModelRefusedError: The version cannot serve; ``reason`` and ``detail`` say why.
        """
        if model_name != self.model_name:
            raise ModelRefusedError(
                model_name,
                version,
                "OTHER_MODEL",
                f"the service serves model {self.model_name!r}, not {model_name!r}",
            )
        try:
            model = self.store.read_model(model_name, version)
        except ModelStoreError as error:
            raise ModelRefusedError(
                model_name, version, "REGISTRY_ERROR", f"registry {self.registry}: {error}"
            ) from error
        try:
            policy = OnnxPolicy.from_bytes(
                model,
                live_schema_id=self.live_schema_id,
                live_feature_names=self.live_features,
                strategy_id=shadow_strategy_id(model_name) if shadow else model_name,
                config=self.config,
                targets=targets,
            )
        except ModelLoadError as error:
            raise ModelRefusedError(model_name, version, error.reason.value, str(error)) from error
        card = policy.card
        if (card.model_name, card.model_version) != (model_name, version):
            raise ModelRefusedError(
                model_name,
                version,
                "CARD_MISMATCH",
                f"the model card in the registry's {model_name}/{version} names model "
                f"{card.model_name!r} version {card.model_version!r}",
            )
        return policy


def model_rejected_alert(command: SwapModel, error: ModelRefusedError) -> RiskAlert:
    """The alert of a refused swap, derived from the command (one alert per command)."""
    return RiskAlert.derive(
        command,
        key=MODEL_REJECTED,
        source=SOURCE,
        severity=AlertSeverity.CRITICAL,
        code=MODEL_REJECTED,
        message=(
            f"{command.stage.value} swap to model {error.model_name!r} version "
            f"{error.model_version!r} (by {command.operator}) refused, {error.reason}: "
            f"{error.detail}; the running model keeps serving"
        )[:_MAX_ALERT_MESSAGE],
    )


def shadow_refused_alert(error: ModelRefusedError, event_time: int) -> RiskAlert:
    """The alert of a shadow version recorded in the registry but refused at start-up."""
    return RiskAlert(
        event_id=new_event_id(),
        source=SOURCE,
        event_time=event_time,
        severity=AlertSeverity.CRITICAL,
        code=MODEL_REJECTED,
        message=(
            f"shadow version {error.model_version!r} of model {error.model_name!r} "
            f"recorded in the registry refused at start-up, {error.reason}: "
            f"{error.detail}; running without a shadow"
        )[:_MAX_ALERT_MESSAGE],
    )


class ServingMetrics:
    """Metrics of model serving (``jules_signal_model_…``, ``jules_signal_shadow_…``).

    Args:
        registry: Where the metrics are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.model_info = Gauge(
            "jules_signal_model_info",
            "The model versions loaded: 1 per (model, version, stage) in use.",
            ["model_name", "model_version", "stage"],
            registry=registry,
        )
        self.swaps = Counter(
            "jules_signal_model_swaps",
            "SwapModel commands handled, by stage and result (swapped, unchanged, rejected).",
            ["stage", "result"],
            registry=registry,
        )
        self.rejected = Counter(
            "jules_signal_models_rejected",
            "Models refused (a MODEL_REJECTED alert was published), by reason.",
            ["reason"],
            registry=registry,
        )
        self.shadow_comparisons = Counter(
            "jules_signal_shadow_comparisons",
            "Decisions compared between production and shadow (a vector on which either "
            "emitted a signal, both having a target in force), by direction of each.",
            ["instrument_id", "production_direction", "shadow_direction"],
            registry=registry,
        )
        self.shadow_agreements = Counter(
            "jules_signal_shadow_agreements",
            "Compared decisions on which production and shadow want the same direction.",
            ["instrument_id"],
            registry=registry,
        )
        self.shadow_difference = Summary(
            "jules_signal_shadow_target_difference",
            "Absolute difference of the production and shadow targets at compared decisions.",
            ["instrument_id"],
            registry=registry,
        )
        self.shadow_unpublished = Counter(
            "jules_signal_shadow_unpublished",
            "Shadow signals that could not be published (production is not held up by them).",
            registry=registry,
        )
        self._loaded: dict[ModelStage, tuple[str, str]] = {}

    def loaded(self, stage: ModelStage, model: tuple[str, str] | None) -> None:
        """Record the model ``(name, version)`` now in ``stage`` (``None``: none)."""
        previous = self._loaded.pop(stage, None)
        if previous is not None:
            self.model_info.remove(*previous, stage.value)
        if model is not None:
            self._loaded[stage] = model
            self.model_info.labels(*model, stage.value).set(1)

    def compared(
        self,
        instrument_id: str,
        production: float,
        shadow: float,
        directions: tuple[SignalDirection, SignalDirection],
    ) -> None:
        """Count one compared decision: both targets in force and their directions."""
        first, second = directions
        self.shadow_comparisons.labels(instrument_id, first.value, second.value).inc()
        if first == second:
            self.shadow_agreements.labels(instrument_id).inc()
        self.shadow_difference.labels(instrument_id).observe(abs(production - shadow))
