"""Settings of the market-data service (environment prefix ``JULES_MARKET_DATA__``)."""

from __future__ import annotations

from typing import ClassVar

from jules_runtime.settings import ServiceSettings, service_settings_config


class MarketDataSettings(ServiceSettings):
    """Settings of the market-data service."""

    service_name: ClassVar[str] = "market-data"
    model_config = service_settings_config("market-data")
