"""Every service has its own command; invalid configuration stops it at start-up with a
message naming the variable and value (exit status 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jules_features.engine import FeatureSchema

SERVICES = ["market-data", "features", "signal", "risk", "order-router", "audit"]
BIN = Path(sys.executable).parent
REQUIRED_SETTINGS: dict[str, dict[str, str]] = {
    "audit": {"JULES_AUDIT__DIRECTORY": "audit-log"},  # checked, not created, by check-config
    "signal": {
        "JULES_SIGNAL__FEATURES": '["sma_10","sma_30"]',
        "JULES_SIGNAL__FEATURE_SCHEMA_ID": FeatureSchema.from_names(["sma_10", "sma_30"]).schema_id,
        "JULES_SIGNAL__STRATEGY": '{"kind":"sma_cross","fast":10,"slow":30}',
    },
}


def run(
    command: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JULES_")}
    return subprocess.run(
        [str(BIN / command), *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_check_config_prints_the_effective_settings(service):
    prefix = f"JULES_{service.upper().replace('-', '_')}__"
    env = {**REQUIRED_SETTINGS.get(service, {}), f"{prefix}KAFKA__LINGER_MS": "7"}
    outcome = run(f"jules-{service}", "check-config", env=env)
    assert outcome.returncode == 0, outcome.stderr
    settings = json.loads(outcome.stdout)
    assert settings["kafka"]["linger_ms"] == 7


@pytest.mark.parametrize("service", SERVICES)
def test_invalid_configuration_stops_the_service_naming_variable_and_value(service):
    prefix = f"JULES_{service.upper().replace('-', '_')}__"
    outcome = run(
        f"jules-{service}", "check-config", env={f"{prefix}KAFKA__REQUEST_TIMEOUT_MS": "-5"}
    )
    assert outcome.returncode == 2
    assert f"invalid configuration for service '{service}'" in outcome.stderr
    assert f"{prefix}KAFKA__REQUEST_TIMEOUT_MS='-5'" in outcome.stderr


def test_service_help_names_its_environment_prefix():
    outcome = run("jules-order-router", "--help")
    assert outcome.returncode == 0
    assert "JULES_ORDER_ROUTER__" in outcome.stdout
