"""The ``jules-order-router`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_order_router.app import create_app
from jules_order_router.config import OrderRouterSettings

app = service_cli(
    OrderRouterSettings,
    create_app=create_app,
    summary="Routes risk-approved orders to the simulated venue; reports fills and the account.",
)
main = app
