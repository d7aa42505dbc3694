"""Where served models come from: one registered model's versions, read and checked.

With ``JULES_SIGNAL__MODEL_NAME`` and ``JULES_SIGNAL__MODEL_REGISTRY`` the service serves the
production version of a registered model (``jules_signal.model_store``) and, when the registry
records one, runs its shadow version beside it (``jules_signal.models`` at start-up,
``jules_signal.swap`` while running). ``ModelSource.load`` reads a version and builds its
policy, checked against the live feature schema (``ModelSource.read`` also says which file it
read and its SHA-256, as the control state records them); a version that cannot serve raises
``ModelRefusedError``, reported as a ``RiskAlert`` with code ``AlertCode.MODEL_REJECTED``
(``model_rejected_alert``, ``shadow_refused_alert``, ``startup_refused_alert``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jules_contracts import AlertCode, AlertSeverity, JulesError, RiskAlert
from jules_contracts.base import new_event_id
from jules_contracts.control import ModelInService, SwapModel
from jules_contracts.enums import ModelStage

from jules_signal.engine import ModelLoadError, OnnxPolicy, OnnxPolicyConfig
from jules_signal.engine.strategy import SOURCE
from jules_signal.model_store import ModelStore, ModelStoreError

__all__ = [
    "SHADOW_SUFFIX",
    "ModelRefusedError",
    "ModelSource",
    "ServedModel",
    "model_rejected_alert",
    "served_entry",
    "shadow_refused_alert",
    "shadow_strategy_id",
    "startup_refused_alert",
]

SHADOW_SUFFIX = ".shadow"
"""Appended to the model name to make the strategy id of shadow signals."""


def shadow_strategy_id(model_name: str) -> str:
    """The strategy id of a shadow model's signals: ``<model name>.shadow``.

    Distinct from production's (the model name), so a shadow signal never shares the event id
    of the production signal derived from the same feature vector.
    """
    return model_name + SHADOW_SUFFIX


class ModelRefusedError(JulesError):
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
class ServedModel:
    """A registry version read and built: the policy, and the file it came from.

    Attributes:
        policy: The policy, ready to serve.
        path: The ONNX file read.
        sha256: SHA-256 of the bytes read (hex).
    """

    policy: OnnxPolicy
    path: Path
    sha256: str


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
        """Read a version from the registry and build its policy (``read``'s policy).

        Raises:
            ModelRefusedError: The version cannot serve; ``reason`` and ``detail`` say why.
        """
        return self.read(model_name, version, shadow=shadow, targets=targets).policy

    def read(
        self,
        model_name: str,
        version: str,
        *,
        shadow: bool = False,
        targets: Mapping[str, float] | None = None,
    ) -> ServedModel:
        """Read a version from the registry and build its policy, checked against the live schema.

        Args:
            model_name: The model (must be the configured one).
            version: The version.
            shadow: Build it as a shadow (strategy id ``<name>.shadow``).
            targets: Targets in force per instrument that the policy takes over.

        Returns:
            The policy, ready to serve, with the file read and its SHA-256.

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
            path = self.store.model_path(model_name, version)
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
        return ServedModel(policy, path, hashlib.sha256(model).hexdigest())


def served_entry(
    served: ServedModel,
    *,
    registry_production: str | None,
    since: int,
    swap: SwapModel | None = None,
) -> ModelInService:
    """The entry of a production version put in service (by ``swap``, or at start-up)."""
    card = served.policy.card
    return ModelInService(
        stage=ModelStage.PRODUCTION,
        model_name=card.model_name,
        model_version=card.model_version,
        path=str(served.path),
        sha256=served.sha256,
        registry_production=registry_production,
        swap_id=None if swap is None else swap.event_id,
        operator=None if swap is None else swap.operator,
        since=since,
    )


def model_rejected_alert(command: SwapModel, error: ModelRefusedError) -> RiskAlert:
    """The alert of a refused swap, derived from the command (one alert per command)."""
    return RiskAlert.derive(
        command,
        key=AlertCode.MODEL_REJECTED,
        source=SOURCE,
        severity=AlertSeverity.CRITICAL,
        code=AlertCode.MODEL_REJECTED,
        message=(
            f"{command.stage.value} swap to model {error.model_name!r} version "
            f"{error.model_version!r} (by {command.operator}) refused, {error.reason}: "
            f"{error.detail}; the running model keeps serving"
        ),
    )


def shadow_refused_alert(error: ModelRefusedError, event_time: int) -> RiskAlert:
    """The alert of a shadow version recorded in the registry but refused at start-up."""
    return startup_refused_alert(
        error,
        event_time,
        f"shadow version {error.model_version!r} of model {error.model_name!r} recorded in "
        "the registry",
        "running without a shadow",
    )


def startup_refused_alert(
    error: ModelRefusedError, event_time: int, what: str, outcome: str
) -> RiskAlert:
    """The alert of a version refused at start-up.

    Args:
        error: Why it was refused.
        event_time: The service's start-up (UTC ns).
        what: Which version, in words (``shadow version '4' of model 'm' recorded in ...``).
        outcome: What serves instead, in words.
    """
    return RiskAlert(
        event_id=new_event_id(),
        source=SOURCE,
        event_time=event_time,
        severity=AlertSeverity.CRITICAL,
        code=AlertCode.MODEL_REJECTED,
        message=f"{what} refused at start-up, {error.reason}: {error.detail}; {outcome}",
    )
