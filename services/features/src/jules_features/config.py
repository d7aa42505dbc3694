"""Settings of the features service (environment prefix ``JULES_FEATURES__``)."""

from __future__ import annotations

from typing import ClassVar

from jules_runtime.settings import ServiceSettings, service_settings_config


class FeaturesSettings(ServiceSettings):
    """Settings of the features service."""

    service_name: ClassVar[str] = "features"
    model_config = service_settings_config("features")
