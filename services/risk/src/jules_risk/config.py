"""Settings of the risk service (environment prefix ``JULES_RISK__``)."""

from __future__ import annotations

from typing import ClassVar

from jules_runtime.settings import ServiceSettings, service_settings_config


class RiskSettings(ServiceSettings):
    """Settings of the risk service."""

    service_name: ClassVar[str] = "risk"
    model_config = service_settings_config("risk")
