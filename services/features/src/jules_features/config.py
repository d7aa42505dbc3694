"""Settings of the features service (environment prefix ``JULES_FEATURES__``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from jules_runtime.settings import LockstepSettings, ServiceSettings, service_settings_config
from pydantic import Field, field_validator

from jules_features.engine import DEFAULT_BAR_FEATURES, FeatureEngineConfig, FeatureSchema


class FeaturesSettings(ServiceSettings):
    """Settings of the features service.

    Attributes:
        features: Feature names, in schema order
            (``JULES_FEATURES__FEATURES='["sma_10","rsi_14"]'``).
        engine: Session start offset, book staleness and bar lead limit of the engine.
        dedup_window: How many recent input event ids the consumer remembers, so that an
            event delivered again does not move the features twice.
        max_bar_lead_intervals: In live mode, unless ``engine`` sets its own: a bar closing
            more than this many intervals after the previous bar of its instrument is
            dead-lettered (``TOO_FAR_AHEAD``); ``None`` takes every later bar. Backtests
            (lockstep) use ``engine`` as it is.
        lockstep: Backtest mode (topic replay): one feature vector per bar, step by step;
            replicas split the partitions (``jules_features.lockstep``).
    """

    service_name: ClassVar[str] = "features"
    default_http_port: ClassVar[int] = 8102
    model_config = service_settings_config("features")

    features: tuple[str, ...] = tuple(DEFAULT_BAR_FEATURES)
    engine: FeatureEngineConfig = FeatureEngineConfig()
    dedup_window: Annotated[int, Field(ge=1)] = 100_000
    max_bar_lead_intervals: Annotated[int | None, Field(gt=0)] = 120
    lockstep: LockstepSettings = LockstepSettings()

    @field_validator("features")
    @classmethod
    def _known_features(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        FeatureSchema.from_names(names)  # raises naming the unknown feature or bad parameter
        return names

    @property
    def live_engine_config(self) -> FeatureEngineConfig:
        """The engine configuration of live mode: ``engine`` with the bar lead limit."""
        if self.engine.max_bar_lead_intervals is not None:
            return self.engine
        return self.engine.model_copy(
            update={"max_bar_lead_intervals": self.max_bar_lead_intervals}
        )

    @property
    def feature_schema(self) -> FeatureSchema:
        """The feature schema the service publishes."""
        return FeatureSchema.from_names(self.features)
