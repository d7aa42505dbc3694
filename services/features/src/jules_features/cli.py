"""The ``jules-features`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_features.config import FeaturesSettings

app = service_cli(FeaturesSettings, "Computes streaming indicators and publishes feature vectors.")
main = app
