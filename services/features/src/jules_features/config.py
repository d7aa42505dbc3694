"""Settings of the features service (environment prefix ``JULES_FEATURES__``)."""

from __future__ import annotations

from typing import ClassVar

from jules_runtime.settings import LockstepSettings, ServiceSettings, service_settings_config
from pydantic import field_validator

from jules_features.engine import DEFAULT_BAR_FEATURES, FeatureEngineConfig, FeatureSchema


class FeaturesSettings(ServiceSettings):
    """Settings of the features service.

    Attributes:
        features: Feature names, in schema order
            (``JULES_FEATURES__FEATURES='["sma_10","rsi_14"]'``).
        engine: Session start offset and book staleness of the features engine.
        lockstep: Backtest mode (topic replay): one feature vector per bar, step by step;
            replicas split the partitions (``jules_features.lockstep``).
    """

    service_name: ClassVar[str] = "features"
    default_http_port: ClassVar[int] = 8102
    model_config = service_settings_config("features")

    features: tuple[str, ...] = tuple(DEFAULT_BAR_FEATURES)
    engine: FeatureEngineConfig = FeatureEngineConfig()
    lockstep: LockstepSettings = LockstepSettings()

    @field_validator("features")
    @classmethod
    def _known_features(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        FeatureSchema.from_names(names)  # raises naming the unknown feature or bad parameter
        return names

    @property
    def feature_schema(self) -> FeatureSchema:
        """The feature schema the service publishes."""
        return FeatureSchema.from_names(self.features)
