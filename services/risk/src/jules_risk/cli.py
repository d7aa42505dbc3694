"""The ``jules-risk`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_risk.config import RiskSettings

app = service_cli(
    RiskSettings, "Pre-trade controls, sizing, stops, kill switch and portfolio risk."
)
main = app
