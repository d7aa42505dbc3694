"""Start-up: the configured strategy, or a registry's production and shadow versions."""

from __future__ import annotations

import json
import os

import pytest
from jules_contracts import AlertCode, AlertSeverity
from jules_runtime.errors import ConfigError
from jules_runtime.settings import load_settings
from jules_signal.config import SignalSettings
from jules_signal.engine import OnnxPolicy
from jules_signal.metrics import ServingMetrics
from jules_signal.models import load_models
from jules_signal.swap import ModelSwapper
from prometheus_client import CollectorRegistry

from .builders import SCHEMA_ID
from .model_registry import MODEL, sample, write_registry
from .streams import NAMES


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean ``JULES_SIGNAL__`` environment with the live schema of the test models."""
    for name in [name for name in os.environ if name.startswith("JULES_SIGNAL__")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("JULES_SIGNAL__FEATURES", json.dumps(list(NAMES)))
    monkeypatch.setenv("JULES_SIGNAL__FEATURE_SCHEMA_ID", SCHEMA_ID)
    return monkeypatch


def problems(error: pytest.ExceptionInfo[ConfigError]) -> str:
    return "\n".join(error.value.problems)


def test_the_registry_production_and_shadow_versions_load_at_start_up(env, tmp_path):
    write_registry(tmp_path, production="1", shadow="2")
    env.setenv("JULES_SIGNAL__MODEL_REGISTRY", str(tmp_path))
    env.setenv("JULES_SIGNAL__MODEL_NAME", MODEL)
    models = load_models(load_settings(SignalSettings))
    assert isinstance(models.strategy, OnnxPolicy)
    assert models.strategy.card.model_version == "1"
    assert models.strategy.strategy_id == MODEL
    assert models.shadow is not None
    assert models.shadow.card.model_version == "2"
    assert models.shadow.strategy_id == f"{MODEL}.shadow"
    assert models.source is not None
    assert models.source.model_name == MODEL
    assert models.shadow_refused is None


def test_a_refused_shadow_version_leaves_production_serving(env, tmp_path):
    write_registry(tmp_path, production="1", shadow="3")
    env.setenv("JULES_SIGNAL__MODEL_REGISTRY", str(tmp_path))
    env.setenv("JULES_SIGNAL__MODEL_NAME", MODEL)
    models = load_models(load_settings(SignalSettings))
    assert models.shadow is None
    assert models.shadow_refused is not None
    assert models.shadow_refused.reason == "FEATURE_SCHEMA_MISMATCH"
    assert models.shadow_refused.model_version == "3"

    # Once started, the service reports the refusal: a MODEL_REJECTED alert and its count.
    metrics_registry = CollectorRegistry()
    started = ModelSwapper(
        models.strategy, source=models.source, metrics=ServingMetrics(metrics_registry)
    )
    alert = started.refuse_recorded_shadow(models.shadow_refused, 1_700_000_000_000_000_000)
    assert alert.code == AlertCode.MODEL_REJECTED
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.event_time == 1_700_000_000_000_000_000
    assert "shadow version '3'" in alert.message
    assert "FEATURE_SCHEMA_MISMATCH" in alert.message
    reason = "FEATURE_SCHEMA_MISMATCH"
    assert sample(metrics_registry, "jules_signal_models_rejected_total", reason=reason) == 1
    assert started.shadow is None


def test_a_registry_without_a_production_version_stops_the_service(env, tmp_path):
    write_registry(tmp_path, production=None)
    env.setenv("JULES_SIGNAL__MODEL_REGISTRY", str(tmp_path))
    env.setenv("JULES_SIGNAL__MODEL_NAME", MODEL)
    with pytest.raises(ConfigError) as caught:
        load_models(load_settings(SignalSettings))
    text = problems(caught)
    assert f"JULES_SIGNAL__MODEL_NAME={MODEL!r}" in text
    assert f"JULES_SIGNAL__MODEL_REGISTRY={str(tmp_path)!r}" in text
    assert "has no production version" in text


@pytest.mark.parametrize(("version", "reason"), [("3", "FEATURE_SCHEMA_MISMATCH"), ("7", "no")])
def test_a_refused_or_missing_production_version_stops_the_service(env, tmp_path, version, reason):
    write_registry(tmp_path, production=version)
    env.setenv("JULES_SIGNAL__MODEL_REGISTRY", str(tmp_path))
    env.setenv("JULES_SIGNAL__MODEL_NAME", MODEL)
    with pytest.raises(ConfigError) as caught:
        load_models(load_settings(SignalSettings))
    text = problems(caught)
    assert f"production version {version!r} refused" in text
    assert reason in text


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"MODEL_NAME": MODEL}, "JULES_SIGNAL__MODEL_NAME needs JULES_SIGNAL__MODEL_REGISTRY"),
        ({"MODEL_REGISTRY": "{tmp}"}, "set exactly one of"),
        (
            {
                "MODEL_NAME": MODEL,
                "MODEL_REGISTRY": "{tmp}",
                "STRATEGY": json.dumps({"kind": "sma_cross", "fast": 3, "slow": 8}),
            },
            "JULES_SIGNAL__STRATEGY and JULES_SIGNAL__MODEL_NAME are set",
        ),
        ({"MODEL_NAME": MODEL, "MODEL_REGISTRY": "{tmp}/absent"}, "MODEL_REGISTRY"),
    ],
)
def test_invalid_model_settings_are_refused(env, tmp_path, variables, message):
    for name, value in variables.items():
        env.setenv(f"JULES_SIGNAL__{name}", value.replace("{tmp}", str(tmp_path)))
    with pytest.raises(ConfigError) as caught:
        load_settings(SignalSettings)
    assert message in problems(caught)
