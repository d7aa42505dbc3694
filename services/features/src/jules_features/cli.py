"""The ``jules-features`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_features.app import create_app
from jules_features.config import FeaturesSettings

app = service_cli(
    FeaturesSettings,
    create_app=create_app,
    summary="Computes streaming indicators and publishes feature vectors.",
)
main = app
