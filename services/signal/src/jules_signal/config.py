"""Settings of the signal service (environment prefix ``JULES_SIGNAL__``).

The service runs exactly one strategy: a rule strategy (``JULES_SIGNAL__STRATEGY``, JSON), an
ONNX policy file (``JULES_SIGNAL__MODEL_PATH``), or the production version of a registered model
(``JULES_SIGNAL__MODEL_NAME`` in the registry folder ``JULES_SIGNAL__MODEL_REGISTRY``; see
``jules_signal.serving``). It must know the live feature schema, the one the
features service publishes, to refuse vectors of another schema and models trained on one:

    JULES_SIGNAL__FEATURES='["sma_10","sma_30"]'
    JULES_SIGNAL__FEATURE_SCHEMA_ID=<the features service's schema id>
    JULES_SIGNAL__STRATEGY='{"kind":"sma_cross","fast":10,"slow":30,"mode":"long_short"}'

``FEATURES`` lists the features service's ``JULES_FEATURES__FEATURES`` in the same order and in
their canonical form (as they appear in feature vectors: ``bb_upper_20_2``, ``bb_upper_10_1p5``).
``FEATURE_SCHEMA_ID`` is ``jules_features.engine.FeatureSchema.from_names(features).schema_id``,
the ``feature_schema_id`` of every vector the features service publishes (and the one a model
card records). Services never import each other, so the signal service cannot compute it from
the names itself; it checks instead that every vector carries both this id and these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Self

from jules_contracts.base import Identifier
from jules_contracts.features import FeatureName, FeatureSchemaId
from jules_runtime.settings import LockstepSettings, ServiceSettings, service_settings_config
from pydantic import (
    BaseModel,
    ConfigDict,
    DirectoryPath,
    Field,
    FilePath,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jules_signal.engine import (
    EmaCrossConfig,
    OnnxPolicyConfig,
    RsiReversionConfig,
    SmaCrossConfig,
    StrategyConfig,
    build_strategy,
    strategy_config_from_mapping,
)

__all__ = ["PairingSettings", "SignalSettings"]

RuleConfig = SmaCrossConfig | EmaCrossConfig | RsiReversionConfig
"""A validated rule-strategy configuration (any member of ``StrategyConfig``)."""


class PairingSettings(BaseModel):
    """How bars and feature vectors are paired (a strategy decides on a vector *and* its bar).

    A feature vector is paired with the bar it was computed from (``vector.causation_id ==
    bar.event_id``). Whichever of the two arrives first waits, per instrument, in a bounded
    buffer.

    Attributes:
        stale_after: A vector waiting for its bar is dropped, with a warning, once this many
            newer bars of its instrument have arrived (its bar will not come any more: bars of
            one instrument arrive in order); likewise a bar waiting for its vector once this
            many newer vectors have arrived.
        max_pending: At most this many bars, and this many vectors, wait per instrument; beyond
            it the oldest is dropped with a warning. Bars wait while the features service lags
            behind ``md.bars.v1``, so this is how far (in bars per instrument) it may lag
            without losing signals. The same number of recently paired ids is remembered per
            instrument to ignore redelivered duplicates.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stale_after: Annotated[int, Field(ge=1, le=100_000)] = 16
    max_pending: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000


class SignalSettings(ServiceSettings):
    """Settings of the signal service.

    Attributes:
        features: The live feature names, in schema order (the features service's).
        feature_schema_id: The live feature schema id (the features service's).
        strategy: A rule strategy, as JSON
            (``{"kind":"sma_cross","fast":10,"slow":30,"mode":"long_short"}``); or
        model_path: An ONNX policy file with its model card; or
        model_name: A model of the registry ``model_registry``: its production version
            serves from start-up (and its shadow version, if any, runs in shadow mode), and
            ``SwapModel`` commands on ``control.v1`` swap versions while running. Exactly one
            of ``strategy``, ``model_path`` and ``model_name`` is set.
        model_registry: The registry folder (with ``model_name`` only).
        policy: How an ONNX policy's outputs become signals (``model_path``, ``model_name``).
        pairing: Buffering of bars and vectors waiting for each other.
        replica: This replica's name among the live replicas of the service (``0``, ``1`` …):
            its control consumer group is its own (``jules-signal-control-<replica>``: every
            replica reads every ``SwapModel``). Stable across restarts of the replica.
        lockstep: Backtest mode (topic replay): the strategy on each step's bars and vectors;
            replicas split the partitions (``jules_signal.lockstep``).
    """

    service_name: ClassVar[str] = "signal"
    default_http_port: ClassVar[int] = 8103
    model_config = service_settings_config("signal")

    features: Annotated[tuple[FeatureName, ...], Field(min_length=1)]
    feature_schema_id: FeatureSchemaId
    strategy: StrategyConfig | None = None
    model_path: FilePath | None = None
    model_registry: DirectoryPath | None = None
    model_name: Identifier | None = None
    policy: OnnxPolicyConfig = OnnxPolicyConfig()
    pairing: PairingSettings = PairingSettings()
    replica: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = "0"
    lockstep: LockstepSettings = LockstepSettings()

    @field_validator("features")
    @classmethod
    def _unique_features(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"feature names must be unique, repeated: {repeated}")
        return names

    @field_validator("strategy", mode="before")
    @classmethod
    def _parse_strategy(cls, value: object) -> object:
        """Validate the strategy table here, so an error names ``STRATEGY`` and its value."""
        if not isinstance(value, Mapping):
            return value  # None, a config object, or something the union refuses itself
        try:
            return strategy_config_from_mapping(value)
        except ValidationError as error:
            raise ValueError(_describe_strategy_errors(error)) from None

    @field_validator("strategy")
    @classmethod
    def _strategy_reads_live_features(
        cls, config: RuleConfig | None, info: ValidationInfo
    ) -> RuleConfig | None:
        live = info.data.get("features")
        if config is None or live is None:  # no strategy, or the features are invalid already
            return config
        strategy = build_strategy(config)
        missing = [name for name in strategy.required_features if name not in live]
        if missing:
            prefix = cls.model_config.get("env_prefix", "")
            raise ValueError(
                f"strategy {strategy.strategy_id!r} reads features {missing} which "
                f"{prefix}FEATURES={list(live)} does not list; add them to the features "
                f"service's features (and to {prefix}FEATURES, with the new schema id)"
            )
        return config

    @model_validator(mode="after")
    def _one_strategy(self) -> Self:
        prefix = self.model_config.get("env_prefix", "")
        given = [
            name
            for name, value in (
                ("STRATEGY", self.strategy),
                ("MODEL_PATH", self.model_path),
                ("MODEL_NAME", self.model_name),
            )
            if value is not None
        ]
        if len(given) != 1:
            state = (
                "none is set"
                if not given
                else " and ".join(prefix + name for name in given) + " are set"
            )
            raise ValueError(
                f"set exactly one of {prefix}STRATEGY (a rule strategy as JSON), "
                f"{prefix}MODEL_PATH (an ONNX policy file) and {prefix}MODEL_NAME (with "
                f"{prefix}MODEL_REGISTRY: the production version of a registered model); {state}"
            )
        if (self.model_name is None) != (self.model_registry is None):
            missing, present = (
                ("MODEL_REGISTRY", "MODEL_NAME")
                if self.model_registry is None
                else ("MODEL_NAME", "MODEL_REGISTRY")
            )
            raise ValueError(
                f"{prefix}{present} needs {prefix}{missing}: the service serves the model "
                f"{prefix}MODEL_NAME from the registry folder {prefix}MODEL_REGISTRY"
            )
        return self


def _describe_strategy_errors(error: ValidationError) -> str:
    """One phrase per problem of a strategy table: ``slow: Input should be ...``."""
    parts = []
    for detail in error.errors(include_url=False):
        # The first location part is the kind the union chose (``sma_cross``); drop it.
        where = ".".join(str(part) for part in detail["loc"][1:])
        message = detail["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
