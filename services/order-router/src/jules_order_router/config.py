"""Settings of the order-router service (environment prefix ``JULES_ORDER_ROUTER__``)."""

from __future__ import annotations

from typing import ClassVar

from jules_runtime.settings import ServiceSettings, service_settings_config


class OrderRouterSettings(ServiceSettings):
    """Settings of the order-router service."""

    service_name: ClassVar[str] = "order-router"
    model_config = service_settings_config("order-router")
