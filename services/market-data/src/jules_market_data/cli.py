"""The ``jules-market-data`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_market_data.config import MarketDataSettings

app = service_cli(
    MarketDataSettings,
    "Normalises and validates venue and recorded market data onto the md.* topics.",
)
main = app
