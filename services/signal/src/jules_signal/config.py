"""Settings of the signal service (environment prefix ``JULES_SIGNAL__``)."""

from __future__ import annotations

from typing import ClassVar

from jules_runtime.settings import ServiceSettings, service_settings_config


class SignalSettings(ServiceSettings):
    """Settings of the signal service."""

    service_name: ClassVar[str] = "signal"
    model_config = service_settings_config("signal")
