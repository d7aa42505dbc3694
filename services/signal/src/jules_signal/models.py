"""The models the service serves from start-up: the configured strategy, or a registered model.

The service runs exactly one production strategy: a rule strategy (``STRATEGY``), an ONNX
policy file (``MODEL_PATH``), or the production version of a registered model (``MODEL_NAME``
in ``MODEL_REGISTRY``), with the registry's shadow version beside it when one is recorded.
A model is read and checked against the live feature schema here, once; a refused production
model stops the service (``ConfigError``), a refused shadow version does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jules_runtime.errors import ConfigError
from jules_runtime.settings import env_prefix

from jules_signal.config import SignalSettings
from jules_signal.engine import ModelLoadError, OnnxPolicy, Strategy, build_strategy
from jules_signal.model_store import ModelStore, ModelStoreError
from jules_signal.serving import ModelRefusedError, ModelSource, ServedModel

__all__ = ["LoadedModels", "load_models", "load_strategy"]


@dataclass(frozen=True)
class LoadedModels:
    """What the service serves from start-up.

    Attributes:
        strategy: The production strategy.
        source: The registry model (``MODEL_NAME``), or ``None`` for a fixed strategy.
        shadow: The registry's shadow version, when one is recorded and loads.
        shadow_refused: Why the recorded shadow version was refused, if it was.
        production: The registry's production version as read (file and SHA-256), with
            ``source`` only.
    """

    strategy: Strategy
    source: ModelSource | None = None
    shadow: OnnxPolicy | None = None
    shadow_refused: ModelRefusedError | None = None
    production: ServedModel | None = None


def load_strategy(settings: SignalSettings) -> Strategy:
    """Build the configured strategy; an ONNX model is read and checked here, once.

    Raises:
        ConfigError: The model cannot be read, or is refused (its card does not match the
            live feature schema, or it is not a usable policy); the message names the
            setting (``JULES_SIGNAL__MODEL_PATH``, or ``MODEL_NAME`` and ``MODEL_REGISTRY``)
            and gives the reason.
    """
    return load_models(settings).strategy


def load_models(settings: SignalSettings) -> LoadedModels:
    """Build the production strategy, and the registry's shadow version if one is recorded.

    A shadow version that cannot serve does not stop the service: it runs without a shadow
    and ``shadow_refused`` says why (the service reports it once started).

    Raises:
        ConfigError: The production model is missing or refused (see ``load_strategy``).
    """
    if settings.strategy is not None:
        return LoadedModels(build_strategy(settings.strategy))
    if settings.model_name is not None and settings.model_registry is not None:
        return _load_registry_models(settings, settings.model_name, settings.model_registry)
    path = settings.model_path
    if path is None:  # the settings validate that one of the three is set
        raise ConfigError(settings.service_name, ["no strategy and no model configured"])
    variable = f"{env_prefix(settings.service_name)}MODEL_PATH={str(path)!r}"
    try:
        model = path.read_bytes()
    except OSError as error:
        raise ConfigError(
            settings.service_name, [f"{variable}: cannot read the model: {error}"]
        ) from error
    try:
        return LoadedModels(
            OnnxPolicy.from_bytes(
                model,
                live_schema_id=settings.feature_schema_id,
                live_feature_names=settings.features,
                config=settings.policy,
            )
        )
    except ModelLoadError as error:
        raise ConfigError(settings.service_name, [f"{variable}: {error}"]) from error


def _load_registry_models(settings: SignalSettings, name: str, registry: Path) -> LoadedModels:
    prefix = env_prefix(settings.service_name)
    where = f"{prefix}MODEL_NAME={name!r} in {prefix}MODEL_REGISTRY={str(registry)!r}"
    source = ModelSource(
        ModelStore(registry),
        name,
        settings.feature_schema_id,
        settings.features,
        settings.policy,
    )
    try:
        production = source.store.production_version(name)
        shadow_version = source.store.shadow_version(name)
    except ModelStoreError as error:
        raise ConfigError(settings.service_name, [f"{where}: {error}"]) from error
    if production is None:
        raise ConfigError(
            settings.service_name,
            [
                f"{where}: model {name!r} has no production version in the registry "
                f"{str(registry)!r}; promote one (jules-train models promote) or set "
                f"{prefix}MODEL_PATH"
            ],
        )
    try:
        served = source.read(name, production)
    except ModelRefusedError as error:
        raise ConfigError(
            settings.service_name,
            [f"{where}: production version {production!r} refused, {error.detail}"],
        ) from error
    strategy = served.policy
    if shadow_version is None:
        return LoadedModels(strategy, source, production=served)
    try:
        shadow = source.load(name, shadow_version, shadow=True)
    except ModelRefusedError as error:
        return LoadedModels(strategy, source, shadow_refused=error, production=served)
    return LoadedModels(strategy, source, shadow, production=served)
