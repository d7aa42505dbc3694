"""The ``jules-order-router`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_order_router.config import OrderRouterSettings

app = service_cli(
    OrderRouterSettings, "Routes approved orders, simulates venues, books fills and reconciles."
)
main = app
